"""The twin's E2 nodes: one per cell, an :class:`~ricsdk.testing.e2node.E2NodeEmulator` fed by the simulation.

Theory of operation
-------------------
A :class:`TwinNode` is the fake E2 node of :mod:`ricsdk.testing.e2node` (real E2AP, E2SM-KPM and E2SM-RC, the
same subscription and control procedures) with three twin-specific parts:

- *E2 setup*: :meth:`TwinNode.setup_request` is the node's E2setupRequest, announcing the KPM RAN function
  (OID v2 or v3 per :class:`TwinConfig`, report style 1 with the twin's measurements) and the RC RAN function
  (control style 2 "Radio Resource Allocation Control", action 6 "Slice-level PRB quota", with the twelve RAN
  parameters of the quota tree and the configured ids, listed flat as srsRAN does). The gRPC relay serves it
  through ``ListNodes``.
- *Reporting*: a KPM subscription is admitted when its period is a whole number of ticks. After every tick the
  twin calls :meth:`TwinNode.report`; a subscription whose period ends with the tick gets one RICindication
  whose format-1 message carries one record per (measurement, slice) item of its action definition: the tick's
  values, or their mean over the period when it spans several ticks. Records come from :class:`TickRecords`,
  which converts the whole tick (every cell, slice and measurement) to Python values at once, so the per-node
  work is an item lookup and the subscription's :class:`~ricsdk.e2.kpm.F1Encoder`. A (slice, measurement) the
  twin does not know is reported as ``noValue``, as is the delay of a slice without traffic.
- *Control*: an RC slice quota control that passes the emulator's checks (decodable, known slices, dedicated
  ratios of the message <= 100 %) is checked against the quotas in force (same PLMN, dedicated ratios of the
  cell <= 100 % after the change) and staged; the simulation applies it from the next tick. A refused control
  is answered with a RICcontrolFailure, cause ``ricRequest: control-message-invalid``, the reason logged.

Values are integers by default (kbit/s, %, PRBs, ms, rounded), which is what the F1 template encoder writes
without falling back to the generic encoder; ``real_values`` reports floats (REAL records) instead.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import structlog
from numpy.typing import NDArray

from ricsdk.e2 import e2ap
from ricsdk.e2.common import RanFunctionName
from ricsdk.e2.kpm import (
    KPM_OID_V2,
    KPM_OID_V3,
    KPM_SHORT_NAME,
    EventTriggerStyle,
    IndicationHeader,
    KpmCodec,
    KpmVersion,
    MeasInfoActionItem,
    MeasRecord,
    Missing,
    RanFunctionDescription,
    ReportStyle,
)
from ricsdk.e2.per import BitString
from ricsdk.e2.rc import (
    RC_DESCRIPTION,
    RC_OID,
    RC_SHORT_NAME,
    ControlAction,
    ControlStyle,
    RanFunctionDefinition,
    RanParameterInfo,
    encode_ran_function_definition,
)
from ricsdk.e2.slice_quota import (
    DEFAULT_QUOTA_IDS,
    PRB_QUOTA_ACTION_ID,
    PRB_QUOTA_STYLE,
    QuotaParamIds,
    SliceQuota,
)
from ricsdk.testing.e2node import E2NodeEmulator, NodeSubscription, QuotaRefused
from ricsdk.transport.base import Transport
from ricsdk.twin.batch import BatchF1Encoder, F1Template
from ricsdk.twin.sim import MEASUREMENTS, QuotaRejected, Simulation, TickResult

__all__ = [
    "ReportPlan",
    "TickRecords",
    "TwinConfig",
    "TwinNode",
    "batch_messages",
    "kpm_ran_function_description",
    "ntp_timestamp",
    "rc_ran_function_definition",
]

log = structlog.get_logger(__name__)

_U32_MAX: Final = 4294967295
_NTP_EPOCH_OFFSET: Final = 2208988800
_NO_VALUE: Final = Missing.NO_VALUE
#: Subscriptions with more records than this are encoded one by one.
MAX_BATCH_RECORDS: Final = 16383


@dataclass(frozen=True, slots=True)
class TwinConfig:
    """How the twin's nodes speak E2."""

    kpm_version: KpmVersion = KpmVersion.V2
    e2ap_version: e2ap.E2apVersion = e2ap.E2apVersion.V2
    kpm_ran_function_id: int = 2
    rc_ran_function_id: int = 3
    quota_ids: QuotaParamIds = DEFAULT_QUOTA_IDS
    real_values: bool = False
    amf_name: str = "amf-twin"


