"""Shared helpers for the lineage tests: a stepping clock, record factories, spool builders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ricsdk.lineage import (
    FsyncPolicy,
    LineageRecorder,
    ModelRef,
    RcAction,
    Slot,
    Spool,
    SpoolConfig,
)

MODEL = ModelRef("prb-allocator", "1.4.2", "sha256:" + "ab" * 32, Slot.ACTIVE)


class StepClock:
    """A clock that moves only when told (ns for timestamps, seconds for the monotonic spool clock)."""

    def __init__(self, start_ns: int = 1_700_000_000_000_000_000) -> None:
        self.now_ns = start_ns

    def ns(self) -> int:
        self.now_ns += 1_000
        return self.now_ns

    def seconds(self) -> float:
        return self.now_ns / 1e9

    def advance(self, seconds: float) -> None:
        self.now_ns += int(seconds * 1e9)


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


def record_one(recorder: LineageRecorder, i: int, *, features: bool = True) -> None:
    """Record decision ``i`` with deterministic content."""
    recorder.record(
        decision_id=f"dec-{i}",
        e2_node="gnb-001",
        cell=f"cell-{i % 3}",
        slice_id=f"1-{i % 4:06x}",
        model=MODEL,
        output=(0.25 * (i % 4), 1.0 / (i + 1)),
        action=RcAction(5, 60 + i % 40, 2, i % 5 != 0, "" if i % 5 else "rate-limited"),
        features=(float(i), 2.5, -1.0) if features else None,
        policy_ids=("sla-embb", "rollout-7"),
        stage_ns={"decode": 1200 + i, "infer": 40_000, "guard": 300},
        cpu_ns=35_000 + i,
    )


def make_recorder(
    path: Path,
    clock: StepClock,
    *,
    instance: str = "xapp-1",
    segment_bytes: int = 4096,
    fsync: FsyncPolicy = FsyncPolicy.NEVER,
    quota_bytes: int | None = None,
    queue_limit: int = 10_000,
    batch_size: int = 16,
    **kwargs: object,
) -> LineageRecorder:
    config = SpoolConfig(segment_bytes=segment_bytes, fsync=fsync, quota_bytes=quota_bytes)
    spool = Spool(path, config, monotonic=clock.seconds)
    recorder = LineageRecorder(
        spool,
        instance=instance,
        clock=clock.ns,
        queue_limit=queue_limit,
        batch_size=batch_size,
        linger_s=0,
        **kwargs,  # type: ignore[arg-type]
    )
    recorder.open()
    return recorder


@pytest.fixture
def recorder_factory(tmp_path: Path, clock: StepClock) -> Iterator[Callable[..., LineageRecorder]]:
    made: list[LineageRecorder] = []

    def build(**kwargs: object) -> LineageRecorder:
        path = kwargs.pop("path", tmp_path / "spool")
        recorder = make_recorder(path, clock, **kwargs)  # type: ignore[arg-type]
        made.append(recorder)
        return recorder

    yield build
    for recorder in made:
        if recorder.spool.is_open:
            recorder.spool.close()


def segment_files(path: Path, stream: str = "main") -> list[Path]:
    return sorted(path.glob(f"{stream}-*.seg"))
