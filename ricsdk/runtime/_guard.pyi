"""Type stub of ModelXApp's policy guard in C (``_guard.c``)."""

from typing import Any

def guard(
    outputs: list[list[float]],
    status: list[int],
    ready: list[bool],
    incomplete: list[bool],
    off: int,
    states: list[Any],
    limits: list[tuple[int, int, int]],
    prb_need: bool,
    floor: float,
    headroom: float,
    dedicated: float,
    max_step: int,
    reasons: tuple[str, str, str, str],
    /,
) -> tuple[list[Any], list[Any], bool, int] | None: ...
