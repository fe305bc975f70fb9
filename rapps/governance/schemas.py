"""The shapes governance answers with (REST and OpenAPI), as pydantic models the store builds directly.

Times are integers in nanoseconds since the Unix epoch (``*_ns``), as the records carry them; hashes and
digests are lower-case hex (``sha256:<hex>`` for model artifacts, as in manifests).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "ActionOut",
    "AliasEvent",
    "AliasSet",
    "ChainInfo",
    "ChainIssueOut",
    "ChainVerification",
    "DecisionPage",
    "DecisionProvenance",
    "DecisionSummary",
    "FeatureImportance",
    "Governing",
    "IntegrityEventOut",
    "KpiBound",
    "LifecycleSpan",
    "ModelRefOut",
    "ModelReport",
    "ModelStats",
    "ModelUpload",
    "ModelVersionOut",
    "PolicyIn",
    "PolicyOut",
    "Robustness",
    "Rollback",
    "SliceLifecycle",
    "SliceSla",
]


class ModelRefOut(BaseModel):
    name: str
    version: str
    digest: str
    slot: str


class ActionOut(BaseModel):
    min_prb_pct: int
    max_prb_pct: int
    dedicated_prb_pct: int
    sent: bool
    reason: str


class DecisionSummary(BaseModel):
    instance: str
    sequence: int
    stream: str
    timestamp_ns: int
    decision_id: str
    e2_node: str
    cell: str
    slice_id: str
    model: ModelRefOut
    action_sent: bool | None = Field(description="None when the decision carried no RC action")
    policy_ids: list[str]
    cpu_ns: int
    hash: str


class DecisionPage(BaseModel):
    items: list[DecisionSummary]
    next_cursor: str | None = Field(description="pass as `after` for the next page; None at the end")


class IntegrityEventOut(BaseModel):
    id: int
    observed_ns: int
    kind: str
    instance: str
    sequence: int
    stream: str
    detail: str
    hash: str | None
    source: str
    payload_stored: bool


class PolicyOut(BaseModel):
    policy_id: str
    slice_id: str
    body: dict[str, Any]
    updated_ns: int


class KpiBound(BaseModel):
    feature: str = Field(description="a feature name from the model manifest's `features` list")
    min: float | None = None
    max: float | None = None


class PolicyIn(BaseModel):
    slice_id: str
    kpis: list[KpiBound] = Field(default_factory=list, description="the SLA: every bound must hold")
    description: str = ""


class ModelVersionOut(BaseModel):
    name: str
    version: str
    digest: str
    size_bytes: int
    created_ns: int
    created_by: str
    aliases: list[str]
    manifest: dict[str, Any]
    training: dict[str, Any] = Field(description="the manifest's training lineage (dataset, code, parent, ...)")


class DecisionProvenance(BaseModel):
    decision: DecisionSummary
    input_digest: str
    features: list[float] | None
    output: list[float]
    action: ActionOut | None
    stage_ns: dict[str, int]
    prev_hash: str
    hash_verified: bool = Field(description="sha256 of the stored body equals the stored hash")
    linked_to_previous: bool | None = Field(
        description="prev_hash equals the hash of the previous stored record of the same spool log; "
        "None when that record is not stored (first record, or a gap)"
    )
    previous_sequence: int | None
    registry: ModelVersionOut | None = Field(description="the registered model version with this digest")
    policies: list[PolicyOut]
    integrity_events: list[IntegrityEventOut]
    payload_b64: str = Field(description="the canonical payload (body || sha256), for independent verification")


class Governing(BaseModel):
    slice_id: str
    at_ns: int
    model: ModelRefOut | None
    decision: DecisionSummary | None = Field(description="the latest governing decision at or before at_ns")
    since_ns: int | None = Field(description="when this model version started governing the slice, at or before at_ns")


class ModelStats(BaseModel):
    model: ModelRefOut
    decisions: int
    sent: int
    withheld: int
    no_action: int
    cpu_ns: int
    cpu_us_per_decision: float
    first_ns: int
    last_ns: int
    slices: int


class LifecycleSpan(BaseModel):
    model: ModelRefOut
    policy_ids: list[str]
    first_ns: int
    last_ns: int
    decisions: int


class Rollback(BaseModel):
    at_ns: int
    from_model: ModelRefOut
    to_model: ModelRefOut
    from_span: LifecycleSpan
    to_span: LifecycleSpan


class SliceLifecycle(BaseModel):
    slice_id: str
    first_seen_ns: int
    last_seen_ns: int
    decisions: int
    governing: list[LifecycleSpan] = Field(description="governing (active/canary) spans in time order")
    shadow: list[LifecycleSpan]
    rollbacks: list[Rollback]


class ChainInfo(BaseModel):
    instance: str
    contiguous: int
    highest: int
    records: int
    tails: dict[str, int]
    integrity_events: int


class ChainIssueOut(BaseModel):
    kind: str
    instance: str
    sequence: int
    stream: str
    detail: str


class ChainVerification(BaseModel):
    instance: str
    records: int
    ok: bool
    issues: list[ChainIssueOut]
    integrity_events: int = Field(description="integrity events stored at ingest for this instance")


class ModelUpload(BaseModel):
    manifest: dict[str, Any]
    artifact_b64: str = Field(description="the ONNX file, base64")


class AliasSet(BaseModel):
    version: str


class AliasEvent(BaseModel):
    name: str
    alias: str
    version: str
    previous: str | None
    at_ns: int
    by: str


class SliceSla(BaseModel):
    slice_id: str
    observations: int
    met: int
    compliance: float | None = Field(description="met / observations; None without an SLA or observations")
    policy_ids: list[str]
    note: str = ""


class FeatureImportance(BaseModel):
    feature: str
    output_change: float = Field(description="mean absolute change of the outputs when the feature is permuted")
    action_change_rate: float = Field(description="fraction of decisions whose action changes")


class Robustness(BaseModel):
    rows: int
    trials: int
    epsilon: float
    stable_rate: float = Field(description="fraction of decisions whose action never changed under perturbation")
    mean_output_change: float


class ModelReport(BaseModel):
    model: str
    version: str
    digest: str | None
    generated_ns: int
    stats: list[ModelStats]
    decisions: int
    sla: list[SliceSla]
    rollbacks: list[dict[str, Any]]
    cpu_us_per_decision: float | None
    energy_j_per_decision: float | None
    energy_j_total: float | None
    energy_coefficient_j_per_cpu_s: float
    explanation: list[FeatureImportance]
    explanation_rows: int
    robustness: Robustness | None
    timeline: list[tuple[int, int]] = Field(description="(bucket start ns, decisions) over the report window")
    cpu_us_samples: list[float]
    notes: list[str]
