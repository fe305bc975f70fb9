"""Per-slice feature windows: ring buffers of KPM measurements and the feature matrix the model reads.

Layer 3: imports only ``ricsdk.errors`` and its own modules. ``FeatureStore`` documents the missing-value
semantics of every window function.
"""

from ricsdk.features.rows import RowIndex
from ricsdk.features.spec import FeatureSpec, WindowFn
from ricsdk.features.store import FeatureStats, FeatureStore, incomplete_rows

__all__ = ["FeatureSpec", "FeatureStats", "FeatureStore", "RowIndex", "WindowFn", "incomplete_rows"]
