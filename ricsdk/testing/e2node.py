"""A fake E2 node: real E2AP / E2SM-KPM / E2SM-RC on any transport, measurements from a pluggable source.

Theory of operation
-------------------
The emulator plays the E2 node (and, on RMR, the E2 Termination in front of it):

- RIC_SUB_REQ 12010: the RICsubscriptionRequest is decoded; a KPM report subscription (the node's KPM RAN
  function id, event trigger format 1, action definition format 1) is accepted with a
  RICsubscriptionResponse (12011) returned to the sender, anything else refused with a
  RICsubscriptionFailure (12012) and a proper cause;
- every reporting period each subscription produces a RICindication (12050, ``sub_id`` = its instance id,
  MEID = the node) whose KPM format-1 message carries one record per measurement-information item of the
  action definition, in order, taken from the :class:`MeasurementSource`;
- RIC_CONTROL_REQ 12040 carrying an RC slice PRB quota (style 2, action 6) is decoded, validated (known slice,
  ``dedicated <= min <= max``, total dedicated <= 100 %) and handed to ``on_quota``; the answer is a
  RICcontrolAcknowledge (12041) echoing the call process id, or a RICcontrolFailure (12042) whose cause says
  why;
- RIC_SUB_DEL_REQ 12020 stops the subscription and answers 12021.

Periods run in real time (``start(realtime=True)``) or are stepped by the caller with :meth:`step` (tests,
the twin in virtual time). Malformed requests are counted and answered with an ErrorIndication where E2AP
allows, never crash the node.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from ricsdk.e2 import e2ap
from ricsdk.e2.common import Snssai
from ricsdk.e2.kpm import (
    ActionDefinitionF1,
    F1Encoder,
    IndicationHeader,
    KpmCodec,
    KpmVersion,
    MeasInfoItem,
    MeasRecord,
    Missing,
)
from ricsdk.e2.slice_quota import QuotaParamIds, SliceQuota, decode_slice_quotas
from ricsdk.errors import E2DecodeError, E2ValueError, TransportError
from ricsdk.transport.base import Message, Transport

__all__ = ["E2NodeEmulator", "EmulatorStats", "MeasurementSource", "NodeSubscription", "QuotaRefused"]

log = structlog.get_logger(__name__)


class MeasurementSource(Protocol):
    """Where a node's measurements come from: per period, per slice key, per measurement name."""

    def measure(self, period: int, slices: Sequence[str]) -> Mapping[str, Mapping[str, float | int | None]]: ...


class QuotaRefused(Exception):
    """Raised by an ``on_quota`` callback to refuse a control; ``cause`` goes back in the RICcontrolFailure."""

    def __init__(self, reason: str, cause: e2ap.Cause | None = None) -> None:
        self.cause = cause or e2ap.Cause.of("ricRequest", "control-message-invalid")
        super().__init__(reason)


@dataclass(slots=True)
class EmulatorStats:
    subscriptions: int = 0
    subscriptions_refused: int = 0
    indications: int = 0
    controls_acked: int = 0
    controls_refused: int = 0
    malformed: int = 0
    send_failures: int = 0


@dataclass(slots=True)
class NodeSubscription:
    request_id: e2ap.RicRequestId
    action_id: int
    period_ms: int
    meas_info: tuple[MeasInfoItem, ...]
    granul_ms: int
    encoder: F1Encoder
    sn: int = 0
    slices: tuple[str, ...] = field(default=())
    #: (slice key, measurement name) of each record, in the order of the measurement information list
    layout: tuple[tuple[str, str], ...] = field(default=())


def _slice_key(item: MeasInfoItem) -> str:
    lab = item.labels[0]
    return lab.slice_id.key if lab.slice_id is not None else ""


def _record(v: float | int | None) -> MeasRecord:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return Missing.NO_VALUE
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and 0 <= v < 2**32):
        return int(v)
    return float(v)


