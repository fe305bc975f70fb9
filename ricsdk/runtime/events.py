"""What handlers receive: frozen views of decoded E2 and A1 traffic (never transport or codec internals)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ricsdk.e2.e2ap import Cause, RicIndication, RicRequestId
from ricsdk.e2.kpm import (
    IndicationHeader,
    IndicationMessage,
    IndicationMessageF1,
    MeasInfoItem,
    MeasRecord,
    Missing,
)

__all__ = ["ControlOutcome", "Indication", "PolicyEvent", "SliceKey", "records_to_float"]

#: ``(E2 node, cell, slice)``: the identity of one row of the decision path. ``slice`` is the S-NSSAI key
#: (``"1-000001"``) or ``""`` for cell-level measurements.
SliceKey = tuple[str, str, str]


def records_to_float(r: MeasRecord) -> float:
    """A measurement record as a float; ``noValue`` / ``notSatisfied`` become NaN (missing)."""
    if isinstance(r, Missing):
        return math.nan
    return float(r)


@dataclass(frozen=True, slots=True)
class Indication:
    """A RIC indication whose E2AP and E2SM-KPM parts are decoded.

    ``subscription`` names the xApp subscription it belongs to; ``cell`` is that subscription's cell key
    (empty when the subscription is node-wide).
    """

    e2_node: str
    subscription: str
    cell: str
    pdu: RicIndication
    header: IndicationHeader
    message: IndicationMessage
    received_ns: int

    @property
    def ran_function_id(self) -> int:
        return self.pdu.ran_function_id

    @property
    def request_id(self) -> RicRequestId:
        return self.pdu.request_id

    @property
    def sn(self) -> int | None:
        return self.pdu.sn

    def per_slice(self, period: int = -1) -> dict[str, dict[str, float]]:
        """Format-1 measurements of one granularity period grouped by slice key (``""`` = no slice label).

        ``period`` indexes the message's measurement data items (the last one by default). Missing records are
        NaN. A measurement reported with several labels of the same slice keeps the first.
        """
        msg = self.message
        out: dict[str, dict[str, float]] = {}
        if not isinstance(msg, IndicationMessageF1) or not msg.meas_info:
            return out
        records = msg.meas_data[period].records
        info: tuple[MeasInfoItem, ...] = msg.meas_info
        for item, rec in zip(info, records, strict=False):
            name = item.meas_type if isinstance(item.meas_type, str) else f"#{item.meas_type}"
            lab = item.labels[0]
            key = lab.slice_id.key if lab.slice_id is not None else ""
            out.setdefault(key, {}).setdefault(name, records_to_float(rec))
        return out


@dataclass(frozen=True, slots=True)
class ControlOutcome:
    """What became of one RIC control request."""

    e2_node: str
    request_id: RicRequestId
    call_process_id: bytes | None
    status: str  # "ack" | "failure" | "timeout"
    cause: Cause | None = None
    outcome: bytes | None = None
    latency_ns: int = 0
    slices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PolicyEvent:
    """An A1 policy operation delivered to the xApp."""

    operation: str  # "CREATE" | "UPDATE" | "DELETE"
    policy_type_id: int
    policy_instance_id: str
    payload: Mapping[str, Any] = field(default_factory=dict)
