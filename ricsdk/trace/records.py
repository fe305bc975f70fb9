"""Trace records: one message that crossed a transport, and its pcapng form (sans-I/O).

Theory of operation
-------------------
A trace is a sequence of :class:`TraceRecord`: the RMR view of a message (mtype, sub_id, MEID, xid, src and
payload) plus its direction and two timestamps. Directions are always seen from the RIC: ``in`` travels
towards the RIC / the xApp (from an E2 node, the E2 Termination, the A1 mediator), ``out`` leaves the xApp.

On disk a trace is a pcapng file of Wireshark *exported PDU* packets (link type 252, see
:mod:`ricsdk.trace.pcap`), one per record: the payload tagged with the dissector that understands it (``e2ap``
for the RMR E2 message types 12000-12999, ``json`` for JSON payloads such as A1 policies, ``data`` otherwise),
the packet timestamp the wall-clock time it was recorded, and the packet comment the record's metadata as
compact JSON::

    {"v":1,"dir":"in","mtype":12050,"sub_id":1,"meid":"gnb-001","xid":"","src":"e2term","rx_ns":8123456789}

``rx_ns`` is the transport's receive time (monotonic clock, 0 when unknown). Wireshark opens the file and shows
the comment beside each E2AP message.

Reading accepts more than ricsdk wrote: exported-PDU packets without a comment (Wireshark's *Export PDUs to
File*, ``ricsdk e2 encode``) get their direction and RMR mtype from the E2AP PDU itself (:func:`e2ap_route`),
their sub_id from its RICrequestID, and their MEID and direction from the exported IP/port tags when present
(else the MEID is :data:`UNKNOWN_NODE`).
Packets that cannot become a record are counted by reason, never raised: a trace reader keeps going.

The RICrequestID helpers (:func:`request_id_of`, :func:`with_request_id`) walk the E2AP IE container on the
bytes (every level is octet-aligned) without decoding the message, which keeps replay cheap.
"""

from __future__ import annotations

import enum
import ipaddress
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from ricsdk.errors import RemoteProtocolError
from ricsdk.trace.pcap import (
    LINKTYPE_UPPER_PDU,
    CapturedPacket,
    CaptureError,
    PcapngWriter,
    exported_pdu,
    parse_exported_pdu_tags,
    read_capture,
)

try:  # the IE walk in C (ricsdk/e2/_e2ap.c), when it was built; None: the Python walk only
    from ricsdk.e2._e2ap import find_ies as _fast_find
except ImportError:  # pragma: no cover - built wherever a C compiler is
    _fast_find = None  # type: ignore[assignment]

__all__ = [
    "DEFAULT_RIC_PORTS",
    "Direction",
    "E2AP_PPID",
    "MAX_RECORD_PAYLOAD",
    "ParsedTrace",
    "TraceError",
    "TraceRecord",
    "UNKNOWN_NODE",
    "call_process_id_of",
    "control_ids_of",
    "decode_comment",
    "dissector_for",
    "e2ap_route",
    "encode_comment",
    "encode_record",
    "encode_trace",
    "is_e2_mtype",
    "node_address",
    "parse_trace",
    "ran_function_of",
    "records_from_packets",
    "request_id_of",
    "with_request_id",
]

#: SCTP ports of the RIC side of E2 (E2 Termination): 36421 (IANA E2AP), 36422 and 37464 (OSC E2T default).
DEFAULT_RIC_PORTS: Final = (36421, 36422, 37464)
#: The MEID of records whose E2 node cannot be told (exported PDUs without metadata or address tags).
UNKNOWN_NODE: Final = "e2-node"
#: The largest payload a record can carry (the pcapng snap length less the exported-PDU tags).
MAX_RECORD_PAYLOAD: Final = 262144 - 64
#: The SCTP payload protocol identifier of E2AP.
E2AP_PPID: Final = 70

_FORMAT_VERSION: Final = 1


class TraceError(RemoteProtocolError):
    """Bytes that should be part of a trace but are not well formed (an E2AP frame, a metadata comment)."""

    def __init__(self, message: str, *, data: bytes = b"", offset: int = -1, reason: str = "malformed-e2ap") -> None:
        self.data = bytes(data[:256])
        self.offset = offset
        #: a short, stable name for counters ("malformed-e2ap", "bad-metadata", "unknown-payload")
        self.reason = reason
        super().__init__(f"{message} (at offset {offset})" if offset >= 0 else message)


