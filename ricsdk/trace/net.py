"""Link layer, IP and SCTP framing of captured packets, sans-I/O: frame bytes in, SCTP chunks out.

Theory of operation
-------------------
:func:`ip_datagram` peels the link layer (Ethernet with 802.1Q/802.1ad tags, Linux cooked capture v1 and v2,
BSD loopback, raw IP) and the IP header (IPv4, IPv6 with its extension headers) off one captured frame;
it returns None for frames that carry no IP (ARP, LLDP, ...) and marks IP fragments, which are not
reassembled. :func:`sctp_packet` splits an SCTP packet into its chunks after checking the CRC32c, and
:func:`data_chunk` reads a DATA (RFC 9260) or I-DATA (RFC 8260) chunk.

Anything malformed (truncated headers, lengths that run past the frame, a bad checksum) raises
:class:`FrameError`, whose ``reason`` is a short stable name the importer counts by.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from ricsdk.errors import RemoteProtocolError
from ricsdk.trace.pcap import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
)

__all__ = [
    "CHUNK_DATA",
    "CHUNK_I_DATA",
    "IPPROTO_SCTP",
    "SUPPORTED_LINKTYPES",
    "DataChunk",
    "FrameError",
    "IpDatagram",
    "SctpChunk",
    "SctpPacket",
    "crc32c",
    "data_chunk",
    "ip_datagram",
    "sctp_packet",
]

IPPROTO_SCTP: Final = 132
CHUNK_DATA: Final = 0
CHUNK_I_DATA: Final = 64
SUPPORTED_LINKTYPES: Final = frozenset(
    {
        LINKTYPE_NULL,
        LINKTYPE_ETHERNET,
        LINKTYPE_RAW,
        LINKTYPE_LINUX_SLL,
        LINKTYPE_IPV4,
        LINKTYPE_IPV6,
        LINKTYPE_LINUX_SLL2,
    }
)

_ETH_IPV4: Final = 0x0800
_ETH_IPV6: Final = 0x86DD
_ETH_VLAN: Final = frozenset({0x8100, 0x88A8, 0x9100})
_BSD_AF_INET6: Final = frozenset({24, 28, 30})
_IPV6_EXT: Final = frozenset({0, 43, 60})  # hop-by-hop, routing, destination options
_IPV6_FRAGMENT: Final = 44
_IPV6_AH: Final = 51


class FrameError(RemoteProtocolError):
    """A captured frame that cannot be parsed; ``reason`` names what broke, ``offset`` where."""

    def __init__(self, reason: str, message: str, *, offset: int = -1) -> None:
        self.reason = reason
        self.offset = offset
        super().__init__(f"{reason}: {message}" + (f" (at offset {offset})" if offset >= 0 else ""))


# -- CRC32c (Castagnoli), reflected, as SCTP uses it ------------------------------------------------------


def _crc_tables() -> tuple[tuple[int, ...], ...]:
    """The byte table of the reflected Castagnoli polynomial, and seven more for slicing by 8 octets."""
    poly = 0x82F63B78
    t0 = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        t0.append(c)
    tables = [t0]
    for _ in range(7):
        prev = tables[-1]
        tables.append([(prev[n] >> 8) ^ t0[prev[n] & 0xFF] for n in range(256)])
    return tuple(tuple(t) for t in tables)


_CRC_TABLES: Final = _crc_tables()


def crc32c(data: bytes, crc: int = 0) -> int:
    """CRC-32C of ``data`` (continuing ``crc``); ``crc32c(b"123456789") == 0xE3069283``.

    Eight octets per step (two little-endian words, eight table lookups), then the tail octet by octet.
    """
    t0, t1, t2, t3, t4, t5, t6, t7 = _CRC_TABLES
    c = crc ^ 0xFFFFFFFF
    n = len(data) & ~7
    for lo, hi in struct.iter_unpack("<II", data[:n]):
        c ^= lo
        c = (
            t7[c & 0xFF]
            ^ t6[(c >> 8) & 0xFF]
            ^ t5[(c >> 16) & 0xFF]
            ^ t4[c >> 24]
            ^ t3[hi & 0xFF]
            ^ t2[(hi >> 8) & 0xFF]
            ^ t1[(hi >> 16) & 0xFF]
            ^ t0[hi >> 24]
        )
    for b in data[n:]:
        c = t0[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


# -- link layer + IP ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IpDatagram:
    """The transport payload of an IP packet; ``fragment`` is True for any IPv4/IPv6 fragment."""

    version: int
    src: bytes
    dst: bytes
    protocol: int
    payload: bytes
    fragment: bool = False


def _need(frame: bytes, end: int, reason: str, what: str) -> None:
    if end > len(frame):
        raise FrameError(reason, f"{what} needs {end} bytes, the frame has {len(frame)}", offset=len(frame))


def _link_payload(linktype: int, frame: bytes) -> tuple[int, int] | None:
    """(offset of the network header, IP version or 0 = from the header) or None if it is not IP."""
    if linktype in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6):
        return 0, 0
    if linktype == LINKTYPE_ETHERNET:
        _need(frame, 14, "truncated-link", "Ethernet header")
        off, ethertype = 12, (frame[12] << 8) | frame[13]
        while ethertype in _ETH_VLAN:
            off += 4
            _need(frame, off + 2, "truncated-link", "VLAN tag")
            ethertype = (frame[off] << 8) | frame[off + 1]
        off += 2
    elif linktype == LINKTYPE_LINUX_SLL:
        _need(frame, 16, "truncated-link", "Linux cooked header")
        off, ethertype = 16, (frame[14] << 8) | frame[15]
    elif linktype == LINKTYPE_LINUX_SLL2:
        _need(frame, 20, "truncated-link", "Linux cooked v2 header")
        off, ethertype = 20, (frame[0] << 8) | frame[1]
    elif linktype == LINKTYPE_NULL:
        _need(frame, 4, "truncated-link", "loopback header")
        family = struct.unpack_from("<I", frame, 0)[0]
        if family > 0xFFFF:
            family = struct.unpack_from(">I", frame, 0)[0]
        if family == 2:
            return 4, 4
        if family in _BSD_AF_INET6:
            return 4, 6
        return None
    else:
        raise FrameError("unsupported-linktype", f"link type {linktype} is not supported")
    if ethertype == _ETH_IPV4:
        return off, 4
    if ethertype == _ETH_IPV6:
        return off, 6
    return None


def ip_datagram(linktype: int, frame: bytes) -> IpDatagram | None:
    """The IP datagram of a captured frame, or None when the frame carries no IP."""
    link = _link_payload(linktype, frame)
    if link is None:
        return None
    off, version = link
    _need(frame, off + 1, "truncated-ip", "IP version")
    header_version = frame[off] >> 4
    if version and header_version != version:
        raise FrameError("bad-ip-header", f"IP version {header_version} where {version} was announced", offset=off)
    if header_version == 4:
        return _ipv4(frame, off)
    if header_version == 6:
        return _ipv6(frame, off)
    raise FrameError("bad-ip-header", f"IP version {header_version}", offset=off)


def _ipv4(frame: bytes, off: int) -> IpDatagram:
    _need(frame, off + 20, "truncated-ip", "IPv4 header")
    ihl = (frame[off] & 0x0F) * 4
    total = (frame[off + 2] << 8) | frame[off + 3]
    if ihl < 20 or total < ihl:
        raise FrameError("bad-ip-header", f"IPv4 header length {ihl}, total length {total}", offset=off)
    _need(frame, off + total, "truncated-ip", "IPv4 packet")
    flags_frag = (frame[off + 6] << 8) | frame[off + 7]
    fragment = bool(flags_frag & 0x2000) or (flags_frag & 0x1FFF) != 0
    return IpDatagram(
        4,
        frame[off + 12 : off + 16],
        frame[off + 16 : off + 20],
        frame[off + 9],
        frame[off + ihl : off + total],
        fragment,
    )


def _ipv6(frame: bytes, off: int) -> IpDatagram:
    _need(frame, off + 40, "truncated-ip", "IPv6 header")
    plen = (frame[off + 4] << 8) | frame[off + 5]
    nxt = frame[off + 6]
    src, dst = frame[off + 8 : off + 24], frame[off + 24 : off + 40]
    start = off + 40
    end = start + plen if plen else len(frame)
    _need(frame, end, "truncated-ip", "IPv6 payload")
    p = start
    fragment = False
    while nxt in _IPV6_EXT or nxt in (_IPV6_FRAGMENT, _IPV6_AH):
        if p + 8 > end:
            raise FrameError("bad-ip-header", "IPv6 extension header runs past the packet", offset=p)
        if nxt == _IPV6_FRAGMENT:
            fragment = fragment or bool(((frame[p + 2] << 8) | frame[p + 3]) & 0xFFF9)
            length = 8
        elif nxt == _IPV6_AH:
            length = (frame[p + 1] + 2) * 4
        else:
            length = (frame[p + 1] + 1) * 8
        nxt = frame[p]
        p += length
        if p > end:
            raise FrameError("bad-ip-header", "IPv6 extension header runs past the packet", offset=p)
    return IpDatagram(6, src, dst, nxt, frame[p:end], fragment)


# -- SCTP ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SctpChunk:
    type: int
    flags: int
    value: bytes


@dataclass(frozen=True, slots=True)
class SctpPacket:
    src_port: int
    dst_port: int
    vtag: int
    chunks: tuple[SctpChunk, ...]


def sctp_packet(data: bytes, *, verify_checksum: bool = True) -> SctpPacket:
    """Split an SCTP packet into chunks; the CRC32c is checked unless ``verify_checksum`` is False."""
    if len(data) < 12:
        raise FrameError("truncated-sctp", f"SCTP common header needs 12 bytes, got {len(data)}", offset=0)
    src_port, dst_port, vtag = struct.unpack_from(">HHI", data, 0)
    if verify_checksum:
        stored = struct.unpack_from("<I", data, 8)[0]  # the CRC's bytes go out least significant first
        computed = crc32c(data[:8] + b"\x00\x00\x00\x00" + data[12:])
        if computed != stored:
            raise FrameError("bad-checksum", f"CRC32c 0x{stored:08x} != computed 0x{computed:08x}", offset=8)
    chunks = []
    off = 12
    while off < len(data):
        if off + 4 > len(data):
            raise FrameError("bad-chunk", "truncated chunk header", offset=off)
        ctype, flags, length = struct.unpack_from(">BBH", data, off)
        if length < 4 or off + length > len(data):
            raise FrameError("bad-chunk", f"chunk length {length} invalid", offset=off + 2)
        chunks.append(SctpChunk(ctype, flags, data[off + 4 : off + length]))
        off += length + (-length % 4)
    return SctpPacket(src_port, dst_port, vtag, tuple(chunks))


@dataclass(frozen=True, slots=True)
class DataChunk:
    """A DATA or I-DATA chunk. ``ppid`` is None on I-DATA fragments after the first (they carry the FSN)."""

    idata: bool
    tsn: int
    stream: int
    ssn: int
    mid: int
    fsn: int
    ppid: int | None
    unordered: bool
    begin: bool
    end: bool
    data: bytes


def data_chunk(chunk: SctpChunk) -> DataChunk:
    """Read a DATA (type 0) or I-DATA (type 64) chunk."""
    flags = chunk.flags
    unordered, begin, end = bool(flags & 0x04), bool(flags & 0x02), bool(flags & 0x01)
    v = chunk.value
    if chunk.type == CHUNK_DATA:
        if len(v) < 12:
            raise FrameError("bad-data-chunk", f"DATA chunk of {len(v) + 4} bytes", offset=0)
        tsn, sid, ssn, ppid = struct.unpack_from(">IHHI", v, 0)
        return DataChunk(False, tsn, sid, ssn, 0, 0, ppid, unordered, begin, end, v[12:])
    if chunk.type == CHUNK_I_DATA:
        if len(v) < 16:
            raise FrameError("bad-data-chunk", f"I-DATA chunk of {len(v) + 4} bytes", offset=0)
        tsn, sid, _reserved, mid, ppid_fsn = struct.unpack_from(">IHHII", v, 0)
        if begin:
            return DataChunk(True, tsn, sid, 0, mid, 0, ppid_fsn, unordered, begin, end, v[16:])
        return DataChunk(True, tsn, sid, 0, mid, ppid_fsn, None, unordered, begin, end, v[16:])
    raise FrameError("bad-data-chunk", f"chunk type {chunk.type} carries no user data")
