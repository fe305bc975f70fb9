"""One dispatcher behind every transport: E2 and A1 messages in, handler calls out.

Theory of operation
-------------------
``handle(msg)`` looks at the RMR message type and routes:

- 12050 RIC_INDICATION: E2AP decode, find the active subscription by (E2 node, instance id), decode the KPM
  header and message with that subscription's codec, call the indication handlers;
- 12011/12012/12021/12022: subscription answers, which resolve the subscriber's waiting futures;
- 12041/12042: control acknowledgements and failures, matched by the control tracker, then the
  ``@on_control_outcome`` handlers;
- 20010 A1_POLICY_REQ: the OSC mediator's JSON, the ``@on_policy`` handler of its type, a 20011 answer;
- anything else: an ``@on_message`` handler of that mtype, or counted as unhandled.

Malformed input is counted, logged with its decode path and dropped; a handler that raises is counted and
logged; the loop goes on in every case. Messages are handled one at a time in arrival order.
"""

from __future__ import annotations

import contextlib
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from ricsdk.a1.mediator import A1_POLICY_REQ, A1_POLICY_RESP, encode_policy_response, parse_policy_request
from ricsdk.e2 import e2ap
from ricsdk.errors import A1PayloadError, E2DecodeError
from ricsdk.runtime.control import ControlTracker
from ricsdk.runtime.events import ControlOutcome, Indication, PolicyEvent
from ricsdk.runtime.handlers import HandlerKind
from ricsdk.runtime.metrics import RuntimeMetrics
from ricsdk.runtime.subscriptions import ResponseWaiters, SubscriptionRegistry
from ricsdk.runtime.xapp import XApp
from ricsdk.transport.base import Message

__all__ = ["Dispatcher"]

log = structlog.get_logger(__name__)

RIC_INDICATION = 12050
RIC_CONTROL_ACK = 12041
RIC_CONTROL_FAILURE = 12042
_SUB_ANSWERS = frozenset({12011, 12012, 12021, 12022})