class Direction(enum.Enum):
    """Seen from the RIC: ``IN`` travels towards the xApp, ``OUT`` leaves it."""

    IN = "in"
    OUT = "out"

    @property
    def opposite(self) -> Direction:
        return Direction.OUT if self is Direction.IN else Direction.IN


@dataclass(frozen=True, slots=True)
class TraceRecord:
    """One message of a trace (see the module docstring for the conventions)."""

    timestamp_ns: int
    direction: Direction
    mtype: int
    payload: bytes
    sub_id: int = -1
    meid: str = ""
    xid: bytes = b""
    src: str = ""
    received_ns: int = 0
    dissector: str = field(default="")

    def __post_init__(self) -> None:
        if not self.dissector:
            object.__setattr__(self, "dissector", dissector_for(self.mtype, self.payload))


def is_e2_mtype(mtype: int) -> bool:
    """The RMR message types that carry E2AP PDUs (E2 setup, subscriptions, controls, indications, ...)."""
    return 12000 <= mtype <= 12999


def dissector_for(mtype: int, payload: bytes) -> str:
    """Wireshark dissector for a payload: ``e2ap`` for E2 mtypes, ``json`` for JSON text, else ``data``."""
    if is_e2_mtype(mtype):
        return "e2ap"
    head = payload[:64].lstrip()
    if head[:1] in (b"{", b"[") and _is_utf8(payload):
        return "json"
    return "data"


def _is_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# -- metadata comment ------------------------------------------------------------------------------------


