"""The E2 side of the loop benchmarks: answers subscriptions, sends indications, acknowledges controls.

One driver plays the E2 Termination for any number of E2 nodes over one transport. Indications are built the
way a node builds them (KPM format 1 through the per-subscription template encoder, measurements from the
synthetic demand generator) before they are timed; every control that arrives is timestamped on receipt,
queued for the benchmark and acknowledged (E2AP only: the RC payload is not decoded, to keep the driver's own
cost off the measurement).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from ricsdk.e2 import e2ap
from ricsdk.e2.kpm import ActionDefinitionF1, F1Encoder, IndicationHeader, KpmCodec
from ricsdk.testing.e2node import _record
from ricsdk.transport.base import Transport
from xapps.slice_prb_allocator.source import DemandSource


@dataclass(slots=True)
class _Sub:
    rid: e2ap.RicRequestId
    encoder: F1Encoder
    layout: tuple[tuple[str, str], ...]
    source: DemandSource
    sn: int = 0


@dataclass(slots=True)
class Control:
    src: str
    meid: str
    received_ns: int


@dataclass
class LoopDriver:
    transport: Transport
    slice_keys: list[str]
    seed: int = 5
    subs: dict[str, _Sub] = field(default_factory=dict)
    controls: asyncio.Queue[Control] = field(default_factory=asyncio.Queue)
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)
    expected_subscriptions: int = 1
    _task: asyncio.Task[None] | None = None
    codec: KpmCodec = field(default_factory=KpmCodec)
    header: bytes = b""

    async def start(self) -> None:
        self.header = self.codec.encode_indication_header(IndicationHeader(b"\xe9\x1c\x40\x00"))
        await self.transport.start()
        self._task = asyncio.create_task(self._serve())

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.transport.aclose()

    async def _serve(self) -> None:
        async for msg in self.transport:
            if msg.mtype == 12040:
                self.controls.put_nowait(Control(msg.src, msg.meid, msg.received_ns))
                ctl = e2ap.decode_e2ap(msg.payload)
                assert isinstance(ctl, e2ap.RicControlRequest)
                ack = e2ap.RicControlAcknowledge(ctl.request_id, ctl.ran_function_id, ctl.call_process_id)
                await self.transport.reply(msg, 12041, e2ap.encode_e2ap(ack))
            elif msg.mtype == 12010:
                req = e2ap.decode_e2ap(msg.payload)
                assert isinstance(req, e2ap.RicSubscriptionRequest)
                action = req.actions[0]
                assert action.definition is not None
                adef = self.codec.decode_action_definition(action.definition)
                assert isinstance(adef.format, ActionDefinitionF1)
                info = adef.format.meas_info
                layout = tuple(
                    (i.labels[0].slice_id.key if i.labels[0].slice_id else "", str(i.meas_type)) for i in info
                )
                self.subs[msg.meid] = _Sub(
                    req.request_id,
                    F1Encoder(info, adef.format.granul_period),
                    layout,
                    DemandSource(self.slice_keys, seed=self.seed + len(self.subs)),
                )
                resp = e2ap.RicSubscriptionResponse(req.request_id, req.ran_function_id, (action.action_id,))
                await self.transport.reply(msg, 12011, e2ap.encode_e2ap(resp))
                if len(self.subs) >= self.expected_subscriptions:
                    self.subscribed.set()
            elif msg.mtype == 12020:
                req2 = e2ap.decode_e2ap(msg.payload)
                assert isinstance(req2, e2ap.RicSubscriptionDeleteRequest)
                resp2 = e2ap.RicSubscriptionDeleteResponse(req2.request_id, req2.ran_function_id)
                await self.transport.reply(msg, 12021, e2ap.encode_e2ap(resp2))

    def indication(self, meid: str, period: int) -> tuple[bytes, int]:
        """The RICindication PDU of ``meid`` for ``period``, and the RMR sub_id it travels with."""
        sub = self.subs[meid]
        values = sub.source.measure(period, sub.source.keys)
        empty: dict[str, float | int | None] = {}
        records = tuple(_record(values.get(sk, empty).get(name)) for sk, name in sub.layout)
        sub.sn = (sub.sn + 1) & 0xFFFF
        pdu = e2ap.encode_e2ap(
            e2ap.RicIndication(
                sub.rid, 2, 1, e2ap.IndicationType.REPORT, self.header, sub.encoder.encode(records), sub.sn
            )
        )
        return pdu, sub.rid.instance_id
