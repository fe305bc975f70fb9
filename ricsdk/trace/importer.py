"""Import captures of E2AP over SCTP (tcpdump, Wireshark) as ricsdk trace records.

Theory of operation
-------------------
:func:`import_capture` reads a pcap/pcapng capture frame by frame (any mix of link types
:mod:`ricsdk.trace.net` understands) and keeps the SCTP user messages of E2 associations:

- an association is E2 when one of its ports is a RIC port (``ric_ports``: 36421, 36422, 37464 by default) or
  once one of its DATA chunks carries an E2AP payload protocol identifier (``ppids``: 70);
- DATA chunks are reassembled per direction by TSN: a user message is the run of consecutive TSNs from a
  chunk flagged B (begin) to one flagged E (end) on the same stream, in whatever order the frames were
  captured; a retransmitted chunk (a TSN already seen) is counted as a duplicate and dropped. I-DATA chunks
  (RFC 8260) are reassembled per (stream, unordered flag, MID) by fragment sequence number. Fragments still
  waiting at the end of the capture, or pushed out by ``max_pending_bytes``, are counted as incomplete;
- each message becomes a :class:`~ricsdk.trace.records.TraceRecord`: direction ``in`` when it travels towards
  the RIC port (from the E2 node), ``out`` when it leaves it, or, on an association identified by PPID
  alone, what the E2AP procedure implies; RMR mtype from the procedure (:func:`~ricsdk.trace.records.e2ap_route`)
  and sub_id from the RICrequestID; the capture's timestamp of the frame that completed it.

The MEID of a record names the E2 node of its association: ``meids`` (keyed ``"ip:port"`` or ``"ip"``) when
given, else a name built from the E2 setup request seen on the association, in the style of the OSC E2
Termination (``gnb_001_001_0000abcd``), else the node's ``ip:port``.

Nothing is raised for what is inside the capture: frames that are not E2 (ARP, TCP, SCTP on other ports ...)
are counted in ``skipped`` and malformed ones (truncated headers, bad CRC32c, bad chunk lengths, an unreadable
E2AP frame) in ``malformed``, both by reason; a capture whose container breaks part way keeps what was read
and counts ``truncated-capture``. Only a file of which not one packet can be read raises
:class:`~ricsdk.trace.pcap.CaptureError`. Exported-PDU packets in the capture (a ricsdk trace, a Wireshark
export) are taken as records directly. :func:`log_summary` logs the counters with structlog.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final

import structlog

from ricsdk.e2 import e2ap
from ricsdk.e2.common import plmn_to_mcc_mnc
from ricsdk.e2.per import BitString
from ricsdk.errors import E2DecodeError, E2ValueError
from ricsdk.trace.net import (
    CHUNK_DATA,
    CHUNK_I_DATA,
    IPPROTO_SCTP,
    SUPPORTED_LINKTYPES,
    DataChunk,
    FrameError,
    data_chunk,
    ip_datagram,
    sctp_packet,
)
from ricsdk.trace.pcap import LINKTYPE_UPPER_PDU, CapturedPacket, CaptureError, read_capture
from ricsdk.trace.records import (
    DEFAULT_RIC_PORTS,
    E2AP_PPID,
    Direction,
    TraceError,
    TraceRecord,
    e2ap_route,
    node_address,
    records_from_packets,
    request_id_of,
)

__all__ = [
    "ImportConfig",
    "ImportResult",
    "ImportStats",
    "e2_node_name",
    "import_capture",
    "import_packets",
    "log_summary",
]

log = structlog.get_logger(__name__)

_RECENT_TSNS: Final = 8192


@dataclass(frozen=True, slots=True)
class ImportConfig:
    ric_ports: tuple[int, ...] = DEFAULT_RIC_PORTS
    ppids: tuple[int, ...] = (E2AP_PPID,)
    verify_checksum: bool = True
    #: E2 node names by ``"ip:port"`` or ``"ip"`` of the node side of an association
    meids: Mapping[str, str] = field(default_factory=dict)
    #: fragments buffered per direction of an association before the oldest are given up
    max_pending_bytes: int = 16 << 20


@dataclass(slots=True)
class ImportStats:
    frames: int = 0
    e2_frames: int = 0
    messages: int = 0
    #: messages made of more than one chunk
    reassembled: int = 0
    duplicates: int = 0
    #: fragments of messages that never completed
    incomplete: int = 0
    #: E2AP messages whose frame reads but whose content does not decode (kept: the xApp sees them as such)
    undecodable_e2ap: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    malformed: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            "frames": self.frames,
            "e2_frames": self.e2_frames,
            "messages": self.messages,
            "reassembled": self.reassembled,
            "duplicates": self.duplicates,
            "incomplete": self.incomplete,
            "undecodable_e2ap": self.undecodable_e2ap,
            "skipped": dict(sorted(self.skipped.items())),
            "malformed": dict(sorted(self.malformed.items())),
        }


@dataclass(frozen=True, slots=True)
class ImportResult:
    records: tuple[TraceRecord, ...]
    stats: ImportStats
    #: MEID given to each E2 node side (``"ip:port"``)
    nodes: Mapping[str, str]


# -- reassembly ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Fragment:
    chunk: DataChunk
    timestamp_ns: int


class _Flow:
    """One direction of an association: fragments waiting by TSN (DATA) or by message key (I-DATA)."""

    def __init__(self) -> None:
        self.by_tsn: dict[int, _Fragment] = {}
        self.idata: dict[tuple[int, bool, int], dict[int, _Fragment]] = {}
        self.recent: deque[int] = deque()
        self.recent_set: set[int] = set()
        self.pending_tsns: set[int] = set()
        self.pending_bytes = 0

    def seen(self, tsn: int) -> bool:
        return tsn in self.recent_set or tsn in self.pending_tsns

    def done(self, tsns: Iterable[int]) -> None:
        for t in tsns:
            self.pending_tsns.discard(t)
            self.recent.append(t)
            self.recent_set.add(t)
        while len(self.recent) > _RECENT_TSNS:
            self.recent_set.discard(self.recent.popleft())

    def pending_fragments(self) -> int:
        return len(self.by_tsn) + sum(len(v) for v in self.idata.values())

    def clear(self) -> int:
        n = self.pending_fragments()
        self.by_tsn.clear()
        self.idata.clear()
        self.pending_tsns.clear()
        self.pending_bytes = 0
        return n


@dataclass(frozen=True, slots=True)
class _Message:
    data: bytes
    ppid: int | None
    timestamp_ns: int
    chunks: int


def _add_data(flow: _Flow, frag: _Fragment) -> _Message | None:
    """Add one DATA fragment; return the user message it completes, if any."""
    c = frag.chunk
    flow.by_tsn[c.tsn] = frag
    flow.pending_tsns.add(c.tsn)
    flow.pending_bytes += len(c.data)
    start = c.tsn
    while not flow.by_tsn[start].chunk.begin:
        prev = (start - 1) & 0xFFFFFFFF
        f = flow.by_tsn.get(prev)
        if f is None or f.chunk.stream != c.stream or f.chunk.end:
            return None
        start = prev
    tsns = [start]
    while not flow.by_tsn[tsns[-1]].chunk.end:
        nxt = (tsns[-1] + 1) & 0xFFFFFFFF
        f = flow.by_tsn.get(nxt)
        if f is None or f.chunk.stream != c.stream or f.chunk.begin:
            return None
        tsns.append(nxt)
    frags = [flow.by_tsn.pop(t) for t in tsns]
    data = b"".join(f.chunk.data for f in frags)
    flow.pending_bytes -= len(data)
    flow.done(tsns)
    return _Message(data, frags[0].chunk.ppid, max(f.timestamp_ns for f in frags), len(frags))


def _add_idata(flow: _Flow, frag: _Fragment) -> _Message | None:
    c = frag.chunk
    key = (c.stream, c.unordered, c.mid)
    parts = flow.idata.setdefault(key, {})
    if c.fsn in parts:
        return None
    parts[c.fsn] = frag
    flow.pending_tsns.add(c.tsn)
    flow.pending_bytes += len(c.data)
    if 0 not in parts or not parts[0].chunk.begin:
        return None
    last = next((fsn for fsn, f in parts.items() if f.chunk.end), None)
    if last is None or len(parts) != last + 1 or any(i not in parts for i in range(last + 1)):
        return None
    frags = [parts[i] for i in range(last + 1)]
    del flow.idata[key]
    data = b"".join(f.chunk.data for f in frags)
    flow.pending_bytes -= len(data)
    flow.done(f.chunk.tsn for f in frags)
    return _Message(data, frags[0].chunk.ppid, max(f.timestamp_ns for f in frags), len(frags))


# -- naming -------------------------------------------------------------------------------------------


def _id_part(plmn: bytes, bits: BitString) -> str:
    try:
        mcc, mnc = plmn_to_mcc_mnc(plmn)
    except E2ValueError:
        mcc, mnc = plmn.hex(), ""
    return f"{mcc}_{mnc.zfill(3)}_{bits.value:0{max(8, (bits.length + 3) // 4)}x}"


def e2_node_name(node: e2ap.GlobalE2NodeId) -> str:
    """An E2 node's RAN name from its global id, in the style of the OSC E2 Termination."""
    if isinstance(node, e2ap.GnbE2NodeId):
        return "gnb_" + _id_part(node.global_gnb.plmn, node.global_gnb.gnb_id)
    if isinstance(node, e2ap.EnGnbE2NodeId):
        return "en_gnb_" + _id_part(node.global_en_gnb.plmn, node.global_en_gnb.gnb_id)
    if isinstance(node, e2ap.NgEnbE2NodeId):
        return "ng_enb_" + _id_part(node.global_ng_enb.plmn, node.global_ng_enb.enb_id)
    return "enb_" + _id_part(node.global_enb.plmn, node.global_enb.enb_id)


