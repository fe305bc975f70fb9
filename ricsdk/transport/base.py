"""The one seam between the near-RT runtime and the wire.

Every transport (native RMR, librmr, gRPC E2 relay, in-memory, trace replay) moves :class:`Message` objects:
RMR's message model, because the OSC RIC routes everything by (mtype, sub_id, meid) and the other transports
map onto it without loss (a gRPC indication is mtype 12050 with the subscription's instance id as sub_id and
the E2 node id as meid).

A transport is an async iterator of inbound messages plus ``send``, ``reply`` (return to sender) and
``aclose``. It is built unconnected; ``start()`` binds and connects, so constructors never touch the network.
The runtime receives a transport and never knows which one it holds.

Optionally, a transport offers ``receive_ready(limit) -> list[Message]``: messages already received, taken
without waiting. The runtime uses it to hand a backlog (the indications of every cell of a period, a replay run
as fast as possible) to the xApp as one batch; every transport in this package has it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["Message", "Transport", "TransportStats"]


@dataclass(frozen=True, slots=True)
class Message:
    """One message as routed by the RIC.

    ``sub_id`` is -1 when unset. ``meid`` is the managed element (E2 node / RAN name). ``xid`` is the
    transaction id (up to 32 bytes). ``src`` is the sender's advertised ``host:port`` on inbound messages.
    ``reply_to`` is an opaque, transport-owned handle that :meth:`Transport.reply` uses to return a message
    to its sender; it takes no part in equality.
    """

    mtype: int
    payload: bytes
    sub_id: int = -1
    meid: str = ""
    xid: bytes = b""
    src: str = ""
    received_ns: int = 0
    reply_to: object = field(default=None, compare=False, repr=False)


@dataclass(slots=True)
class TransportStats:
    """Counters every transport keeps (exported as metrics by the runtime)."""

    received: int = 0
    sent: int = 0
    dropped_inbound: int = 0
    dropped_outbound: int = 0
    send_failures: int = 0
    malformed: int = 0
    reconnects: int = 0


@runtime_checkable
class Transport(Protocol):
    """What the runtime needs from a transport."""

    @property
    def stats(self) -> TransportStats:
        """The transport's counters (read-only for the runtime; a transport may extend them)."""
        ...

    async def start(self) -> None:
        """Bind, connect, subscribe: whatever makes the transport ready. Idempotent."""

    async def send(self, msg: Message) -> None:
        """Route and send ``msg``. Raises :class:`~ricsdk.errors.TransportError` when it cannot."""

    async def reply(self, request: Message, mtype: int, payload: bytes) -> None:
        """Return a message to the sender of ``request`` (RMR's return-to-sender)."""

    def __aiter__(self) -> AsyncIterator[Message]:
        """Inbound messages until the transport is closed."""
        ...

    async def aclose(self) -> None:
        """Stop receiving, flush what can be flushed, release sockets. Idempotent."""
