"""A tiny builder of captured frames for the importer tests: Ethernet / Linux cooked / raw IP, IPv4 / IPv6,
SCTP with DATA and I-DATA chunks and a correct (or deliberately wrong) CRC32c.

Written from the RFCs (791, 8200, 9260, 8260) and the libpcap link-type descriptions; nothing here is shared
with the code under test except :func:`ricsdk.trace.net.crc32c`, whose known-answer test and tshark's own
checksum validation (test_importer.py) keep it honest.
"""

from __future__ import annotations

import ipaddress
import struct

from ricsdk.trace.net import crc32c

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


def ip(text: str) -> bytes:
    return ipaddress.ip_address(text).packed


# -- SCTP -----------------------------------------------------------------------------------------------


def chunk(ctype: int, flags: int, value: bytes) -> bytes:
    length = 4 + len(value)
    return struct.pack(">BBH", ctype, flags, length) + value + b"\x00" * (-length % 4)


def data(
    tsn: int,
    payload: bytes,
    *,
    sid: int = 0,
    ssn: int = 0,
    ppid: int = 70,
    begin: bool = True,
    end: bool = True,
    unordered: bool = False,
) -> bytes:
    flags = (4 if unordered else 0) | (2 if begin else 0) | (1 if end else 0)
    return chunk(0, flags, struct.pack(">IHHI", tsn, sid, ssn, ppid) + payload)


def idata(
    tsn: int,
    payload: bytes,
    *,
    mid: int,
    fsn: int = 0,
    sid: int = 0,
    ppid: int = 70,
    begin: bool = True,
    end: bool = True,
) -> bytes:
    flags = (2 if begin else 0) | (1 if end else 0)
    fourth = ppid if begin else fsn
    return chunk(64, flags, struct.pack(">IHHII", tsn, sid, 0, mid, fourth) + payload)


def sack(cum_tsn: int) -> bytes:
    return chunk(3, 0, struct.pack(">IIHH", cum_tsn, 65536, 0, 0))


def sctp(src_port: int, dst_port: int, chunks: list[bytes], *, vtag: int = 0x1234, good_crc: bool = True) -> bytes:
    body = b"".join(chunks)
    head = struct.pack(">HHI", src_port, dst_port, vtag)
    crc = crc32c(head + b"\x00\x00\x00\x00" + body)
    if not good_crc:
        crc ^= 0xDEAD
    return head + struct.pack("<I", crc) + body


# -- IP -------------------------------------------------------------------------------------------------


def _ones_complement(b: bytes) -> int:
    if len(b) % 2:
        b += b"\x00"
    s: int = sum(struct.unpack(f">{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(
    src: str, dst: str, payload: bytes, *, proto: int = 132, more_fragments: bool = False, frag_offset: int = 0
) -> bytes:
    flags = (0x2000 if more_fragments else 0x4000 if not frag_offset else 0) | frag_offset
    head = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 7, flags, 64, proto, 0, ip(src), ip(dst))
    head = head[:10] + struct.pack(">H", _ones_complement(head)) + head[12:]
    return head + payload


def ipv6(src: str, dst: str, payload: bytes, *, proto: int = 132, dest_options: bool = False) -> bytes:
    nxt = proto
    if dest_options:
        payload = bytes((proto, 0)) + b"\x01\x04\x00\x00\x00\x00" + payload  # PadN option, 8 octets in all
        nxt = 60
    return struct.pack(">IHBB16s16s", 6 << 28, len(payload), nxt, 64, ip(src), ip(dst)) + payload


# -- link layers ----------------------------------------------------------------------------------------


def ethernet(packet: bytes, *, ethertype: int = 0x0800, vlan: int | None = None) -> bytes:
    tag = struct.pack(">HH", 0x8100, vlan) if vlan is not None else b""
    return MAC_B + MAC_A + tag + struct.pack(">H", ethertype) + packet


def sll(packet: bytes, *, protocol: int = 0x0800) -> bytes:
    return struct.pack(">HHH8sH", 0, 1, 6, MAC_A + b"\x00\x00", protocol) + packet


def sll2(packet: bytes, *, protocol: int = 0x0800) -> bytes:
    return struct.pack(">HHIHBB8s", protocol, 0, 2, 1, 0, 6, MAC_A + b"\x00\x00") + packet


def arp() -> bytes:
    body = struct.pack(">HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, MAC_A, ip("10.0.0.1"), bytes(6), ip("10.0.0.2"))
    return ethernet(body, ethertype=0x0806)


def udp(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    return ipv4(src, dst, struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload, proto=17)
