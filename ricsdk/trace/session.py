"""Running an xApp over a replayed trace, and what came out of it.

This module sits above the runtime (as :mod:`ricsdk.testing` does): :func:`replay_xapp` builds a
:class:`~ricsdk.trace.replay.ReplayTransport`, starts an :class:`~ricsdk.runtime.runner.XAppRunner` on it (the
xApp loads and subscribes; the replay answers), opens the gate, waits until the xApp has handled the whole
trace, stops the runner and returns a :class:`ReplayRun`: the controls the xApp sent, decoded into slice PRB
quotas (E2SM-RC Style 2 Action 6) and attributed to the E2 node's period they followed, the control tracker's
outcome counters, and timings.

The ``period`` of a control is the index (0-based) of the indication of its E2 node after which it was sent;
:meth:`ReplayRun.in_force` turns the controls into the quotas in force for each slice after every period.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from ricsdk.e2 import e2ap
from ricsdk.e2.slice_quota import QuotaParamIds, decode_slice_quotas
from ricsdk.errors import ConfigError, E2DecodeError, RicSdkError
from ricsdk.runtime.manifest import Manifest
from ricsdk.runtime.model_xapp import ModelXApp
from ricsdk.runtime.runner import RunnerConfig, XAppRunner
from ricsdk.runtime.state import XAppState
from ricsdk.runtime.xapp import XApp
from ricsdk.trace.records import Direction, TraceRecord
from ricsdk.trace.replay import RIC_INDICATION, ReplayConfig, ReplayStats, ReplayTransport, SentMessage

__all__ = [
    "ControlAction",
    "Quota",
    "ReplayError",
    "ReplayRun",
    "decode_control",
    "manifest_for_trace",
    "manifest_with_model",
    "replay_xapp",
    "trace_nodes",
]

log = structlog.get_logger(__name__)

#: (min ratio, max ratio, dedicated ratio), percent
Quota = tuple[int, int, int]


class ReplayError(RicSdkError):
    """A replay that could not run to its end (the xApp did not start, the trace was not consumed in time)."""


@dataclass(frozen=True, slots=True)
class ControlAction:
    """One RIC control request the xApp sent during a replay, decoded."""

    seq: int
    e2_node: str
    period: int
    trace_index: int
    request_id: tuple[int, int]
    call_process_id: bytes | None
    #: slice key (``"1-000001"``) -> quota, empty when ``error`` says why it could not be decoded
    quotas: Mapping[str, Quota]
    payload: bytes
    error: str = ""


def decode_control(sent: SentMessage, seq: int, ids: QuotaParamIds | None = None) -> ControlAction:
    """Decode a RICcontrolRequest carrying slice PRB quotas; a payload that does not decode keeps its error."""
    try:
        pdu = e2ap.decode_e2ap(sent.payload)
        if not isinstance(pdu, e2ap.RicControlRequest):
            raise E2DecodeError(f"mtype 12040 carries a {type(pdu).__name__}")
    except E2DecodeError as exc:
        return ControlAction(seq, sent.meid, sent.period, sent.trace_index, (-1, -1), None, {}, sent.payload, str(exc))
    rid = (pdu.request_id.requestor_id, pdu.request_id.instance_id)
    try:
        quotas = decode_slice_quotas(pdu.header, pdu.message, ids)
    except E2DecodeError as exc:
        return ControlAction(
            seq, sent.meid, sent.period, sent.trace_index, rid, pdu.call_process_id, {}, sent.payload, str(exc)
        )
    return ControlAction(
        seq,
        sent.meid,
        sent.period,
        sent.trace_index,
        rid,
        pdu.call_process_id,
        {q.snssai.key: (q.min_ratio, q.max_ratio, q.dedicated_ratio) for q in quotas},
        sent.payload,
    )


@dataclass(frozen=True, slots=True)
class ReplayRun:
    """What a replay produced."""

    controls: tuple[ControlAction, ...]
    sent: tuple[SentMessage, ...]
    stats: ReplayStats
    #: indications delivered per E2 node (the node's number of periods)
    periods: Mapping[str, int]
    #: control tracker counters after the run: acked, failed, timed_out, pending
    outcomes: Mapping[str, int]
    #: indication bytes delivered -> control bytes sent, per control (ns), when the xApp measures it
    loop_latency_ns: tuple[int, ...]
    #: per indication: delivery -> the xApp asking for the next message (ns)
    handle_ns: tuple[int, ...]
    #: from opening the gate until the xApp had handled the whole trace (start and stop of the xApp excluded)
    elapsed_s: float

    def control_bytes(self) -> tuple[bytes, ...]:
        """The controls exactly as sent (what determinism is judged on)."""
        return tuple(c.payload for c in self.controls)

    def in_force(self) -> dict[str, list[dict[str, Quota]]]:
        """Per E2 node, per period: the quota in force for each slice once that period's controls were sent."""
        by_node: dict[str, list[ControlAction]] = {}
        for c in self.controls:
            by_node.setdefault(c.e2_node, []).append(c)
        out: dict[str, list[dict[str, Quota]]] = {}
        for node, n in self.periods.items():
            controls = by_node.get(node, [])
            k = 0
            current: dict[str, Quota] = {}
            timeline = []
            for p in range(n):
                while k < len(controls) and controls[k].period <= p:
                    current.update(controls[k].quotas)
                    k += 1
                timeline.append(dict(current))
            out[node] = timeline
        return out