def encode_comment(rec: TraceRecord) -> str:
    """The record's metadata as the compact JSON packet comment."""
    meta = {
        "v": _FORMAT_VERSION,
        "dir": rec.direction.value,
        "mtype": rec.mtype,
        "sub_id": rec.sub_id,
        "meid": rec.meid,
        "xid": rec.xid.hex(),
        "src": rec.src,
        "rx_ns": rec.received_ns,
    }
    return json.dumps(meta, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class _Meta:
    direction: Direction
    mtype: int
    sub_id: int
    meid: str
    xid: bytes
    src: str
    received_ns: int


def decode_comment(comment: str) -> _Meta:
    """Parse a metadata comment written by :func:`encode_comment`; :class:`TraceError` when it is not one."""
    try:
        doc = json.loads(comment)
    except ValueError as exc:
        raise TraceError(f"packet comment is not JSON: {exc}", reason="bad-metadata") from exc
    if not isinstance(doc, dict) or doc.get("v") != _FORMAT_VERSION:
        raise TraceError('packet comment is not ricsdk trace metadata (no "v": 1)', reason="bad-metadata")
    try:
        direction = Direction(doc["dir"])
        mtype, sub_id, rx = doc["mtype"], doc.get("sub_id", -1), doc.get("rx_ns", 0)
        meid, src, xid = doc.get("meid", ""), doc.get("src", ""), bytes.fromhex(doc.get("xid", ""))
    except (KeyError, ValueError, TypeError) as exc:
        raise TraceError(f"trace metadata field invalid: {exc}", reason="bad-metadata") from exc
    for name, v in (("mtype", mtype), ("sub_id", sub_id), ("rx_ns", rx)):
        if type(v) is not int:
            raise TraceError(f"trace metadata {name} must be an integer, not {v!r}", reason="bad-metadata")
    if not isinstance(meid, str) or not isinstance(src, str):
        raise TraceError("trace metadata meid and src must be strings", reason="bad-metadata")
    return _Meta(direction, mtype, sub_id, meid, xid, src, rx)


# -- pcapng --------------------------------------------------------------------------------------------


def encode_record(writer: PcapngWriter, rec: TraceRecord) -> bytes:
    """One enhanced packet block (with the interface description before the first one of the writer)."""
    return writer.packet(
        rec.timestamp_ns, exported_pdu(rec.payload, rec.dissector), LINKTYPE_UPPER_PDU, encode_comment(rec)
    )


def encode_trace(records: Iterable[TraceRecord], application: str = "ricsdk") -> bytes:
    """A whole pcapng trace file."""
    w = PcapngWriter(application)
    return w.header() + b"".join(encode_record(w, r) for r in records)


@dataclass(frozen=True, slots=True)
class ParsedTrace:
    """The records of a trace file and the packets that could not become one, counted by reason."""

    records: tuple[TraceRecord, ...]
    skipped: Mapping[str, int]
    #: packets whose link type is not exported-PDU (a raw capture: see :mod:`ricsdk.trace.importer`)
    foreign_packets: int = 0


def parse_trace(data: bytes, *, ric_ports: Iterable[int] = DEFAULT_RIC_PORTS) -> ParsedTrace:
    """Records of a pcap/pcapng trace; raises :class:`~ricsdk.trace.pcap.CaptureError` if the file is broken."""
    return records_from_packets(read_capture(data), ric_ports=ric_ports)


def records_from_packets(
    packets: Iterable[CapturedPacket], *, ric_ports: Iterable[int] = DEFAULT_RIC_PORTS
) -> ParsedTrace:
    """Records of exported-PDU packets; packets of other link types are counted in ``foreign_packets``."""
    ports = frozenset(ric_ports)
    skipped: Counter[str] = Counter()
    foreign = 0
    out: list[TraceRecord] = []
    for pkt in packets:
        if pkt.linktype != LINKTYPE_UPPER_PDU:
            foreign += 1
            continue
        try:
            out.append(_record_of(pkt, ports))
        except CaptureError:
            skipped["malformed-exported-pdu"] += 1
        except TraceError as exc:
            skipped[exc.reason] += 1
    return ParsedTrace(tuple(out), dict(skipped), foreign)


def _record_of(pkt: CapturedPacket, ric_ports: frozenset[int]) -> TraceRecord:
    exp = parse_exported_pdu_tags(pkt.data)
    dissector, payload = exp.dissector, exp.pdu
    if pkt.comment is not None:
        try:
            m = decode_comment(pkt.comment)
        except TraceError:
            pass  # someone else's comment: fall back to what the PDU says
        else:
            return TraceRecord(
                pkt.timestamp_ns,
                m.direction,
                m.mtype,
                payload,
                m.sub_id,
                m.meid,
                m.xid,
                m.src,
                m.received_ns,
                dissector or dissector_for(m.mtype, payload),
            )
    if dissector not in ("e2ap", ""):
        raise TraceError(f"{dissector} packet without ricsdk metadata", reason="unknown-payload")
    direction: Direction | None = None
    meid = src = ""
    if exp.src_addr is not None and exp.dst_addr is not None:
        if exp.dst_port in ric_ports:
            direction = Direction.IN
        elif exp.src_port in ric_ports:
            direction = Direction.OUT
        if direction is not None:
            node = (exp.src_addr, exp.src_port) if direction is Direction.IN else (exp.dst_addr, exp.dst_port)
            meid = node_address(*node)
            src = node_address(exp.src_addr, exp.src_port)
    natural, mtype = e2ap_route(payload, direction)
    rid = request_id_of(payload)
    return TraceRecord(
        pkt.timestamp_ns,
        direction or natural,
        mtype,
        payload,
        rid[1] if rid is not None else -1,
        meid or UNKNOWN_NODE,
        b"",
        src,
        0,
        "e2ap",
    )


def node_address(addr: bytes, port: int | None) -> str:
    """``"10.0.0.7:38472"`` / ``"[2001:db8::7]:38472"`` for an IPv4/IPv6 address and port."""
    ip = ipaddress.ip_address(addr)
    if port is None:
        return str(ip)
    return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"


# -- E2AP PDU -> direction and RMR mtype ---------------------------------------------------------------

_INIT, _SUCC, _UNSUCC = 0, 1, 2
# (PDU kind, procedure code) -> (RMR mtype when sent by the E2 node, RMR mtype when sent by the RIC); 0 = never.
_E2AP_MTYPES: Final[dict[tuple[int, int], tuple[int, int]]] = {
    (_INIT, 1): (12001, 0),  # E2setupRequest
    (_SUCC, 1): (0, 12002),
    (_UNSUCC, 1): (0, 12003),
    (_INIT, 2): (12006, 12007),  # ErrorIndication: RAN / RIC error indication
    (_INIT, 3): (12008, 12004),  # Reset: RAN-initiated / RIC-initiated
    (_SUCC, 3): (12005, 12009),  # ResetResponse: the node answers the RIC / the RIC answers the node
    (_INIT, 4): (0, 12040),  # RICcontrolRequest
    (_SUCC, 4): (12041, 0),
    (_UNSUCC, 4): (12042, 0),
    (_INIT, 5): (12050, 0),  # RICindication
    (_INIT, 6): (0, 12060),  # RICserviceQuery
    (_INIT, 7): (12030, 0),  # RICserviceUpdate
    (_SUCC, 7): (0, 12031),
    (_UNSUCC, 7): (0, 12032),
    (_INIT, 8): (0, 12010),  # RICsubscriptionRequest
    (_SUCC, 8): (12011, 0),
    (_UNSUCC, 8): (12012, 0),
    (_INIT, 9): (0, 12020),  # RICsubscriptionDeleteRequest
    (_SUCC, 9): (12021, 0),
    (_UNSUCC, 9): (12022, 0),
    (_INIT, 10): (12070, 0),  # E2nodeConfigurationUpdate
    (_SUCC, 10): (0, 12071),
    (_UNSUCC, 10): (0, 12072),
    (_INIT, 12): (12023, 0),  # RICsubscriptionDeleteRequired
}


def _kind_proc(pdu: bytes) -> tuple[int, int]:
    if len(pdu) < 3:
        raise TraceError("E2AP PDU shorter than 3 octets", data=pdu, offset=0)
    b0 = pdu[0]
    kind = (b0 >> 5) & 3
    if b0 & 0x80 or kind > 2:
        raise TraceError("E2AP PDU of an unknown alternative", data=pdu, offset=0)
    return kind, pdu[1]


def e2ap_route(pdu: bytes, direction: Direction | None = None) -> tuple[Direction, int]:
    """The direction an E2AP PDU travels and its RMR mtype, from its kind and procedure code.

    ``direction`` (when the caller knows it, e.g. from SCTP ports) decides the mtype of the procedures either
    side may start (ErrorIndication, Reset); otherwise the PDU's natural direction is used and those count as
    ``in``. Unknown procedures get mtype -1. Raises :class:`TraceError` for a PDU whose frame is unreadable.
    """
    kind, proc = _kind_proc(pdu)
    from_node, from_ric = _E2AP_MTYPES.get((kind, proc), (0, 0))
    if direction is None:
        direction = Direction.OUT if from_node == 0 and from_ric != 0 else Direction.IN
    mtype = from_node if direction is Direction.IN else from_ric
    if mtype == 0:
        mtype = from_ric or from_node or -1
    return direction, mtype


# -- RICrequestID on the bytes ---------------------------------------------------------------------------

_IE_REQUEST_ID: Final = 29
_IE_RAN_FUNCTION_ID: Final = 5
_IE_CALL_PROCESS_ID: Final = 20


def _length(data: bytes, off: int) -> tuple[int, int, bool]:
    """An aligned-PER length determinant at ``off``: (length, offset of the octets, fragmented?)."""
    if off >= len(data):
        raise TraceError("truncated length determinant", data=data, offset=off)
    b = data[off]
    if b < 0x80:
        return b, off + 1, False
    if b < 0xC0:
        if off + 2 > len(data):
            raise TraceError("truncated length determinant", data=data, offset=off)
        return ((b & 0x3F) << 8) | data[off + 1], off + 2, False
    m = b & 0x3F
    if not 1 <= m <= 4:
        raise TraceError("invalid fragment size", data=data, offset=off)
    return m * 16384, off + 1, True


def _find_ie(pdu: bytes, wanted: int) -> tuple[int, int] | None:
    """(offset, length) of the value of the first IE ``wanted`` of an E2AP PDU, or None if it has none.

    Only the octets up to the IE are read; a PDU whose outer length is fragmented (over 16 K) is walked within
    its first fragment.
    """
    return _find_ies(pdu, (wanted,))[0]


def _find_ies(pdu: bytes, wanted: tuple[int, ...]) -> list[tuple[int, int] | None]:
    """:func:`_find_ie` for several IEs in one walk (stopping once all are found), in the order asked."""
    if _fast_find is not None and type(pdu) is bytes:
        got = _fast_find(pdu, wanted)  # the same walk in C (ricsdk/e2/_e2ap.c); None: it is done below
        if got is not None:
            return got
    found: list[tuple[int, int] | None] = [None] * len(wanted)
    missing = len(wanted)
    _kind_proc(pdu)
    n, body, _ = _length(pdu, 3)
    end = min(body + n, len(pdu))
    if body + 3 > end:
        raise TraceError("truncated IE container", data=pdu, offset=body)
    count = (pdu[body + 1] << 8) | pdu[body + 2]
    off = body + 3
    for _ in range(count):
        if off + 4 > end:
            raise TraceError("truncated IE", data=pdu, offset=off)
        ie_id = (pdu[off] << 8) | pdu[off + 1]
        length, value, fragmented = _length(pdu, off + 3)
        if fragmented or value + length > end:
            raise TraceError(f"IE {ie_id} runs past the PDU", data=pdu, offset=off)
        if ie_id in wanted:
            k = wanted.index(ie_id)
            if found[k] is None:
                found[k] = (value, length)
                missing -= 1
                if not missing:
                    break
        off = value + length
    return found


def _request_id_at(pdu: bytes, found: tuple[int, int] | None) -> int | None:
    if found is None:
        return None
    value, length = found
    if length != 5 or pdu[value] & 0x80:
        raise TraceError("RICrequestID with extensions", data=pdu, offset=value)
    return value + 1


def _request_id_offset(pdu: bytes) -> int | None:
    """Offset of the 4 octets (requestor, instance) of the RICrequestID IE value, or None if there is none."""
    return _request_id_at(pdu, _find_ie(pdu, _IE_REQUEST_ID))


def _call_process_id_at(pdu: bytes, found: tuple[int, int] | None) -> bytes | None:
    if found is None:
        return None
    value, length = found
    n, start, fragmented = _length(pdu, value)
    if fragmented or start + n > value + length:
        return None
    return pdu[start : start + n]


def _ran_function_at(pdu: bytes, found: tuple[int, int] | None) -> int | None:
    if found is None or found[1] != 2:
        return None
    return ((pdu[found[0]] << 8) | pdu[found[0] + 1]) & 0x0FFF


def call_process_id_of(pdu: bytes) -> bytes | None:
    """The RICcallProcessID octets of an E2AP PDU, or None when it carries none or is unreadable."""
    try:
        return _call_process_id_at(pdu, _find_ie(pdu, _IE_CALL_PROCESS_ID))
    except TraceError:
        return None


def ran_function_of(pdu: bytes) -> int | None:
    """The RANfunctionID of an E2AP PDU, or None when it carries none or is unreadable."""
    try:
        return _ran_function_at(pdu, _find_ie(pdu, _IE_RAN_FUNCTION_ID))
    except TraceError:
        return None


def request_id_of(pdu: bytes) -> tuple[int, int] | None:
    """``(ricRequestorID, ricInstanceID)`` of an E2AP PDU, or None when it carries none or is unreadable."""
    try:
        off = _request_id_offset(pdu)
    except TraceError:
        return None
    if off is None:
        return None
    return (pdu[off] << 8) | pdu[off + 1], (pdu[off + 2] << 8) | pdu[off + 3]


def control_ids_of(pdu: bytes) -> tuple[tuple[int, int] | None, int | None, bytes | None]:
    """``(request_id_of, ran_function_of, call_process_id_of)`` of one PDU in one walk of its IEs (a replay
    answers every control it collects); each part is None when absent or unreadable, as there."""
    try:
        rid_ie, function_ie, cpid_ie = _find_ies(pdu, (_IE_REQUEST_ID, _IE_RAN_FUNCTION_ID, _IE_CALL_PROCESS_ID))
    except TraceError:  # a damaged IE somewhere: each reader on its own sees as far as it needs to
        return request_id_of(pdu), ran_function_of(pdu), call_process_id_of(pdu)
    try:
        off = _request_id_at(pdu, rid_ie)
        rid = None if off is None else ((pdu[off] << 8) | pdu[off + 1], (pdu[off + 2] << 8) | pdu[off + 3])
    except TraceError:
        rid = None
    try:
        cpid = _call_process_id_at(pdu, cpid_ie)
    except TraceError:
        cpid = None
    return rid, _ran_function_at(pdu, function_ie), cpid


def with_request_id(pdu: bytes, requestor_id: int, instance_id: int) -> bytes:
    """The same PDU with its RICrequestID replaced (every other octet unchanged)."""
    if not (0 <= requestor_id <= 65535 and 0 <= instance_id <= 65535):
        raise ValueError("RICrequestID fields are 0..65535")
    off = _request_id_offset(pdu)
    if off is None:
        raise TraceError("the PDU carries no RICrequestID", data=pdu)
    return pdu[:off] + requestor_id.to_bytes(2, "big") + instance_id.to_bytes(2, "big") + pdu[off + 4 :]
