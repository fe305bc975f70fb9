"""RMR wire format pinned byte by byte against the reference layout (oran-interfaces.md section 1)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ricsdk.errors import RmrFrameError, RmrStreamError, RmrValueError
from ricsdk.rmr.wire import (
    FrameReader,
    RmrFrame,
    RmrHeader,
    SenderEncoder,
    build_frame,
    encode_frame,
    frame_length,
    parse_frame,
)

# Offsets from the reference table, relative to the frame start (transport header is 50 bytes).
TP = 50
MTYPE, PLEN, VER, XID, SID, SRC, MEID, PAD, TS = 50, 54, 58, 62, 94, 126, 190, 222, 226
FLAGS, LEN0, LEN1, LEN2, LEN3, SUB_ID, SRCIP = 242, 246, 250, 254, 258, 262, 266
D1 = 330
PAYLOAD = 334


def be32(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 4], "big", signed=True)


def sample(payload: bytes = b"\x01\x02payload", **kw: object) -> RmrFrame:
    args: dict[str, object] = {
        "sub_id": 7,
        "meid": "gnb_001",
        "xid": b"000000000000042",
        "src": "xapp-1:4560",
        "srcip": "10.0.0.5:4560",
    }
    args.update(kw)
    return build_frame(12050, payload, **args)  # type: ignore[arg-type]


def test_transport_header_carries_both_length_fields_and_marker() -> None:
    data = encode_frame(sample(b"hello"), native_order="little")
    total = 50 + 280 + 4 + 5
    assert len(data) == total == 339
    assert data[0:4] == total.to_bytes(4, "little") == bytes([0x53, 0x01, 0, 0])
    assert data[4:8] == total.to_bytes(4, "big") == bytes([0, 0, 0x01, 0x53])
    assert data[8:9] == b"$"
    assert data[9:50] == bytes(41)


def test_header_fields_sit_at_reference_offsets() -> None:
    data = encode_frame(sample(b"hello"), native_order="little")
    assert be32(data, MTYPE) == 12050
    assert data[MTYPE : MTYPE + 4] == bytes([0x00, 0x00, 0x2F, 0x12])
    assert be32(data, PLEN) == 5
    assert be32(data, VER) == 3
    assert data[XID : XID + 32] == b"000000000000042" + bytes(17)
    assert data[SID : SID + 32] == bytes(32)
    assert data[SRC : SRC + 64] == b"xapp-1:4560" + bytes(53)
    assert data[MEID : MEID + 32] == b"gnb_001" + bytes(25)
    assert data[PAD : PAD + 4] == bytes(4)
    assert data[TS : TS + 16] == bytes(16)
    assert be32(data, FLAGS) == 0
    assert (be32(data, LEN0), be32(data, LEN1), be32(data, LEN2), be32(data, LEN3)) == (280, 0, 4, 0)
    assert be32(data, SUB_ID) == 7
    assert data[SRCIP : SRCIP + 64] == b"10.0.0.5:4560" + bytes(51)
    assert data[D1 : D1 + 4] == bytes(4)
    assert data[PAYLOAD:] == b"hello"


def test_unset_sub_id_is_all_ones_on_the_wire() -> None:
    data = encode_frame(build_frame(100, b""))
    assert data[SUB_ID : SUB_ID + 4] == b"\xff\xff\xff\xff"
    assert len(data) == PAYLOAD


def test_golden_frame_built_independently_matches() -> None:
    """A frame assembled by hand from the reference facts equals the encoder's output."""
    expected = bytearray(PAYLOAD + 3)
    total = len(expected)
    expected[0:4] = struct.pack("<I", total)
    expected[4:8] = struct.pack(">I", total)
    expected[8] = ord("$")
    expected[MTYPE : MTYPE + 4] = struct.pack(">i", 20011)
    expected[PLEN : PLEN + 4] = struct.pack(">i", 3)
    expected[VER : VER + 4] = struct.pack(">i", 3)
    expected[XID : XID + 2] = b"ab"
    expected[SRC : SRC + 6] = b"a1:123"
    expected[MEID : MEID + 2] = b"e2"
    expected[LEN0 : LEN0 + 4] = struct.pack(">i", 280)
    expected[LEN2 : LEN2 + 4] = struct.pack(">i", 4)
    expected[SUB_ID : SUB_ID + 4] = struct.pack(">i", 20008)
    expected[SRCIP : SRCIP + 9] = b"1.2.3.4:9"
    expected[PAYLOAD:] = b"{}\n"
    frame = build_frame(20011, b"{}\n", sub_id=20008, meid="e2", xid=b"ab", src="a1:123", srcip="1.2.3.4:9")
    assert encode_frame(frame, native_order="little") == bytes(expected)
    assert parse_frame(bytes(expected)) == frame


