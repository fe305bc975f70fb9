"""pcap/pcapng building and parsing: round trips in both containers, exported-PDU tags, hostile input."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ricsdk.trace.pcap import (
    LINKTYPE_ETHERNET,
    LINKTYPE_UPPER_PDU,
    CapturedPacket,
    CaptureError,
    CaptureValueError,
    PcapngWriter,
    exported_pdu,
    parse_exported_pdu,
    pcap_file,
    read_capture,
)

packets = st.lists(st.tuples(st.integers(0, (1 << 32) * 10**9 - 1), st.binary(max_size=200)), max_size=8)


@given(packets)
def test_pcap_round_trip(pkts: list[tuple[int, bytes]]) -> None:
    assert list(read_capture(pcap_file(pkts))) == [CapturedPacket(LINKTYPE_UPPER_PDU, t, d) for t, d in pkts]


@given(packets, st.none() | st.text(max_size=40))
def test_pcapng_round_trip_with_comments(pkts: list[tuple[int, bytes]], comment: str | None) -> None:
    w = PcapngWriter()
    blob = w.header() + b"".join(w.packet(t, d, comment=comment) for t, d in pkts)
    assert list(read_capture(blob)) == [CapturedPacket(LINKTYPE_UPPER_PDU, t, d, comment) for t, d in pkts]


def test_pcapng_declares_one_interface_per_link_type() -> None:
    w = PcapngWriter()
    blob = w.header() + w.packet(1, b"a") + w.packet(2, b"b", LINKTYPE_ETHERNET) + w.packet(3, b"c")
    assert [(p.linktype, p.data) for p in read_capture(blob)] == [
        (LINKTYPE_UPPER_PDU, b"a"),
        (LINKTYPE_ETHERNET, b"b"),
        (LINKTYPE_UPPER_PDU, b"c"),
    ]


@pytest.mark.parametrize("name", ["e2ap", "sctp", "abc"])
def test_exported_pdu_round_trip(name: str) -> None:
    assert parse_exported_pdu(exported_pdu(b"\x00\x05", name)) == (name, b"\x00\x05")


def test_big_endian_microsecond_pcap_is_read() -> None:
    blob = struct.pack(">IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1) + struct.pack(">IIII", 3, 5, 2, 2) + b"hi"
    assert list(read_capture(blob)) == [CapturedPacket(1, 3_000_005_000, b"hi")]


def test_out_of_range_timestamps_are_refused() -> None:
    with pytest.raises(CaptureValueError):
        pcap_file([(1 << 62, b"x")])


def test_truncated_record_names_its_offset() -> None:
    blob = pcap_file([(0, b"abcdef")])[:-2]
    with pytest.raises(CaptureError) as info:
        list(read_capture(blob))
    assert info.value.offset == 24


@given(st.binary(max_size=300))
def test_fuzz_only_capture_errors(data: bytes) -> None:
    with contextlib.suppress(CaptureError):
        list(read_capture(data))
    with contextlib.suppress(CaptureError):
        parse_exported_pdu(data)


@given(packets, st.data())
def test_fuzz_corrupted_pcapng(pkts: list[tuple[int, bytes]], data: st.DataObject) -> None:
    w = PcapngWriter()
    blob = bytearray(w.header() + b"".join(w.packet(t, d) for t, d in pkts))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(blob) - 1))
        blob[i] = data.draw(st.integers(0, 255))
    with contextlib.suppress(CaptureError):
        list(read_capture(bytes(blob[: data.draw(st.integers(0, len(blob)))])))
