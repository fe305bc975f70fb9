"""xApps used against the twin in the tests, written with ricsdk.runtime like any user xApp.

- :class:`ProportionalAllocator`: every indication of a cell sets each slice's prioritised share (``min``) in
  proportion to the PRBs it needs (its DL PRB usage with headroom, grown while its delay nears its SLA target),
  granted in SLA priority order up to 80 % of the cell; ``max`` stays 100 % so idle PRBs are shared.
- :class:`StaticEqualShare`: the baseline, a fixed partition: every slice gets ``min = max = floor(100 / S)`` %,
  sent once per cell at its first indication.
- :class:`Watcher`: subscribes and keeps what it receives.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ricsdk.e2.common import Snssai
from ricsdk.e2.slice_quota import SliceQuota
from ricsdk.runtime import handlers as h
from ricsdk.runtime.events import ControlOutcome, Indication
from ricsdk.runtime.subscriptions import KpmSubscriptionSpec
from ricsdk.runtime.xapp import XApp
from ricsdk.twin import MEASUREMENTS

PLMN = b"\x00\xf1\x10"
RC_FUNCTION = 3


class _TwinXApp(XApp):
    def __init__(self, nodes: Sequence[str], slices: Sequence[Snssai], period_ms: int = 100) -> None:
        super().__init__()
        self.nodes = tuple(nodes)
        self.slices = tuple(slices)
        self.period_ms = period_ms
        self.indications = 0
        self.outcomes: dict[str, int] = {}

    def subscriptions(self) -> list[KpmSubscriptionSpec]:
        return [
            KpmSubscriptionSpec(f"kpm-{n}", n, MEASUREMENTS, self.slices, period_ms=self.period_ms) for n in self.nodes
        ]

    @h.on_control_outcome()
    def outcome(self, o: ControlOutcome) -> None:
        self.outcomes[o.status] = self.outcomes.get(o.status, 0) + 1


class ProportionalAllocator(_TwinXApp):
    """Prioritised shares in proportion to each slice's PRB need, per cell, at every indication.

    A slice needs its DL PRB usage times ``headroom`` (at least ``floor_pct``); a slice whose delay passed half its
    target is short of PRBs, so its need also grows to ``grow`` times its last share. Needs are granted in SLA
    priority order up to ``reserve_pct`` of the cell, the rest stays in the shared pool (``max`` is 100 %).
    """

    name = "proportional-allocator"

    def __init__(
        self,
        nodes: Sequence[str],
        slices: Sequence[Snssai],
        max_delay_ms: Sequence[float],
        priority: Sequence[int],
        *,
        headroom: float = 1.2,
        grow: float = 1.5,
        floor_pct: float = 2.0,
        reserve_pct: int = 80,
    ) -> None:
        super().__init__(nodes, slices)
        self.max_delay_ms = tuple(max_delay_ms)
        self.order = sorted(range(len(slices)), key=lambda i: priority[i])
        self.headroom = headroom
        self.grow = grow
        self.floor_pct = floor_pct
        self.reserve_pct = reserve_pct
        self.last: dict[str, list[int]] = {}

    def shares(self, node: str, per: dict[str, dict[str, float]]) -> list[int]:
        last = self.last.get(node, [0] * len(self.slices))
        need = []
        for i, (s, target) in enumerate(zip(self.slices, self.max_delay_ms, strict=True)):
            m = per.get(s.key, {})
            used = m.get("RRU.PrbUsedDl", math.nan)
            delay = m.get("DRB.RlcSduDelayDl", math.nan)
            n = max(self.floor_pct, 0.0 if math.isnan(used) else used * self.headroom)
            if not math.isnan(delay) and delay > 0.5 * target:
                n = max(n, last[i] * self.grow, self.floor_pct * self.grow)
            need.append(n)
        left = self.reserve_pct
        out = [0] * len(need)
        for i in self.order:
            out[i] = math.floor(min(need[i], left))
            left -= out[i]
        self.last[node] = out
        return out

    @h.on_indication()
    async def on_kpm(self, ind: Indication) -> None:
        self.indications += 1
        mins = self.shares(ind.e2_node, ind.per_slice())
        quotas = [SliceQuota(PLMN, s, m, 100, 0) for s, m in zip(self.slices, mins, strict=True)]
        await self.ctx.send_slice_quotas(ind.e2_node, quotas, request_id=ind.request_id, ran_function_id=RC_FUNCTION)


class StaticEqualShare(_TwinXApp):
    name = "static-equal-share"

    def __init__(self, nodes: Sequence[str], slices: Sequence[Snssai]) -> None:
        super().__init__(nodes, slices)
        self.configured: set[str] = set()

    @h.on_indication()
    async def on_kpm(self, ind: Indication) -> None:
        self.indications += 1
        if ind.e2_node in self.configured:
            return
        self.configured.add(ind.e2_node)
        share = 100 // len(self.slices)
        quotas = [SliceQuota(PLMN, s, share, share, 0) for s in self.slices]
        await self.ctx.send_slice_quotas(ind.e2_node, quotas, request_id=ind.request_id, ran_function_id=RC_FUNCTION)


class Watcher(_TwinXApp):
    name = "watcher"

    def __init__(self, nodes: Sequence[str], slices: Sequence[Snssai], period_ms: int = 100) -> None:
        super().__init__(nodes, slices, period_ms)
        self.seen: list[Indication] = []

    @h.on_indication()
    def on_kpm(self, ind: Indication) -> None:
        self.indications += 1
        self.seen.append(ind)
