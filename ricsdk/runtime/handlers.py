"""Decorated handlers: ``@on_indication``, ``@on_indications``, ``@on_policy``, ``@on_control_outcome``,
``@on_message``.

Decorators only tag the function; :class:`~ricsdk.runtime.xapp.XApp` collects the tags when a subclass is
created and validates them there (a handler takes ``self`` and one event; policy handlers name an integer
policy type; two handlers may not claim the same key), so mistakes fail at import with ``TypeError``, not at
the first message. Handlers may be ``def`` or ``async def``; synchronous ones avoid a coroutine per message on
the hot path.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

__all__ = [
    "HandlerKind",
    "HandlerSpec",
    "collect_handlers",
    "on_control_outcome",
    "on_indication",
    "on_indications",
    "on_message",
    "on_policy",
]

F = TypeVar("F", bound=Callable[..., Any])
_ATTR: Final = "__ricsdk_handler__"


class HandlerKind(enum.Enum):
    INDICATION = "indication"
    INDICATIONS = "indications"
    POLICY = "policy"
    CONTROL_OUTCOME = "control_outcome"
    MESSAGE = "message"


@dataclass(frozen=True, slots=True)
class HandlerSpec:
    kind: HandlerKind
    key: str | int | None
    name: str
    is_async: bool


def _tag(kind: HandlerKind, key: str | int | None) -> Callable[[F], F]:
    def deco(fn: F) -> F:
        if not callable(fn):
            raise TypeError(f"@on_{kind.value} must decorate a function, got {fn!r}")
        setattr(fn, _ATTR, (kind, key))
        return fn

    return deco


def on_indication(subscription: str | None = None) -> Callable[[F], F]:
    """Handle KPM indications of one subscription (by name), or of all subscriptions when omitted."""
    if subscription is not None and not isinstance(subscription, str):
        raise TypeError("@on_indication takes a subscription name (str) or nothing")
    return _tag(HandlerKind.INDICATION, subscription)


def on_indications() -> Callable[[F], F]:
    """Handle KPM indications in batches: the handler gets a list of the indications the transport had already
    received together (a period's reports of many cells, a backlog, a replay run as fast as possible), in arrival
    order. Indications of a subscription with its own ``@on_indication`` handler go there instead; with a
    catch-all ``@on_indication`` handler too, a lone indication goes to that one."""
    return _tag(HandlerKind.INDICATIONS, None)


def on_policy(policy_type_id: int) -> Callable[[F], F]:
    """Handle A1 policy operations of one policy type (integer id, as the OSC A1 mediator uses)."""
    if not isinstance(policy_type_id, int) or isinstance(policy_type_id, bool) or policy_type_id < 1:
        raise TypeError("@on_policy takes a positive integer policy type id")
    return _tag(HandlerKind.POLICY, policy_type_id)


def on_control_outcome() -> Callable[[F], F]:
    """Handle the outcome (ack, failure or timeout) of every RIC control request the xApp sent."""
    return _tag(HandlerKind.CONTROL_OUTCOME, None)


def on_message(mtype: int) -> Callable[[F], F]:
    """Handle raw messages of an RMR message type the runtime does not handle itself."""
    if not isinstance(mtype, int) or not 0 <= mtype < 2**31:
        raise TypeError("@on_message takes an RMR message type (int)")
    return _tag(HandlerKind.MESSAGE, mtype)


def collect_handlers(cls: type) -> dict[tuple[HandlerKind, str | int | None], HandlerSpec]:
    """All handlers of ``cls`` (own and inherited), validated. Raises TypeError on the first mistake."""
    found: dict[tuple[HandlerKind, str | int | None], HandlerSpec] = {}
    for klass in reversed(cls.__mro__):
        for name, fn in vars(klass).items():
            tag = getattr(fn, _ATTR, None)
            if tag is None:
                continue
            kind, key = tag
            params = [
                p
                for p in inspect.signature(fn).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
            ]
            if len(params) != 2:
                raise TypeError(
                    f"{cls.__name__}.{name}: a {kind.value} handler takes (self, event), "
                    f"not ({', '.join(p.name for p in params)})"
                )
            spec = HandlerSpec(kind, key, name, inspect.iscoroutinefunction(fn))
            prev = found.get((kind, key))
            if prev is not None and prev.name != name and klass is cls:
                raise TypeError(f"{cls.__name__}: {name} and {prev.name} both handle {kind.value} {key!r}")
            found[(kind, key)] = spec
    return found