def kpm_ran_function_description(version: KpmVersion) -> RanFunctionDescription:
    """The KPM RAN function description a twin node announces."""
    oid = KPM_OID_V3 if version is KpmVersion.V3 else KPM_OID_V2
    return RanFunctionDescription(
        RanFunctionName(KPM_SHORT_NAME, oid, "KPM Monitor", 1),
        (EventTriggerStyle(1, "Periodic Report", 1),),
        (
            ReportStyle(
                1,
                "E2 Node Measurement",
                1,
                tuple(MeasInfoActionItem(name, i + 1) for i, name in enumerate(MEASUREMENTS)),
                1,
                1,
            ),
        ),
    )


def rc_ran_function_definition(ids: QuotaParamIds = DEFAULT_QUOTA_IDS) -> RanFunctionDefinition:
    """The RC RAN function definition a twin node announces: style 2 / action 6 with the quota parameters."""
    params = (
        RanParameterInfo(ids.rrm_policy_ratio_list, "RRM Policy Ratio List"),
        RanParameterInfo(ids.rrm_policy_ratio_group, "RRM Policy Ratio Group"),
        RanParameterInfo(ids.rrm_policy, "RRM Policy"),
        RanParameterInfo(ids.rrm_policy_member_list, "RRM Policy Member List"),
        RanParameterInfo(ids.rrm_policy_member, "RRM Policy Member"),
        RanParameterInfo(ids.plmn_identity, "PLMN Identity"),
        RanParameterInfo(ids.s_nssai, "S-NSSAI"),
        RanParameterInfo(ids.sst, "SST"),
        RanParameterInfo(ids.sd, "SD"),
        RanParameterInfo(ids.min_prb_policy_ratio, "Min PRB Policy Ratio"),
        RanParameterInfo(ids.max_prb_policy_ratio, "Max PRB Policy Ratio"),
        RanParameterInfo(ids.dedicated_prb_policy_ratio, "Dedicated PRB Policy Ratio"),
    )
    return RanFunctionDefinition(
        RanFunctionName(RC_SHORT_NAME, RC_OID, RC_DESCRIPTION, 1),
        control=(
            ControlStyle(
                PRB_QUOTA_STYLE,
                "Radio Resource Allocation Control",
                1,
                1,
                1,
                actions=(ControlAction(PRB_QUOTA_ACTION_ID, "Slice-level PRB quota", params),),
            ),
        ),
    )


def ntp_timestamp(unix_ns: int, octets: int) -> bytes:
    """A KPM TimeStamp: NTP seconds (4 octets, v2) or 64-bit NTP time (8 octets, v3)."""
    secs = unix_ns // 1_000_000_000 + _NTP_EPOCH_OFFSET
    if octets == 8:
        frac = ((unix_ns % 1_000_000_000) << 32) // 1_000_000_000
        return (secs & 0xFFFFFFFF).to_bytes(4, "big") + frac.to_bytes(4, "big")
    return (secs & 0xFFFFFFFF).to_bytes(4, "big")


