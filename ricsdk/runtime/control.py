"""Tracking of RIC control requests: acknowledged, failed or timed out, each counted.

Theory of operation
-------------------
Every control the runtime sends carries a fresh 4-octet RICcallProcessID; E2 nodes echo it in
RICcontrolAcknowledge / RICcontrolFailure, which is how answers are matched to requests. An answer without a
call process id is matched to the oldest pending control of the same E2 node and RICrequestID. Pending
controls past their deadline are reported as timeouts by :meth:`ControlTracker.sweep`, which the runner calls
periodically with its injected clock; a late answer to a timed-out control is counted as ``late``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from ricsdk.e2.e2ap import RicControlAcknowledge, RicControlFailure, RicRequestId
from ricsdk.runtime.events import ControlOutcome

__all__ = ["ControlTracker", "PendingControl"]

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class PendingControl:
    e2_node: str
    request_id: RicRequestId
    call_process_id: bytes
    sent_ns: int
    deadline_ns: int
    slices: tuple[str, ...]


class ControlTracker:
    def __init__(self, *, timeout_ns: int, clock: Callable[[], int], max_pending: int = 100_000) -> None:
        self._timeout = timeout_ns
        self._clock = clock
        self._max = max_pending
        self._pending: OrderedDict[tuple[str, bytes], PendingControl] = OrderedDict()
        self._counter = 0
        self.acked = 0
        self.failed = 0
        self.timed_out = 0
        self.late = 0
        self.unmatched = 0
        self.evicted = 0

    @property
    def pending(self) -> int:
        return len(self._pending)

    def next_call_process_id(self) -> bytes:
        self._counter = (self._counter + 1) & 0xFFFFFFFF
        return self._counter.to_bytes(4, "big")

    def sent(self, e2_node: str, request_id: RicRequestId, call_process_id: bytes, slices: tuple[str, ...]) -> None:
        now = self._clock()
        if len(self._pending) >= self._max:
            _, old = self._pending.popitem(last=False)
            self.evicted += 1
            log.warning("control tracker full: oldest pending control dropped", e2_node=old.e2_node)
        self._pending[(e2_node, call_process_id)] = PendingControl(
            e2_node, request_id, call_process_id, now, now + self._timeout, slices
        )

    def _take(self, e2_node: str, request_id: RicRequestId, cpid: bytes | None) -> PendingControl | None:
        if cpid is not None:
            return self._pending.pop((e2_node, cpid), None)
        for key, p in self._pending.items():
            if p.e2_node == e2_node and p.request_id == request_id:
                del self._pending[key]
                return p
        return None

    def acknowledged(self, e2_node: str, ack: RicControlAcknowledge) -> ControlOutcome | None:
        p = self._take(e2_node, ack.request_id, ack.call_process_id)
        if p is None:
            self._count_unmatched(e2_node, ack.call_process_id)
            return None
        self.acked += 1
        return ControlOutcome(
            e2_node, ack.request_id, p.call_process_id, "ack", None, ack.outcome, self._clock() - p.sent_ns, p.slices
        )

    def failed_with(self, e2_node: str, f: RicControlFailure) -> ControlOutcome | None:
        p = self._take(e2_node, f.request_id, f.call_process_id)
        if p is None:
            self._count_unmatched(e2_node, f.call_process_id)
            return None
        self.failed += 1
        return ControlOutcome(
            e2_node,
            f.request_id,
            p.call_process_id,
            "failure",
            f.cause,
            f.outcome,
            self._clock() - p.sent_ns,
            p.slices,
        )

    def _count_unmatched(self, e2_node: str, cpid: bytes | None) -> None:
        if cpid is not None and int.from_bytes(cpid, "big") <= self._counter:
            self.late += 1
            log.info("control answer after its timeout", e2_node=e2_node, call_process_id=cpid.hex())
        else:
            self.unmatched += 1
            log.warning("control answer matches no request", e2_node=e2_node)

    def sweep(self) -> list[ControlOutcome]:
        """Report and forget controls past their deadline."""
        now = self._clock()
        out = []
        while self._pending:
            key, p = next(iter(self._pending.items()))
            if p.deadline_ns > now:
                # Deadlines grow with insertion order (one timeout for all), so the first live one ends the scan.
                break
            del self._pending[key]
            self.timed_out += 1
            out.append(
                ControlOutcome(
                    p.e2_node, p.request_id, p.call_process_id, "timeout", None, None, now - p.sent_ns, p.slices
                )
            )
        return out