# -- the import -----------------------------------------------------------------------------------------

_Endpoint = tuple[bytes, int]
_FlowKey = tuple[_Endpoint, _Endpoint]  # (source, destination)


@dataclass(frozen=True, slots=True)
class _Pending:
    """A reassembled E2 message before MEIDs are known."""

    timestamp_ns: int
    direction: Direction
    mtype: int
    payload: bytes
    node: _Endpoint
    sender: _Endpoint


class _Importer:
    def __init__(self, config: ImportConfig) -> None:
        self.config = config
        self.ports = frozenset(config.ric_ports)
        self.ppids = frozenset(config.ppids)
        self.stats = ImportStats()
        self.flows: dict[_FlowKey, _Flow] = {}
        self.e2_assocs: set[frozenset[_Endpoint]] = set()
        self.messages: list[_Pending] = []
        self.setup_names: dict[_Endpoint, str] = {}

    def frame(self, pkt: CapturedPacket) -> None:
        st = self.stats
        st.frames += 1
        if pkt.linktype not in SUPPORTED_LINKTYPES:
            st.skipped["unsupported-linktype"] += 1
            return
        try:
            ip = ip_datagram(pkt.linktype, pkt.data)
            if ip is None:
                st.skipped["not-ip"] += 1
                return
            if ip.protocol != IPPROTO_SCTP:
                st.skipped["not-sctp"] += 1
                return
            if ip.fragment:
                st.skipped["ip-fragment"] += 1
                return
            sctp = sctp_packet(ip.payload, verify_checksum=self.config.verify_checksum)
            src, dst = (ip.src, sctp.src_port), (ip.dst, sctp.dst_port)
            assoc = frozenset((src, dst))
            chunks = [data_chunk(c) for c in sctp.chunks if c.type in (CHUNK_DATA, CHUNK_I_DATA)]
        except FrameError as exc:
            st.malformed[exc.reason] += 1
            return
        by_port = sctp.src_port in self.ports or sctp.dst_port in self.ports
        if not by_port and assoc not in self.e2_assocs:
            if any(c.ppid in self.ppids for c in chunks):
                self.e2_assocs.add(assoc)
            else:
                st.skipped["not-e2"] += 1
                return
        if not chunks:
            st.skipped["sctp-control"] += 1
            return
        st.e2_frames += 1
        flow = self.flows.setdefault((src, dst), _Flow())
        for c in chunks:
            self._chunk(flow, c, pkt.timestamp_ns, src, dst)

    def _chunk(self, flow: _Flow, c: DataChunk, ts: int, src: _Endpoint, dst: _Endpoint) -> None:
        st = self.stats
        if flow.seen(c.tsn):
            st.duplicates += 1
            return
        frag = _Fragment(c, ts)
        msg = _add_idata(flow, frag) if c.idata else _add_data(flow, frag)
        if flow.pending_bytes > self.config.max_pending_bytes:
            dropped = flow.clear()
            st.incomplete += dropped
            log.warning("sctp reassembly buffer full: fragments given up", fragments=dropped)
        if msg is None:
            return
        if msg.chunks > 1:
            st.reassembled += 1
        self._message(msg, src, dst)

    def _message(self, msg: _Message, src: _Endpoint, dst: _Endpoint) -> None:
        st = self.stats
        direction: Direction | None = None
        if dst[1] in self.ports:
            direction = Direction.IN
        elif src[1] in self.ports:
            direction = Direction.OUT
        try:
            direction, mtype = e2ap_route(msg.data, direction)
        except TraceError as exc:
            st.malformed[exc.reason] += 1
            return
        node = src if direction is Direction.IN else dst
        if mtype == 12001 and node not in self.setup_names:
            try:
                setup = e2ap.decode_e2ap(msg.data)
            except E2DecodeError:
                pass  # counted below with the other undecodable messages
            else:
                if isinstance(setup, e2ap.E2setupRequest):
                    self.setup_names[node] = e2_node_name(setup.global_e2node_id)
        st.messages += 1
        self.messages.append(_Pending(msg.timestamp_ns, direction, mtype, msg.data, node, src))

    def finish(self) -> ImportResult:
        st = self.stats
        st.incomplete += sum(f.pending_fragments() for f in self.flows.values())
        names: dict[_Endpoint, str] = {}
        records = []
        for m in self.messages:
            meid = names.get(m.node)
            if meid is None:
                meid = names[m.node] = self._name(m.node)
            try:
                e2ap.decode_e2ap(m.payload)
            except E2DecodeError:
                st.undecodable_e2ap += 1
            rid = request_id_of(m.payload)
            records.append(
                TraceRecord(
                    m.timestamp_ns,
                    m.direction,
                    m.mtype,
                    m.payload,
                    rid[1] if rid is not None else -1,
                    meid,
                    b"",
                    node_address(*m.sender),
                    0,
                    "e2ap",
                )
            )
        nodes = {node_address(*n): name for n, name in names.items()}
        return ImportResult(tuple(records), st, nodes)

    def _name(self, node: _Endpoint) -> str:
        with_port = node_address(*node)
        bare = node_address(node[0], None)
        return (
            self.config.meids.get(with_port) or self.config.meids.get(bare) or self.setup_names.get(node) or with_port
        )