class TickRecords:
    """The last tick's measurements of every cell as KPM records, and running sums for multi-tick periods.

    ``ints`` / ``missing`` are the tick's values as integers (rounded, clipped to 0..2**32-1) and where there is
    none, shape ``(cells, slices * len(MEASUREMENTS))`` (slice-major). ``rows[cell]`` is the same as Python
    records (reals when ``real_values``), followed by one ``noValue`` that stands for any (slice, measurement)
    the twin does not report; it is built on first use in a tick.
    """

    def __init__(self, sim: Simulation, *, real_values: bool = False) -> None:
        self.sim = sim
        self.real_values = real_values
        n_cells, n_slices = sim.shape
        self.width = n_slices * len(MEASUREMENTS)
        self.tick = -1
        self.start_ns = sim.clock()
        self.end_ns = self.start_ns
        self.values: NDArray[np.float64] = np.full((n_cells, self.width), np.nan)
        self.missing: NDArray[np.bool_] = np.ones((n_cells, self.width), dtype=bool)
        self.ints: NDArray[np.int64] = np.zeros((n_cells, self.width), dtype=np.int64)
        self.sum: NDArray[np.float64] = np.zeros((n_cells, self.width))
        self.count: NDArray[np.int64] = np.zeros((n_cells, self.width), dtype=np.int64)
        self._rows: list[list[MeasRecord]] | None = None
        self._headers: dict[tuple[int, int], bytes] = {}
        self._templates: dict[tuple[object, ...], F1Template | None] = {}

    def column(self, slice_key: str, measurement: str) -> int:
        """The record index of ``(slice, measurement)``, or the ``noValue`` column when unknown."""
        s = self.sim.index.get(slice_key)
        if s is None or measurement not in MEASUREMENTS:
            return self.width
        return s * len(MEASUREMENTS) + MEASUREMENTS.index(measurement)

    def update(self, result: TickResult) -> None:
        flat = result.measurements.reshape(result.measurements.shape[0], self.width)
        missing = np.isnan(flat)
        clean = np.where(missing, 0.0, flat)
        self.values = flat
        self.missing = missing
        self.ints = np.clip(np.rint(clean), 0, _U32_MAX).astype(np.int64)
        self.sum += clean
        self.count += ~missing
        self.tick = result.tick
        self.start_ns = result.start_ns
        self.end_ns = result.start_ns + self.sim.tick_ns
        self._rows = None
        self._headers.clear()

    @property
    def rows(self) -> list[list[MeasRecord]]:
        if self._rows is None:
            self._rows = self._convert(self.values, self.missing) if self.tick >= 0 else []
        return self._rows

    def _convert(self, values: NDArray[np.float64], missing: NDArray[np.bool_]) -> list[list[MeasRecord]]:
        clean = np.where(missing, 0.0, values)
        rows: list[list[MeasRecord]]
        if self.real_values:
            rows = np.round(np.minimum(clean, float(_U32_MAX)), 3).tolist()
        else:
            rows = np.clip(np.rint(clean), 0, _U32_MAX).astype(np.int64).tolist()
        if missing.any():
            for c, k in zip(*np.nonzero(missing), strict=True):
                rows[c][k] = _NO_VALUE
        for row in rows:
            row.append(_NO_VALUE)
        return rows

    def window(self, cell: int, since_sum: NDArray[np.float64], since_count: NDArray[np.int64]) -> list[MeasRecord]:
        """The mean of ``cell``'s values since the given running sums (one row, with the ``noValue`` column)."""
        n = self.count[cell] - since_count
        missing = n == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(missing, np.nan, (self.sum[cell] - since_sum) / np.maximum(n, 1))
        return self._convert(mean[None, :], missing[None, :])[0]

    def header(self, codec: KpmCodec, start_ns: int) -> bytes:
        """The encoded KPM indication header for a collection start time (cached for the tick)."""
        key = (codec.ts_octets, start_ns)
        h = self._headers.get(key)
        if h is None:
            h = self._headers[key] = codec.encode_indication_header(
                IndicationHeader(ntp_timestamp(start_ns, codec.ts_octets))
            )
        return h

    def template(self, sub: NodeSubscription, version: KpmVersion) -> F1Template | None:
        """The batch template of ``sub``'s messages (shared by subscriptions with the same measurement
        information), or None when its records cannot be batched."""
        key: tuple[object, ...] = (sub.meas_info, sub.granul_ms, version)
        if key not in self._templates:
            n = len(sub.meas_info)
            self._templates[key] = F1Template(sub.encoder, n) if 1 <= n <= MAX_BATCH_RECORDS else None
        return self._templates[key]


class _CellSource:
    """The emulator's MeasurementSource view of one cell: the last tick's values."""

    def __init__(self, records: TickRecords, cell: int) -> None:
        self.records = records
        self.cell = cell

    def measure(self, period: int, slices: Sequence[str]) -> Mapping[str, Mapping[str, float | int | None]]:
        rows = self.records.rows
        if not rows:
            return {}
        row = rows[self.cell]
        out: dict[str, dict[str, float | int | None]] = {}
        for key in slices:
            values: dict[str, float | int | None] = {}
            for m in MEASUREMENTS:
                v = row[self.records.column(key, m)]
                values[m] = None if isinstance(v, Missing) else v
            out[key] = values
        return out