def trace_nodes(records: Iterable[TraceRecord]) -> tuple[str, ...]:
    """The E2 nodes whose indications the trace holds, in order of first appearance."""
    seen: dict[str, None] = {}
    for r in records:
        if r.direction is Direction.IN and r.mtype == RIC_INDICATION and r.meid:
            seen.setdefault(r.meid, None)
    return tuple(seen)


def manifest_for_trace(manifest: Manifest, records: Sequence[TraceRecord]) -> Manifest:
    """The manifest subscribing to the E2 nodes of the trace instead of its own list."""
    nodes = trace_nodes(records)
    if not nodes:
        raise ReplayError("the trace holds no indication: nothing to replay into the xApp")
    return dataclasses.replace(manifest, subscription=dataclasses.replace(manifest.subscription, e2_nodes=nodes))


def manifest_with_model(manifest: Manifest, onnx: str | Path) -> Manifest:
    """The manifest serving another ONNX artifact (same inputs and mapping); its digest is computed here.

    The model keeps the manifest's name; its version becomes the file's stem, so lineage and reports tell the
    two apart.
    """
    path = Path(onnx).resolve()
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ConfigError(f"cannot read the model: {exc}", source=str(path)) from exc
    model = dataclasses.replace(manifest.model, path=path, sha256=digest, version=path.stem)
    return dataclasses.replace(manifest, model=model)


async def replay_xapp(
    app: XApp,
    records: Sequence[TraceRecord],
    config: ReplayConfig | None = None,
    *,
    runner_config: RunnerConfig | None = None,
    quota_ids: QuotaParamIds | None = None,
    timeout_s: float | None = None,
) -> ReplayRun:
    """Replay ``records`` into ``app`` (see the module docstring) and return what it did.

    ``quota_ids`` decodes the controls (a :class:`~ricsdk.runtime.model_xapp.ModelXApp` brings its manifest's);
    ``timeout_s`` bounds the replay itself (not the xApp's start).
    """
    transport = ReplayTransport(records, config)
    runner = XAppRunner(app, transport, config=runner_config)
    if quota_ids is None and isinstance(app, ModelXApp):
        quota_ids = app.manifest.control.param_ids
    async with runner:
        if runner.state is not XAppState.RUNNING:
            log.warning("replay: the xApp is not fully subscribed", state=runner.state.value)
        started = time.perf_counter()
        transport.play()
        try:
            await transport.wait_done(timeout_s)
        except TimeoutError as exc:
            raise ReplayError(
                f"replay not finished after {timeout_s} s ({transport.stats.delivered} of "
                f"{transport.feed_size} records delivered)"
            ) from exc
        elapsed = time.perf_counter() - started
        t = runner.tracker
        outcomes = {"acked": t.acked, "failed": t.failed, "timed_out": t.timed_out, "pending": t.pending}
    controls = tuple(decode_control(s, i, quota_ids) for i, s in enumerate(transport.controls))
    periods = transport.periods_delivered()
    latency = tuple(getattr(app, "loop_latency_ns", ()))
    st = transport.stats
    log.info(
        "replay finished",
        delivered=st.delivered,
        indications=st.indications,
        unsubscribed=st.unsubscribed,
        controls=len(controls),
        elapsed_s=round(elapsed, 3),
    )
    return ReplayRun(
        controls,
        tuple(transport.sent),
        st,
        periods,
        outcomes,
        latency,
        tuple(transport.handle_ns),
        elapsed,
    )
