"""Reports per model version: decisions, SLA outcome, rollbacks, cost, an explanation and robustness.

Theory of operation
-------------------
A report is computed on demand from what governance stores, for one ``(name, version)``:

- **decisions**: ``model_stats`` (per slot), and a timeline from ``slice_windows``.
- **SLA outcome**: for each slice the version governed, the fraction of its recent decisions (up to
  ``rows``) whose logged feature row meets every KPI bound of the slice's SLA policies (the policies in force
  on the record, ``policy_ids``, else the policies registered for the slice). KPI bounds name features of the
  manifest's ``features`` list; the feature row of a decision is the state the slice was in while this version
  governed it. Without an SLA policy or feature names a slice's compliance is ``None``, with a note.
- **rollbacks**: from each governed slice's lifecycle, switches back to an earlier version that involve this
  version (away from it or to it), with evidence: the spans on both sides, the SLA compliance of the slice in
  each span (over up to ``rows`` decisions of each), and the reason the first decision after the switch gave.
- **inference cost**: CPU time per decision (``cpu_ns`` summed over the version's decisions) and energy as CPU
  seconds times ``energy_j_per_cpu_s``. The default coefficient, 12 J per CPU-second, is a documented estimate
  for one busy core of a current server CPU (a 150-250 W socket spread over its cores, uncore and memory
  included); set the figure measured for your hardware (``--energy-j-per-cpu-second``).
- **explanation**: permutation importance on the recent decisions that logged their feature row. The ONNX
  artifact is fetched from the registry by the digest the decisions name and re-run with onnxruntime: first on
  the logged rows (the replay error against the logged outputs is reported, a provenance check in itself), then
  with one feature column permuted at a time (seeded). There is no ground truth in lineage, so the importance of
  a feature is how much the model relies on it: the mean absolute change of the outputs, and how often the
  action (the outputs rounded to whole PRB percent, as E2SM-RC carries them) changes.
- **robustness**: each row is perturbed ``trials`` times by a relative noise of up to ``epsilon`` per feature
  (uniform, seeded); the figure is the fraction of decisions whose action never changed.

Everything random is seeded (``seed``), so a report is reproducible for the same stored data.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import structlog

from rapps.governance.errors import NotFoundError
from rapps.governance.registry import feature_names, normalize_digest
from rapps.governance.schemas import (
    FeatureImportance,
    ModelReport,
    ModelVersionOut,
    PolicyOut,
    Robustness,
    SliceSla,
)
from rapps.governance.store import SqlStore
from ricsdk.lineage import DecisionRecord, decode_payload

__all__ = ["DEFAULT_ENERGY_J_PER_CPU_S", "ReportBuilder", "ReportSettings", "sla_met"]

log = structlog.get_logger("rapps.governance.reports")

DEFAULT_ENERGY_J_PER_CPU_S = 12.0


@dataclass(frozen=True, slots=True)
class ReportSettings:
    energy_j_per_cpu_s: float = DEFAULT_ENERGY_J_PER_CPU_S
    rows: int = 2000
    trials: int = 5
    epsilon: float = 0.01
    seed: int = 0


def sla_met(features: Sequence[float], names: Sequence[str], kpis: Iterable[dict[str, Any]]) -> bool | None:
    """Whether a feature row meets every KPI bound; None when a bound names a feature the row lacks."""
    index = {name: i for i, name in enumerate(names)}
    met = True
    for bound in kpis:
        i = index.get(str(bound.get("feature")))
        if i is None or i >= len(features):
            return None
        value = features[i]
        low, high = bound.get("min"), bound.get("max")
        if (low is not None and value < float(low)) or (high is not None and value > float(high)):
            met = False
    return met


class ReportBuilder:
    """Builds :class:`ModelReport` objects from a store (see the module docstring)."""

    def __init__(
        self, store: SqlStore, settings: ReportSettings | None = None, *, clock: Callable[[], int] = time.time_ns
    ) -> None:
        self.store = store
        self.settings = settings if settings is not None else ReportSettings()
        self.clock = clock

    def build(self, name: str, version: str) -> ModelReport:
        store = self.store
        settings = self.settings
        stats = store.model_stats(name, version)
        registered: ModelVersionOut | None
        try:
            registered = store.model_version(name, version)
        except NotFoundError:
            registered = None
        if not stats and registered is None:
            raise NotFoundError(f"model {name} version {version}")
        notes: list[str] = []
        records = [decode_payload(p)[0] for p in store.recent_payloads(name, version, settings.rows)]
        digest = registered.digest if registered is not None else (stats[0].model.digest if stats else None)
        if registered is None and digest:
            try:
                registered = store.model_by_digest(normalize_digest(digest))
            except Exception:  # a digest in records that is not sha256-shaped: no registry entry to find
                registered = None
        if registered is None:
            notes.append("model version not in the registry: no feature names, explanation or robustness")
        manifest = registered.manifest if registered is not None else {}
        names = feature_names(manifest)
        decisions = sum(s.decisions for s in stats)
        cpu_ns = sum(s.cpu_ns for s in stats)
        cpu_us = cpu_ns / decisions / 1000.0 if decisions else None
        coefficient = settings.energy_j_per_cpu_s
        energy_per = cpu_ns / decisions / 1e9 * coefficient if decisions else None
        slices = store.slices_of_model(name, version)
        sla = [self._slice_sla(slice_id, [r for r in records if r.slice_id == slice_id], names) for slice_id in slices]
        rollbacks = self._rollbacks(name, version, slices, names)
        explanation: list[FeatureImportance] = []
        robustness: Robustness | None = None
        explained = 0
        replay_error: float | None = None
        rows = [r for r in records if r.features is not None]
        if registered is not None and rows:
            try:
                artifact = store.artifact(registered.digest)
                explanation, robustness, replay_error = self._explain(artifact, rows, names)
                explained = len(rows)
            except (NotFoundError, ValueError, RuntimeError) as exc:
                notes.append(f"explanation unavailable: {exc}")
        elif registered is not None:
            notes.append("no recent decision logged its feature row: no explanation or robustness")
        if replay_error is not None:
            notes.append(
                f"replay of the registered artifact on the logged rows: max |output difference| {replay_error:.3g}"
            )
        return ModelReport(
            model=name,
            version=version,
            digest=digest,
            generated_ns=self.clock(),
            stats=stats,
            decisions=decisions,
            sla=sla,
            rollbacks=rollbacks,
            cpu_us_per_decision=None if cpu_us is None else round(cpu_us, 3),
            energy_j_per_decision=None if energy_per is None else energy_per,
            energy_j_total=cpu_ns / 1e9 * coefficient if decisions else None,
            energy_coefficient_j_per_cpu_s=coefficient,
            explanation=explanation,
            explanation_rows=explained,
            robustness=robustness,
            timeline=store.decision_timeline(name, version),
            cpu_us_samples=[r.cpu_ns / 1000.0 for r in records[:500]],
            notes=notes,
        )

    # SLA -------------------------------------------------------------------------------------------------

    def _policies_for(self, slice_id: str, policy_ids: Sequence[str]) -> list[PolicyOut]:
        named = self.store.policies(policy_ids) if policy_ids else []
        named = [p for p in named if p.slice_id == slice_id]
        if named:
            return named
        return [p for p in self.store.policies() if p.slice_id == slice_id]

    def _slice_sla(self, slice_id: str, records: Sequence[DecisionRecord], names: Sequence[str]) -> SliceSla:
        policy_ids = sorted({pid for r in records for pid in r.policy_ids})
        policies = self._policies_for(slice_id, policy_ids)
        if not policies:
            return SliceSla(
                slice_id=slice_id, observations=0, met=0, compliance=None, policy_ids=policy_ids, note="no SLA policy"
            )
        if not names:
            return SliceSla(
                slice_id=slice_id,
                observations=0,
                met=0,
                compliance=None,
                policy_ids=[p.policy_id for p in policies],
                note="no feature names in the manifest",
            )
        kpis = [k for p in policies for k in p.body.get("kpis", [])]
        observed = met = 0
        for record in records:
            if record.features is None:
                continue
            verdict = sla_met(record.features, names, kpis)
            if verdict is None:
                continue
            observed += 1
            met += 1 if verdict else 0
        return SliceSla(
            slice_id=slice_id,
            observations=observed,
            met=met,
            compliance=round(met / observed, 4) if observed else None,
            policy_ids=[p.policy_id for p in policies],
            note="" if observed else "no logged feature rows to judge",
        )

    def _span_compliance(self, slice_id: str, first_ns: int, last_ns: int, names: Sequence[str]) -> SliceSla:
        payloads = self.store.slice_payloads(slice_id, first_ns, last_ns, self.settings.rows)
        records = [r for r in (decode_payload(p)[0] for p in payloads) if r.model.slot.value != "shadow"]
        return self._slice_sla(slice_id, records, names)

    def _rollbacks(self, name: str, version: str, slices: Sequence[str], names: Sequence[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for slice_id in slices:
            lifecycle = self.store.lifecycle(slice_id)
            for rollback in lifecycle.rollbacks:
                involved = {
                    (rollback.from_model.name, rollback.from_model.version),
                    (rollback.to_model.name, rollback.to_model.version),
                }
                if (name, version) not in involved:
                    continue
                before = self._span_compliance(slice_id, rollback.from_span.first_ns, rollback.from_span.last_ns, names)
                after = self._span_compliance(slice_id, rollback.to_span.first_ns, rollback.to_span.last_ns, names)
                first = self.store.slice_payloads(slice_id, rollback.to_span.first_ns, rollback.to_span.first_ns, 1)
                reason = ""
                if first:
                    record = decode_payload(first[0])[0]
                    reason = record.action.reason if record.action is not None else ""
                out.append(
                    {
                        "slice_id": slice_id,
                        "at_ns": rollback.at_ns,
                        "from": rollback.from_model.model_dump(),
                        "to": rollback.to_model.model_dump(),
                        "from_span": rollback.from_span.model_dump(),
                        "to_span": rollback.to_span.model_dump(),
                        "evidence": {
                            "sla_compliance_before": before.compliance,
                            "sla_observations_before": before.observations,
                            "sla_compliance_after": after.compliance,
                            "sla_observations_after": after.observations,
                            "first_decision_reason": reason,
                        },
                    }
                )
        return out

    # explanation and robustness --------------------------------------------------------------------------

    def _explain(
        self, artifact: bytes, records: Sequence[DecisionRecord], names: Sequence[str]
    ) -> tuple[list[FeatureImportance], Robustness, float]:
        import onnxruntime

        settings = self.settings
        session = onnxruntime.InferenceSession(artifact, providers=["CPUExecutionProvider"])
        port = session.get_inputs()[0]
        width = len(records[0].features or ())
        rows = [r for r in records if r.features is not None and len(r.features) == width]
        x = np.asarray([r.features for r in rows], dtype=np.float32)
        shape = list(port.shape or [])
        if len(shape) != 2 or (isinstance(shape[1], int) and shape[1] != width):
            raise ValueError(f"model input {port.name!r} has shape {shape}, the logged rows have {width} features")

        def run(batch: np.ndarray) -> np.ndarray:
            out = session.run(None, {port.name: batch})[0]
            return np.asarray(out, dtype=np.float64).reshape(len(batch), -1)

        base = run(x)
        logged = np.asarray([r.output for r in rows], dtype=np.float64).reshape(len(rows), -1)
        replay_error = float(np.max(np.abs(base - logged))) if logged.shape == base.shape else float("nan")
        action = np.rint(base)
        rng = np.random.default_rng(settings.seed)
        labels = list(names) if len(names) == width else [f"feature_{i}" for i in range(width)]
        importance: list[FeatureImportance] = []
        for j in range(width):
            shuffled = x.copy()
            shuffled[:, j] = rng.permutation(shuffled[:, j])
            out = run(shuffled)
            importance.append(
                FeatureImportance(
                    feature=labels[j],
                    output_change=float(np.mean(np.abs(out - base))),
                    action_change_rate=float(np.mean(np.any(np.rint(out) != action, axis=1))),
                )
            )
        importance.sort(key=lambda item: item.output_change, reverse=True)
        changed = np.zeros(len(rows), dtype=bool)
        deltas: list[float] = []
        for _ in range(settings.trials):
            noise = rng.uniform(-settings.epsilon, settings.epsilon, size=x.shape).astype(np.float32)
            out = run(x * (1.0 + noise))
            changed |= np.any(np.rint(out) != action, axis=1)
            deltas.append(float(np.mean(np.abs(out - base))))
        robustness = Robustness(
            rows=len(rows),
            trials=settings.trials,
            epsilon=settings.epsilon,
            stable_rate=float(1.0 - np.mean(changed)),
            mean_output_change=float(np.mean(deltas)) if deltas else 0.0,
        )
        return importance, robustness, replay_error
