"""E2 subscriptions: what the xApp asks for, and how indications find their subscription.

Theory of operation
-------------------
A :class:`KpmSubscriptionSpec` describes one KPM report subscription (E2 node, cell, measurements, slices,
period). It compiles to the E2SM-KPM event trigger (format 1, the reporting period) and action definition
(report style 1, format 1: one measurement-information item per (measurement, slice) with a sliceID label,
or a ``noLabel`` item per measurement when no slices are named).

A :class:`Subscriber` turns a spec into an :class:`ActiveSubscription`: it knows the RICrequestID of the
indications that will follow (in the OSC RIC the instance id is the subscription manager's
``E2EventInstanceId``, which is also the RMR ``sub_id`` E2T sets). :class:`E2Subscriber` speaks E2AP
directly over the transport (RIC_SUB_REQ 12010 and its answers), which is what the twin, the gRPC relay and a
standalone E2 node expect; the OSC Subscription Manager flow (REST) lives in
:mod:`ricsdk.runtime.submgr`. The :class:`SubscriptionRegistry` maps each incoming indication to its active
subscription by (E2 node, RICrequestID instance id), the key OSC routes on.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from ricsdk.e2 import e2ap
from ricsdk.e2.common import Cgi, Snssai
from ricsdk.e2.kpm import (
    ActionDefinition,
    ActionDefinitionF1,
    EventTrigger,
    KpmCodec,
    KpmVersion,
    MeasInfoItem,
    MeasLabel,
)
from ricsdk.errors import ConfigError, TransportError
from ricsdk.transport.base import Message, Transport

__all__ = [
    "RIC_SUB_DEL_FAILURE",
    "RIC_SUB_DEL_REQ",
    "RIC_SUB_DEL_RESP",
    "RIC_SUB_FAILURE",
    "RIC_SUB_REQ",
    "RIC_SUB_RESP",
    "ActiveSubscription",
    "E2Subscriber",
    "KpmSubscriptionSpec",
    "ResponseWaiters",
    "Subscriber",
    "SubscriptionError",
    "SubscriptionRegistry",
]

log = structlog.get_logger(__name__)

RIC_SUB_REQ = 12010
RIC_SUB_RESP = 12011
RIC_SUB_FAILURE = 12012
RIC_SUB_DEL_REQ = 12020
RIC_SUB_DEL_RESP = 12021
RIC_SUB_DEL_FAILURE = 12022

#: The RIC requestor id the OSC Subscription Manager always uses.
OSC_REQUESTOR_ID = 123


class SubscriptionError(TransportError):
    """A subscription was refused or never answered; ``cause`` is the E2 cause when the node gave one."""

    def __init__(self, message: str, *, cause: e2ap.Cause | None = None) -> None:
        self.cause = cause
        super().__init__(f"{message} ({cause})" if cause else message)


@dataclass(frozen=True, slots=True)
class KpmSubscriptionSpec:
    name: str
    e2_node: str
    measurements: tuple[str, ...]
    slices: tuple[Snssai, ...] = ()
    period_ms: int = 1000
    granularity_ms: int | None = None
    cell: Cgi | None = None
    cell_key: str = ""
    ran_function_id: int = 2
    kpm_version: KpmVersion = KpmVersion.V2
    timestamp_octets: int | None = None
    action_id: int = 1
    report_style: int = 1

    def __post_init__(self) -> None:
        if not self.name or not self.e2_node:
            raise ConfigError("a subscription needs a name and an E2 node", field="subscription")
        if not self.measurements:
            raise ConfigError("a subscription needs at least one measurement", field=self.name)
        if self.period_ms < 1:
            raise ConfigError("period must be >= 1 ms", field=self.name)

    @property
    def codec(self) -> KpmCodec:
        return KpmCodec(self.kpm_version, self.timestamp_octets)

    def meas_info(self) -> tuple[MeasInfoItem, ...]:
        if not self.slices:
            return tuple(MeasInfoItem(m, (MeasLabel(no_label=True),)) for m in self.measurements)
        return tuple(MeasInfoItem(m, (MeasLabel(slice_id=s),)) for s in self.slices for m in self.measurements)

    def action_definition(self) -> ActionDefinition:
        return ActionDefinition(
            self.report_style,
            ActionDefinitionF1(self.meas_info(), self.granularity_ms or self.period_ms, self.cell),
        )

    def request(self, request_id: e2ap.RicRequestId) -> e2ap.RicSubscriptionRequest:
        codec = self.codec
        return e2ap.RicSubscriptionRequest(
            request_id,
            self.ran_function_id,
            codec.encode_event_trigger(EventTrigger(self.period_ms)),
            (
                e2ap.ActionToBeSetup(
                    self.action_id,
                    e2ap.ActionType.REPORT,
                    codec.encode_action_definition(self.action_definition()),
                    e2ap.SubsequentAction(e2ap.SubsequentActionType.CONTINUE, e2ap.TimeToWait.W10MS),
                ),
            ),
        )


@dataclass(frozen=True, slots=True)
class ActiveSubscription:
    spec: KpmSubscriptionSpec
    request_id: e2ap.RicRequestId
    sub_id: int
    codec: KpmCodec
    handle: str = ""  # an external id (the Subscription Manager's SubscriptionId), when there is one

    @property
    def e2_node(self) -> str:
        return self.spec.e2_node


@dataclass
class SubscriptionRegistry:
    """Active subscriptions by (E2 node, instance id), the key of every indication."""

    _by_key: dict[tuple[str, int], ActiveSubscription] = field(default_factory=dict)

    def add(self, sub: ActiveSubscription) -> None:
        self._by_key[(sub.e2_node, sub.request_id.instance_id)] = sub

    def remove(self, sub: ActiveSubscription) -> None:
        self._by_key.pop((sub.e2_node, sub.request_id.instance_id), None)

    def match(self, e2_node: str, instance_id: int) -> ActiveSubscription | None:
        return self._by_key.get((e2_node, instance_id))

    def __len__(self) -> int:
        return len(self._by_key)

    def all(self) -> list[ActiveSubscription]:
        return list(self._by_key.values())


class Subscriber(Protocol):
    async def subscribe(self, spec: KpmSubscriptionSpec) -> ActiveSubscription: ...

    async def unsubscribe(self, sub: ActiveSubscription) -> None: ...


class ResponseWaiters:
    """Futures for E2 answers keyed by (E2 node, requestor id, instance id); the dispatcher resolves them."""

    def __init__(self) -> None:
        self._waiting: dict[tuple[str, int, int], asyncio.Future[e2ap.E2apMessage]] = {}

    def expect(self, e2_node: str, rid: e2ap.RicRequestId) -> asyncio.Future[e2ap.E2apMessage]:
        fut: asyncio.Future[e2ap.E2apMessage] = asyncio.get_running_loop().create_future()
        self._waiting[(e2_node, rid.requestor_id, rid.instance_id)] = fut
        return fut

    def resolve(self, e2_node: str, msg: e2ap.E2apMessage) -> bool:
        rid = getattr(msg, "request_id", None)
        if rid is None:
            return False
        fut = self._waiting.pop((e2_node, rid.requestor_id, rid.instance_id), None)
        if fut is None or fut.done():
            return False
        fut.set_result(msg)
        return True

    def cancel(self, e2_node: str, rid: e2ap.RicRequestId) -> None:
        fut = self._waiting.pop((e2_node, rid.requestor_id, rid.instance_id), None)
        if fut is not None and not fut.done():
            fut.cancel()


class E2Subscriber:
    """Subscribes with RICsubscriptionRequest sent over the transport (mtype 12010, MEID = E2 node).

    ``tries`` attempts of ``timeout_s`` each, as the OSC Subscription Manager's defaults (2 x 2 s).
    """

    def __init__(
        self,
        transport: Transport,
        waiters: ResponseWaiters,
        *,
        requestor_id: int = OSC_REQUESTOR_ID,
        first_instance_id: int = 1,
        tries: int = 2,
        timeout_s: float = 2.0,
        version: e2ap.E2apVersion = e2ap.E2apVersion.V2,
    ) -> None:
        self._transport = transport
        self._waiters = waiters
        self._requestor = requestor_id
        self._next = first_instance_id
        self._tries = tries
        self._timeout = timeout_s
        self._version = version

    def _instance(self) -> int:
        v = self._next
        self._next = self._next % 65535 + 1
        return v

    async def _exchange(
        self, e2_node: str, rid: e2ap.RicRequestId, mtype: int, pdu: bytes, what: str
    ) -> e2ap.E2apMessage:
        for attempt in range(1, self._tries + 1):
            fut = self._waiters.expect(e2_node, rid)
            await self._transport.send(Message(mtype, pdu, meid=e2_node))
            try:
                return await asyncio.wait_for(fut, self._timeout)
            except TimeoutError:
                self._waiters.cancel(e2_node, rid)
                log.warning(f"{what} not answered", e2_node=e2_node, attempt=attempt, request_id=rid)
        raise SubscriptionError(f"{what} to {e2_node} not answered after {self._tries} tries")

    async def subscribe(self, spec: KpmSubscriptionSpec) -> ActiveSubscription:
        rid = e2ap.RicRequestId(self._requestor, self._instance())
        pdu = e2ap.encode_e2ap(spec.request(rid), self._version)
        answer = await self._exchange(spec.e2_node, rid, RIC_SUB_REQ, pdu, "subscription request")
        if isinstance(answer, e2ap.RicSubscriptionFailure):
            raise SubscriptionError(f"subscription {spec.name} refused by {spec.e2_node}", cause=answer.cause)
        if not isinstance(answer, e2ap.RicSubscriptionResponse) or spec.action_id not in answer.admitted:
            raise SubscriptionError(f"subscription {spec.name}: action {spec.action_id} not admitted")
        log.info("subscribed", subscription=spec.name, e2_node=spec.e2_node, instance_id=rid.instance_id)
        return ActiveSubscription(spec, rid, rid.instance_id, spec.codec)

    async def unsubscribe(self, sub: ActiveSubscription) -> None:
        pdu = e2ap.encode_e2ap(
            e2ap.RicSubscriptionDeleteRequest(sub.request_id, sub.spec.ran_function_id), self._version
        )
        answer = await self._exchange(sub.e2_node, sub.request_id, RIC_SUB_DEL_REQ, pdu, "subscription delete")
        if isinstance(answer, e2ap.RicSubscriptionDeleteFailure):
            raise SubscriptionError(f"delete of {sub.spec.name} refused", cause=answer.cause)