def test_payload_offset_is_computed_from_all_four_lengths() -> None:
    frame = build_frame(30000, b"PAY", trace=b"T" * 8, d1=b"\x07" + bytes(5), d2=b"xyz")
    data = encode_frame(frame)
    assert (be32(data, LEN0), be32(data, LEN1), be32(data, LEN2), be32(data, LEN3)) == (280, 8, 6, 3)
    assert data[330:338] == b"T" * 8
    assert data[338:344] == b"\x07" + bytes(5)
    assert data[344:347] == b"xyz"
    assert data[347:] == b"PAY"
    assert frame.header.payload_offset == 297
    assert parse_frame(data) == frame


def test_longer_header_len0_is_honoured_and_round_trips() -> None:
    header = RmrHeader(mtype=1, plen=2, len0=296)
    frame = RmrFrame(header=header, payload=b"ok", header_extra=b"E" * 16)
    data = encode_frame(frame)
    assert data[330:346] == b"E" * 16
    assert data[350:] == b"ok"
    assert parse_frame(data) == frame


def test_parse_round_trip_keeps_every_field() -> None:
    frame = sample(flags=0x04, sid=b"sid")
    assert parse_frame(encode_frame(frame)) == frame


def test_trailing_bytes_after_payload_are_ignored() -> None:
    data = encode_frame(sample(b"abc")) + b"junk"
    assert parse_frame(data).payload == b"abc"


def test_frame_length_prefers_big_endian_with_marker() -> None:
    prefix = (500).to_bytes(4, "little") + (500).to_bytes(4, "big") + b"$"
    assert frame_length(prefix, native_order="little") == 500


def test_frame_length_uses_native_value_when_big_endian_differs() -> None:
    prefix = (500).to_bytes(4, "little") + (999).to_bytes(4, "big") + b"$"
    assert frame_length(prefix, native_order="little") == 500


def test_frame_length_without_marker_is_native() -> None:
    prefix = (500).to_bytes(4, "little") + (999).to_bytes(4, "big") + b"\x00"
    assert frame_length(prefix, native_order="little") == 500
    assert frame_length((500).to_bytes(4, "big") + bytes(5), native_order="big") == 500


def test_frame_length_reports_negative_int32() -> None:
    assert frame_length(b"\xf0\xff\xff\xff" + bytes(5), native_order="little") == -16


@pytest.mark.parametrize(
    ("offset", "value", "reason"),
    [
        (PLEN, 10_000, "exceeds the frame size"),
        (LEN1, 9_000, "exceeds the frame size"),
        (VER, 2, "version"),
        (LEN0, 200, "shorter than the v3 header"),
        (LEN3, -4, "negative length"),
        (PLEN, -1, "negative length"),
    ],
)
def test_inconsistent_header_is_rejected_with_the_bytes(offset: int, value: int, reason: str) -> None:
    data = bytearray(encode_frame(sample()))
    data[offset : offset + 4] = struct.pack(">i", value)
    with pytest.raises(RmrFrameError, match=reason) as info:
        parse_frame(bytes(data))
    assert info.value.data == bytes(data)[:512]


def test_non_utf8_meid_is_rejected() -> None:
    data = bytearray(encode_frame(sample()))
    data[MEID] = 0xFF
    with pytest.raises(RmrFrameError, match="meid"):
        parse_frame(bytes(data))


@pytest.mark.parametrize(("offset", "size", "name"), [(SRC, 64, "src"), (MEID, 32, "meid"), (SRCIP, 64, "srcip")])
def test_text_field_filling_its_slot_without_nul_is_rejected(offset: int, size: int, name: str) -> None:
    data = bytearray(encode_frame(sample()))
    data[offset : offset + size] = b"a" * size
    with pytest.raises(RmrFrameError, match=f"{name} fills its {size}-byte slot"):
        parse_frame(bytes(data))


def test_parsed_frame_equals_the_validated_construction() -> None:
    # parse_frame builds the dataclasses without __post_init__: the result must be what validation accepts
    frame = parse_frame(encode_frame(sample(trace=b"tr", d2=b"dd")))
    h = frame.header
    rebuilt = RmrFrame(
        RmrHeader(**{f: getattr(h, f) for f in RmrHeader.__dataclass_fields__}),
        frame.payload,
        frame.trace,
        frame.d1,
        frame.d2,
        frame.header_extra,
    )
    assert rebuilt == frame and hash(rebuilt) == hash(frame)


