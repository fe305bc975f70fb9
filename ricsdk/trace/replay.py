"""Replay: a transport that plays a trace towards an xApp and collects what the xApp sends back.

Theory of operation
-------------------
:class:`ReplayTransport` implements :class:`~ricsdk.transport.base.Transport`. It is built from trace records
(see :mod:`ricsdk.trace.records`) and plays the E2 side (E2 Termination and nodes) and the A1 mediator.

*What is delivered.* The trace's ``in`` records in their order, except the answers to requests the xApp makes
(subscription and subscription-delete responses and failures, control acknowledgements and failures: 12011,
12012, 12021, 12022, 12041, 12042), which are held back and used as described below. ``out`` records are the
reference run: they are not delivered.

*The gate.* Nothing from the trace is delivered before :meth:`ReplayTransport.play`; until then only answers
to the xApp's requests are, so an :class:`~ricsdk.runtime.runner.XAppRunner` can start and subscribe first.
:func:`ricsdk.trace.session.replay_xapp` does the whole dance.

*Subscriptions.* The xApp's RICrequestIDs need not be the trace's. When the xApp sends its k-th
RICsubscriptionRequest to an E2 node, it is bound to the k-th subscription request the trace recorded towards
that node for the same RAN function; when the trace holds none (a capture that starts mid-stream), to the next
RICrequestID that the node's indications for that RAN function carry. The answer the trace recorded for the
bound request is **replayed**, its RICrequestID rewritten to the xApp's; when the trace recorded no answer, a
RICsubscriptionResponse admitting every requested action is **synthesised**. A replayed failure binds nothing
(the xApp's retry takes the next recorded request). Subscription deletes are answered the same way (the recorded
RICsubscriptionDeleteResponse/Failure of the bound request, else a synthesised response). Indications of a bound
subscription are delivered with the xApp's RICrequestID written into them (only those four octets change);
indications of a subscription nobody bound are skipped and counted (``stats.unsubscribed``), unless
``require_subscription`` is False (open-loop replay: everything is delivered as recorded).

*Controls.* Every RICcontrolRequest (12040) is collected in :attr:`ReplayTransport.controls` with the E2 node
and the node's period it answered (the index of the last indication of that node delivered before it, 0-based).
``control_answers`` decides what the xApp hears back: ``synthesise`` (default) a RICcontrolAcknowledge echoing
its RICrequestID, RAN function and call process id; ``replay`` the next recorded acknowledgement or failure of
that node (request id and call process id rewritten), synthesising one when the trace has no more; ``none``
nothing (the xApp's control tracker then times them out). Everything else the xApp sends or replies (A1 policy
responses, ...) is collected in :attr:`ReplayTransport.sent` with the controls.

*Pacing and determinism.* ``pace=None`` delivers as fast as the xApp consumes (the event loop is given a turn
every ``yield_every`` messages so background tasks run; the runtime may take what is due next as one batch,
see :meth:`ReplayTransport.receive_ready`); ``pace=s`` keeps the recorded gaps between records
divided by ``s`` (1.0 = original timing, 10.0 = ten times faster). Answers are delivered as soon as the xApp's
request is sent, ahead of the next trace record. The order and content of what is delivered depends only on the
trace and on what the xApp sends, so the same trace gives the same deliveries, and a deterministic xApp the
same controls, byte for byte. ``received_ns`` is stamped at delivery with the injected monotonic clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

import structlog

from ricsdk.e2 import e2ap
from ricsdk.errors import ConfigError, E2DecodeError, E2ValueError, TransportError
from ricsdk.trace.records import (
    Direction,
    TraceRecord,
    control_ids_of,
    ran_function_of,
    request_id_of,
    with_request_id,
)
from ricsdk.transport.base import Message, TransportStats

__all__ = [
    "ANSWER_MTYPES",
    "ControlAnswers",
    "ReplayConfig",
    "ReplayStats",
    "ReplayTransport",
    "SentMessage",
]

log = structlog.get_logger(__name__)

RIC_SUB_REQ: Final = 12010
RIC_SUB_RESP: Final = 12011
RIC_SUB_FAILURE: Final = 12012
RIC_SUB_DEL_REQ: Final = 12020
RIC_SUB_DEL_RESP: Final = 12021
RIC_SUB_DEL_FAILURE: Final = 12022
RIC_CONTROL_REQ: Final = 12040
RIC_CONTROL_ACK: Final = 12041
RIC_CONTROL_FAILURE: Final = 12042
RIC_INDICATION: Final = 12050
#: Answers to the xApp's requests: held back from the feed and given when the xApp asks.
ANSWER_MTYPES: Final = frozenset(
    {RIC_SUB_RESP, RIC_SUB_FAILURE, RIC_SUB_DEL_RESP, RIC_SUB_DEL_FAILURE, RIC_CONTROL_ACK, RIC_CONTROL_FAILURE}
)

_Rid = tuple[int, int]


class ControlAnswers(enum.Enum):
    SYNTHESISE = "synthesise"
    REPLAY = "replay"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class ReplayConfig:
    #: None: as fast as possible; otherwise the speed-up over the recorded timing (1.0 = real time)
    pace: float | None = None
    control_answers: ControlAnswers = ControlAnswers.SYNTHESISE
    require_subscription: bool = True
    yield_every: int = 64
    #: ``src`` of delivered messages whose record has none
    src: str = "replay"
    e2ap_version: e2ap.E2apVersion = e2ap.E2apVersion.V2

    def __post_init__(self) -> None:
        if self.pace is not None and not self.pace > 0:
            raise ConfigError("must be > 0 (or None: as fast as possible)", field="pace")
        if self.yield_every < 1:
            raise ConfigError("must be at least 1", field="yield_every")


@dataclass(frozen=True, slots=True)
class SentMessage:
    """Something the xApp sent (or replied) during a replay."""

    seq: int
    mtype: int
    payload: bytes
    meid: str
    sub_id: int
    xid: bytes
    #: index (in the trace) of the last record delivered before it was sent; -1 before any
    trace_index: int
    #: index of the last indication of ``meid`` delivered before it was sent (the node's period); -1 before any
    period: int
    sent_ns: int


@dataclass(slots=True)
class ReplayStats(TransportStats):
    delivered: int = 0
    indications: int = 0
    unsubscribed: int = 0
    answers_replayed: int = 0
    answers_synthesised: int = 0
    controls: int = 0


class _State(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class _ReplyHandle:
    transport: ReplayTransport


class _Iterator:
    """The async iterator of a :class:`ReplayTransport` (a plain object: cancelling one step loses nothing)."""

    def __init__(self, transport: ReplayTransport) -> None:
        self._transport = transport

    def __aiter__(self) -> _Iterator:
        return self

    async def __anext__(self) -> Message:
        return await self._transport._next()


@dataclass(slots=True)
class _NodeTrace:
    """What the trace holds for one E2 node, indexed for binding."""

    #: recorded subscription requests (RICrequestID, RAN function), in order
    requests: list[tuple[_Rid, int | None]] = field(default_factory=list)
    #: RICrequestIDs of the node's indications by RAN function, in order of first appearance
    indication_rids: dict[int | None, list[_Rid]] = field(default_factory=dict)
    #: recorded control answers, in order
    control_answers: deque[TraceRecord] = field(default_factory=deque)
    next_request: int = 0


class ReplayTransport:
    """A trace played as a transport (see the module docstring)."""

    def __init__(
        self,
        records: Sequence[TraceRecord],
        config: ReplayConfig | None = None,
        *,
        clock_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self.config = config or ReplayConfig()
        self.records = tuple(records)
        self.stats = ReplayStats()
        #: everything the xApp sent or replied, in order (controls included)
        self.sent: list[SentMessage] = []
        #: the RICcontrolRequests among them
        self.controls: list[SentMessage] = []
        #: per indication delivered: ns from its delivery until the xApp asked for the next message
        self.handle_ns: list[int] = []
        self._clock = clock_ns
        self._state = _State.NEW
        self._answers: deque[Message] = deque()
        self._wake = asyncio.Event()
        self._done = asyncio.Event()
        self._playing = False
        self._cursor = 0
        self._start_ns = 0
        self._nodes: dict[str, _NodeTrace] = defaultdict(_NodeTrace)
        self._sub_answers: dict[tuple[str, _Rid], TraceRecord] = {}
        self._del_answers: dict[tuple[str, _Rid], TraceRecord] = {}
        self._bound: dict[tuple[str, _Rid], _Rid] = {}  # (node, trace rid) -> xApp rid
        self._bound_back: dict[tuple[str, _Rid], _Rid] = {}  # (node, xApp rid) -> trace rid
        self._used_trace_rids: set[tuple[str, _Rid]] = set()
        self._period: dict[str, int] = {}
        self._last_index = -1
        self._feed: list[int] = []
        self._rids: list[_Rid | None] = []
        self._handle = _ReplyHandle(self)
        self._since_yield = 0
        self._handled_from = 0
        self._handled_count = 0
        self._batch_nodes: set[str] = set()
        self._request_ids: dict[_Rid, e2ap.RicRequestId] = {}
        self._index()
        self._t0 = self.records[self._feed[0]].timestamp_ns if self._feed else 0

    # -- the trace, indexed once --------------------------------------------------------------------------
    def _index(self) -> None:
        for i, rec in enumerate(self.records):
            rid = request_id_of(rec.payload) if rec.dissector == "e2ap" else None
            self._rids.append(rid)
            node = self._nodes[rec.meid]
            if rec.direction is Direction.OUT:
                if rec.mtype == RIC_SUB_REQ and rid is not None:
                    node.requests.append((rid, ran_function_of(rec.payload)))
                continue
            if rec.mtype in ANSWER_MTYPES:
                if rid is None:
                    continue
                if rec.mtype in (RIC_SUB_RESP, RIC_SUB_FAILURE):
                    self._sub_answers.setdefault((rec.meid, rid), rec)
                elif rec.mtype in (RIC_SUB_DEL_RESP, RIC_SUB_DEL_FAILURE):
                    self._del_answers.setdefault((rec.meid, rid), rec)
                else:
                    node.control_answers.append(rec)
                continue
            if rec.mtype == RIC_INDICATION and rid is not None:
                rids = node.indication_rids.setdefault(ran_function_of(rec.payload), [])
                if rid not in rids:
                    rids.append(rid)
            self._feed.append(i)

    @property
    def feed_size(self) -> int:
        """How many trace records are to be delivered."""
        return len(self._feed)

    def periods_delivered(self) -> dict[str, int]:
        """Indications delivered so far per E2 node."""
        return {node: p + 1 for node, p in self._period.items()}

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    # -- lifecycle -----------------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._state is _State.CLOSED:
            raise TransportError("replay transport is closed")
        self._state = _State.RUNNING

    def play(self) -> None:
        """Open the gate: deliver the trace from now on (paced from this instant when ``pace`` is set)."""
        if self._playing:
            return
        self._playing = True
        self._start_ns = self._clock()
        self._wake.set()

    async def wait_done(self, timeout: float | None = None) -> None:
        """Wait until every trace record was delivered and the xApp asked for more (so it handled them all)."""
        await asyncio.wait_for(self._done.wait(), timeout)

    async def aclose(self) -> None:
        if self._state is _State.CLOSED:
            return
        self._state = _State.CLOSED
        self._wake.set()

    async def __aenter__(self) -> ReplayTransport:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- delivery -----------------------------------------------------------------------------------------
    def __aiter__(self) -> AsyncIterator[Message]:
        return _Iterator(self)

    async def _next(self) -> Message:
        """The next message for the xApp (see the module docstring); StopAsyncIteration once closed.

        State lives on the transport, not in a generator frame, so a consumer that cancels a pending
        ``__anext__`` (a timeout) loses nothing and can ask again.
        """
        clock = self._clock
        pace = self.config.pace
        feed = self._feed
        st = self.stats
        if self._handled_from:
            elapsed = clock() - self._handled_from
            n = self._handled_count
            self.handle_ns.extend([elapsed // n] * n)
            self._handled_from = 0
        self._batch_nodes.clear()
        while True:
            if self._answers:
                st.received += 1
                return self._answers.popleft()
            if self._state is _State.CLOSED:
                raise StopAsyncIteration
            if self._playing and self._cursor < len(feed):
                i = feed[self._cursor]
                if pace is not None:
                    delay = self._start_ns + int((self.records[i].timestamp_ns - self._t0) / pace) - clock()
                    if delay > 0:
                        self._wake.clear()
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), delay / 1e9)
                        continue
                elif self._since_yield >= self.config.yield_every:
                    self._since_yield = 0
                    await asyncio.sleep(0)  # let background tasks run, then look for answers again
                    continue
                self._cursor += 1
                now = clock()
                msg = self._prepare(i, now)
                if msg is None:
                    continue
                self._since_yield += 1
                st.received += 1
                st.delivered += 1
                if msg.mtype == RIC_INDICATION:
                    st.indications += 1
                    self._handled_from = now
                    self._handled_count = 1
                    self._batch_nodes.add(msg.meid)
                return msg
            if self._playing:
                self._done.set()
            self._wake.clear()
            await self._wake.wait()

    def receive_ready(self, limit: int) -> list[Message]:
        """At ``pace=None``: the messages that would come next, up to ``limit``, so the runtime decides on them
        as one batch. Answers first, then trace records, stopping before a second indication of a node already
        in the batch (each control is then still attributed to the period it answers) and at the
        ``yield_every`` turn. ``handle_ns`` gets the batch's handling time divided among its indications.
        """
        if self.config.pace is not None or not self._playing or self._state is not _State.RUNNING:
            return []
        out: list[Message] = []
        st = self.stats
        feed = self._feed
        nodes = self._batch_nodes
        while len(out) < limit:
            if self._answers:
                st.received += 1
                out.append(self._answers.popleft())
                continue
            if self._cursor >= len(feed) or self._since_yield >= self.config.yield_every:
                break
            i = feed[self._cursor]
            rec = self.records[i]
            if rec.mtype == RIC_INDICATION and rec.meid in nodes:
                break
            self._cursor += 1
            now = self._clock()
            msg = self._prepare(i, now)
            if msg is None:
                continue
            self._since_yield += 1
            st.received += 1
            st.delivered += 1
            if msg.mtype == RIC_INDICATION:
                st.indications += 1
                nodes.add(msg.meid)
                if self._handled_from:
                    self._handled_count += 1
                else:
                    self._handled_from = now
                    self._handled_count = 1
            out.append(msg)
        return out

    def _prepare(self, i: int, now: int) -> Message | None:
        """The message of trace record ``i`` as the xApp should see it, or None when it is skipped."""
        rec = self.records[i]
        payload = rec.payload
        sub_id = rec.sub_id
        if rec.mtype == RIC_INDICATION:
            rid = self._rids[i]
            if rid is not None:
                app_rid = self._bound.get((rec.meid, rid))
                if app_rid is None:
                    if self.config.require_subscription:
                        self.stats.unsubscribed += 1
                        if self.stats.unsubscribed == 1:
                            log.warning(
                                "replay: indication of a subscription the xApp did not make (skipped, counted)",
                                e2_node=rec.meid,
                                request_id=rid,
                            )
                        return None
                else:
                    if app_rid != rid:
                        payload = with_request_id(payload, *app_rid)
                    sub_id = app_rid[1]
            self._period[rec.meid] = self._period.get(rec.meid, -1) + 1
        self._last_index = i
        return Message(
            rec.mtype,
            payload,
            sub_id=sub_id,
            meid=rec.meid,
            xid=rec.xid,
            src=rec.src or self.config.src,
            received_ns=now,
            reply_to=self._handle,
        )

    # -- what the xApp sends ------------------------------------------------------------------------------
    async def send(self, msg: Message) -> None:
        if self._state is not _State.RUNNING:
            raise TransportError(f"replay transport is {self._state.value}")
        self.stats.sent += 1
        sent = self._collect(msg.mtype, bytes(msg.payload), msg.meid, msg.sub_id, msg.xid)
        mtype = msg.mtype
        if mtype == RIC_CONTROL_REQ:
            self.controls.append(sent)
            self.stats.controls += 1
            self._answer_control(msg)
        elif mtype == RIC_SUB_REQ:
            self._answer_subscription(msg)
        elif mtype == RIC_SUB_DEL_REQ:
            self._answer_delete(msg)

    async def reply(self, request: Message, mtype: int, payload: bytes) -> None:
        if self._state is not _State.RUNNING:
            raise TransportError(f"replay transport is {self._state.value}")
        if not isinstance(request.reply_to, _ReplyHandle) or request.reply_to.transport is not self:
            raise TransportError("reply: the request was not delivered by this replay transport")
        self.stats.sent += 1
        self._collect(mtype, bytes(payload), request.meid, request.sub_id, request.xid)

    def _collect(self, mtype: int, payload: bytes, meid: str, sub_id: int, xid: bytes) -> SentMessage:
        sent = SentMessage(
            len(self.sent),
            mtype,
            payload,
            meid,
            sub_id,
            xid,
            self._last_index,
            self._period.get(meid, -1),
            self._clock(),
        )
        self.sent.append(sent)
        return sent

    def _enqueue(self, mtype: int, payload: bytes, meid: str, sub_id: int, *, replayed: bool) -> None:
        if replayed:
            self.stats.answers_replayed += 1
        else:
            self.stats.answers_synthesised += 1
        self._answers.append(Message(mtype, payload, sub_id, meid, b"", self.config.src, self._clock(), self._handle))
        self._wake.set()

    def _encode(self, msg: e2ap.E2apMessage) -> bytes:
        try:
            return e2ap.encode_e2ap(msg, self.config.e2ap_version)
        except E2ValueError:
            return e2ap.encode_e2ap(msg, e2ap.E2apVersion.V3)

    def _answer_subscription(self, msg: Message) -> None:
        try:
            req = e2ap.decode_e2ap(msg.payload)
        except E2DecodeError as exc:
            log.warning("replay: the xApp sent an undecodable subscription request", error=str(exc))
            return
        if not isinstance(req, e2ap.RicSubscriptionRequest):
            log.warning("replay: mtype 12010 without a RICsubscriptionRequest", pdu=type(req).__name__)
            return
        meid = msg.meid
        app_rid = (req.request_id.requestor_id, req.request_id.instance_id)
        node = self._nodes[meid]
        trace_rid: _Rid | None = None
        while node.next_request < len(node.requests):
            rid, function = node.requests[node.next_request]
            node.next_request += 1
            if function in (None, req.ran_function_id) and (meid, rid) not in self._used_trace_rids:
                trace_rid = rid
                break
        answer = self._sub_answers.get((meid, trace_rid)) if trace_rid is not None else None
        if trace_rid is None:
            candidates = node.indication_rids.get(req.ran_function_id, []) or node.indication_rids.get(None, [])
            trace_rid = next((r for r in candidates if (meid, r) not in self._used_trace_rids), None)
        if answer is not None:
            payload = answer.payload if trace_rid == app_rid else with_request_id(answer.payload, *app_rid)
            self._enqueue(answer.mtype, payload, meid, req.request_id.instance_id, replayed=True)
            if answer.mtype != RIC_SUB_RESP:
                return
        else:
            resp = e2ap.RicSubscriptionResponse(
                req.request_id, req.ran_function_id, tuple(a.action_id for a in req.actions)
            )
            self._enqueue(RIC_SUB_RESP, self._encode(resp), meid, req.request_id.instance_id, replayed=False)
        if trace_rid is not None:
            self._used_trace_rids.add((meid, trace_rid))
            self._bound[(meid, trace_rid)] = app_rid
            self._bound_back[(meid, app_rid)] = trace_rid
        log.info("replay: subscription bound", e2_node=meid, trace_request_id=trace_rid, request_id=app_rid)

    def _answer_delete(self, msg: Message) -> None:
        try:
            req = e2ap.decode_e2ap(msg.payload)
        except E2DecodeError as exc:
            log.warning("replay: the xApp sent an undecodable subscription delete", error=str(exc))
            return
        if not isinstance(req, e2ap.RicSubscriptionDeleteRequest):
            return
        meid = msg.meid
        app_rid = (req.request_id.requestor_id, req.request_id.instance_id)
        trace_rid = self._bound_back.pop((meid, app_rid), None)
        if trace_rid is not None:
            self._bound.pop((meid, trace_rid), None)
        answer = self._del_answers.get((meid, trace_rid)) if trace_rid is not None else None
        if answer is not None:
            payload = answer.payload if trace_rid == app_rid else with_request_id(answer.payload, *app_rid)
            self._enqueue(answer.mtype, payload, meid, app_rid[1], replayed=True)
            return
        resp = e2ap.RicSubscriptionDeleteResponse(req.request_id, req.ran_function_id)
        self._enqueue(RIC_SUB_DEL_RESP, self._encode(resp), meid, app_rid[1], replayed=False)

    def _answer_control(self, msg: Message) -> None:
        mode = self.config.control_answers
        if mode is ControlAnswers.NONE:
            return
        rid, function, cpid = control_ids_of(msg.payload)
        if rid is None or function is None:
            log.warning("replay: the xApp sent a control request without RICrequestID / RANfunctionID (unanswered)")
            return
        request_id = self._request_ids.get(rid)
        if request_id is None:
            if len(self._request_ids) >= 4096:
                self._request_ids.clear()
            request_id = self._request_ids[rid] = e2ap.RicRequestId(*rid)
        if mode is ControlAnswers.REPLAY:
            recorded = self._nodes[msg.meid].control_answers
            while recorded:
                rec = recorded.popleft()
                try:
                    old = e2ap.decode_e2ap(rec.payload)
                except E2DecodeError:
                    continue
                if isinstance(old, (e2ap.RicControlAcknowledge, e2ap.RicControlFailure)):
                    new = dataclasses.replace(old, request_id=request_id, call_process_id=cpid)
                    self._enqueue(rec.mtype, self._encode(new), msg.meid, msg.sub_id, replayed=True)
                    return
        self._enqueue(
            RIC_CONTROL_ACK, e2ap.encode_control_ack(request_id, function, cpid), msg.meid, msg.sub_id, replayed=False
        )
