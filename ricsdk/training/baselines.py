"""Reference policies a trained one is judged against, written with ``ricsdk.runtime`` like any xApp.

- :class:`StaticEqualShare`: a fixed partition, every slice ``min = max = floor(100 / S)`` % of the cell, sent
  once per cell at its first indication;
- :class:`NoControl`: subscribes to the same KPM reports and never sends a control, so the twin's initial quotas
  stay in force (``0 / 100 / 0``: every PRB shared in proportion to the SLA priority weights).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ricsdk.e2.common import Snssai
from ricsdk.e2.slice_quota import SliceQuota
from ricsdk.runtime import handlers as h
from ricsdk.runtime.events import Indication
from ricsdk.runtime.subscriptions import KpmSubscriptionSpec
from ricsdk.runtime.xapp import XApp

__all__ = ["NoControl", "StaticEqualShare"]

#: The KPM measurements the baselines subscribe to (what the flagship reads).
MEASUREMENTS: Final = ("DRB.UEThpDl", "DRB.UEThpUl", "RRU.PrbUsedDl", "DRB.RlcSduDelayDl")
RC_RAN_FUNCTION: Final = 3


class _Subscriber(XApp):
    def __init__(self, nodes: Sequence[str], slices: Sequence[Snssai], period_ms: int = 100) -> None:
        super().__init__()
        self.nodes = tuple(nodes)
        self.slices = tuple(slices)
        self.period_ms = period_ms
        self.indications = 0

    def subscriptions(self) -> list[KpmSubscriptionSpec]:
        return [
            KpmSubscriptionSpec(f"kpm-{n}", n, MEASUREMENTS, self.slices, period_ms=self.period_ms) for n in self.nodes
        ]


class NoControl(_Subscriber):
    name = "no-controls"

    @h.on_indication()
    def on_kpm(self, ind: Indication) -> None:
        self.indications += 1


class StaticEqualShare(_Subscriber):
    name = "static-equal-share"

    def __init__(self, nodes: Sequence[str], slices: Sequence[Snssai], plmn: bytes, period_ms: int = 100) -> None:
        super().__init__(nodes, slices, period_ms)
        self.plmn = plmn
        self.configured: set[str] = set()

    @h.on_indication()
    async def on_kpm(self, ind: Indication) -> None:
        self.indications += 1
        if ind.e2_node in self.configured:
            return
        self.configured.add(ind.e2_node)
        share = 100 // len(self.slices)
        quotas = [SliceQuota(self.plmn, s, share, share, 0) for s in self.slices]
        await self.ctx.send_slice_quotas(
            ind.e2_node, quotas, request_id=ind.request_id, ran_function_id=RC_RAN_FUNCTION
        )
