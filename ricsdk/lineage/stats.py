"""Counters of the lineage block, as one plain object the runtime exports (Prometheus) as it likes."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["LineageStats"]


@dataclass(slots=True)
class LineageStats:
    """Monotonic counters (and no gauges: the recorder and the spool expose those as attributes).

    ``records`` went to the main spool, ``overflowed`` to the overflow log because the queue was full;
    ``lost`` could be written nowhere (each one is logged at error level); ``rejected`` records could not be
    encoded (invalid fields, logged with their decision id and not given a sequence number).
    """

    recorded: int = 0
    records: int = 0
    batches: int = 0
    overflowed: int = 0
    lost: int = 0
    rejected: int = 0
    processor_errors: int = 0
    write_errors: int = 0
    bytes: int = 0
    fsyncs: int = 0
    torn_tails_truncated: int = 0
    torn_bytes: int = 0
    corrupt_segments: int = 0
    segments_deleted: int = 0
    quota_alarms: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters by name."""
        return asdict(self)