@dataclass(slots=True)
class ReportPlan:
    """How one subscription is reported: every how many ticks, which record columns, running sums, and (when
    due) the collection start time and, for multi-tick periods, the averaged records."""

    sub: NodeSubscription
    cell: int
    every: int
    cols: NDArray[np.intp]
    pick: Callable[[list[MeasRecord]], tuple[MeasRecord, ...]]
    template: F1Template | None
    since_sum: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    since_count: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    start_ns: int = 0
    window_row: list[MeasRecord] | None = None


def _picker(cols: tuple[int, ...]) -> Callable[[list[MeasRecord]], tuple[MeasRecord, ...]]:
    if len(cols) == 1:
        only = cols[0]
        return lambda row: (row[only],)
    getter = operator.itemgetter(*cols)
    return lambda row: getter(row)


class TwinNode(E2NodeEmulator):
    """The E2 node of one twin cell (see the module docstring)."""

    #: Whether the twin may encode this node's KPM messages in a batch with other nodes'.
    batchable: bool = True

    def __init__(
        self,
        sim: Simulation,
        records: TickRecords,
        cell: int,
        transport: Transport,
        config: TwinConfig | None = None,
    ) -> None:
        cfg = config or TwinConfig()
        scenario = sim.scenario
        super().__init__(
            scenario.cells[cell].name,
            transport,
            _CellSource(records, cell),
            slices=[s.snssai for s in scenario.slices],
            plmn=scenario.plmn,
            kpm_ran_function_id=cfg.kpm_ran_function_id,
            rc_ran_function_id=cfg.rc_ran_function_id,
            kpm_version=cfg.kpm_version,
            quota_ids=cfg.quota_ids,
            on_quota=self._stage_quotas,
            clock_ns=sim.clock,
            e2ap_version=cfg.e2ap_version,
        )
        self.sim = sim
        self.book = records
        self.cell = cell
        self.config = cfg
        self.gnb_id = cell + 1
        self._plans: dict[int, ReportPlan] = {}

    # -- E2 setup ------------------------------------------------------------------------------------------
    def e2setup(self) -> e2ap.E2setupRequest:
        cfg = self.config
        kpm = KpmCodec(cfg.kpm_version)
        oid = KPM_OID_V3 if cfg.kpm_version is KpmVersion.V3 else KPM_OID_V2
        return e2ap.E2setupRequest(
            transaction_id=1,
            global_e2node_id=e2ap.GnbE2NodeId(e2ap.GlobalGnbId(self.plmn, BitString(self.gnb_id, 22))),
            ran_functions=(
                e2ap.RanFunction(
                    self.kpm_id,
                    kpm.encode_ran_function_description(kpm_ran_function_description(cfg.kpm_version)),
                    1,
                    oid,
                ),
                e2ap.RanFunction(
                    self.rc_id, encode_ran_function_definition(rc_ran_function_definition(cfg.quota_ids)), 1, RC_OID
                ),
            ),
            component_configs=(
                e2ap.ComponentConfigAddition(
                    e2ap.E2nodeComponentInterfaceType.NG, e2ap.E2nodeComponentNg(cfg.amf_name), b"", b""
                ),
            ),
        )

    def setup_request(self) -> bytes:
        """The node's E2setupRequest PDU (what the E2 relay's ``ListNodes`` returns)."""
        return e2ap.encode_e2ap(self.e2setup(), self.config.e2ap_version)

    # -- subscriptions ---------------------------------------------------------------------------------------
    def admit(self, sub: NodeSubscription) -> e2ap.Cause | None:
        tick = self.sim.tick_ms
        if sub.period_ms < tick or sub.period_ms % tick:
            log.info(
                "twin node: reporting period refused",
                e2_node=self.node_id,
                period_ms=sub.period_ms,
                tick_ms=tick,
            )
            name = "eventTriggerNotSupported" if self.e2ap_version >= e2ap.E2apVersion.V3 else "action-not-supported"
            return e2ap.Cause.of("ricRequest", name)
        self._plans[sub.request_id.instance_id] = self._plan(sub)
        return None

    def _plan(self, sub: NodeSubscription) -> ReportPlan:
        cols = tuple(self.book.column(key, name) for key, name in sub.layout)
        every = sub.period_ms // self.sim.tick_ms
        template = None
        if every == 1 and self.batchable and not self.book.real_values and self.book.width not in cols:
            template = self.book.template(sub, self.codec.version)
        plan = ReportPlan(sub, self.cell, every, np.array(cols, dtype=np.intp), _picker(cols), template)
        if every > 1:
            plan.since_sum = self.book.sum[self.cell].copy()
            plan.since_count = self.book.count[self.cell].copy()
        return plan

    def due(self) -> list[ReportPlan]:
        """The plans of the subscriptions whose reporting period ends with the last tick (multi-tick periods get
        their averaged records here)."""
        rec = self.book
        if len(self._plans) > len(self.subscriptions):
            self._plans = {k: p for k, p in self._plans.items() if self.subscriptions.get(k) is p.sub}
        out = []
        for iid, sub in self.subscriptions.items():
            plan = self._plans.get(iid)
            if plan is None or plan.sub is not sub:
                plan = self._plans[iid] = self._plan(sub)
            if (rec.tick + 1) % plan.every:
                continue
            if plan.every == 1:
                plan.start_ns = rec.start_ns
            else:
                plan.window_row = rec.window(self.cell, plan.since_sum, plan.since_count)
                plan.since_sum = rec.sum[self.cell].copy()
                plan.since_count = rec.count[self.cell].copy()
                plan.start_ns = rec.end_ns - plan.every * self.sim.tick_ns
            out.append(plan)
        return out

    async def emit(self, plan: ReportPlan, message: bytes | None = None) -> None:
        """Send the indication of a due plan; ``message`` is its KPM message when already encoded (batch)."""
        header = self.book.header(self.codec, plan.start_ns)
        if message is None:
            row = plan.window_row if plan.window_row is not None else self.book.rows[self.cell]
            pdu = self.encode_indication(plan.sub, plan.pick(row), header)
        else:
            pdu = self.indication_pdu(plan.sub, header, message)
        await self.send_indication(plan.sub, pdu)

    async def report(self) -> int:
        """Send the indications that are due after the last tick, encoding each on its own; returns how many."""
        plans = self.due()
        for plan in plans:
            await self.emit(plan)
        return len(plans)

    # -- control -------------------------------------------------------------------------------------------
    def _stage_quotas(self, quotas: tuple[SliceQuota, ...]) -> None:
        updates: dict[int, tuple[int, int, int]] = {}
        for q in quotas:
            s = self.sim.index.get(q.snssai.key)
            if s is None or q.plmn != self.plmn:
                raise QuotaRefused(f"unknown slice {q.plmn.hex()}/{q.snssai.key}")
            updates[s] = (q.min_ratio, q.max_ratio, q.dedicated_ratio)
        try:
            self.sim.quotas.request(self.cell, updates)
        except QuotaRejected as exc:
            raise QuotaRefused(str(exc)) from exc
        log.debug("twin node: quotas staged", e2_node=self.node_id, slices=len(updates), tick=self.sim.tick)


def batch_messages(book: TickRecords, plans: Sequence[ReportPlan], encoder: BatchF1Encoder) -> list[bytes | None]:
    """The KPM messages of due plans that can be batched (None for the others, which their node encodes)."""
    out: list[bytes | None] = [None] * len(plans)
    groups: dict[int, tuple[F1Template, list[int]]] = {}
    for i, plan in enumerate(plans):
        t = plan.template
        if t is not None:
            groups.setdefault(id(t), (t, []))[1].append(i)
    for template, members in groups.values():
        cols = plans[members[0]].cols
        cells = np.array([plans[i].cell for i in members], dtype=np.intp)
        has_missing = np.asarray(book.missing[cells[:, None], cols[None, :]].any(axis=1), dtype=bool)
        good = np.flatnonzero(~has_missing)
        if good.size == 0:
            continue
        chosen = [members[j] for j in good.tolist()]
        rows = book.ints[cells[good][:, None], cols[None, :]]
        for i, msg in zip(chosen, encoder.encode(template, rows), strict=True):
            out[i] = msg
    return out
