"""The decision record: what the near-RT loop decided, for which slice, under which model, and why.

A :class:`DecisionRecord` is the durable, hash-chained form of one decision. It is built by the writer from a
:class:`RecordEvent` (a plain dict that flows through the processor chain, structlog style) or decoded from a
spool frame; the runtime never builds one on the hot path.

Slices are identified by their S-NSSAI as one string, ``"<sst>-<sd>"`` with the SST in decimal and the SD as
six lower-case hex digits (``"1-000001"``), or ``"<sst>"`` alone when the slice has no SD (:func:`snssai`
builds it). The lineage layer treats the string as opaque: it is recorded exactly as given.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TypedDict

from ricsdk.errors import LineageRecordError

__all__ = [
    "GENESIS_HASH",
    "DecisionRecord",
    "ModelRef",
    "RcAction",
    "RecordEvent",
    "Slot",
    "snssai",
]

GENESIS_HASH = bytes(32)
"""``prev_hash`` of the first record of a chain."""


class Slot(enum.Enum):
    """The model slot that produced a decision."""

    ACTIVE = "active"
    SHADOW = "shadow"
    CANARY = "canary"


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A model version as it governed a decision: name, version, artifact digest and slot."""

    name: str
    version: str
    digest: str
    slot: Slot = Slot.ACTIVE


@dataclass(frozen=True, slots=True)
class RcAction:
    """The E2SM-RC slice PRB quota (Control Style 2, Action 6) computed for a slice.

    ``sent`` says whether it went out as a RICcontrolRequest; ``reason`` says why it was withheld (shadow slot,
    rate limit, SLA clamp, ...) or, when sent, any adjustment made by the policy guard. Ratios are percentages
    0..100 as in the RC service model.
    """

    min_prb_pct: int
    max_prb_pct: int
    dedicated_prb_pct: int
    sent: bool
    reason: str = ""

    def __post_init__(self) -> None:
        for name in ("min_prb_pct", "max_prb_pct", "dedicated_prb_pct"):
            value = getattr(self, name)
            if type(value) is not int or not 0 <= value <= 100:
                raise LineageRecordError(f"{name} must be an int in 0..100, got {value!r}", field=name)


def snssai(sst: int, sd: int | None = None) -> str:
    """The canonical string for an S-NSSAI: ``snssai(1, 1) == "1-000001"``, ``snssai(2) == "2"``."""
    if not 0 <= sst <= 255:
        raise LineageRecordError(f"SST must be 0..255, got {sst}", field="sst")
    if sd is None:
        return str(sst)
    if not 0 <= sd <= 0xFFFFFF:
        raise LineageRecordError(f"SD must be 0..0xFFFFFF, got {sd}", field="sd")
    return f"{sst}-{sd:06x}"


class RecordEvent(TypedDict, total=False):
    """The mutable dict a record is while it flows through the processor chain.

    Keys mirror :class:`DecisionRecord`, except ``stage_ns`` (a ``name -> ns`` dict here) and ``payload``,
    the frame payload (canonical body + hash) that the chain-hash processor leaves for the sink.
    """

    decision_id: str
    instance: str
    sequence: int
    timestamp_ns: int
    e2_node: str
    cell: str
    slice_id: str
    model: ModelRef
    input_digest: str
    features: tuple[float, ...] | None
    output: tuple[float, ...]
    action: RcAction | None
    policy_ids: tuple[str, ...]
    stage_ns: dict[str, int]
    cpu_ns: int
    prev_hash: bytes
    hash: bytes
    payload: bytes


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """One decision of the near-RT loop, as recorded and hash-chained.

    ``sequence`` is monotonic per ``instance`` (no gaps across the spool and its overflow log);
    ``timestamp_ns`` is the decision time from the recorder's clock (wall clock, ns since the epoch, by
    default). ``input_digest`` is the hex sha256 of the feature row (see :mod:`ricsdk.lineage.encoding`);
    ``features`` is the row itself unless a processor dropped it by policy. ``stage_ns`` holds the per-stage
    timings as ``(name, ns)`` pairs sorted by name; ``cpu_ns`` the inference CPU time. ``prev_hash`` and
    ``hash`` link the record into its instance's chain.
    """

    decision_id: str
    instance: str
    sequence: int
    timestamp_ns: int
    e2_node: str
    cell: str
    slice_id: str
    model: ModelRef
    input_digest: str
    features: tuple[float, ...] | None
    output: tuple[float, ...]
    action: RcAction | None
    policy_ids: tuple[str, ...]
    stage_ns: tuple[tuple[str, int], ...]
    cpu_ns: int
    prev_hash: bytes = GENESIS_HASH
    hash: bytes = GENESIS_HASH

    def stage_timings(self) -> dict[str, int]:
        """``stage_ns`` as a dict."""
        return dict(self.stage_ns)

    def to_event(self) -> RecordEvent:
        """This record as a processor-chain event (without ``payload``)."""
        return RecordEvent(
            decision_id=self.decision_id,
            instance=self.instance,
            sequence=self.sequence,
            timestamp_ns=self.timestamp_ns,
            e2_node=self.e2_node,
            cell=self.cell,
            slice_id=self.slice_id,
            model=self.model,
            input_digest=self.input_digest,
            features=self.features,
            output=self.output,
            action=self.action,
            policy_ids=self.policy_ids,
            stage_ns=dict(self.stage_ns),
            cpu_ns=self.cpu_ns,
            prev_hash=self.prev_hash,
            hash=self.hash,
        )

    @classmethod
    def from_event(cls, event: RecordEvent) -> DecisionRecord:
        """Build the record from a fully processed event (after enrich, digest and chain-hash)."""
        return cls(
            decision_id=event["decision_id"],
            instance=event["instance"],
            sequence=event["sequence"],
            timestamp_ns=event["timestamp_ns"],
            e2_node=event["e2_node"],
            cell=event["cell"],
            slice_id=event["slice_id"],
            model=event["model"],
            input_digest=event.get("input_digest", ""),
            features=event.get("features"),
            output=event["output"],
            action=event.get("action"),
            policy_ids=event.get("policy_ids", ()),
            stage_ns=tuple(sorted(event.get("stage_ns", {}).items())),
            cpu_ns=event.get("cpu_ns", 0),
            prev_hash=event.get("prev_hash", GENESIS_HASH),
            hash=event.get("hash", GENESIS_HASH),
        )
