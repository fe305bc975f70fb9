"""Model-driven xApps: a manifest's ONNX model closes the near-RT loop, every decision recorded.

Theory of operation
-------------------
Per RIC indication (one E2 node / cell, all its slices) the decision path runs these timed stages:

1. ``decode``: E2AP + E2SM-KPM (done by the dispatcher; timed from the bytes entering the transport);
2. ``extract``: the format-1 records become a ``[slices, measurements]`` matrix (NaN = missing) through a plan
   derived once per measurement-information list (the list is the same object every period of a
   subscription, see :mod:`ricsdk.e2.kpm`);
3. ``features``: one period appended to the per-slice windows and the feature matrix built
   (:mod:`ricsdk.features`);
4. ``infer``: one batched call per model slot (:mod:`ricsdk.models`): active, canary (a stable fraction of
   slices) and shadow (recorded, never acted on);
5. ``guard``: outputs mapped to quotas (:class:`~ricsdk.runtime.manifest.QuotaMapping`), clamped to the slice
   bounds (the manifest's, narrowed by an A1 slice SLA policy when one is in force), ``dedicated <= min <=
   max`` enforced, each bound moved at most ``max_change_per_period`` points from the quota in force; a slice
   whose model failed, returned a non-finite value or is still filling its window keeps its last quota
   (counted as withheld, with the reason);
6. ``encode`` + ``send``: one RC slice PRB quota control for all changed slices of the node (E2SM-RC +
   RICcontrolRequest), MEID = the node, mtype 12040;
7. ``lineage``: one decision record per slice and slot (the shadow's too), with the model version, feature
   row, output, action sent or withheld and why, policies in force and the stage timings.

Nothing here blocks: the model is loaded off the loop (``load`` runs ``load_model`` in a thread and installs the
result by reference), lineage leaves through the recorder's bounded queue, metrics are in-memory counters.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import structlog
from numpy.typing import NDArray

from ricsdk.a1 import slice_sla
from ricsdk.e2.common import Snssai
from ricsdk.e2.kpm import IndicationMessageF1, MeasInfoItem, Missing
from ricsdk.e2.slice_quota import SliceQuotaEncoder
from ricsdk.features.store import FeatureStore
from ricsdk.lineage.record import ModelRef, RcAction
from ricsdk.lineage.record import Slot as LineageSlot
from ricsdk.lineage.recorder import LineageRecorder
from ricsdk.lineage.reporter import LineageReporter
from ricsdk.models.host import InferenceResult, ModelHost, RowSource, RowStatus, Slot
from ricsdk.models.loaded import LoadedModel, load_model
from ricsdk.models.spec import ModelSpec, ModelVersion
from ricsdk.runtime.events import Indication, PolicyEvent
from ricsdk.runtime.handlers import on_indication, on_indications, on_policy
from ricsdk.runtime.manifest import Manifest, SliceBounds
from ricsdk.runtime.metrics import GaugeCollector
from ricsdk.runtime.subscriptions import KpmSubscriptionSpec
from ricsdk.runtime.xapp import RIC_CONTROL_REQ, Health, XApp, XAppContext
from ricsdk.transport.base import Message

try:  # the policy guard in C (ricsdk/runtime/_guard.c), when it was built; None: the Python loop only
    from ricsdk.runtime._guard import guard as _guard_kernel
except ImportError:  # pragma: no cover - built wherever a C compiler is
    _guard_kernel = None  # type: ignore[assignment]

__all__ = ["Decision", "ModelXApp"]

log = structlog.get_logger(__name__)

_STAGES = ("decode", "extract", "features", "infer", "guard", "encode", "send", "lineage")
_LSLOT = {Slot.ACTIVE: LineageSlot.ACTIVE, Slot.CANARY: LineageSlot.CANARY, Slot.SHADOW: LineageSlot.SHADOW}


@dataclass(slots=True)
class _SlicePolicy:
    """What A1 says about one slice, in every cell: the policies in force and the bounds they narrow to."""

    policy_ids: tuple[str, ...] = ()
    sla: tuple[int, int] | None = None  # (min, max) from an A1 slice SLA policy


@dataclass(slots=True)
class _SliceState:
    """One slice in one cell: the quota in force there (the rate limit's reference) and the slice's policy."""

    policy: _SlicePolicy
    quota: tuple[int, int, int] | None = None


@dataclass(slots=True)
class _Plan:
    """How one measurement-information list maps onto the feature store, resolved once."""

    keys: list[str]  # slice keys, in row order
    rows: NDArray[np.intp]  # feature-store rows
    rec_index: NDArray[np.intp]  # records used, in the order of (row_pos, col)
    row_pos: NDArray[np.intp]
    col: NDArray[np.intp]
    snssai: list[Snssai]
    bounds: list[SliceBounds | None]
    info: tuple[MeasInfoItem, ...]  # the list the plan was derived from (keeps its id from being reused)
    states: list[_SliceState]
    limits: list[tuple[int, int, int]]  # (min bound, max bound, dedicated floor) per slice
    #: when the records fill every (slice, measurement) cell once: the record of each cell, row-major
    dense: NDArray[np.intp] | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """What one indication led to (returned by :meth:`ModelXApp.decide`, also kept as ``last_decision``)."""

    e2_node: str
    cell: str
    slices: tuple[str, ...]
    quotas: tuple[tuple[int, int, int], ...]
    sent: bool
    reasons: tuple[str, ...]
    stage_ns: Mapping[str, int]
    call_process_id: bytes | None = None
    #: indication bytes received by the transport -> control bytes handed to it (ns), when a control was sent
    loop_ns: int | None = None


class ModelXApp(XApp):
    """An xApp defined by a :class:`~ricsdk.runtime.manifest.Manifest`; subclass it to change a hook."""

    def __init__(
        self,
        manifest: Manifest,
        *,
        lineage: LineageRecorder | None = None,
        reporter: LineageReporter | None = None,
        host: ModelHost | None = None,
        perf_clock: Callable[[], int] = time.monotonic_ns,
        wall_clock: Callable[[], int] = time.time_ns,
    ) -> None:
        super().__init__()
        self.manifest = manifest
        self.name = manifest.name
        self.version = manifest.version
        self.lineage = lineage
        self.reporter = reporter
        self.host = host or ModelHost(manifest.model.n_features, manifest.model.n_outputs, group=manifest.name)
        self.store = FeatureStore(manifest.features, manifest.window)
        self._perf = perf_clock
        self._wall = wall_clock
        self._plans: dict[tuple[str, str, int], _Plan] = {}
        self._policies: dict[str, _SlicePolicy] = {}
        self._cells: dict[tuple[str, str, str], _SliceState] = {}  # (e2 node, cell, slice)
        self._last_values: dict[tuple[str, str], tuple[_Plan, NDArray[np.float64]]] = {}
        self._late_ns = manifest.subscription.period_ms * 1_000_000
        self._counters: dict[Any, Any] = {}  # prometheus children by label values, resolved once
        self._gauge_registry: Any = None
        self._actions: dict[tuple[tuple[int, int, int], bool, str], RcAction] = {}
        self._bounds = {b.snssai.key: b for b in manifest.slices}
        self._meas_col = {m: i for i, m in enumerate(self.store.measurements)}
        self._mapping = manifest.control.mapping
        self._max_step = manifest.control.max_change_per_period
        self._refs: dict[tuple[ModelVersion, Slot], ModelRef] = {}
        self._quota_encoder: SliceQuotaEncoder | None = None  # the context's, resolved on the first control
        self.decisions = 0
        self.withheld: dict[str, int] = {}
        self.last_decision: Decision | None = None
        #: the most recent loop latencies (indication bytes in -> control bytes out), ns
        self.loop_latency_ns: deque[int] = deque(maxlen=100_000)

    # -- lifecycle -----------------------------------------------------------------------------------------
    async def load(self) -> None:
        loaded = await asyncio.to_thread(load_model, self.manifest.model)
        self.host.install(Slot.ACTIVE, loaded)
        log.info("model loaded", model=str(loaded.identity), app=self.name)

    async def swap_model(self, spec: ModelSpec, slot: Slot = Slot.ACTIVE, *, fraction: float | None = None) -> None:
        """Load ``spec`` off the loop and install it in ``slot``; a refused artifact leaves the old one serving."""
        loaded: LoadedModel = await asyncio.to_thread(load_model, spec)
        self.host.install(slot, loaded, fraction=fraction)
        log.info("model installed", model=str(loaded.identity), slot=slot.value)

    def bind(self, ctx: XAppContext | None) -> None:
        super().bind(ctx)
        self._counters.clear()
        self._quota_encoder = None
        if ctx is not None and self._gauge_registry is not ctx.metrics.registry:
            ctx.metrics.add_collector(
                GaugeCollector(
                    {
                        "ricsdk_slice_quota_ratio": (
                            "PRB quota in force per slice and cell (%)",
                            ["e2_node", "cell", "slice", "bound"],
                        ),
                        "ricsdk_slice_kpi": (
                            "Last reported KPI per slice and cell",
                            ["e2_node", "cell", "slice", "measurement"],
                        ),
                    },
                    self._slice_gauges,
                )
            )
            self._gauge_registry = ctx.metrics.registry

    def check_health(self) -> Health:
        if self.host.model(Slot.ACTIVE) is None:
            return Health(False, "no active model")
        if self.lineage is not None and not self.lineage.healthy:
            return Health(False, "lineage recorder unhealthy")
        if self.reporter is not None and self.reporter.degraded:
            return Health(False, "lineage reporter degraded: " + ", ".join(self.reporter.degraded_reasons))
        return Health(True)

    def subscriptions(self) -> Sequence[KpmSubscriptionSpec]:
        t = self.manifest.subscription
        return [
            KpmSubscriptionSpec(
                f"kpm-{node}",
                node,
                self.manifest.measurements,
                tuple(b.snssai for b in self.manifest.slices),
                period_ms=t.period_ms,
                ran_function_id=t.ran_function_id,
                kpm_version=t.kpm_version,
                timestamp_octets=t.timestamp_octets,
            )
            for node in t.e2_nodes
        ]

    # -- A1 ------------------------------------------------------------------------------------------------
    @on_policy(slice_sla.TYPE_ID)
    def on_slice_sla(self, event: PolicyEvent) -> None:
        """The slice SLA policy type (20008): narrow each named slice's quota bounds while the policy holds.

        An invalid payload raises :class:`~ricsdk.errors.A1PayloadError`, which the dispatcher answers with
        status ERROR; a delete lifts the policy's bounds.
        """
        if event.operation == "DELETE":
            self.clear_sla(event.policy_instance_id)
            return
        sla = slice_sla.parse(event.payload)
        self.clear_sla(event.policy_instance_id)
        for entry in sla.slices:
            self.apply_sla(entry.snssai.key, entry.min_prb_ratio, entry.max_prb_ratio, event.policy_instance_id)
        log.info("slice SLA policy applied", policy=event.policy_instance_id, slices=len(sla.slices))

    def apply_sla(self, slice_key: str, min_ratio: int, max_ratio: int, policy_id: str) -> None:
        """Narrow a slice's quota bounds (an A1 slice SLA policy); the manifest bounds still apply."""
        st = self._policy(slice_key)
        st.sla = (min_ratio, max_ratio)
        st.policy_ids = tuple(sorted({*st.policy_ids, policy_id}))

    def clear_sla(self, policy_id: str) -> None:
        for st in self._policies.values():
            if policy_id in st.policy_ids:
                st.policy_ids = tuple(p for p in st.policy_ids if p != policy_id)
                if not st.policy_ids:
                    st.sla = None

    # -- the decision path ---------------------------------------------------------------------------------
    @on_indication()
    async def on_kpm(self, ind: Indication) -> None:
        await self.decide(ind)

    @on_indications()
    async def on_kpm_many(self, inds: list[Indication]) -> None:
        await self.decide_many(inds)

    def _plan(self, ind: Indication, info: tuple[MeasInfoItem, ...]) -> _Plan:
        key = (ind.e2_node, ind.cell, id(info))
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        order: dict[str, int] = {}
        rec_index, row_pos, cols = [], [], []
        for i, item in enumerate(info):
            name = item.meas_type if isinstance(item.meas_type, str) else f"#{item.meas_type}"
            col = self._meas_col.get(name)
            lab = item.labels[0]
            if col is None or lab.slice_id is None:
                continue
            pos = order.setdefault(lab.slice_id.key, len(order))
            rec_index.append(i)
            row_pos.append(pos)
            cols.append(col)
        keys = list(order)
        rows = self.store.rows([(ind.e2_node, ind.cell, k) for k in keys])
        ncols = len(self._meas_col)
        cells = [p * ncols + c for p, c in zip(row_pos, cols, strict=True)]
        dense = None
        if sorted(cells) == list(range(len(keys) * ncols)):
            dense = np.empty(len(cells), dtype=np.intp)
            dense[cells] = rec_index
        plan = _Plan(
            keys,
            rows,
            np.asarray(rec_index, dtype=np.intp),
            np.asarray(row_pos, dtype=np.intp),
            np.asarray(cols, dtype=np.intp),
            [Snssai.parse(k) for k in keys],
            [self._bounds.get(k) for k in keys],
            info,
            [self._state(ind.e2_node, ind.cell, k) for k in keys],
            [_limits(self._bounds.get(k)) for k in keys],
            dense,
        )
        if len(self._plans) > 4096:
            self._plans.clear()
        self._plans[key] = plan
        return plan

    def _values(self, plan: _Plan, records: tuple[Any, ...]) -> NDArray[np.float64]:
        try:
            rec = np.asarray(records, dtype=np.float64)  # a Missing record is NaN (Missing.__float__)
        except (TypeError, ValueError):
            rec = np.asarray([math.nan if isinstance(r, Missing) else float(r) for r in records], dtype=np.float64)
        if plan.dense is not None:
            return rec[plan.dense].reshape(len(plan.keys), len(self._meas_col))
        values = np.full((len(plan.keys), len(self._meas_col)), np.nan)
        values[plan.row_pos, plan.col] = rec[plan.rec_index]
        return values

    def _want(self, out: list[float]) -> tuple[float, float, float]:
        """One row of model outputs -> the (min, max, dedicated) it asks for, in percent."""
        m = self._mapping
        if m.kind == "prb_need":
            need = out[0]
            return need * m.floor, need * (1.0 + m.headroom), float(m.dedicated)
        return out[0], out[1], out[2]

    def _clamp(
        self, st: _SliceState, limits: tuple[int, int, int], want: tuple[float, float, float]
    ) -> tuple[int, int, int, str]:
        """The policy guard for one slice: bounds (narrowed by an A1 SLA), ordering, per-period rate limit."""
        lo, hi, dfloor = limits
        reason = ""
        sla = st.policy.sla
        if sla is not None:
            lo = sla[0] if sla[0] > lo else lo
            hi = sla[1] if sla[1] < hi else hi
            if lo > hi:
                lo = hi
            reason = "sla"
        w0, w1, w2 = want
        mn = 0 if not w0 > 0.0 else 100 if w0 >= 100.0 else int(w0 + 0.5)
        mx = 0 if not w1 > 0.0 else 100 if w1 >= 100.0 else int(w1 + 0.5)
        ded = 0 if not w2 > 0.0 else 100 if w2 >= 100.0 else int(w2 + 0.5)
        mn2 = lo if mn < lo else hi if mn > hi else mn
        mx2 = lo if mx < lo else hi if mx > hi else mx
        if not reason and (mn2 != mn or mx2 != mx):
            reason = "clamped"
        if mx2 < mn2:
            mx2 = mn2
        last = st.quota
        step = self._max_step
        if last is not None and step < 100:
            a, b = last[0] - step, last[0] + step
            mn3 = a if mn2 < a else b if mn2 > b else mn2
            a, b = last[1] - step, last[1] + step
            mx3 = a if mx2 < a else b if mx2 > b else mx2
            # The bounds (manifest and A1) win over the rate limit: a narrowed policy holds at once.
            mn3 = lo if mn3 < lo else hi if mn3 > hi else mn3
            mx3 = lo if mx3 < lo else hi if mx3 > hi else mx3
            if mx3 < mn3:
                mx3 = mn3
            if mn3 != mn2 or mx3 != mx2:
                reason = "rate-limited"
            mn2, mx2 = mn3, mx3
        # The slice's guaranteed dedicated share is a floor; dedicated PRBs are part of the min share.
        ded = dfloor if ded < dfloor else ded
        return mn2, mx2, ded if ded < mn2 else mn2, reason

    def _guard_rows(self, plan: _Plan, r: _Rows, off: int) -> tuple[list[tuple[int, int, int]], list[str], bool]:
        """The guard for one indication's slices (rows ``off ..``): each slice's quota and reason, and whether
        any quota differs from the one in force. Slices whose row is not usable are held at their quota in
        force (or their bounds) and counted. With the C kernel the usable rows are guarded there, with the same
        result (``ricsdk/runtime/_guard.c``); this loop is the reference and the fallback."""
        states, limits = plan.states, plan.limits
        status, ready_l, incomplete_l = r.status, r.ready, r.incomplete
        m = self._mapping
        got = (
            _guard_kernel(
                r.outputs,
                status,
                ready_l,
                incomplete_l,
                off,
                states,
                limits,
                m.kind == "prb_need",
                m.floor,
                m.headroom,
                m.dedicated,
                self._max_step,
                _REASONS,
            )
            if _guard_kernel is not None
            else None
        )
        if got is not None:
            quotas, reasons, changed, held = got
            if held:
                for i, q in enumerate(quotas):
                    if q is None:
                        quotas[i], reasons[i] = self._held(states[i], limits[i], status, ready_l, incomplete_l, off + i)
            return quotas, reasons, changed
        outputs = r.outputs
        want = self._want
        clamp = self._clamp
        quotas = []
        reasons = []
        changed = False
        for i in range(len(states)):
            st = states[i]
            j = off + i
            if status[j] != _OK or not ready_l[j] or incomplete_l[j]:
                q, why = self._held(st, limits[i], status, ready_l, incomplete_l, j)
                quotas.append(q)
                reasons.append(why)
                continue
            mn, mx, ded, reason = clamp(st, limits[i], want(outputs[j]))
            q = (mn, mx, ded)
            if q != st.quota:
                changed = True
            quotas.append(q)
            reasons.append(reason)
        return quotas, reasons, changed

    def _held(
        self,
        st: _SliceState,
        lim: tuple[int, int, int],
        status: list[int],
        ready_l: list[bool],
        incomplete_l: list[bool],
        j: int,
    ) -> tuple[tuple[int, int, int], str]:
        """A slice whose row ``j`` is not usable: its quota in force (or its bounds) and why, counted."""
        why = "warming-up" if not ready_l[j] else "missing-features" if incomplete_l[j] else _STATUS_REASON[status[j]]
        self._withhold(why)
        return st.quota or (lim[0], lim[1], lim[2]), "held:" + why

    def _guard(self, key: str, b: SliceBounds | None, want: tuple[float, float, float]) -> tuple[int, int, int, str]:
        """:meth:`_clamp` for one slice by key (tests and tools)."""
        return self._clamp(self._state("", "", key), _limits(b), want)

    def _policy(self, key: str) -> _SlicePolicy:
        st = self._policies.get(key)
        if st is None:
            st = self._policies[key] = _SlicePolicy()
        return st

    def _state(self, e2_node: str, cell: str, key: str) -> _SliceState:
        st = self._cells.get((e2_node, cell, key))
        if st is None:
            st = self._cells[(e2_node, cell, key)] = _SliceState(self._policy(key))
        return st

    def quota_in_force(self, e2_node: str, cell: str, slice_key: str) -> tuple[int, int, int] | None:
        """The (min, max, dedicated) quota last sent for one slice of one cell, None before the first."""
        st = self._cells.get((e2_node, cell, slice_key))
        return st.quota if st is not None else None

    def _fit_capacity(self, plan: _Plan, quotas: list[tuple[int, int, int]], reasons: list[str]) -> None:
        """Keep the minimum ratios of one cell's slices within 100 % (the node refuses more).

        Slices whose quota is held keep it; the others give back the part of their minimum above their lower
        bound, in proportion to it. Capacity wins over the per-period rate limit.
        """
        total = sum(q[0] for q in quotas)
        if total <= 100:
            return
        excess = total - 100
        adjustable = [i for i, r in enumerate(reasons) if not r.startswith("held")]
        lows = {}
        for i in adjustable:
            lo, hi, _ = plan.limits[i]
            sla = plan.states[i].policy.sla
            if sla is not None:
                lo = max(lo, min(sla[0], hi))
            lows[i] = min(lo, quotas[i][0])
        room = sum(quotas[i][0] - lows[i] for i in adjustable)
        if room <= 0:
            self._withhold("over-capacity")
            return
        for i in adjustable:
            mn, mx, ded = quotas[i]
            give = -(-(mn - lows[i]) * excess // room) if room else 0  # ceil, so the total ends <= 100
            mn2 = max(lows[i], mn - give)
            quotas[i] = (mn2, max(mx, mn2), min(ded, mn2))
            if mn2 != mn:
                reasons[i] = "capacity"

    async def decide(self, ind: Indication) -> Decision | None:
        """Decide on one indication (see :meth:`decide_many`)."""
        return (await self.decide_many((ind,)))[0]

    async def decide_many(self, inds: Sequence[Indication]) -> list[Decision | None]:
        """Decide on indications received together: the feature windows updated in arrival order, one inference
        call for all their slices, then per indication the guard, one control and its lineage, in arrival order.

        A cell that reports several periods in one batch (a backlog) has them in successive feature updates,
        each window seeing the periods before it, and still one inference call for the whole batch: a model's
        output depends on its feature row only. In a batch, the shared stages (extract, features, infer) are
        recorded as the batch's time divided by its indications.
        """
        out: list[Decision | None] = [None] * len(inds)
        perf = self._perf
        t0 = perf()
        preps: list[_Prep] = []
        for idx, ind in enumerate(inds):
            msg = ind.message
            if not isinstance(msg, IndicationMessageF1) or not msg.meas_info:
                self._withhold("no-format-1-measurements")
                continue
            plan = self._plan(ind, msg.meas_info)
            if not plan.keys:
                self._withhold("no-slice-measurements")
                continue
            values = self._values(plan, msg.meas_data[-1].records)
            self._last_values[(ind.e2_node, ind.cell)] = (plan, values)
            preps.append((idx, ind, plan, values))
        if not preps:
            return out
        t1 = perf()
        store = self.store
        xs: list[NDArray[np.float32]] = []
        readies: list[NDArray[np.bool_]] = []
        incompletes: list[NDArray[np.bool_]] = []
        all_rows: list[NDArray[np.intp]] = []
        keys: list[str] = []
        for wave in _waves(preps):
            if len(wave) == 1:
                rows, values = wave[0][2].rows, wave[0][3]
            else:
                rows = np.concatenate([p[2].rows for p in wave])
                values = np.concatenate([p[3] for p in wave])
            x, ready, incomplete = store.advance(rows, values)
            xs.append(x)
            readies.append(ready)
            incompletes.append(incomplete)
            all_rows.append(rows)
            for p in wave:
                keys += p[2].keys
        if len(xs) == 1:
            x, ready, incomplete, rows = xs[0], readies[0], incompletes[0], all_rows[0]
        else:
            x, ready, rows = np.concatenate(xs), np.concatenate(readies), np.concatenate(all_rows)
            incomplete = np.concatenate(incompletes)
        t2 = perf()
        result = self.host.infer(rows, keys, x)
        t3 = perf()
        m = len(preps)
        shared = {"extract": (t1 - t0) // m, "features": (t2 - t1) // m, "infer": (t3 - t2) // m}
        rows_out = _Rows(
            result,
            result.outputs.tolist(),
            result.status.tolist(),
            ready.tolist(),
            incomplete.tolist(),
            x.tolist() if self.lineage is not None and self.manifest.record_features else None,
        )
        self._count_models(result, len(keys))
        off = 0
        for idx, ind, plan, _ in preps:
            out[idx] = await self._act(ind, plan, rows_out, off, dict(shared), t0)
            off += len(plan.keys)
        return out

    async def _act(self, ind: Indication, plan: _Plan, r: _Rows, off: int, stage: dict[str, int], t0: int) -> Decision:
        """Guard, control and lineage for one indication whose rows are ``off .. off + len(plan.keys)``."""
        perf = self._perf
        t3 = perf()
        n = len(plan.keys)
        states = plan.states
        quotas, reasons, changed = self._guard_rows(plan, r, off)
        self._fit_capacity(plan, quotas, reasons)
        t4 = perf()
        stage["guard"] = t4 - t3
        sent = False
        cpid: bytes | None = None
        loop_ns: int | None = None
        ctl = self.manifest.control
        rows: list[tuple[Snssai, tuple[int, int, int]]] = []
        sent_keys: list[str] = []
        if changed or ctl.send_unchanged:
            snssai = plan.snssai
            for i, q in enumerate(quotas):
                if not reasons[i].startswith("held") or states[i].quota is not None:
                    rows.append((snssai[i], q))
                    sent_keys.append(plan.keys[i])
        if rows:
            ctx = self.ctx
            enc = self._quota_encoder
            if enc is None:
                enc = self._quota_encoder = ctx.quota_encoder(ctl.param_ids)
            header, body = enc.header, enc.encode_rows(ctl.plmn, rows)
            rid = ind.request_id
            pdu, cpid = ctx.control_request(ind.e2_node, rid, ctl.ran_function_id, header, body, tuple(sent_keys))
            t5 = perf()
            stage["encode"] = t5 - t4
            await ctx.send(Message(RIC_CONTROL_REQ, pdu, sub_id=rid.instance_id, meid=ind.e2_node))
            t6 = perf()
            stage["send"] = t6 - t5
            sent = True
            if ind.received_ns and ind.received_ns <= t6:
                loop_ns = t6 - ind.received_ns
                self.loop_latency_ns.append(loop_ns)
            for i in range(n):
                st = states[i]
                if st.quota != quotas[i] and not reasons[i].startswith("held"):
                    st.quota = quotas[i]
        else:
            t6 = perf()
            for i, reason in enumerate(reasons):
                if not reason.startswith("held"):
                    reasons[i] = "unchanged"
                    self._withhold("unchanged")
        if ind.received_ns and ind.received_ns <= t0:
            stage["decode"] = t0 - ind.received_ns  # queue wait + E2AP/KPM decode, same monotonic clock
            if stage["decode"] > self._late_ns:  # waited longer than a reporting period
                self.ctx.metrics.indications_late.inc()
        if self.lineage is not None:
            self._record(ind, plan, r, off, quotas, reasons, sent, stage)
            stage["lineage"] = perf() - t6
        self.decisions += 1
        stages = self.ctx.metrics.stages
        stages.observe_all(stage)
        if loop_ns is not None:
            stages.observe_ns("decision", loop_ns)
        decision = Decision(ind.e2_node, ind.cell, tuple(plan.keys), tuple(quotas), sent, tuple(reasons), stage, cpid)
        self.last_decision = decision
        return decision

    def _withhold(self, why: str) -> None:
        self.withheld[why] = self.withheld.get(why, 0) + 1
        if self._ctx is not None:
            c = self._counters.get(why)
            if c is None:
                c = self._counters[why] = self.ctx.metrics.withheld.labels(why)
            c.inc()

    def _slice_gauges(self) -> Iterator[tuple[str, list[str], float]]:
        """The per-slice gauges, read at scrape time: the quota in force and the last KPIs of every cell."""
        for (node, cell, key), st in list(self._cells.items()):
            if st.quota is not None:
                for bound, q in zip(("min", "max", "dedicated"), st.quota, strict=True):
                    yield "ricsdk_slice_quota_ratio", [node, cell, key, bound], float(q)
        names = self.store.measurements
        for (node, cell), (plan, values) in list(self._last_values.items()):
            for i, key in enumerate(plan.keys):
                for j, name in enumerate(names):
                    v = float(values[i, j])
                    if v == v:  # NaN: not reported in the last indication
                        yield "ricsdk_slice_kpi", [node, cell, key, name], v

    def _count_models(self, result: InferenceResult, n: int) -> None:
        m = self.ctx.metrics
        for slot, version in result.models.items():
            rows = n if slot is not Slot.CANARY else int((result.source == 2).sum())
            if slot is Slot.ACTIVE and Slot.CANARY in result.models:
                rows = int((result.source == 1).sum())
            pair = self._counters.get((version, slot))
            if pair is None:
                labels = (version.name, version.version, slot.value)
                pair = self._counters[(version, slot)] = (m.decisions.labels(*labels), m.inference_cpu.labels(*labels))
            pair[0].inc(rows)
            pair[1].inc(result.cpu_ns.get(slot, 0) / 1e9)
        for slot in result.errors:
            v = result.models.get(slot)
            m.inference_failures.labels(v.name if v else "?").inc()

    def _action(self, q: tuple[int, int, int], sent: bool, reason: str) -> RcAction:
        """The (immutable) lineage action for a quota, shared between decisions that repeat it."""
        key = (q, sent, reason)
        a = self._actions.get(key)
        if a is None:
            if len(self._actions) > 4096:
                self._actions.clear()
            a = self._actions[key] = RcAction(q[0], q[1], q[2], sent, reason)
        return a

    def _ref(self, version: ModelVersion, slot: Slot) -> ModelRef:
        r = self._refs.get((version, slot))
        if r is None:
            r = self._refs[(version, slot)] = ModelRef(version.name, version.version, version.sha256, _LSLOT[slot])
        return r

    def _record(
        self,
        ind: Indication,
        plan: _Plan,
        r: _Rows,
        off: int,
        quotas: list[tuple[int, int, int]],
        reasons: list[str],
        sent: bool,
        stage: dict[str, int],
    ) -> None:
        rec = self.lineage
        assert rec is not None
        result = r.result
        node, cell = ind.e2_node, ind.cell
        ts = self._wall()
        outputs, features = r.outputs, r.features
        total = len(outputs)
        cpu_share = sum(result.cpu_ns.values()) // total if total else 0
        # The model reference of each row, by its source (none / active / canary), resolved once per decision.
        by_source: list[ModelRef] = [_NO_MODEL, _NO_MODEL, _NO_MODEL]
        for src, slot in ((int(RowSource.ACTIVE), Slot.ACTIVE), (int(RowSource.CANARY), Slot.CANARY)):
            v = result.models.get(slot)
            if v is not None:
                by_source[src] = self._ref(v, slot)
        sources = r.sources
        n = len(plan.keys)
        end = off + n
        action = self._action
        rec.record_many(
            e2_node=node,
            cell=cell,
            slice_ids=plan.keys,
            models=[by_source[s] for s in sources[off:end]],
            outputs=outputs[off:end],
            actions=[action(quotas[i], sent and not reasons[i].startswith("held"), reasons[i]) for i in range(n)],
            features=features[off:end] if features is not None else None,
            policy_ids=[st.policy.policy_ids for st in plan.states],
            decision_ids=[f"{node}/{cell}/{key}/{ts}" for key in plan.keys],
            stage_ns=stage,
            cpu_ns=cpu_share,
        )
        if result.shadow_outputs is not None and Slot.SHADOW in result.models:
            ref = self._ref(result.models[Slot.SHADOW], Slot.SHADOW)
            sh_out, sh_status = r.shadow()
            for i, key in enumerate(plan.keys):
                j = off + i
                ok = sh_status[j] == _OK
                mn, mx, ded, _ = (
                    self._clamp(plan.states[i], plan.limits[i], self._want(sh_out[j])) if ok else (0, 0, 0, "")
                )
                rec.record(
                    decision_id=f"{node}/{cell}/{key}/{ts}/shadow",
                    e2_node=node,
                    cell=cell,
                    slice_id=key,
                    model=ref,
                    output=sh_out[j],
                    action=RcAction(mn, mx, ded, False, "shadow" if ok else "shadow:failed"),
                    features=features[j] if features is not None else None,
                    policy_ids=plan.states[i].policy.policy_ids,
                    stage_ns=stage,
                    cpu_ns=result.cpu_ns.get(Slot.SHADOW, 0) // (total or 1),
                )


class _Rows:
    """One inference call's rows as Python lists (converted once for all the indications of a batch)."""

    __slots__ = ("features", "incomplete", "outputs", "ready", "result", "status", "_sources", "_shadow")

    def __init__(
        self,
        result: InferenceResult,
        outputs: list[list[float]],
        status: list[int],
        ready: list[bool],
        incomplete: list[bool],
        features: list[list[float]] | None,
    ) -> None:
        self.result = result
        self.outputs = outputs
        self.status = status
        self.ready = ready
        self.incomplete = incomplete
        self.features = features
        self._sources: list[int] | None = None
        self._shadow: tuple[list[list[float]], list[int]] | None = None

    @property
    def sources(self) -> list[int]:
        if self._sources is None:
            self._sources = self.result.source.tolist()
        return self._sources

    def shadow(self) -> tuple[list[list[float]], list[int]]:
        if self._shadow is None:
            res = self.result
            assert res.shadow_outputs is not None
            out = res.shadow_outputs.tolist()
            st = res.shadow_status.tolist() if res.shadow_status is not None else [-1] * len(out)
            self._shadow = (out, st)
        return self._shadow


_OK = int(RowStatus.OK)
_NO_MODEL = ModelRef("none", "0", "0" * 64, LineageSlot.ACTIVE)


_Prep = tuple[int, Indication, "_Plan", NDArray[np.float64]]


def _waves(preps: list[_Prep]) -> Iterator[list[_Prep]]:
    """Contiguous runs of ``preps`` in which no cell appears twice: one feature update each, so a cell's periods
    reach its windows in arrival order."""
    start = 0
    cells: set[tuple[str, str]] = set()
    for k, prep in enumerate(preps):
        cell = (prep[1].e2_node, prep[1].cell)
        if cell in cells:
            yield preps[start:k]
            start, cells = k, set()
        cells.add(cell)
    yield preps[start:]


def _limits(b: SliceBounds | None) -> tuple[int, int, int]:
    return (b.min_ratio, b.max_ratio, b.dedicated_ratio) if b is not None else (0, 100, 0)


#: the reasons the guard kernel hands back, by its code
_REASONS: Final = ("", "sla", "clamped", "rate-limited")

_STATUS_REASON = {
    int(RowStatus.NO_MODEL): "no-model",
    int(RowStatus.FAILED): "inference-failed",
    int(RowStatus.NON_FINITE): "non-finite-output",
}