class E2NodeEmulator:
    def __init__(
        self,
        node_id: str,
        transport: Transport,
        source: MeasurementSource,
        *,
        slices: Sequence[Snssai] = (),
        plmn: bytes = b"\x00\xf1\x10",
        kpm_ran_function_id: int = 2,
        rc_ran_function_id: int = 3,
        kpm_version: KpmVersion = KpmVersion.V2,
        quota_ids: QuotaParamIds | None = None,
        on_quota: Callable[[tuple[SliceQuota, ...]], None] | None = None,
        clock_ns: Callable[[], int] | None = None,
        e2ap_version: e2ap.E2apVersion = e2ap.E2apVersion.V2,
    ) -> None:
        self.node_id = node_id
        self.transport = transport
        self.source = source
        self.slices = {s.key: s for s in slices}
        self.plmn = plmn
        self.kpm_id = kpm_ran_function_id
        self.rc_id = rc_ran_function_id
        self.codec = KpmCodec(kpm_version)
        self.quota_ids = quota_ids
        self.on_quota = on_quota
        self._clock = clock_ns
        self.e2ap_version = e2ap_version
        self.stats = EmulatorStats()
        self.subscriptions: dict[int, NodeSubscription] = {}
        self.quotas: dict[str, SliceQuota] = {}
        self.period = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._periodic: dict[int, asyncio.Task[None]] = {}
        self._realtime = False

    # -- lifecycle -----------------------------------------------------------------------------------------
    async def start(self, *, realtime: bool = True) -> None:
        self._realtime = realtime
        await self.transport.start()
        self._tasks.append(asyncio.create_task(self._serve(), name=f"e2node-{self.node_id}"))

    async def aclose(self) -> None:
        for t in [*self._tasks, *self._periodic.values()]:
            t.cancel()
        for t in [*self._tasks, *self._periodic.values()]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
        self._periodic.clear()
        await self.transport.aclose()

    async def _serve(self) -> None:
        async for msg in self.transport:
            try:
                await self.handle(msg)
            except Exception:
                self.stats.malformed += 1
                log.exception("e2 node emulator: message dropped", mtype=msg.mtype)

    # -- E2 procedures -------------------------------------------------------------------------------------
    async def handle(self, msg: Message) -> None:
        try:
            pdu = e2ap.decode_e2ap(msg.payload)
        except E2DecodeError as exc:
            self.stats.malformed += 1
            log.warning("e2 node emulator: malformed E2AP", error=str(exc))
            return
        if isinstance(pdu, e2ap.RicSubscriptionRequest):
            await self._subscribe(msg, pdu)
        elif isinstance(pdu, e2ap.RicSubscriptionDeleteRequest):
            await self._unsubscribe(msg, pdu)
        elif isinstance(pdu, e2ap.RicControlRequest):
            await self._control(msg, pdu)
        else:
            self.stats.malformed += 1
            log.warning("e2 node emulator: unexpected PDU", pdu=type(pdu).__name__)

    async def _answer(self, request: Message, mtype: int, msg: e2ap.E2apMessage, sub_id: int = -1) -> None:
        payload = e2ap.encode_e2ap(msg, self.e2ap_version)
        try:
            await self.transport.reply(request, mtype, payload)
        except TransportError as exc:
            self.stats.send_failures += 1
            log.warning("e2 node emulator: answer not delivered", mtype=mtype, error=str(exc))

    async def _subscribe(self, msg: Message, req: e2ap.RicSubscriptionRequest) -> None:
        def refuse(cause: e2ap.Cause) -> e2ap.RicSubscriptionFailure:
            self.stats.subscriptions_refused += 1
            return e2ap.RicSubscriptionFailure(req.request_id, req.ran_function_id, cause)

        answer: e2ap.E2apMessage
        if req.ran_function_id != self.kpm_id:
            answer = refuse(e2ap.Cause.of("ricRequest", "ran-function-id-invalid"))
        elif req.request_id.instance_id in self.subscriptions:
            answer = refuse(e2ap.Cause.of("ricRequest", "duplicate-action"))
        else:
            try:
                trigger = self.codec.decode_event_trigger(req.event_trigger)
                action = req.actions[0]
                if action.action_type is not e2ap.ActionType.REPORT or action.definition is None:
                    raise E2ValueError("only REPORT actions with a definition are supported")
                adef = self.codec.decode_action_definition(action.definition)
                if not isinstance(adef.format, ActionDefinitionF1):
                    raise E2ValueError("only action definition format 1 is supported")
            except (E2DecodeError, E2ValueError) as exc:
                log.warning("e2 node emulator: subscription refused", error=str(exc))
                answer = refuse(e2ap.Cause.of("ricRequest", "action-not-supported"))
            else:
                info = adef.format.meas_info
                sub = NodeSubscription(
                    req.request_id,
                    action.action_id,
                    trigger.reporting_period_ms,
                    info,
                    adef.format.granul_period,
                    F1Encoder(info, adef.format.granul_period, self.codec.version),
                )
                sub.slices = tuple(dict.fromkeys(_slice_key(i) for i in info))
                sub.layout = tuple(
                    (_slice_key(i), i.meas_type if isinstance(i.meas_type, str) else f"#{i.meas_type}") for i in info
                )
                cause = self.admit(sub)
                if cause is not None:
                    answer = refuse(cause)
                else:
                    self.subscriptions[req.request_id.instance_id] = sub
                    self.stats.subscriptions += 1
                    answer = e2ap.RicSubscriptionResponse(req.request_id, req.ran_function_id, (action.action_id,))
                    if self._realtime:
                        self._periodic[req.request_id.instance_id] = asyncio.create_task(self._report_loop(sub))
        mtype = 12011 if isinstance(answer, e2ap.RicSubscriptionResponse) else 12012
        await self._answer(msg, mtype, answer)

    async def _unsubscribe(self, msg: Message, req: e2ap.RicSubscriptionDeleteRequest) -> None:
        sub = self.subscriptions.pop(req.request_id.instance_id, None)
        task = self._periodic.pop(req.request_id.instance_id, None)
        if task is not None:
            task.cancel()
        if sub is None:
            await self._answer(
                msg,
                12022,
                e2ap.RicSubscriptionDeleteFailure(
                    req.request_id, req.ran_function_id, e2ap.Cause.of("ricRequest", "request-id-unknown")
                ),
            )
            return
        await self._answer(msg, 12021, e2ap.RicSubscriptionDeleteResponse(req.request_id, req.ran_function_id))

    async def _control(self, msg: Message, req: e2ap.RicControlRequest) -> None:
        def failure(cause: e2ap.Cause) -> e2ap.RicControlFailure:
            self.stats.controls_refused += 1
            return e2ap.RicControlFailure(req.request_id, req.ran_function_id, cause, req.call_process_id)

        answer: e2ap.E2apMessage
        if req.ran_function_id != self.rc_id:
            answer = failure(e2ap.Cause.of("ricRequest", "ran-function-id-invalid"))
        else:
            try:
                quotas = decode_slice_quotas(req.header, req.message, self.quota_ids)
                self._validate(quotas)
                if self.on_quota is not None:
                    self.on_quota(quotas)
            except E2DecodeError as exc:
                log.warning("e2 node emulator: control not understood", error=str(exc))
                answer = failure(e2ap.Cause.of("ricRequest", "control-message-invalid"))
            except QuotaRefused as exc:
                log.info("e2 node emulator: control refused", reason=str(exc))
                answer = failure(exc.cause)
            else:
                for q in quotas:
                    self.quotas[q.snssai.key] = q
                self.stats.controls_acked += 1
                answer = e2ap.RicControlAcknowledge(req.request_id, req.ran_function_id, req.call_process_id)
        mtype = 12041 if isinstance(answer, e2ap.RicControlAcknowledge) else 12042
        await self._answer(msg, mtype, answer)

    def admit(self, sub: NodeSubscription) -> e2ap.Cause | None:
        """Whether to accept a decoded KPM report subscription: None accepts it, a cause refuses it."""
        return None

    def _validate(self, quotas: tuple[SliceQuota, ...]) -> None:
        if self.slices:
            for q in quotas:
                if q.snssai.key not in self.slices:
                    raise QuotaRefused(f"unknown slice {q.snssai.key}")
        if sum(q.dedicated_ratio for q in quotas) > 100:
            raise QuotaRefused("dedicated ratios add up to more than 100 %")

    # -- reporting -----------------------------------------------------------------------------------------
    def _timestamp(self) -> bytes:
        now_ns = self._clock() if self._clock is not None else 0
        secs = now_ns // 1_000_000_000 + 2208988800
        if self.codec.ts_octets == 8:
            frac = ((now_ns % 1_000_000_000) << 32) // 1_000_000_000
            return (secs & 0xFFFFFFFF).to_bytes(4, "big") + frac.to_bytes(4, "big")
        return (secs & 0xFFFFFFFF).to_bytes(4, "big")

    def records(self, sub: NodeSubscription, period: int) -> tuple[MeasRecord, ...]:
        """The measurement records of one reporting period of ``sub``, in the order of its layout."""
        values = self.source.measure(period, sub.slices)
        empty: Mapping[str, float | int | None] = {}
        return tuple(_record(values.get(sk, empty).get(name)) for sk, name in sub.layout)

    def indication(self, sub: NodeSubscription, period: int) -> bytes:
        """The RICindication PDU of one reporting period of ``sub``."""
        return self.encode_indication(sub, self.records(sub, period))

    def encode_indication(
        self, sub: NodeSubscription, records: tuple[MeasRecord, ...], header: bytes | None = None
    ) -> bytes:
        """The RICindication PDU carrying ``records`` for ``sub`` (next sequence number); ``header`` is the encoded
        KPM indication header, built from the clock when omitted."""
        if header is None:
            header = self.codec.encode_indication_header(IndicationHeader(self._timestamp()))
        return self.indication_pdu(sub, header, sub.encoder.encode(records))

    def indication_pdu(self, sub: NodeSubscription, header: bytes, message: bytes) -> bytes:
        """The RICindication PDU of ``sub`` carrying an encoded KPM header and message (next sequence number)."""
        sub.sn = (sub.sn + 1) & 0xFFFF
        return e2ap.encode_e2ap(
            e2ap.RicIndication(
                sub.request_id, self.kpm_id, sub.action_id, e2ap.IndicationType.REPORT, header, message, sub.sn
            ),
            self.e2ap_version,
        )

    async def send_indication(self, sub: NodeSubscription, pdu: bytes) -> None:
        """Send a RICindication of ``sub`` (12050, sub_id = its instance id, MEID = the node); failures are counted."""
        try:
            await self.transport.send(Message(12050, pdu, sub_id=sub.request_id.instance_id, meid=self.node_id))
            self.stats.indications += 1
        except TransportError as exc:
            self.stats.send_failures += 1
            log.warning("e2 node emulator: indication not delivered", error=str(exc))

    async def _emit(self, sub: NodeSubscription, period: int) -> None:
        await self.send_indication(sub, self.indication(sub, period))

    async def step(self) -> int:
        """Emit one reporting period for every subscription (stepped mode); returns the indications sent."""
        period = self.period
        self.period += 1
        subs = list(self.subscriptions.values())
        for sub in subs:
            await self._emit(sub, period)
        return len(subs)

    async def _report_loop(self, sub: NodeSubscription) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        k = 0
        while True:
            k += 1
            await asyncio.sleep(max(0.0, start + k * sub.period_ms / 1000.0 - loop.time()))
            await self._emit(sub, k - 1)