@given(
    mtype=st.integers(-(1 << 31), (1 << 31) - 1),
    sub_id=st.integers(-(1 << 31), (1 << 31) - 1),
    payload=st.binary(max_size=300),
    xid=st.binary(max_size=32).filter(lambda b: not b.endswith(b"\x00")),
    meid=st.text(st.characters(blacklist_characters="\x00"), max_size=10),
    order=st.sampled_from(["little", "big"]),
)
def test_sender_encoder_is_byte_identical_to_encode_frame(
    mtype: int, sub_id: int, payload: bytes, xid: bytes, meid: str, order: str
) -> None:
    enc = SenderEncoder("xapp-1:4560", "10.0.0.5:4560", native_order=order)  # type: ignore[arg-type]
    try:
        frame = build_frame(mtype, payload, sub_id=sub_id, meid=meid, xid=xid, src="xapp-1:4560", srcip="10.0.0.5:4560")
    except RmrValueError as exc:  # a MEID longer than its field or with no UTF-8 form: refused alike
        with pytest.raises(RmrValueError) as got:
            enc.encode(mtype, payload, xid=xid, meid=meid, sub_id=sub_id)
        assert got.value.field == exc.field
        return
    expected = encode_frame(frame, native_order=order)  # type: ignore[arg-type]
    assert enc.encode(mtype, payload, xid=xid, meid=meid, sub_id=sub_id) == expected
    assert enc.encode(mtype, bytearray(payload), xid=xid, meid=meid, sub_id=sub_id) == expected


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"meid": "m" * 32}, "meid"),
        ({"meid": "a\x00b"}, "meid"),
        ({"meid": "\ud800"}, "meid"),  # a lone surrogate: no UTF-8 form
        ({"xid": b"x" * 33}, "xid"),
        ({"sub_id": 1 << 31}, "sub_id"),
        ({"sub_id": True}, "sub_id"),
        ({"mtype": 1.0}, "mtype"),
        ({"payload": "text"}, "payload"),
    ],
)
def test_sender_encoder_checks_what_the_header_checks(kwargs: dict[str, object], field: str) -> None:
    enc = SenderEncoder("xapp-1:4560", "10.0.0.5:4560")
    args: dict[str, object] = {"mtype": 12040, "payload": b"x"}
    args.update(kwargs)
    mtype, payload = args.pop("mtype"), args.pop("payload")
    with pytest.raises(RmrValueError) as info:
        enc.encode(mtype, payload, **args)  # type: ignore[arg-type]
    assert info.value.field == field
    with pytest.raises(RmrValueError):
        SenderEncoder("s" * 64, "10.0.0.5:4560")


