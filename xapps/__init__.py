"""xApps built with ricsdk (applications beside the SDK, not part of it)."""
