"""Type stub of the C small-batch feature kernel (``_kernel.c``)."""

from typing import Any

class Kernel:
    def __init__(
        self,
        rings: Any,
        head: Any,
        seen: Any,
        offsets: Any,
        weights: Any,
        acbd: Any,
        missing: Any,
        nan: Any,
        *,
        window: int,
        n_meas: int,
        capacity: int,
        history: int,
        n_terms: int,
        n_sums: int,
        n_features: int,
        max_lo: int,
        max_hi: int,
        min_lo: int,
        min_hi: int,
        last_lo: int,
        last_hi: int,
        seen_lo: int,
    ) -> None: ...
    def update(self, ids: Any, values: Any, rows: int, /) -> int: ...
    def matrix(self, ids: Any, out: Any, incomplete: Any, ready: Any, rows: int, /) -> int: ...