def import_packets(packets: Iterable[CapturedPacket], config: ImportConfig | None = None) -> ImportResult:
    """Import already-read capture packets (see the module docstring)."""
    imp = _Importer(config or ImportConfig())
    it: Iterator[CapturedPacket] = iter(packets)
    upper: list[CapturedPacket] = []
    read = 0
    while True:
        try:
            pkt = next(it)
        except StopIteration:
            break
        except CaptureError:
            if read == 0:
                raise
            imp.stats.malformed["truncated-capture"] += 1
            break
        read += 1
        if pkt.linktype == LINKTYPE_UPPER_PDU:
            upper.append(pkt)
            continue
        imp.frame(pkt)
    result = imp.finish()
    if not upper:
        return result
    # Exported-PDU packets (a ricsdk trace or a Wireshark export) are records already.
    parsed = records_from_packets(upper, ric_ports=imp.ports)
    result.stats.frames += len(upper)
    result.stats.messages += len(parsed.records)
    for reason, n in parsed.skipped.items():
        result.stats.malformed[reason] += n
    merged = sorted((*result.records, *parsed.records), key=lambda r: r.timestamp_ns)
    return ImportResult(tuple(merged), result.stats, result.nodes)


def import_capture(data: bytes, config: ImportConfig | None = None) -> ImportResult:
    """Import a pcap/pcapng capture held in ``data``.

    Raises :class:`~ricsdk.trace.pcap.CaptureError` only when not even one packet can be read (not a capture).
    """
    return import_packets(read_capture(data), config)


def log_summary(result: ImportResult, source: str = "") -> None:
    """One structlog event with the import counters (a warning when anything was malformed or incomplete)."""
    st = result.stats
    level = log.warning if st.malformed or st.incomplete else log.info
    level("capture imported", source=source, nodes=dict(result.nodes), **st.as_dict())
