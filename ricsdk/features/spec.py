"""What a feature is: a window function over the last ``over`` periods of one KPM measurement."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from ricsdk.errors import ConfigError

__all__ = ["FeatureSpec", "WindowFn"]


class WindowFn(enum.Enum):
    """A window function; every one ignores missing periods (see ``ricsdk.features`` for the exact rules)."""

    LAST = "last"
    MEAN = "mean"
    MAX = "max"
    MIN = "min"
    EWMA = "ewma"
    SLOPE = "slope"


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """``fn`` of ``measurement`` over its last ``over`` reporting periods.

    ``alpha`` is the EWMA smoothing factor (0 < alpha < 1, required for EWMA and refused otherwise). EWMA and
    SLOPE need ``over >= 2``: over one period they would only repeat LAST (and so would an EWMA with alpha 1).
    """

    measurement: str
    fn: WindowFn
    over: int = 1
    alpha: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.measurement, str) or not self.measurement:
            raise ConfigError("measurement must be a non-empty string", source="feature", field="measurement")
        source = f"feature {self.measurement}"
        if not isinstance(self.fn, WindowFn):
            raise ConfigError(f"fn must be a WindowFn, not {self.fn!r}", source=source, field="fn")
        if type(self.over) is not int or self.over < 1:
            raise ConfigError(f"over must be an int >= 1, not {self.over!r}", source=source, field="over")
        if self.fn in (WindowFn.EWMA, WindowFn.SLOPE) and self.over < 2:
            raise ConfigError(f"{self.fn.value} needs over >= 2", source=source, field="over")
        if self.fn is WindowFn.EWMA:
            a = self.alpha
            if isinstance(a, bool) or not isinstance(a, int | float) or not math.isfinite(a) or not 0.0 < a < 1.0:
                raise ConfigError(f"ewma needs 0 < alpha < 1, not {a!r}", source=source, field="alpha")
            object.__setattr__(self, "alpha", float(a))
        elif self.alpha is not None:
            raise ConfigError(f"alpha applies to ewma only, not {self.fn.value}", source=source, field="alpha")

    @property
    def name(self) -> str:
        """A stable readable name, e.g. ``RRU.PrbUsedDl:ewma8@0.3``."""
        tail = f"@{self.alpha:g}" if self.alpha is not None else ""
        return f"{self.measurement}:{self.fn.value}{self.over}{tail}"
