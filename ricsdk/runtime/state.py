"""The xApp lifecycle as one state machine.

Theory of operation
-------------------
An xApp runner moves through ``CREATED -> STARTING -> RUNNING -> STOPPING -> STOPPED``. While running it may
drop to ``DEGRADED`` (a dependency is unhealthy: lineage quota alarm, no route table, a subscription lost)
and come back. Any state may fall to ``FAILED`` when start-up cannot complete. Every allowed transition is in
``TRANSITIONS``; anything else raises :class:`~ricsdk.errors.LocalProtocolError`, so a bug in the runner
shows up as an error instead of a silently inconsistent state.
"""

from __future__ import annotations

import enum
from typing import Final

from ricsdk.errors import LocalProtocolError

__all__ = ["TRANSITIONS", "Lifecycle", "XAppState"]


class XAppState(enum.Enum):
    CREATED = "created"
    STARTING = "starting"
    RUNNING = "running"
    DEGRADED = "degraded"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


S = XAppState
TRANSITIONS: Final[dict[XAppState, frozenset[XAppState]]] = {
    S.CREATED: frozenset({S.STARTING, S.STOPPED}),
    S.STARTING: frozenset({S.RUNNING, S.DEGRADED, S.STOPPING, S.FAILED}),
    S.RUNNING: frozenset({S.DEGRADED, S.STOPPING, S.FAILED}),
    S.DEGRADED: frozenset({S.RUNNING, S.STOPPING, S.FAILED}),
    S.STOPPING: frozenset({S.STOPPED, S.FAILED}),
    S.STOPPED: frozenset(),
    S.FAILED: frozenset({S.STOPPING, S.STOPPED}),
}


class Lifecycle:
    """Holds the current state and enforces ``TRANSITIONS``."""

    __slots__ = ("_state", "history")

    def __init__(self) -> None:
        self._state = XAppState.CREATED
        self.history: list[XAppState] = [XAppState.CREATED]

    @property
    def state(self) -> XAppState:
        return self._state

    def to(self, new: XAppState) -> None:
        if new is self._state:
            return
        if new not in TRANSITIONS[self._state]:
            raise LocalProtocolError(f"illegal xApp state transition {self._state.value} -> {new.value}")
        self._state = new
        self.history.append(new)

    @property
    def serving(self) -> bool:
        return self._state in (XAppState.RUNNING, XAppState.DEGRADED)
