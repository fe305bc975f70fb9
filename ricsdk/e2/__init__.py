"""Sans-I/O E2 codecs: E2AP, E2SM-KPM, E2SM-RC (bytes <-> frozen, validated dataclasses)."""
