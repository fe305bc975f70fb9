"""Importing captures of E2AP over SCTP: link layers, IPv4/IPv6, DATA/I-DATA reassembly, what is skipped and
what is malformed (counted, never raised), node naming, and tshark agreeing on the synthetic captures."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ricsdk.e2 import e2ap as m
from ricsdk.e2.per import BitString
from ricsdk.trace.importer import ImportConfig, e2_node_name, import_capture
from ricsdk.trace.net import crc32c
from ricsdk.trace.pcap import (
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_RAW,
    CaptureError,
    PcapngWriter,
    exported_pdu,
    pcap_file,
)
from ricsdk.trace.records import Direction, encode_trace, parse_trace
from tests.trace import frames as f

TSHARK = shutil.which("tshark")
NODE, RIC = "10.0.0.7", "10.0.0.1"
NODE_PORT, RIC_PORT = 38472, 36421
T0 = 1_700_000_000_000_000_000


def indication(instance: int = 5, size: int = 40, sn: int = 1) -> bytes:
    return m.encode_e2ap(
        m.RicIndication(
            m.RicRequestId(7, instance),
            2,
            1,
            m.IndicationType.REPORT,
            b"\x01" * 8,
            bytes(range(256)) * (size // 256) + b"\x02" * (size % 256),
            sn,
        )
    )


def sub_request(instance: int = 5) -> bytes:
    return m.encode_e2ap(
        m.RicSubscriptionRequest(
            m.RicRequestId(7, instance), 2, b"\x10", (m.ActionToBeSetup(1, m.ActionType.REPORT, b"\x20"),)
        )
    )


def sub_response(instance: int = 5) -> bytes:
    return m.encode_e2ap(m.RicSubscriptionResponse(m.RicRequestId(7, instance), 2, (1,)))


SETUP = m.E2setupRequest(
    1,
    m.GnbE2NodeId(m.GlobalGnbId(b"\x00\xf1\x10", BitString(0xABCD, 22))),
    (m.RanFunction(2, b"\x00", 1, "1.3.6.1.4.1.53148.1.2.2.2"),),
    (m.ComponentConfigAddition(m.E2nodeComponentInterfaceType.F1, m.E2nodeComponentF1(1), b"\x01", b"\x02"),),
)


def to_ric(chunks: list[bytes], **kw: object) -> bytes:
    return f.ethernet(f.ipv4(NODE, RIC, f.sctp(NODE_PORT, RIC_PORT, chunks, **kw)))  # type: ignore[arg-type]


def to_node(chunks: list[bytes]) -> bytes:
    return f.ethernet(f.ipv4(RIC, NODE, f.sctp(RIC_PORT, NODE_PORT, chunks, vtag=0x5678)))


def capture(frames: list[bytes], linktype: int = LINKTYPE_ETHERNET) -> bytes:
    return pcap_file([(T0 + i * 1_000_000, fr) for i, fr in enumerate(frames)], linktype)


def fragments(payload: bytes, first_tsn: int, n: int, **kw: object) -> list[bytes]:
    size = -(-len(payload) // n)
    parts = [payload[i * size : (i + 1) * size] for i in range(n)]
    return [
        f.data(first_tsn + i, p, begin=i == 0, end=i == n - 1, **kw)  # type: ignore[arg-type]
        for i, p in enumerate(parts)
    ]


def test_crc32c_known_answer() -> None:
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0
    assert crc32c(bytes(32)) == 0x8A9136AA  # RFC 3720 B.4: 32 octets of zeros


def _crc32c_bitwise(data: bytes) -> int:
    c = 0xFFFFFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    return c ^ 0xFFFFFFFF


@given(st.binary(max_size=64), st.binary(max_size=40))
def test_crc32c_sliced_equals_bit_by_bit_and_continues(a: bytes, b: bytes) -> None:
    assert crc32c(a + b) == _crc32c_bitwise(a + b) == crc32c(b, crc32c(a))


def test_single_chunk_messages_both_directions() -> None:
    """Direction comes from the RIC port; mtype from the procedure; sub_id from the RICrequestID."""
    result = import_capture(
        capture(
            [
                to_node([f.data(1, sub_request())]),
                to_ric([f.data(10, sub_response())]),
                to_ric([f.data(11, indication())]),
            ]
        )
    )
    recs = result.records
    assert [(r.direction, r.mtype, r.sub_id) for r in recs] == [
        (Direction.OUT, 12010, 5),
        (Direction.IN, 12011, 5),
        (Direction.IN, 12050, 5),
    ]
    assert [r.payload for r in recs] == [sub_request(), sub_response(), indication()]
    assert {r.meid for r in recs} == {f"{NODE}:{NODE_PORT}"}
    assert recs[2].timestamp_ns == T0 + 2_000_000
    assert recs[0].src == f"{RIC}:{RIC_PORT}" and recs[1].src == f"{NODE}:{NODE_PORT}"
    assert result.stats.messages == 3 and not result.stats.malformed and not result.stats.skipped


def test_fragmented_message_is_reassembled_in_any_order_and_retransmissions_are_dropped() -> None:
    big = indication(size=3000)
    frags = fragments(big, 100, 3)
    frames = [
        to_ric([frags[2]]),
        to_ric([frags[0]]),
        to_ric([frags[0]]),
        to_ric([frags[1]]),
        to_ric([f.data(103, indication(sn=2))]),
    ]
    result = import_capture(capture(frames))
    assert [r.payload for r in result.records] == [big, indication(sn=2)]
    assert result.records[0].timestamp_ns == T0 + 3_000_000  # the frame that completed it
    assert result.stats.reassembled == 1
    assert result.stats.duplicates == 1
    assert result.stats.incomplete == 0


def test_bundled_chunks_and_interleaved_streams() -> None:
    """Two messages in one packet; fragments of two streams interleaved (each stream has its own TSN run)."""
    a, b = indication(instance=1, size=600), indication(instance=2, size=600)
    fa = fragments(a, 1, 2, sid=1)
    fb = fragments(b, 3, 2, sid=2)
    frames = [
        to_ric([fa[0], fb[0]]),
        to_ric([fb[1], fa[1]]),
        to_ric([f.data(5, sub_response(3)), f.data(6, indication(3))]),
    ]
    recs = import_capture(capture(frames)).records
    assert [r.payload for r in recs] == [b, a, sub_response(3), indication(3)]


def test_idata_fragments_are_reassembled() -> None:
    big = indication(size=2000)
    size = 700
    parts = [big[i : i + size] for i in range(0, len(big), size)]
    chunks = [f.idata(50 + i, p, mid=9, fsn=i, begin=i == 0, end=i == len(parts) - 1) for i, p in enumerate(parts)]
    result = import_capture(capture([to_ric([c]) for c in reversed(chunks)]))
    assert [r.payload for r in result.records] == [big]
    assert result.stats.reassembled == 1


def test_incomplete_messages_are_counted() -> None:
    frags = fragments(indication(size=1000), 1, 3)
    result = import_capture(capture([to_ric([frags[0]]), to_ric([frags[2]])]))
    assert result.records == ()
    assert result.stats.incomplete == 2


@pytest.mark.parametrize(
    ("linktype", "wrap"),
    [
        (LINKTYPE_ETHERNET, lambda p: f.ethernet(p, vlan=100)),
        (LINKTYPE_LINUX_SLL, f.sll),
        (LINKTYPE_LINUX_SLL2, f.sll2),
        (LINKTYPE_RAW, lambda p: p),
    ],
    ids=["ethernet-vlan", "sll", "sll2", "raw"],
)
def test_link_layers(linktype: int, wrap: object) -> None:
    packet = f.ipv4(NODE, RIC, f.sctp(NODE_PORT, RIC_PORT, [f.data(1, indication())]))
    recs = import_capture(capture([wrap(packet)], linktype)).records  # type: ignore[operator]
    assert [r.payload for r in recs] == [indication()]


def test_ipv6_with_extension_header() -> None:
    node6, ric6 = "2001:db8::7", "2001:db8::1"
    pkt = f.ipv6(node6, ric6, f.sctp(NODE_PORT, 37464, [f.data(1, indication())]), dest_options=True)
    frame = f.ethernet(pkt, ethertype=0x86DD)
    recs = import_capture(capture([frame])).records
    assert [(r.payload, r.direction, r.meid) for r in recs] == [(indication(), Direction.IN, f"[{node6}]:{NODE_PORT}")]


def test_non_e2_traffic_is_skipped_and_counted() -> None:
    ngap = f.ethernet(f.ipv4(NODE, RIC, f.sctp(38412, 38412, [f.data(1, b"\x00\x15\x00\x00", ppid=60)])))
    init_only = to_ric([f.chunk(1, 0, b"\x00" * 16)])
    tcp = f.ethernet(f.ipv4(NODE, RIC, b"\x00" * 20, proto=6))
    frag = f.ethernet(f.ipv4(NODE, RIC, f.sctp(NODE_PORT, RIC_PORT, [f.data(1, indication())]), more_fragments=True))
    frames = [
        f.arp(),
        f.ethernet(f.udp(NODE, RIC, 53, 53, b"dns")),
        tcp,
        ngap,
        init_only,
        frag,
        to_ric([f.data(2, indication())]),
    ]
    result = import_capture(capture(frames))
    assert [r.payload for r in result.records] == [indication()]
    assert dict(result.stats.skipped) == {
        "not-ip": 1,
        "not-sctp": 2,
        "not-e2": 1,
        "sctp-control": 1,
        "ip-fragment": 1,
    }
    assert not result.stats.malformed


def test_e2ap_ppid_on_another_port_is_taken_with_the_direction_of_the_procedure() -> None:
    frames = [
        f.ethernet(f.ipv4(NODE, RIC, f.sctp(40000, 50000, [f.data(1, indication())]))),
        f.ethernet(
            f.ipv4(RIC, NODE, f.sctp(50000, 40000, [f.data(1, sub_request(), ppid=0)]))
        ),  # association known now
    ]
    recs = import_capture(capture(frames)).records
    assert [(r.direction, r.mtype) for r in recs] == [(Direction.IN, 12050), (Direction.OUT, 12010)]
    assert {r.meid for r in recs} == {f"{NODE}:40000"}


def test_malformed_frames_are_counted_and_the_rest_imported() -> None:
    good = to_ric([f.data(1, indication())])
    bad_crc = to_ric([f.data(2, indication())], good_crc=False)
    truncated_ip = good[:30]
    bad_chunk = f.ethernet(f.ipv4(NODE, RIC, f.sctp(NODE_PORT, RIC_PORT, [b"\x00\x03\x00\xff" + b"\x00" * 12])))
    short_data = to_ric([f.chunk(0, 3, b"\x00\x00\x00\x09")])
    garbage_e2ap = to_ric([f.data(3, b"\xff\xff")])
    blob = capture(
        [good, bad_crc, truncated_ip, bad_chunk, short_data, garbage_e2ap, to_ric([f.data(4, indication(sn=9))])]
    )
    result = import_capture(blob + b"\x01\x02\x03")  # and a capture cut in the middle of a record header
    assert [r.payload for r in result.records] == [indication(), indication(sn=9)]
    assert dict(result.stats.malformed) == {
        "bad-checksum": 1,
        "truncated-ip": 1,
        "bad-chunk": 1,
        "bad-data-chunk": 1,
        "malformed-e2ap": 1,
        "truncated-capture": 1,
    }


def test_checksum_verification_can_be_turned_off() -> None:
    bad_crc = to_ric([f.data(2, indication())], good_crc=False)
    assert import_capture(capture([bad_crc]), ImportConfig(verify_checksum=False)).records[0].payload == indication()


def test_undecodable_e2ap_content_is_kept_and_counted() -> None:
    """A PDU whose frame reads (kind, procedure) but whose IEs do not decode still becomes a record."""
    broken = b"\x00\x05\x40\x05\x00\x00\x01\x00\x1d"  # RICindication with a truncated IE
    result = import_capture(capture([to_ric([f.data(1, broken)])]))
    assert [r.mtype for r in result.records] == [12050]
    assert result.stats.undecodable_e2ap == 1


def test_e2_setup_names_the_node_and_meids_override() -> None:
    frames = [to_ric([f.data(1, m.encode_e2ap(SETUP))]), to_ric([f.data(2, indication())])]
    result = import_capture(capture(frames))
    name = e2_node_name(SETUP.global_e2node_id)
    assert name == "gnb_001_001_0000abcd"
    assert {r.meid for r in result.records} == {name}
    assert result.nodes == {f"{NODE}:{NODE_PORT}": name}
    named = import_capture(capture(frames), ImportConfig(meids={NODE: "gnb-001"}))
    assert {r.meid for r in named.records} == {"gnb-001"}


def test_custom_ric_ports() -> None:
    frame = f.ethernet(f.ipv4(NODE, RIC, f.sctp(NODE_PORT, 5555, [f.data(1, indication(), ppid=0)])))
    assert import_capture(capture([frame])).records == ()
    assert len(import_capture(capture([frame]), ImportConfig(ric_ports=(5555,))).records) == 1


def test_exported_pdu_packets_with_address_tags_become_records() -> None:
    """A Wireshark 'Export PDUs' file: direction and node from the IP/port tags, the rest from the E2AP PDU."""
    w = PcapngWriter()
    node, ric = (f.ip(NODE), NODE_PORT), (f.ip(RIC), RIC_PORT)
    blob = (
        w.header()
        + w.packet(5, exported_pdu(indication(), src=node, dst=ric))
        + w.packet(6, exported_pdu(sub_request(), src=ric, dst=node))
    )
    recs = parse_trace(blob).records
    assert [(r.direction, r.mtype, r.meid, r.sub_id) for r in recs] == [
        (Direction.IN, 12050, f"{NODE}:{NODE_PORT}", 5),
        (Direction.OUT, 12010, f"{NODE}:{NODE_PORT}", 5),
    ]


def test_not_a_capture_raises() -> None:
    with pytest.raises(CaptureError):
        import_capture(b"definitely not a capture file")


@given(
    st.lists(st.binary(max_size=120), max_size=6),
    st.sampled_from([LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LINUX_SLL2]),
)
def test_fuzz_frames_only_counted(frames: list[bytes], linktype: int) -> None:
    result = import_capture(capture(frames, linktype))
    assert result.stats.frames == len(frames)


@given(st.data())
def test_fuzz_corrupted_sctp_payloads(data: st.DataObject) -> None:
    frame = bytearray(to_ric(fragments(indication(size=400), 1, 2)))
    for _ in range(data.draw(st.integers(1, 4))):
        frame[data.draw(st.integers(14, len(frame) - 1))] = data.draw(st.integers(0, 255))
    with contextlib.suppress(CaptureError):
        import_capture(capture([bytes(frame)]), ImportConfig(verify_checksum=data.draw(st.booleans())))


# -- tshark: an independent reading of the same synthetic capture ------------------------------------------


def _synthetic(tmp_path: Path) -> tuple[Path, list[bytes]]:
    big = indication(size=3000)
    messages = [sub_request(), sub_response(), big, indication(sn=2)]
    frames = [
        to_node([f.data(1, messages[0])]),
        to_ric([f.data(10, messages[1])]),
        *(to_ric([c]) for c in fragments(big, 11, 3)),
        to_ric([f.data(14, messages[3]), f.sack(1)]),
        f.arp(),
    ]
    path = tmp_path / "e2.pcap"
    path.write_bytes(capture(frames))
    return path, messages


def _tshark(*args: str) -> str:
    assert TSHARK, "tshark is missing: `make test` installs it (Debian package tshark)"
    return subprocess.run([TSHARK, *args], capture_output=True, text=True, check=True).stdout


def test_tshark_decodes_the_synthetic_sctp_capture_as_e2ap(tmp_path: Path) -> None:
    path, messages = _synthetic(tmp_path)
    out = _tshark(
        "-r",
        str(path),
        "-d",
        "sctp.port==36421,e2ap",
        "-o",
        "sctp.checksum:CRC-32c",
        "-T",
        "fields",
        "-E",
        "separator=;",
        "-e",
        "sctp.checksum.status",
        "-e",
        "e2ap.procedureCode",
        "-e",
        "e2ap.ricInstanceID",
    )
    rows = [line.split(";") for line in out.splitlines()]
    assert all(r[0] in ("1", "") for r in rows), rows  # 1 = checksum good (the ARP frame has none)
    decoded = [(r[1], r[2]) for r in rows if r[1]]
    assert decoded == [("8", "5"), ("8", "5"), ("5", "5"), ("5", "5")]  # the 3000-byte indication reassembled once
    ours = import_capture(path.read_bytes()).records
    assert [r.payload for r in ours] == messages


def test_tshark_reads_the_imported_trace(tmp_path: Path) -> None:
    path, messages = _synthetic(tmp_path)
    out_path = tmp_path / "e2.pcapng"
    out_path.write_bytes(encode_trace(import_capture(path.read_bytes()).records))
    out = _tshark(
        "-r", str(out_path), "-T", "fields", "-E", "separator=;", "-e", "e2ap.procedureCode", "-e", "frame.comment"
    )
    rows = [line.split(";", 1) for line in out.splitlines()]
    assert [r[0] for r in rows] == ["8", "8", "5", "5"]
    assert [json.loads(r[1])["mtype"] for r in rows] == [12010, 12011, 12050, 12050]
    assert [r.payload for r in parse_trace(out_path.read_bytes()).records] == messages