def test_short_frame_is_rejected() -> None:
    with pytest.raises(RmrFrameError):
        parse_frame(encode_frame(sample())[:300])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"meid": "m" * 32}, "meid"),
        ({"src": "s" * 64}, "src"),
        ({"srcip": "i" * 64}, "srcip"),
        ({"xid": b"x" * 33}, "xid"),
        ({"sub_id": 1 << 31}, "sub_id"),
        ({"meid": "a\x00b"}, "meid"),
    ],
)
def test_header_validation_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(RmrValueError) as info:
        build_frame(1, b"", **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_longest_legal_strings_fit() -> None:
    frame = build_frame(1, b"", meid="m" * 31, src="s" * 63, srcip="i" * 63, xid=b"x" * 32)
    assert parse_frame(encode_frame(frame)) == frame


def test_frame_sections_must_match_header_lengths() -> None:
    with pytest.raises(RmrValueError, match="payload"):
        RmrFrame(header=RmrHeader(mtype=1, plen=3), payload=b"ab")


# -- FrameReader ---------------------------------------------------------------------------------------------


def frames_of(*payloads: bytes) -> tuple[list[RmrFrame], bytes]:
    frames = [build_frame(30000 + i, p, xid=str(i).encode()) for i, p in enumerate(payloads)]
    return frames, b"".join(encode_frame(f) for f in frames)


def test_reader_byte_by_byte() -> None:
    frames, data = frames_of(b"a", b"", b"c" * 100)
    reader = FrameReader()
    out: list[RmrFrame] = []
    for i in range(len(data)):
        out.extend(reader.frames(data[i : i + 1]))
    assert out == frames
    assert reader.errors == []
    assert reader.buffered == 0


def test_reader_every_split_point_of_two_frames() -> None:
    frames, data = frames_of(b"first", b"second!")
    for cut in range(len(data) + 1):
        reader = FrameReader()
        out = list(reader.frames(data[:cut])) + list(reader.frames(data[cut:]))
        assert out == frames, cut


def test_reader_many_frames_in_one_chunk() -> None:
    frames, data = frames_of(*[bytes([i]) * i for i in range(50)])
    reader = FrameReader()
    assert list(reader.frames(data)) == frames


def test_reader_refuses_oversize_frame_and_stays_in_step() -> None:
    frames, data = frames_of(b"x" * 2000, b"small")
    reader = FrameReader(max_frame_size=1000)
    out: list[RmrFrame] = []
    for i in range(0, len(data), 97):
        out.extend(reader.frames(data[i : i + 97]))
    assert out == [frames[1]]
    assert len(reader.errors) == 1
    assert not isinstance(reader.errors[0], RmrStreamError)
    assert "exceeds the maximum" in str(reader.errors[0])
    assert reader.errors[0].data[:9] == data[:9]


def test_reader_oversize_frame_fully_buffered_is_skipped() -> None:
    frames, data = frames_of(b"x" * 2000, b"small")
    reader = FrameReader(max_frame_size=1000)
    with pytest.raises(RmrFrameError):
        reader.feed(data)
        reader.next_frame()
    assert reader.next_frame() == frames[1]


def test_reader_negative_length_resets_the_stream() -> None:
    _, good = frames_of(b"ok")
    bad = b"\xf0\xff\xff\xff\xff\xff\xff\xf0$" + bytes(41)
    reader = FrameReader()
    reader.feed(bad + good)
    with pytest.raises(RmrStreamError, match="nonsense") as info:
        reader.next_frame()
    assert info.value.data[:9] == bad[:9]
    assert reader.buffered == 0
    assert reader.next_frame() is None


def test_reader_length_shorter_than_transport_header_resets() -> None:
    reader = FrameReader()
    reader.feed((20).to_bytes(4, "little") + (20).to_bytes(4, "big") + b"$" + bytes(20))
    with pytest.raises(RmrStreamError):
        reader.next_frame()


def test_reader_drops_bad_frame_and_reads_the_next() -> None:
    frames, data = frames_of(b"bad", b"good")
    corrupted = bytearray(data)
    corrupted[PLEN : PLEN + 4] = struct.pack(">i", 5000)
    reader = FrameReader()
    assert list(reader.frames(bytes(corrupted))) == [frames[1]]
    assert len(reader.errors) == 1


def test_reader_uses_native_length_when_fields_disagree() -> None:
    frames, data = frames_of(b"payload")
    skewed = bytearray(data)
    skewed[4:8] = (12345).to_bytes(4, "big")
    reader = FrameReader(native_order="little")
    assert list(reader.frames(bytes(skewed))) == frames


def test_reader_rejects_tiny_maximum() -> None:
    with pytest.raises(RmrValueError):
        FrameReader(max_frame_size=100)


# -- fuzz: only RmrFrameError or clean frames, and every call terminates ---------------------------------------


def drain(reader: FrameReader, data: bytes, chunk: int) -> list[RmrFrame]:
    out: list[RmrFrame] = []
    for i in range(0, len(data), chunk):
        reader.feed(data[i : i + chunk])
        for _ in range(len(data) + 2):  # each call consumes bytes or returns None: bounded
            try:
                frame = reader.next_frame()
            except RmrFrameError:
                continue
            if frame is None:
                break
            out.append(frame)
        else:
            pytest.fail("reader did not make progress")
    return out


@given(st.binary(max_size=2000), st.integers(min_value=1, max_value=512))
def test_fuzz_random_bytes(data: bytes, chunk: int) -> None:
    for frame in drain(FrameReader(max_frame_size=4096), data, chunk):
        assert isinstance(frame, RmrFrame)


@given(st.binary(max_size=64), st.integers(min_value=0, max_value=400), st.integers(min_value=1, max_value=64))
def test_fuzz_truncated_valid_frame(payload: bytes, cut: int, chunk: int) -> None:
    data = encode_frame(sample(payload))
    out = drain(FrameReader(), data[:cut], chunk)
    assert out == ([parse_frame(data)] if cut >= len(data) else [])


@given(
    st.binary(max_size=64),
    st.lists(st.integers(min_value=0, max_value=8 * 420), min_size=1, max_size=6),
    st.integers(min_value=1, max_value=128),
)
def test_fuzz_bit_flips(payload: bytes, bits: list[int], chunk: int) -> None:
    _, data = frames_of(payload, b"tail")
    flipped = bytearray(data)
    for bit in bits:
        if bit // 8 < len(flipped):
            flipped[bit // 8] ^= 1 << (bit % 8)
    for frame in drain(FrameReader(max_frame_size=8192), bytes(flipped), chunk):
        assert encode_frame(frame)  # a clean frame re-encodes
