"""In-memory transport: RMR's routing model inside one process, for tests, the twin and simulation.

Theory of operation
-------------------
A :class:`MemoryHub` connects named endpoints; ``hub.endpoint(name)`` builds one, a :class:`MemoryTransport`
that implements :class:`~ricsdk.transport.base.Transport`. Nothing in the hub knows E2: payloads are opaque
bytes, so whatever an endpoint sends has been through the real encoders and whatever it receives goes through
the real decoders, exactly as over RMR or gRPC.

*Lifecycle.* An endpoint is registered under its name when it is built, receives and sends only between
:meth:`MemoryTransport.start` and :meth:`MemoryTransport.aclose`, and keeps its name after closing (a name is
never reused within a hub). A message routed to an endpoint that is not running is a failed copy.

*Routing* follows RMR's route table semantics. :meth:`MemoryHub.add_route` maps ``(mtype, sub_id)`` to one or
more targets; ``send`` looks up ``(mtype, sub_id)`` and falls back to ``(mtype, -1)``; no entry raises
:class:`~ricsdk.errors.NoEndpointError`. Every target receives one copy (RMR's endpoint groups, without
round-robin inside a group). The target :data:`MEID_ROUTE` (``"%meid"``) sends to the endpoint that owns
``msg.meid``; ownership is declared with :meth:`MemoryHub.assign_meid` or the ``meids`` of
:meth:`MemoryHub.endpoint`, as an E2 Termination owns the RAN names of its E2 nodes. When every copy of a
message fails (unknown or stopped endpoint, meid without owner) ``send`` raises
:class:`~ricsdk.errors.TransportError`; when only some fail, those copies are counted in ``send_failures`` and
``dropped_outbound`` and logged.

*Delivery.* A delivered copy carries the sender's name in ``src``, the receive time in ``received_ns`` and a
reply handle, so :meth:`MemoryTransport.reply` returns a message to the sender (RMR's return-to-sender), keeping
the request's ``sub_id``, ``meid`` and ``xid``. Each endpoint has a bounded inbound queue (:class:`Inbox`); a
copy that finds it full is dropped, counted in the receiver's ``stats.dropped_inbound`` and logged (the first
drop and every thousandth), while the sender has done its part and counts the message as sent. Delivery is
synchronous: when ``send`` returns, the copies are in the receivers' queues.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import structlog

from ricsdk.errors import ConfigError, MessageTooLargeError, NoEndpointError, TransportError
from ricsdk.transport.base import Message, TransportStats

__all__ = ["Inbox", "MEID_ROUTE", "MemoryHub", "MemoryTransport", "MemoryTransportState"]

log = structlog.get_logger(__name__)

MEID_ROUTE: Final = "%meid"
"""Route target meaning "the endpoint that owns ``msg.meid``"."""

DEFAULT_QUEUE_SIZE: Final = 4096
DEFAULT_MAX_MESSAGE_SIZE: Final = 1 << 20


class Inbox:
    """A bounded FIFO of messages for one consumer.

    ``put_nowait`` refuses (returns False) when full or closed, so the producer decides how to count the drop;
    ``get`` waits for a message and returns ``None`` once the inbox is closed and empty.
    """

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ConfigError("must be at least 1", field="queue_size")
        self.maxsize = maxsize
        self._items: deque[Message] = deque()
        self._ready = asyncio.Event()
        self._closed = False

    def __len__(self) -> int:
        return len(self._items)

    @property
    def closed(self) -> bool:
        return self._closed

    def put_nowait(self, item: Message) -> bool:
        if self._closed or len(self._items) >= self.maxsize:
            return False
        self._items.append(item)
        self._ready.set()
        return True

    async def get(self) -> Message | None:
        while True:
            if self._items:
                return self._items.popleft()
            if self._closed:
                return None
            self._ready.clear()
            await self._ready.wait()

    def take_ready(self, limit: int) -> list[Message]:
        """Up to ``limit`` queued messages, oldest first, without waiting (empty when none is queued)."""
        items = self._items
        if not items:
            return []
        if len(items) <= limit:
            out = list(items)
            items.clear()
            return out
        return [items.popleft() for _ in range(limit)]

    def close(self) -> None:
        """Refuse further messages; ``get`` still returns what is queued, then ``None``."""
        self._closed = True
        self._ready.set()


class MemoryTransportState(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class _ReplyHandle:
    hub: MemoryHub
    sender: str


class MemoryHub:
    """Named in-memory endpoints and the route table between them."""

    def __init__(self, *, clock_ns: Callable[[], int] = time.monotonic_ns) -> None:
        self._clock_ns = clock_ns
        self._endpoints: dict[str, MemoryTransport] = {}
        self._routes: dict[tuple[int, int], tuple[str, ...]] = {}
        self._meid_owner: dict[str, str] = {}

    def endpoint(
        self,
        name: str,
        *,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        meids: Iterable[str] = (),
    ) -> MemoryTransport:
        """Build the endpoint ``name`` (not started); ``meids`` are the E2 nodes it owns for ``%meid`` routes."""
        if not name or name == MEID_ROUTE:
            raise ConfigError(f"invalid endpoint name {name!r}", field="name")
        if name in self._endpoints:
            raise ConfigError(f"endpoint {name!r} already exists", field="name")
        if max_message_size < 1:
            raise ConfigError("must be at least 1", field="max_message_size")
        transport = MemoryTransport(self, name, Inbox(queue_size), max_message_size)
        self._endpoints[name] = transport
        for meid in meids:
            self.assign_meid(meid, name)
        return transport

    @property
    def endpoint_names(self) -> tuple[str, ...]:
        return tuple(self._endpoints)

    def add_route(self, mtype: int, targets: str | Sequence[str], *, sub_id: int = -1) -> None:
        """Route ``(mtype, sub_id)`` to ``targets`` (endpoint names or :data:`MEID_ROUTE`), replacing any entry."""
        names = (targets,) if isinstance(targets, str) else tuple(targets)
        if not names:
            raise ConfigError(f"route ({mtype}, {sub_id}) has no target", field="targets")
        for target in names:
            if not target:
                raise ConfigError(f"route ({mtype}, {sub_id}) has an empty target", field="targets")
        self._routes[(mtype, sub_id)] = names

    def remove_route(self, mtype: int, *, sub_id: int = -1) -> None:
        self._routes.pop((mtype, sub_id), None)

    def assign_meid(self, meid: str, endpoint: str) -> None:
        """Make ``endpoint`` the owner of the managed element ``meid`` (an E2 node id / RAN name)."""
        if not meid:
            raise ConfigError("empty meid", field="meid")
        self._meid_owner[meid] = endpoint

    def owner_of(self, meid: str) -> str | None:
        return self._meid_owner.get(meid)

    def targets(self, mtype: int, sub_id: int) -> tuple[str, ...]:
        """The route entry for ``(mtype, sub_id)``, else for ``(mtype, -1)``; raises NoEndpointError."""
        targets = self._routes.get((mtype, sub_id))
        if targets is None:
            targets = self._routes.get((mtype, -1))
        if targets is None:
            raise NoEndpointError(mtype, sub_id)
        return targets

    def _deliver(self, sender: str, target: str, msg: Message, payload: bytes) -> str | None:
        """Hand one copy to ``target``; return why it failed, or None (a full queue is the receiver's drop)."""
        endpoint = self._endpoints.get(target)
        if endpoint is None:
            return f"no endpoint named {target!r}"
        if endpoint.state is not MemoryTransportState.RUNNING:
            return f"endpoint {target!r} is {endpoint.state.value}"
        copy = Message(
            mtype=msg.mtype,
            payload=payload,
            sub_id=msg.sub_id,
            meid=msg.meid,
            xid=msg.xid,
            src=sender,
            received_ns=self._clock_ns(),
            reply_to=_ReplyHandle(self, sender),
        )
        endpoint._accept(copy)
        return None


class MemoryTransport:
    """One endpoint of a :class:`MemoryHub`; build it with :meth:`MemoryHub.endpoint`."""

    def __init__(self, hub: MemoryHub, name: str, inbox: Inbox, max_message_size: int) -> None:
        self.hub = hub
        self.name = name
        self.stats = TransportStats()
        self.state = MemoryTransportState.NEW
        self.max_message_size = max_message_size
        self._inbox = inbox

    @property
    def pending(self) -> int:
        """Messages waiting in the inbound queue."""
        return len(self._inbox)

    async def start(self) -> None:
        if self.state is MemoryTransportState.CLOSED:
            raise TransportError(f"memory endpoint {self.name!r} is closed")
        self.state = MemoryTransportState.RUNNING

    async def send(self, msg: Message) -> None:
        payload = self._check_outbound(msg.payload)
        targets = self.hub.targets(msg.mtype, msg.sub_id)
        failures: list[str] = []
        for target in targets:
            name = target
            if target == MEID_ROUTE:
                owner = self.hub.owner_of(msg.meid)
                if owner is None:
                    failures.append(f"no endpoint owns meid {msg.meid!r}")
                    continue
                name = owner
            error = self.hub._deliver(self.name, name, msg, payload)
            if error is not None:
                failures.append(error)
        self._account(msg, len(targets), failures)

    async def reply(self, request: Message, mtype: int, payload: bytes) -> None:
        data = self._check_outbound(payload)
        handle = request.reply_to
        if not isinstance(handle, _ReplyHandle) or handle.hub is not self.hub:
            raise TransportError(f"reply: the request was not received through the hub of {self.name!r}")
        answer = Message(mtype=mtype, payload=data, sub_id=request.sub_id, meid=request.meid, xid=request.xid)
        error = self.hub._deliver(self.name, handle.sender, answer, data)
        self._account(answer, 1, [error] if error is not None else [])

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Message]:
        while (msg := await self._inbox.get()) is not None:
            yield msg

    def receive_ready(self, limit: int) -> list[Message]:
        """Messages already received, up to ``limit``, without waiting (the runtime batches them)."""
        return self._inbox.take_ready(limit)

    async def aclose(self) -> None:
        """Stop sending and receiving; messages already queued are still delivered to the iterator."""
        if self.state is MemoryTransportState.CLOSED:
            return
        self.state = MemoryTransportState.CLOSED
        self._inbox.close()

    async def __aenter__(self) -> MemoryTransport:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _check_outbound(self, payload: bytes) -> bytes:
        if self.state is not MemoryTransportState.RUNNING:
            raise TransportError(f"memory endpoint {self.name!r} is {self.state.value}")
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise TransportError(f"payload must be bytes, not {type(payload).__name__}")
        data = bytes(payload)
        if len(data) > self.max_message_size:
            raise MessageTooLargeError(len(data), self.max_message_size)
        return data

    def _account(self, msg: Message, copies: int, failures: list[str]) -> None:
        if not failures:
            self.stats.sent += 1
            return
        self.stats.send_failures += len(failures)
        self.stats.dropped_outbound += len(failures)
        if len(failures) == copies:
            raise TransportError(f"{self.name}: mtype {msg.mtype} sub_id {msg.sub_id}: {'; '.join(failures)}")
        self.stats.sent += 1
        log.error(
            "memory.send_partial",
            endpoint=self.name,
            mtype=msg.mtype,
            sub_id=msg.sub_id,
            failed=len(failures),
            errors=failures,
        )

    def _accept(self, msg: Message) -> None:
        self.stats.received += 1
        if self._inbox.put_nowait(msg):
            return
        self.stats.dropped_inbound += 1
        dropped = self.stats.dropped_inbound
        if dropped == 1 or dropped % 1000 == 0:
            log.warning(
                "memory.inbound_queue_full",
                endpoint=self.name,
                dropped_inbound=dropped,
                queue_size=self._inbox.maxsize,
                mtype=msg.mtype,
                src=msg.src,
            )
