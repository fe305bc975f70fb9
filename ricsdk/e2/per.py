"""ASN.1 Packed Encoding Rules, ALIGNED variant (ITU-T X.691), the primitives E2 needs.

Theory of operation
-------------------
E2AP and the E2 service models are APER. A value is a run of bits; some fields are *bit-fields* that start
wherever the previous field ended, others are *octet-aligned* (padding bits up to the next octet boundary come
first). Which is which follows from the type's constraints:

- constrained whole number ``lb..ub`` with range ``r = ub - lb + 1``: nothing when ``r == 1``; a bit-field of
  ``ceil(log2 r)`` bits when ``r <= 255``; one aligned octet when ``r == 256``; two aligned octets when
  ``r <= 65536``; otherwise a length (octets, itself a constrained number ``1..n``) and that many aligned octets;
- a length determinant with no upper bound below 64K: one aligned octet ``0xxxxxxx`` (< 128), two octets
  ``10xxxxxx xxxxxxxx`` (< 16384), or fragments of ``11000mmm`` * 16K items;
- SEQUENCE: an extension bit when extensible, one presence bit per OPTIONAL component, then the components;
  extension additions travel as a bitmap and open types;
- CHOICE / ENUMERATED: an extension bit when extensible, the index as a constrained number;
- OCTET STRING / BIT STRING / PrintableString: fixed sizes of at most two octets are unaligned, other contents
  are octet-aligned after the length.

``PerDecoder`` reads from an immutable buffer with a bit cursor and never reads past ``end``: every read checks
the bounds and raises :class:`~ricsdk.errors.E2DecodeError` carrying the buffer and the bit position. Every count
is checked against the bits that remain before anything is allocated, so a hostile length costs nothing.
``PerEncoder`` accumulates bits in a small integer and flushes whole octets into a ``bytearray``.

The module is sans-I/O and has no state beyond the two cursor objects.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeVar

from ricsdk.errors import E2DecodeError, E2ValueError

__all__ = [
    "PRINTABLE",
    "BitString",
    "PerDecoder",
    "PerEncoder",
    "bits_for_range",
    "decode_complete",
    "encode_complete",
]

T = TypeVar("T")

_16K: Final = 16384
_64K: Final = 65536

#: The PrintableString alphabet (X.680 41.4).
PRINTABLE: Final = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?")


@dataclass(frozen=True, slots=True)
class BitString:
    """An ASN.1 BIT STRING value: ``length`` bits, the first bit being the top bit of ``value``.

    Shared by every E2 codec (E2AP node ids, E2SM cell identities, RC BitS values).
    """

    value: int
    length: int

    def __post_init__(self) -> None:
        if self.length < 0:
            raise E2ValueError("negative length", field="length", value=self.length)
        if self.value < 0 or self.value >> self.length:
            raise E2ValueError(f"value does not fit in {self.length} bits", field="value", value=self.value)


def bits_for_range(r: int) -> int:
    """Bits of a bit-field holding a constrained number of range ``r`` (``r <= 255``)."""
    return (r - 1).bit_length()


def _octets_for(v: int) -> int:
    """Minimal octets for a non-negative integer (at least one)."""
    return max(1, (v.bit_length() + 7) >> 3)


class PerDecoder:
    """A bit cursor over an APER buffer.

    ``data`` is the whole buffer (kept for error reports); decoding runs over ``[pos, end)`` in bits.
    """

    __slots__ = ("data", "pos", "end")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) * 8 if end is None else end

    # -- errors ---------------------------------------------------------------------------------------
    def error(self, message: str) -> E2DecodeError:
        return E2DecodeError(message, data=self.data, bit_position=self.pos)

    def _short(self, need: int) -> E2DecodeError:
        return self.error(f"truncated: need {need} more bits, {self.end - self.pos} left")

    # -- raw bits -------------------------------------------------------------------------------------
    def remaining(self) -> int:
        return self.end - self.pos

    def bit(self) -> int:
        p = self.pos
        if p >= self.end:
            raise self._short(1)
        self.pos = p + 1
        return (self.data[p >> 3] >> (7 - (p & 7))) & 1

    def bits(self, n: int) -> int:
        """Read an ``n``-bit unsigned field (no alignment)."""
        if n == 0:
            return 0
        p = self.pos
        e = p + n
        if e > self.end:
            raise self._short(n)
        self.pos = e
        b0 = p >> 3
        b1 = (e + 7) >> 3
        return (int.from_bytes(self.data[b0:b1], "big") >> ((b1 << 3) - e)) & ((1 << n) - 1)

    def align(self) -> None:
        p = self.pos
        if p & 7:
            p = (p | 7) + 1
            if p > self.end:
                raise self._short(p - self.pos)
            self.pos = p

    def octets(self, n: int) -> bytes:
        """Align, then read ``n`` whole octets."""
        self.align()
        p = self.pos
        e = p + (n << 3)
        if e > self.end:
            raise self._short(n << 3)
        self.pos = e
        return self.data[p >> 3 : e >> 3]

    def octets_unaligned(self, n: int) -> bytes:
        """Read ``n`` octets starting at the current bit (fixed-size strings of at most two octets)."""
        if self.pos & 7 == 0:
            return self.octets(n)
        return self.bits(n * 8).to_bytes(n, "big")

    # -- lengths --------------------------------------------------------------------------------------
    def length(self) -> tuple[int, bool]:
        """An unconstrained length determinant: ``(n, more)``; ``more`` means a fragment follows."""
        self.align()
        p = self.pos
        if p + 8 > self.end:
            raise self._short(8)
        b = self.data[p >> 3]
        if b < 0x80:
            self.pos = p + 8
            return b, False
        if b < 0xC0:
            if p + 16 > self.end:
                raise self._short(16)
            self.pos = p + 16
            return ((b & 0x3F) << 8) | self.data[(p >> 3) + 1], False
        m = b & 0x3F
        if m < 1 or m > 4:
            raise self.error(f"invalid fragment size {m} in length determinant")
        self.pos = p + 8
        return m * _16K, True

    def count(self, lb: int, ub: int | None, ext: bool = False, min_bits_each: int = 1) -> int:
        """The number of items of a SEQUENCE OF / characters / octets with ``SIZE(lb..ub[, ...])``.

        Fragmented counts (>= 16K) are returned whole: callers of SEQUENCE OF with more than 16K items
        go through :meth:`count_fragmented`. ``min_bits_each`` bounds the count by the bits that remain.
        """
        if ext and self.bit():
            n, more = self.length()
            if more:
                raise self.error("fragmented length not supported for this type")
        elif ub is not None and ub < _64K:
            if lb == ub:
                n = lb
            else:
                n = lb + self.constrained(ub - lb + 1)
        else:
            n, more = self.length()
            if more:
                raise self.error("fragmented length not supported for this type")
        if ub is not None and not ext and (n < lb or n > ub):
            raise self.error(f"size {n} outside {lb}..{ub}")
        if n * min_bits_each > self.end - self.pos:
            raise self.error(f"size {n} exceeds the {self.end - self.pos} bits left")
        return n

    # -- integers -------------------------------------------------------------------------------------
    def constrained(self, r: int) -> int:
        """A constrained whole number of range ``r``, returned as the offset from the lower bound."""
        if r == 1:
            return 0
        if r <= 255:
            v = self.bits((r - 1).bit_length())
        elif r == 256:
            return self.octets(1)[0]
        elif r <= _64K:
            v = int.from_bytes(self.octets(2), "big")
        else:
            nlen = _octets_for(r - 1)
            n = 1 + self.bits((nlen - 1).bit_length())
            v = int.from_bytes(self.octets(n), "big")
        if v >= r:
            raise self.error(f"value offset {v} outside range {r}")
        return v

    def integer(self, lb: int, ub: int, ext: bool = False) -> int:
        """``INTEGER (lb..ub[, ...])``."""
        if ext and self.bit():
            return self.unconstrained_int()
        return lb + self.constrained(ub - lb + 1)

    def semi_constrained_int(self, lb: int) -> int:
        """``INTEGER (lb..MAX)``."""
        n, more = self.length()
        if more or n == 0:
            raise self.error(f"invalid integer length {n}")
        return lb + int.from_bytes(self.octets(n), "big")

    def unconstrained_int(self) -> int:
        """``INTEGER`` with no constraint (two's complement)."""
        n, more = self.length()
        if more or n == 0:
            raise self.error(f"invalid integer length {n}")
        return int.from_bytes(self.octets(n), "big", signed=True)

    def normally_small(self) -> int:
        """A normally small non-negative whole number (choice extension index, enumerated extension)."""
        if self.bit() == 0:
            return self.bits(6)
        n, more = self.length()
        if more or n == 0:
            raise self.error("invalid normally small number")
        return int.from_bytes(self.octets(n), "big")

    def enumerated(self, n_root: int, ext: bool = False) -> int:
        """An ENUMERATED index; extension values are returned as ``n_root + k``."""
        if ext and self.bit():
            return n_root + self.normally_small()
        return self.constrained(n_root)

    def choice(self, n_root: int, ext: bool = False) -> int:
        """A CHOICE index; an extension alternative is returned as ``n_root + k`` (its value is an open
        type that the caller reads with :meth:`open_type`)."""
        if ext and self.bit():
            return n_root + self.normally_small()
        return self.constrained(n_root)

    def boolean(self) -> bool:
        return bool(self.bit())

    # -- SEQUENCE helpers -----------------------------------------------------------------------------
    def preamble(self, ext: bool, n_opt: int) -> tuple[bool, int]:
        """Read a SEQUENCE's extension bit and optional-component bitmap (first optional = top bit)."""
        e = bool(self.bit()) if ext else False
        return e, self.bits(n_opt) if n_opt else 0

    def extensions(self) -> list[tuple[int, PerDecoder] | None]:
        """Read the extension-addition bitmap and return, per addition, ``(index, sub-decoder)`` or None."""
        n = self.normally_small() + 1
        if n > self.end - self.pos:
            raise self.error(f"extension bitmap of {n} bits exceeds the data")
        bitmap = self.bits(n)
        out: list[tuple[int, PerDecoder] | None] = []
        for i in range(n):
            if (bitmap >> (n - 1 - i)) & 1:
                out.append((i, self.open_type()))
            else:
                out.append(None)
        return out

    def skip_extensions(self) -> None:
        """Read and discard the extension additions of a SEQUENCE (forward compatibility)."""
        self.extensions()

    def open_type(self) -> PerDecoder:
        """An open type: a length, then a complete encoding; returns a decoder over exactly those bits."""
        n, more = self.length()
        if not more:
            start = self.pos
            if start + (n << 3) > self.end:
                raise self._short(n << 3)
            self.pos = start + (n << 3)
            return PerDecoder(self.data, start, self.pos)
        raw = bytearray()
        while True:
            raw += self.octets(n)
            if not more:
                break
            n, more = self.length()
        return PerDecoder(bytes(raw))

    def open_type_bytes(self) -> bytes:
        sub = self.open_type()
        return sub.data[sub.pos >> 3 : sub.end >> 3]

    # -- strings --------------------------------------------------------------------------------------
    def octet_string(self, lb: int = 0, ub: int | None = None, ext: bool = False) -> bytes:
        if not ext or not self.bit():
            if ub is not None and lb == ub:
                if ub <= 2:
                    return self.octets_unaligned(ub)
                if ub < _64K:
                    return self.octets(ub)
            if ub is not None and ub < _64K:
                n = lb + self.constrained(ub - lb + 1)
                return self.octets(n)
        return self._fragmented_octets()

    def _fragmented_octets(self) -> bytes:
        n, more = self.length()
        if not more:
            return self.octets(n)
        raw = bytearray()
        while True:
            raw += self.octets(n)
            if not more:
                return bytes(raw)
            n, more = self.length()

    def bit_string(self, lb: int = 0, ub: int | None = None, ext: bool = False) -> tuple[int, int]:
        """A BIT STRING as ``(value, number_of_bits)``; bit 0 of the string is the value's top bit."""
        if not ext or not self.bit():
            if ub is not None and lb == ub:
                if ub <= 16:
                    return self.bits(ub), ub
                if ub < _64K:
                    self.align()
                    return self.bits(ub), ub
            if ub is not None and ub < _64K:
                n = lb + self.constrained(ub - lb + 1)
                if n:
                    self.align()
                return self.bits(n), n
        n, more = self.length()
        if more:
            raise self.error("fragmented BIT STRING not supported")
        if n:
            self.align()
        return self.bits(n), n

    def printable_string(self, lb: int = 0, ub: int | None = None, ext: bool = False) -> str:
        """A PrintableString: 8 bits per character in APER, octet-aligned when ``ub * 8 > 16``."""
        if ext and self.bit():
            n, more = self.length()
            if more:
                raise self.error("fragmented PrintableString not supported")
            raw = self.octets(n) if n else b""
        elif ub is not None and ub < _64K:
            n = lb + self.constrained(ub - lb + 1) if lb != ub else lb
            if ub <= 2:
                raw = self.octets_unaligned(n) if n else b""
            else:
                raw = self.octets(n) if n else b""
        else:
            n, more = self.length()
            if more:
                raise self.error("fragmented PrintableString not supported")
            raw = self.octets(n) if n else b""
        if not PRINTABLE.issuperset(raw):
            raise self.error(f"character outside the PrintableString alphabet in {raw!r}")
        return raw.decode("ascii")

    def real(self) -> float:
        """A REAL (X.691 15: a length, then the X.690 contents octets)."""
        n, more = self.length()
        if more:
            raise self.error("fragmented REAL")
        if n == 0:
            return 0.0
        raw = self.octets(n)
        try:
            return decode_real_contents(raw)
        except ValueError as exc:
            raise self.error(f"invalid REAL: {exc}") from exc


class PerEncoder:
    """Accumulates APER bits; ``to_bytes`` pads the last octet with zero bits."""

    __slots__ = ("buf", "cur", "nbits")

    def __init__(self) -> None:
        self.buf = bytearray()
        self.cur = 0
        self.nbits = 0

    def put(self, value: int, n: int) -> None:
        """Append an ``n``-bit unsigned field."""
        if n:
            cur = (self.cur << n) | value
            nb = self.nbits + n
            if nb >= 32:
                rem = nb & 7
                self.buf += (cur >> rem).to_bytes(nb >> 3, "big")
                cur &= (1 << rem) - 1
                nb = rem
            self.cur = cur
            self.nbits = nb

    def align(self) -> None:
        nb = self.nbits
        if nb:
            pad = (8 - (nb & 7)) & 7
            self.buf += (self.cur << pad).to_bytes((nb + pad) >> 3, "big")
            self.cur = 0
            self.nbits = 0

    def octets(self, raw: bytes) -> None:
        """Align, then append whole octets."""
        if self.nbits:
            self.align()
        self.buf += raw

    def octets_unaligned(self, raw: bytes) -> None:
        if self.nbits == 0:
            self.buf += raw
        else:
            self.put(int.from_bytes(raw, "big"), len(raw) * 8)

    def to_bytes(self) -> bytes:
        self.align()
        return bytes(self.buf) if self.buf else b"\x00"

    # -- lengths --------------------------------------------------------------------------------------
    def length(self, n: int) -> None:
        """An unconstrained length determinant for ``n < 16384`` (callers fragment larger values)."""
        self.align()
        if n < 128:
            self.buf.append(n)
        elif n < _16K:
            self.buf += (0x8000 | n).to_bytes(2, "big")
        else:
            raise E2ValueError(f"length {n} needs fragmentation", field="length")

    def count(self, n: int, lb: int, ub: int | None, ext: bool = False, field: str = "") -> None:
        """The size of a SEQUENCE OF with ``SIZE(lb..ub[, ...])`` (no fragmentation: < 16K items)."""
        inside = n >= lb and (ub is None or n <= ub)
        if not inside and not ext:
            raise E2ValueError(f"size {n} outside {lb}..{ub}", field=field, value=n)
        if ext:
            self.put(0 if inside else 1, 1)
            if not inside:
                self.length(n)
                return
        if ub is not None and ub < _64K:
            if lb != ub:
                self.constrained(n - lb, ub - lb + 1)
        else:
            self.length(n)

    # -- integers -------------------------------------------------------------------------------------
    def constrained(self, off: int, r: int) -> None:
        """A constrained whole number given as offset ``off`` from the lower bound, range ``r``."""
        if r == 1:
            return
        if r <= 255:
            self.put(off, (r - 1).bit_length())
        elif r == 256:
            self.align()
            self.buf.append(off)
        elif r <= _64K:
            self.align()
            self.buf += off.to_bytes(2, "big")
        else:
            nlen = _octets_for(r - 1)
            n = _octets_for(off)
            self.put(n - 1, (nlen - 1).bit_length())
            self.align()
            self.buf += off.to_bytes(n, "big")

    def integer(self, v: int, lb: int, ub: int, ext: bool = False, field: str = "") -> None:
        if lb <= v <= ub:
            if ext:
                self.put(0, 1)
            self.constrained(v - lb, ub - lb + 1)
        elif ext:
            self.put(1, 1)
            self.unconstrained_int(v)
        else:
            raise E2ValueError(f"{v} outside {lb}..{ub}", field=field, value=v)

    def semi_constrained_int(self, v: int, lb: int, field: str = "") -> None:
        if v < lb:
            raise E2ValueError(f"{v} below {lb}", field=field, value=v)
        off = v - lb
        n = _octets_for(off)
        self.length(n)
        self.buf += off.to_bytes(n, "big")

    def unconstrained_int(self, v: int) -> None:
        n = max(1, (v.bit_length() + 8) >> 3) if v >= 0 else max(1, ((~v).bit_length() + 8) >> 3)
        self.length(n)
        self.buf += v.to_bytes(n, "big", signed=True)

    def normally_small(self, v: int) -> None:
        if v < 64:
            self.put(v, 7)
        else:
            self.put(1, 1)
            n = _octets_for(v)
            self.length(n)
            self.buf += v.to_bytes(n, "big")

    def enumerated(self, index: int, n_root: int, ext: bool = False) -> None:
        if index < n_root:
            if ext:
                self.put(0, 1)
            self.constrained(index, n_root)
        elif ext:
            self.put(1, 1)
            self.normally_small(index - n_root)
        else:
            raise E2ValueError(f"enumerated index {index} outside 0..{n_root - 1}", value=index)

    def choice(self, index: int, n_root: int, ext: bool = False) -> None:
        """A CHOICE index; for an extension alternative the caller then writes the value as an open type."""
        self.enumerated(index, n_root, ext)

    def boolean(self, v: bool) -> None:
        self.put(1 if v else 0, 1)

    # -- SEQUENCE helpers -----------------------------------------------------------------------------
    def preamble(self, ext: bool, n_opt: int, bitmap: int, extended: bool = False) -> None:
        if ext:
            self.put(1 if extended else 0, 1)
        if n_opt:
            self.put(bitmap, n_opt)

    def extensions(self, additions: list[bytes | None]) -> None:
        """Write an extension-addition bitmap and the present additions (complete encodings) as open types."""
        n = len(additions)
        self.normally_small(n - 1)
        bitmap = 0
        for a in additions:
            bitmap = (bitmap << 1) | (a is not None)
        self.put(bitmap, n)
        for a in additions:
            if a is not None:
                self.open_type(a)

    def open_type(self, raw: bytes) -> None:
        """A complete encoding as an open type (fragmented when it reaches 16K octets)."""
        self.align()
        n = len(raw)
        if n < _16K:
            self.length(n)
            self.buf += raw
            return
        self._fragments(raw)

    def _fragments(self, raw: bytes) -> None:
        i = 0
        n = len(raw)
        while n - i >= _16K:
            m = min(4, (n - i) // _16K)
            self.buf.append(0xC0 | m)
            self.buf += raw[i : i + m * _16K]
            i += m * _16K
        self.length(n - i)
        self.buf += raw[i:]

    # -- strings --------------------------------------------------------------------------------------
    def octet_string(self, raw: bytes, lb: int = 0, ub: int | None = None, ext: bool = False, field: str = "") -> None:
        n = len(raw)
        inside = n >= lb and (ub is None or n <= ub)
        if ext:
            self.put(0 if inside else 1, 1)
            if not inside:
                self.align()
                self._var_octets(raw)
                return
        elif not inside:
            raise E2ValueError(f"size {n} outside {lb}..{ub}", field=field, value=raw)
        if ub is not None and lb == ub:
            if ub <= 2:
                self.octets_unaligned(raw)
                return
            if ub < _64K:
                self.octets(raw)
                return
        if ub is not None and ub < _64K:
            self.constrained(n - lb, ub - lb + 1)
            self.octets(raw)
            return
        self._var_octets(raw)

    def _var_octets(self, raw: bytes) -> None:
        n = len(raw)
        if n < _16K:
            self.length(n)
            self.buf += raw
        else:
            self._fragments(raw)

    def bit_string(
        self, value: int, nbits: int, lb: int = 0, ub: int | None = None, ext: bool = False, field: str = ""
    ) -> None:
        if value < 0 or value >> nbits:
            raise E2ValueError(f"value does not fit in {nbits} bits", field=field, value=value)
        inside = nbits >= lb and (ub is None or nbits <= ub)
        if ext:
            self.put(0 if inside else 1, 1)
        elif not inside:
            raise E2ValueError(f"{nbits} bits outside {lb}..{ub}", field=field, value=nbits)
        if inside and ub is not None and lb == ub:
            if ub > 16:
                self.align()
            self.put(value, nbits)
            return
        if inside and ub is not None and ub < _64K:
            self.constrained(nbits - lb, ub - lb + 1)
        else:
            self.length(nbits)
        if nbits:
            self.align()
            self.put(value, nbits)

    def printable_string(self, s: str, lb: int = 0, ub: int | None = None, ext: bool = False, field: str = "") -> None:
        try:
            raw = s.encode("ascii")
        except UnicodeEncodeError as exc:
            raise E2ValueError("not a PrintableString", field=field, value=s) from exc
        if not PRINTABLE.issuperset(raw):
            raise E2ValueError("character outside the PrintableString alphabet", field=field, value=s)
        n = len(raw)
        inside = n >= lb and (ub is None or n <= ub)
        if ext:
            self.put(0 if inside else 1, 1)
            if not inside:
                self.length(n)
                self.buf += raw
                return
        elif not inside:
            raise E2ValueError(f"length {n} outside {lb}..{ub}", field=field, value=s)
        if ub is not None and ub < _64K:
            if lb != ub:
                self.constrained(n - lb, ub - lb + 1)
            if ub <= 2:
                self.octets_unaligned(raw)
            elif n:
                self.octets(raw)
            return
        self.length(n)
        self.buf += raw

    def real(self, v: float) -> None:
        raw = encode_real_contents(v)
        self.length(len(raw))
        self.buf += raw


# -- REAL contents (X.690 8.5, the CER/DER form PER uses) ----------------------------------------------


def encode_real_contents(v: float) -> bytes:
    """X.690 contents octets of a REAL in the canonical binary form (base 2, odd mantissa)."""
    if v == 0.0:
        return b"\x43" if math.copysign(1.0, v) < 0 else b""
    if math.isinf(v):
        return b"\x40" if v > 0 else b"\x41"
    if math.isnan(v):
        return b"\x42"
    m, e = math.frexp(abs(v))  # abs(v) = m * 2**e, 0.5 <= m < 1
    mant = int(m * (1 << 53))
    e -= 53
    while mant & 1 == 0:
        mant >>= 1
        e += 1
    elen = max(1, (e.bit_length() + 8) >> 3) if e >= 0 else max(1, ((~e).bit_length() + 8) >> 3)
    if elen > 3:
        raise E2ValueError("REAL exponent too large", value=v)
    first = 0x80 | (0x40 if v < 0 else 0) | (elen - 1)
    return bytes([first]) + e.to_bytes(elen, "big", signed=True) + mant.to_bytes(_octets_for(mant), "big")


def decode_real_contents(raw: bytes) -> float:
    """Decode X.690 REAL contents octets: binary (bases 2/8/16), decimal (ISO 6093 NR1-3) or special."""
    first = raw[0]
    if first & 0x80:
        sign = -1.0 if first & 0x40 else 1.0
        base = (2, 8, 16, 0)[(first >> 4) & 3]
        if base == 0:
            raise ValueError("reserved base")
        f = (first >> 2) & 3
        ef = first & 3
        i = 1
        if ef == 3:
            if len(raw) < 2:
                raise ValueError("missing exponent length")
            elen = raw[1]
            i = 2
        else:
            elen = ef + 1
        if elen == 0 or len(raw) < i + elen:
            raise ValueError("truncated exponent")
        if elen > 8:
            raise ValueError("exponent too long")
        exp = int.from_bytes(raw[i : i + elen], "big", signed=True)
        mant_raw = raw[i + elen :]
        if len(mant_raw) > 64:
            raise ValueError("mantissa too long")
        mant = int.from_bytes(mant_raw, "big") << f
        shift = {2: 1, 8: 3, 16: 4}[base] * exp
        try:
            return sign * math.ldexp(float(mant), shift) if mant < (1 << 1023) else sign * float(mant) * 2.0**shift
        except OverflowError:
            return sign * math.inf
    if first & 0x40:
        special = {0x40: math.inf, 0x41: -math.inf, 0x42: math.nan, 0x43: -0.0}
        if first not in special or len(raw) != 1:
            raise ValueError(f"unknown special REAL 0x{first:02x}")
        return special[first]
    if first & 0x3F not in (1, 2, 3):
        raise ValueError("unknown decimal REAL form")
    try:
        text = raw[1:].decode("ascii").strip().replace(",", ".")
        return float(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"bad decimal REAL {raw[1:]!r}") from exc


# -- top-level entry points ------------------------------------------------------------------------------


def decode_complete(fn: Callable[[PerDecoder], T], data: bytes, what: str) -> T:
    """Decode one complete APER encoding of a type with ``fn``.

    Every failure leaves as :class:`E2DecodeError` naming ``what`` (the ASN.1 type); whole octets left over
    after the value are an error too (up to seven padding bits are not).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise E2DecodeError(f"{what}: expected bytes, got {type(data).__name__}")
    raw = bytes(data)
    dec = PerDecoder(raw)
    try:
        value = fn(dec)
    except E2DecodeError as exc:
        exc.within(raw)
        exc.add_context(what)
        raise
    except (E2ValueError, ValueError, IndexError, OverflowError, UnicodeDecodeError, RecursionError) as exc:
        raise E2DecodeError(f"{what}: {type(exc).__name__}: {exc}", data=raw, bit_position=dec.pos) from exc
    if dec.end - dec.pos >= 8:
        raise E2DecodeError(
            f"{what}: {(dec.end - dec.pos) >> 3} trailing octets after the value", data=raw, bit_position=dec.pos
        )
    return value


def encode_complete(fn: Callable[[PerEncoder, T], None], value: T) -> bytes:
    """Encode ``value`` with ``fn`` into one complete APER encoding (at least one octet)."""
    enc = PerEncoder()
    fn(enc, value)
    return enc.to_bytes()
