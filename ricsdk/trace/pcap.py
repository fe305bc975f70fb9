"""pcap and pcapng, sans-I/O: build and parse capture files of E2 traffic that Wireshark opens.

Theory of operation
-------------------
E2AP PDUs are written with Wireshark's *exported PDU* link type (``LINKTYPE_WIRESHARK_UPPER_PDU``, 252): each
packet starts with TLVs (16-bit big-endian tag, 16-bit big-endian length, value) of which tag 12 names the
dissector to use (``e2ap``) and tag 0 ends the list; the PDU follows. Wireshark then decodes the bytes as E2AP
with no SCTP/IP framing around them.

Two containers:

- classic pcap (``.pcap``): a 24-byte global header, then per packet a 16-byte record header and the data;
  nanosecond timestamps (magic ``0xa1b23c4d``);
- pcapng (``.pcapng``): a section header, one interface description per link type, and enhanced packet
  blocks; each packet can carry a comment (option 1), which ricsdk uses for per-message metadata (direction,
  E2 node, RMR mtype and sub_id) as compact JSON.

Readers accept both containers and both byte orders and yield ``(linktype, timestamp_ns, data, comment)``;
malformed input raises :class:`~ricsdk.errors.RemoteProtocolError` subclasses naming the offset, never
anything else. Nothing here touches files: callers pass bytes in and write bytes out.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from ricsdk.errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "LINKTYPE_ETHERNET",
    "LINKTYPE_LINUX_SLL",
    "LINKTYPE_RAW",
    "LINKTYPE_UPPER_PDU",
    "CaptureError",
    "CaptureValueError",
    "CapturedPacket",
    "ExportedPdu",
    "LINKTYPE_IPV4",
    "LINKTYPE_IPV6",
    "LINKTYPE_LINUX_SLL2",
    "LINKTYPE_NULL",
    "PcapngWriter",
    "exported_pdu",
    "parse_exported_pdu",
    "parse_exported_pdu_tags",
    "pcap_file",
    "pcap_header",
    "pcap_record",
    "read_capture",
]

LINKTYPE_NULL: Final = 0
LINKTYPE_ETHERNET: Final = 1
LINKTYPE_RAW: Final = 101
LINKTYPE_LINUX_SLL: Final = 113
LINKTYPE_IPV4: Final = 228
LINKTYPE_IPV6: Final = 229
LINKTYPE_UPPER_PDU: Final = 252
LINKTYPE_LINUX_SLL2: Final = 276

_TAG_END: Final = 0
_TAG_DISSECTOR_NAME: Final = 12
_TAG_IPV4_SRC: Final = 20
_TAG_IPV4_DST: Final = 21
_TAG_IPV6_SRC: Final = 22
_TAG_IPV6_DST: Final = 23
_ADDR_LEN: Final = {_TAG_IPV4_SRC: 4, _TAG_IPV4_DST: 4, _TAG_IPV6_SRC: 16, _TAG_IPV6_DST: 16}
_TAG_PORT_TYPE: Final = 24
_PORT_TYPE_SCTP: Final = 1
_TAG_SRC_PORT: Final = 25
_TAG_DST_PORT: Final = 26
_PCAP_MAGIC_NS: Final = 0xA1B23C4D
_PCAP_MAGIC_US: Final = 0xA1B2C3D4
_SHB: Final = 0x0A0D0D0A
_IDB: Final = 0x00000001
_EPB: Final = 0x00000006
_SPB: Final = 0x00000003
_BYTE_ORDER_MAGIC: Final = 0x1A2B3C4D
_MAX_SNAPLEN: Final = 262144


class CaptureError(RemoteProtocolError):
    """A capture file (or exported-PDU header) that cannot be parsed; ``offset`` is where it broke."""

    def __init__(self, message: str, *, offset: int = -1) -> None:
        self.offset = offset
        super().__init__(f"{message} (at offset {offset})" if offset >= 0 else message)


class CaptureValueError(LocalProtocolError, ValueError):
    """A packet we were asked to write does not fit the container (timestamp or size out of range)."""


@dataclass(frozen=True, slots=True)
class CapturedPacket:
    linktype: int
    timestamp_ns: int
    data: bytes
    comment: str | None = None


def _pad4(n: int) -> int:
    return (4 - n % 4) % 4


def exported_pdu(
    pdu: bytes,
    dissector: str = "e2ap",
    *,
    src: tuple[bytes, int] | None = None,
    dst: tuple[bytes, int] | None = None,
) -> bytes:
    """Prefix ``pdu`` with the exported-PDU TLVs that select ``dissector``.

    ``src``/``dst`` add the address and port tags Wireshark's *Export PDUs* writes for SCTP traffic
    (``(4- or 16-octet address, port)``).
    """
    name = dissector.encode("ascii")
    padded = name + b"\x00" * _pad4(len(name))
    tlvs = struct.pack(">HH", _TAG_DISSECTOR_NAME, len(padded)) + padded
    if src is not None or dst is not None:
        tlvs += struct.pack(">HHI", _TAG_PORT_TYPE, 4, _PORT_TYPE_SCTP)
    ends = ((src, _TAG_IPV4_SRC, _TAG_IPV6_SRC, _TAG_SRC_PORT), (dst, _TAG_IPV4_DST, _TAG_IPV6_DST, _TAG_DST_PORT))
    for end, v4, v6, port_tag in ends:
        if end is None:
            continue
        addr, port = end
        if len(addr) not in (4, 16):
            raise CaptureValueError(f"an address is 4 or 16 octets, not {len(addr)}")
        tlvs += struct.pack(">HH", v4 if len(addr) == 4 else v6, len(addr)) + addr
        tlvs += struct.pack(">HHI", port_tag, 4, port)
    return tlvs + struct.pack(">HH", _TAG_END, 0) + pdu


def parse_exported_pdu(data: bytes) -> tuple[str, bytes]:
    """Split an exported-PDU packet into (dissector name, PDU)."""
    exp = parse_exported_pdu_tags(data)
    return exp.dissector, exp.pdu


@dataclass(frozen=True, slots=True)
class ExportedPdu:
    """An exported-PDU packet: the dissector, the PDU and the addressing tags Wireshark's export adds.

    Addresses are the raw 4 (IPv4) or 16 (IPv6) octets; absent tags are None.
    """

    dissector: str
    pdu: bytes
    src_addr: bytes | None = None
    dst_addr: bytes | None = None
    src_port: int | None = None
    dst_port: int | None = None


def parse_exported_pdu_tags(data: bytes) -> ExportedPdu:
    """Parse an exported-PDU packet with its IP address and port tags (others are skipped)."""
    off = 0
    name = ""
    addrs: dict[int, bytes] = {}
    ports: dict[int, int] = {}
    while True:
        if off + 4 > len(data):
            raise CaptureError("truncated exported-PDU tag", offset=off)
        tag, length = struct.unpack_from(">HH", data, off)
        off += 4
        if tag == _TAG_END:
            return ExportedPdu(
                name,
                data[off + length :],
                addrs.get(_TAG_IPV4_SRC, addrs.get(_TAG_IPV6_SRC)),
                addrs.get(_TAG_IPV4_DST, addrs.get(_TAG_IPV6_DST)),
                ports.get(_TAG_SRC_PORT),
                ports.get(_TAG_DST_PORT),
            )
        if off + length > len(data):
            raise CaptureError(f"exported-PDU tag {tag} runs past the packet", offset=off)
        value = data[off : off + length]
        if tag == _TAG_DISSECTOR_NAME:
            name = value.rstrip(b"\x00").decode("ascii", "replace")
        elif length == _ADDR_LEN.get(tag):
            addrs[tag] = value
        elif tag in (_TAG_SRC_PORT, _TAG_DST_PORT) and length == 4:
            ports[tag] = struct.unpack(">I", value)[0]
        off += length


# -- classic pcap ----------------------------------------------------------------------------------------


def pcap_header(linktype: int = LINKTYPE_UPPER_PDU, snaplen: int = _MAX_SNAPLEN) -> bytes:
    """The global header of a little-endian, nanosecond-resolution pcap file."""
    return struct.pack("<IHHiIII", _PCAP_MAGIC_NS, 2, 4, 0, 0, snaplen, linktype)


def pcap_record(timestamp_ns: int, data: bytes) -> bytes:
    sec, ns = divmod(timestamp_ns, 1_000_000_000)
    if not 0 <= sec < 1 << 32:
        raise CaptureValueError(f"timestamp {timestamp_ns} ns does not fit a pcap record (use pcapng)")
    if len(data) > _MAX_SNAPLEN:
        raise CaptureValueError(f"packet of {len(data)} bytes exceeds the snap length {_MAX_SNAPLEN}")
    return struct.pack("<IIII", sec, ns, len(data), len(data)) + data


def pcap_file(packets: list[tuple[int, bytes]], linktype: int = LINKTYPE_UPPER_PDU) -> bytes:
    """A whole pcap file from ``(timestamp_ns, data)`` pairs."""
    return pcap_header(linktype) + b"".join(pcap_record(t, d) for t, d in packets)


# -- pcapng --------------------------------------------------------------------------------------------


def _block(block_type: int, body: bytes) -> bytes:
    total = 12 + len(body)
    return struct.pack("<II", block_type, total) + body + struct.pack("<I", total)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\x00" * _pad4(len(value))


class PcapngWriter:
    """Builds a pcapng stream block by block: ``header()`` once, then ``packet()`` per message.

    Interfaces are declared lazily, one per link type, with nanosecond timestamps (if_tsresol = 9).
    """

    def __init__(self, application: str = "ricsdk") -> None:
        self._application = application
        self._interfaces: dict[int, int] = {}

    def header(self) -> bytes:
        opts = _option(4, self._application.encode()) + _option(0, b"")
        body = struct.pack("<IHHq", _BYTE_ORDER_MAGIC, 1, 0, -1) + opts
        return _block(_SHB, body)

    def packet(
        self, timestamp_ns: int, data: bytes, linktype: int = LINKTYPE_UPPER_PDU, comment: str | None = None
    ) -> bytes:
        out = b""
        iface = self._interfaces.get(linktype)
        if iface is None:
            iface = self._interfaces[linktype] = len(self._interfaces)
            opts = _option(9, b"\x09") + _option(0, b"")
            out += _block(_IDB, struct.pack("<HHI", linktype, 0, _MAX_SNAPLEN) + opts)
        hi, lo = divmod(timestamp_ns, 1 << 32)
        body = struct.pack("<IIIII", iface, hi, lo, len(data), len(data)) + data + b"\x00" * _pad4(len(data))
        if comment is not None:
            body += _option(1, comment.encode("utf-8")) + _option(0, b"")
        return out + _block(_EPB, body)


# -- reading -------------------------------------------------------------------------------------------


def read_capture(data: bytes) -> Iterator[CapturedPacket]:
    """Packets of a pcap or pcapng file (either byte order)."""
    if len(data) < 4:
        raise CaptureError("not a capture file: too short", offset=0)
    magic_le = struct.unpack_from("<I", data, 0)[0]
    if magic_le == _SHB:
        yield from _read_pcapng(data)
    elif magic_le in (_PCAP_MAGIC_NS, _PCAP_MAGIC_US):
        yield from _read_pcap(data, "<", magic_le == _PCAP_MAGIC_NS)
    elif struct.unpack_from(">I", data, 0)[0] in (_PCAP_MAGIC_NS, _PCAP_MAGIC_US):
        yield from _read_pcap(data, ">", struct.unpack_from(">I", data, 0)[0] == _PCAP_MAGIC_NS)
    else:
        raise CaptureError(f"not a pcap/pcapng file (magic 0x{magic_le:08x})", offset=0)


def _read_pcap(data: bytes, order: str, nanos: bool) -> Iterator[CapturedPacket]:
    if len(data) < 24:
        raise CaptureError("truncated pcap global header", offset=0)
    linktype = struct.unpack_from(order + "I", data, 20)[0] & 0x0FFFFFFF
    off = 24
    while off < len(data):
        if off + 16 > len(data):
            raise CaptureError("truncated pcap record header", offset=off)
        sec, frac, incl, _orig = struct.unpack_from(order + "IIII", data, off)
        off += 16
        if incl > _MAX_SNAPLEN or off + incl > len(data):
            raise CaptureError(f"pcap record of {incl} bytes runs past the file", offset=off - 16)
        ts = sec * 1_000_000_000 + (frac if nanos else frac * 1000)
        yield CapturedPacket(linktype, ts, data[off : off + incl])
        off += incl


def _read_pcapng(data: bytes) -> Iterator[CapturedPacket]:
    off = 0
    order = "<"
    interfaces: list[tuple[int, int]] = []  # (linktype, ticks per second)
    while off < len(data):
        if off + 12 > len(data):
            raise CaptureError("truncated pcapng block", offset=off)
        btype = struct.unpack_from(order + "I", data, off)[0]
        if btype == _SHB:
            bom = data[off + 8 : off + 12]
            if bom == struct.pack("<I", _BYTE_ORDER_MAGIC):
                order = "<"
            elif bom == struct.pack(">I", _BYTE_ORDER_MAGIC):
                order = ">"
            else:
                raise CaptureError("bad pcapng byte-order magic", offset=off + 8)
            interfaces = []
        total = struct.unpack_from(order + "I", data, off + 4)[0]
        if total < 12 or total % 4 or off + total > len(data):
            raise CaptureError(f"pcapng block length {total} invalid", offset=off + 4)
        body = data[off + 8 : off + total - 4]
        if btype == _IDB:
            if len(body) < 8:
                raise CaptureError("truncated interface description", offset=off)
            linktype = struct.unpack_from(order + "H", body, 0)[0]
            interfaces.append((linktype, _tsresol(body[8:], order)))
        elif btype == _EPB:
            if len(body) < 20:
                raise CaptureError("truncated enhanced packet block", offset=off)
            iface, hi, lo, cap, _orig = struct.unpack_from(order + "IIIII", body, 0)
            if iface >= len(interfaces):
                raise CaptureError(f"packet on undeclared interface {iface}", offset=off)
            if 20 + cap > len(body):
                raise CaptureError("packet data runs past its block", offset=off)
            linktype, ticks = interfaces[iface]
            raw_ts = (hi << 32) | lo
            ts = raw_ts * 1_000_000_000 // ticks
            pkt = body[20 : 20 + cap]
            comment = _comment(body[20 + cap + _pad4(cap) :], order)
            yield CapturedPacket(linktype, ts, pkt, comment)
        elif btype == _SPB:
            if not interfaces:
                raise CaptureError("simple packet block before any interface", offset=off)
            length = struct.unpack_from(order + "I", body, 0)[0]
            yield CapturedPacket(interfaces[0][0], 0, body[4 : 4 + min(length, len(body) - 4)])
        off += total


def _iter_options(raw: bytes, order: str) -> Iterator[tuple[int, bytes]]:
    off = 0
    while off + 4 <= len(raw):
        code, length = struct.unpack_from(order + "HH", raw, off)
        off += 4
        if code == 0:
            return
        yield code, raw[off : off + length]
        off += length + _pad4(length)


def _tsresol(opts: bytes, order: str) -> int:
    for code, value in _iter_options(opts, order):
        if code == 9 and value:
            r = value[0]
            return int(2 ** (r & 0x7F) if r & 0x80 else 10 ** (r & 0x7F))
    return 1_000_000


def _comment(opts: bytes, order: str) -> str | None:
    for code, value in _iter_options(opts, order):
        if code == 1:
            return value.decode("utf-8", "replace")
    return None
