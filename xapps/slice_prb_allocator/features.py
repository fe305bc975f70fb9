"""The flagship model's input: one row per slice, these features in this order, over a window of 8 periods."""

from __future__ import annotations

from ricsdk.features import FeatureSpec, FeatureStore, WindowFn

__all__ = ["FEATURES", "LAST_PRB_COLUMN", "MEASUREMENTS", "WINDOW", "new_store"]

THP_DL = "DRB.UEThpDl"
THP_UL = "DRB.UEThpUl"
PRB_DL = "RRU.PrbUsedDl"
DELAY_DL = "DRB.RlcSduDelayDl"

WINDOW = 8

# EWMA takes the whole window (its weights are 0.7 ** age, renormalised over the values present) and LAST
# holds the last reported PRB usage through up to 7 missing periods.
FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec(THP_DL, WindowFn.MEAN, 4),
    FeatureSpec(THP_DL, WindowFn.SLOPE, 8),
    FeatureSpec(THP_UL, WindowFn.MEAN, 4),
    FeatureSpec(PRB_DL, WindowFn.LAST, 8),
    FeatureSpec(PRB_DL, WindowFn.EWMA, 8, 0.3),
    FeatureSpec(PRB_DL, WindowFn.MAX, 8),
    FeatureSpec(DELAY_DL, WindowFn.MEAN, 4),
    FeatureSpec(DELAY_DL, WindowFn.MAX, 4),
)

# The measurement columns of FeatureStore.update, in the store's order (first use in FEATURES).
MEASUREMENTS: tuple[str, ...] = (THP_DL, THP_UL, PRB_DL, DELAY_DL)

LAST_PRB_COLUMN = 3


def new_store(initial_rows: int = 64) -> FeatureStore:
    """A feature store for the flagship model."""
    return FeatureStore(FEATURES, WINDOW, initial_rows=initial_rows)
