"""A fake E2 node's measurements from the synthetic demand generator, capped by the quotas it receives."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from ricsdk.e2.slice_quota import SliceQuota
from xapps.slice_prb_allocator.demand import DemandConfig, SliceDemand, SliceType

__all__ = ["DemandSource"]

_TYPES = {"1": SliceType.EMBB, "2": SliceType.URLLC, "3": SliceType.MMTC}


class DemandSource:
    """``MeasurementSource`` for :class:`ricsdk.testing.e2node.E2NodeEmulator`: one demand row per slice key.

    A slice's type follows its SST (1 eMBB, 2 URLLC, 3 mMTC, else eMBB). The generator steps once per period
    whatever the number of subscriptions asking; ``on_quota`` caps each slice's usage at its max PRB ratio.
    """

    def __init__(self, slice_keys: Sequence[str], seed: int = 11) -> None:
        types = tuple(_TYPES.get(k.split("-")[0], SliceType.EMBB) for k in slice_keys)
        self.keys = list(slice_keys)
        self._index = {k: i for i, k in enumerate(self.keys)}
        self.demand = SliceDemand(DemandConfig(n_nodes=1, cells_per_node=1, slice_types=types), seed)
        self._period = -1
        self._values: dict[str, dict[str, float | int | None]] = {}

    def measure(self, period: int, slices: Sequence[str]) -> Mapping[str, Mapping[str, float | int | None]]:
        if period != self._period:
            p = self.demand.step()
            names = self.demand.measurements
            self._values = {
                k: {
                    n: (None if math.isnan(v) else round(v) if v >= 0 else None)
                    for n, v in zip(names, row, strict=True)
                }
                for k, row in zip(self.keys, p.values.tolist(), strict=True)
            }
            self._period = period
        return {s: self._values[s] for s in slices if s in self._values}

    def on_quota(self, quotas: tuple[SliceQuota, ...]) -> None:
        for q in quotas:
            i = self._index.get(q.snssai.key)
            if i is not None:
                self.demand.set_cap(i, float(q.max_ratio))