class Dispatcher:
    def __init__(
        self,
        app: XApp,
        *,
        registry: SubscriptionRegistry,
        waiters: ResponseWaiters,
        tracker: ControlTracker,
        metrics: RuntimeMetrics,
        reply: Callable[[Message, int, bytes], Awaitable[None]],
        clock: Callable[[], int] = time.monotonic_ns,
        handler_id: str = "ricsdk",
    ) -> None:
        self.app = app
        self.registry = registry
        self.waiters = waiters
        self.tracker = tracker
        self.metrics = metrics
        self._reply = reply
        self._clock = clock
        self._handler_id = handler_id
        self._async: dict[str, bool] = {}
        self._outcome_counters: dict[tuple[str, str], Any] = {}
        self._indication_counters: dict[str, Any] = {}  # ricsdk_indications children by E2 node
        h = type(app).handlers
        self._ind_all = self._bind(h.get((HandlerKind.INDICATION, None)))
        self._ind_many = self._bind(h.get((HandlerKind.INDICATIONS, None)))
        self._ind_by_sub = {
            key: self._bind(spec)
            for (kind, key), spec in h.items()
            if kind is HandlerKind.INDICATION and key is not None
        }
        self._policy = {key: self._bind(spec) for (kind, key), spec in h.items() if kind is HandlerKind.POLICY}
        self._outcome = self._bind(h.get((HandlerKind.CONTROL_OUTCOME, None)))
        self._messages = {key: self._bind(spec) for (kind, key), spec in h.items() if kind is HandlerKind.MESSAGE}

    def _bind(self, spec: Any) -> Callable[[Any], Any] | None:
        if spec is None:
            return None
        fn = getattr(self.app, spec.name)
        self._async[fn.__name__] = spec.is_async
        return fn  # type: ignore[no-any-return]

    async def _call(self, fn: Callable[[Any], Any], event: Any) -> Any:
        try:
            if self._async.get(fn.__name__, True):
                result = fn(event)
                return await result if inspect.isawaitable(result) else result
            return fn(event)
        except Exception:
            name = getattr(fn, "__name__", "handler")
            self.metrics.handler_errors.labels(name).inc()
            log.exception("handler raised", handler=name)
            raise

    async def handle(self, msg: Message) -> None:
        mtype = msg.mtype
        if mtype == RIC_INDICATION:
            await self._indication(msg)
        elif mtype in (RIC_CONTROL_ACK, RIC_CONTROL_FAILURE):
            await self._control_answer(msg)
        elif mtype in _SUB_ANSWERS:
            self._subscription_answer(msg)
        elif mtype == A1_POLICY_REQ:
            await self._policy_request(msg)
        else:
            fn = self._messages.get(mtype)
            if fn is None:
                self.metrics.messages_unhandled.labels(str(mtype)).inc()
                log.debug("message without handler", mtype=mtype)
                return
            try:
                await self._call(fn, msg)
            except Exception:
                return

    def decode_indication(self, msg: Message) -> Indication | None:
        """E2AP + KPM decode of one RIC_INDICATION; None (counted, logged) when it cannot be used."""
        try:
            pdu = e2ap.decode_e2ap(msg.payload)
        except E2DecodeError as exc:
            self.metrics.indications_malformed.labels("e2ap").inc()
            log.warning("malformed E2AP", e2_node=msg.meid, error=str(exc), path=exc.path)
            return None
        if not isinstance(pdu, e2ap.RicIndication):
            self.metrics.indications_malformed.labels("e2ap").inc()
            log.warning("mtype 12050 carries no RICindication", e2_node=msg.meid, pdu=type(pdu).__name__)
            return None
        sub = self.registry.match(msg.meid, pdu.request_id.instance_id)
        if sub is None:
            self.metrics.indications_unmatched.labels(msg.meid).inc()
            log.warning("indication of no known subscription", e2_node=msg.meid, request_id=pdu.request_id)
            return None
        codec = sub.codec
        try:
            header = codec.decode_indication_header(pdu.header)
            message = codec.decode_indication_message(pdu.message)
        except E2DecodeError as exc:
            self.metrics.indications_malformed.labels("kpm").inc()
            log.warning("malformed E2SM-KPM", e2_node=msg.meid, error=str(exc), path=exc.path)
            return None
        counter = self._indication_counters.get(msg.meid)
        if counter is None:
            if len(self._indication_counters) >= 65536:
                self._indication_counters.clear()
            counter = self._indication_counters[msg.meid] = self.metrics.indications.labels(msg.meid)
        counter.inc()
        return Indication(
            msg.meid, sub.spec.name, sub.spec.cell_key, pdu, header, message, msg.received_ns or self._clock()
        )

    async def _indication(self, msg: Message) -> None:
        ind = self.decode_indication(msg)
        if ind is None:
            return
        fn = self._ind_by_sub.get(ind.subscription) or self._ind_all
        if fn is None:
            if self._ind_many is not None:
                await self._indications([ind])
                return
            self.metrics.messages_unhandled.labels(str(msg.mtype)).inc()
            return
        try:
            await self._call(fn, ind)
        except Exception:
            return

    async def handle_many(self, msgs: list[Message]) -> None:
        """Handle messages received together, in order, with their indications batched.

        Decoded indications collect into one batch for the ``@on_indications`` handler (when the xApp has one);
        control answers are handled as they come (they do not bear on decisions); any other message first
        hands the batch collected so far to the xApp, so an A1 policy or a subscription answer takes effect
        between the indications it arrived between.
        """
        if self._ind_many is None:
            for msg in msgs:
                await self.handle(msg)
            return
        batch: list[Indication] = []
        for msg in msgs:
            mtype = msg.mtype
            if mtype == RIC_INDICATION:
                ind = self.decode_indication(msg)
                if ind is not None:
                    batch.append(ind)
            elif mtype in (RIC_CONTROL_ACK, RIC_CONTROL_FAILURE):
                await self._control_answer(msg)
            else:
                if batch:
                    await self._indications(batch)
                    batch = []
                await self.handle(msg)
        if batch:
            await self._indications(batch)

    async def _indications(self, inds: list[Indication]) -> None:
        """A batch of decoded indications: those of subscriptions with their own handler go there one by one;
        the rest go to the batch handler together (a lone one to the catch-all handler when there is one)."""
        assert self._ind_many is not None
        rest = inds
        if self._ind_by_sub:
            rest = []
            for ind in inds:
                fn = self._ind_by_sub.get(ind.subscription)
                if fn is None:
                    rest.append(ind)
                    continue
                with contextlib.suppress(Exception):
                    await self._call(fn, ind)
        if not rest:
            return
        with contextlib.suppress(Exception):  # counted and logged by _call
            if len(rest) == 1 and self._ind_all is not None:
                await self._call(self._ind_all, rest[0])
            else:
                await self._call(self._ind_many, rest)

    async def _control_answer(self, msg: Message) -> None:
        try:
            pdu = e2ap.decode_e2ap(msg.payload)
        except E2DecodeError as exc:
            self.metrics.indications_malformed.labels("e2ap").inc()
            log.warning("malformed control answer", e2_node=msg.meid, error=str(exc))
            return
        outcome: ControlOutcome | None
        if isinstance(pdu, e2ap.RicControlAcknowledge):
            outcome = self.tracker.acknowledged(msg.meid, pdu)
        elif isinstance(pdu, e2ap.RicControlFailure):
            outcome = self.tracker.failed_with(msg.meid, pdu)
        else:
            self.metrics.indications_malformed.labels("e2ap").inc()
            log.warning("control answer carries an unexpected PDU", pdu=type(pdu).__name__)
            return
        if outcome is None:
            return
        await self.report_outcome(outcome)

    async def report_outcome(self, outcome: ControlOutcome) -> None:
        key = (outcome.e2_node, outcome.status)
        counter = self._outcome_counters.get(key)
        if counter is None:
            counter = self._outcome_counters[key] = self.metrics.controls.labels(*key)
        counter.inc()
        if outcome.status == "ack":
            self.metrics.stages.observe_ns("control_ack", outcome.latency_ns)
        elif outcome.status == "failure":
            log.warning("control failed", e2_node=outcome.e2_node, cause=str(outcome.cause), slices=outcome.slices)
        else:
            log.warning("control timed out", e2_node=outcome.e2_node, slices=outcome.slices)
        if self._outcome is not None:
            try:
                await self._call(self._outcome, outcome)
            except Exception:
                return

    def _subscription_answer(self, msg: Message) -> None:
        try:
            pdu = e2ap.decode_e2ap(msg.payload)
        except E2DecodeError as exc:
            self.metrics.indications_malformed.labels("e2ap").inc()
            log.warning("malformed subscription answer", e2_node=msg.meid, error=str(exc))
            return
        if not self.waiters.resolve(msg.meid, pdu):
            log.warning("subscription answer nobody waits for", e2_node=msg.meid, pdu=type(pdu).__name__)

    async def deliver_policy(self, event: PolicyEvent) -> str:
        """Call the ``@on_policy`` handler of the event's type (from RMR or the A1-P REST endpoint).

        Returns the A1 status the mediator expects: ``OK``, ``DELETED``, or ``ERROR`` (no handler, or it raised).
        """
        fn = self._policy.get(event.policy_type_id)
        status = "ERROR"
        if fn is None:
            log.warning("A1 policy of a type this xApp does not handle", policy_type_id=event.policy_type_id)
        else:
            try:
                await self._call(fn, event)
                status = "DELETED" if event.operation == "DELETE" else "OK"
            except Exception:
                status = "ERROR"
        self.metrics.policies.labels(str(event.policy_type_id), event.operation, status).inc()
        return status

    async def _policy_request(self, msg: Message) -> None:
        try:
            req = parse_policy_request(msg.payload)
        except A1PayloadError as exc:
            self.metrics.policies.labels("?", "?", "malformed").inc()
            log.warning("malformed A1 policy request", error=str(exc))
            return
        status = await self.deliver_policy(
            PolicyEvent(req.operation, req.policy_type_id, req.policy_instance_id, req.payload)
        )
        answer = encode_policy_response(req.policy_type_id, req.policy_instance_id, self._handler_id, status)
        try:
            await self._reply(msg, A1_POLICY_RESP, answer)
        except Exception as exc:  # the transport failure is logged and counted by the transport itself
            log.warning("A1 policy response not sent", error=str(exc))
