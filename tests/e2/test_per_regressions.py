"""Regression tests for the APER primitives in ``ricsdk.e2.per``."""

from __future__ import annotations

import pytest

from ricsdk.e2.per import PerDecoder, PerEncoder, decode_complete
from ricsdk.errors import E2DecodeError


@pytest.mark.parametrize(
    ("data", "r"),
    [
        (bytes([0b1110_0000]), 7),  # 3-bit field holding 7 for a range of 7 (0..6)
        (bytes([0xFF, 0xFF]), 65535),  # two octets holding 65535 for a range of 65535
        (bytes([0b1100_0000]), 3),  # 2-bit field holding 3 for a range of 3
    ],
)
def test_constrained_number_outside_its_range_is_a_decode_error(data: bytes, r: int) -> None:
    """A bit-field or two-octet constrained number can hold more than its range: that is malformed input."""
    with pytest.raises(E2DecodeError, match="outside range"):
        PerDecoder(data).constrained(r)


def test_choice_index_outside_the_root_is_refused() -> None:
    """A CHOICE of 7 root alternatives uses a 3-bit index; index 7 must not reach the caller."""
    with pytest.raises(E2DecodeError):
        decode_complete(lambda d: d.choice(7, ext=True), bytes([0b0111_0000]), "UEID")


def test_sizes_decode_back_inside_their_bounds() -> None:
    """``SIZE(1..150)`` uses 8 bits for the count; a count past 150 is refused, not returned."""
    enc = PerEncoder()
    enc.put(200, 8)
    with pytest.raises(E2DecodeError):
        PerDecoder(enc.to_bytes() + bytes(300)).printable_string(1, 150)


def test_fragmented_extended_printable_string_is_refused() -> None:
    """An extended-size PrintableString announcing a 16K fragment is refused instead of silently truncated."""
    data = bytes([0x80, 0xC1]) + b"A" * 16384 + bytes([0x01]) + b"A"
    with pytest.raises(E2DecodeError, match="fragmented"):
        PerDecoder(data).printable_string(1, 150, ext=True)


def test_values_inside_the_range_still_decode() -> None:
    enc = PerEncoder()
    enc.constrained(6, 7)
    enc.constrained(65534, 65535)
    dec = PerDecoder(enc.to_bytes())
    assert dec.constrained(7) == 6
    assert dec.constrained(65535) == 65534
