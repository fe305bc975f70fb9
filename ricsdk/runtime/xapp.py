"""The xApp base class: user code is a plain class with lifecycle hooks and decorated handlers.

::

    class CellWatcher(XApp):
        name = "cell-watcher"

        def subscriptions(self):
            return [KpmSubscriptionSpec("kpm", "gnb-1", ("DRB.UEThpDl",), period_ms=100)]

        @on_indication("kpm")
        def seen(self, ind: Indication) -> None:
            ...

The same object runs over any transport: an :class:`~ricsdk.runtime.runner.XAppRunner` owns the transport,
the subscriptions and the event loop, and hands the xApp an :class:`XAppContext` for sending controls and
reading its clock, metrics and configuration. Nothing in the constructor touches the network.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ricsdk.e2 import e2ap
from ricsdk.e2.slice_quota import QuotaParamIds, SliceQuota, SliceQuotaEncoder
from ricsdk.errors import LocalProtocolError
from ricsdk.runtime.handlers import HandlerKind, HandlerSpec, collect_handlers
from ricsdk.runtime.subscriptions import KpmSubscriptionSpec
from ricsdk.transport.base import Message

if TYPE_CHECKING:
    from ricsdk.runtime.metrics import RuntimeMetrics

__all__ = ["RIC_CONTROL_REQ", "Health", "XApp", "XAppContext"]

RIC_CONTROL_REQ = 12040


@dataclass(frozen=True, slots=True)
class Health:
    """The answer of ``check_health``: healthy or not, and why."""

    ok: bool
    detail: str = ""


class XAppContext:
    """What a running xApp can do: send controls and messages, read the clock, metrics and configuration."""

    def __init__(
        self,
        *,
        send: Callable[[Message], Awaitable[None]],
        control_sent: Callable[[str, e2ap.RicRequestId, bytes, tuple[str, ...]], None],
        next_call_process_id: Callable[[], bytes],
        clock: Callable[[], int],
        metrics: RuntimeMetrics,
        config: Mapping[str, Any],
        e2ap_version: e2ap.E2apVersion = e2ap.E2apVersion.V2,
    ) -> None:
        self._send = send
        self._control_sent = control_sent
        self._next_cpid = next_call_process_id
        self.clock = clock
        self.metrics = metrics
        self.config = config
        self.e2ap_version = e2ap_version
        self._encoders: dict[QuotaParamIds | None, SliceQuotaEncoder] = {}

    async def send(self, msg: Message) -> None:
        await self._send(msg)

    def control_request(
        self,
        e2_node: str,
        request_id: e2ap.RicRequestId,
        ran_function_id: int,
        header: bytes,
        message: bytes,
        slices: tuple[str, ...] = (),
    ) -> tuple[bytes, bytes]:
        """Build a RICcontrolRequest PDU (asking for an acknowledgement) and register it with the tracker.

        Returns ``(pdu, call_process_id)``; the caller sends the PDU (mtype 12040, MEID = E2 node).
        """
        cpid = self._next_cpid()
        pdu = e2ap.encode_control_request(
            request_id, ran_function_id, header, message, cpid, e2ap.ControlAckRequest.ACK
        )
        self._control_sent(e2_node, request_id, cpid, slices)
        return pdu, cpid

    def quota_encoder(self, ids: QuotaParamIds | None = None) -> SliceQuotaEncoder:
        enc = self._encoders.get(ids)
        if enc is None:
            enc = self._encoders[ids] = SliceQuotaEncoder(ids) if ids is not None else SliceQuotaEncoder()
        return enc

    async def send_slice_quotas(
        self,
        e2_node: str,
        quotas: Sequence[SliceQuota],
        *,
        request_id: e2ap.RicRequestId,
        ran_function_id: int,
        ids: QuotaParamIds | None = None,
    ) -> bytes:
        """Send one RC slice PRB quota control (Style 2, Action 6) for ``quotas``; returns its call process id."""
        header, message = self.quota_encoder(ids).encode(quotas)
        pdu, cpid = self.control_request(
            e2_node, request_id, ran_function_id, header, message, tuple(q.snssai.key for q in quotas)
        )
        await self._send(Message(RIC_CONTROL_REQ, pdu, sub_id=request_id.instance_id, meid=e2_node))
        return cpid


class XApp:
    """Base class of every xApp. Override the hooks you need; declare handlers with the decorators."""

    name: str = "xapp"
    version: str = "0.0.0"
    handlers: ClassVar[dict[tuple[HandlerKind, str | int | None], HandlerSpec]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.handlers = collect_handlers(cls)

    def __init__(self) -> None:
        self._ctx: XAppContext | None = None

    @property
    def ctx(self) -> XAppContext:
        if self._ctx is None:
            raise LocalProtocolError(f"{type(self).__name__} is not running: no context yet")
        return self._ctx

    def bind(self, ctx: XAppContext | None) -> None:
        """Called by the runner when it starts (and with None when it stops)."""
        self._ctx = ctx

    # -- hooks ---------------------------------------------------------------------------------------------
    async def load(self) -> None:
        """Load models and state. Called once the transport is up, before subscribing."""

    async def reconfigure(self, config: Mapping[str, Any]) -> None:
        """Apply a new configuration without a restart."""

    def check_health(self) -> Health:
        return Health(True)

    def subscriptions(self) -> Sequence[KpmSubscriptionSpec]:
        """The KPM subscriptions to set up at start."""
        return ()

    async def close(self) -> None:
        """Release what ``load`` acquired. Called while the runner stops."""
