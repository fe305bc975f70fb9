"""``ricsdk xapp run MANIFEST``: a model-only xApp with no Python of the user's own.

Everything comes from the manifest and the environment the OSC xApp chart provides (``RMR_*`` for the
transport, ``CONFIG_FILE`` / ``XAPP_DESCRIPTOR_PATH`` for the descriptor, ``HOSTNAME``, ``RICSDK_SUBMGR_URL``,
``RICSDK_APPMGR_URL``). With a descriptor (``--osc``, the default when one is found) the xApp subscribes through
the Subscription Manager, registers with appmgr and reloads its configuration; without (``--standalone``) it
subscribes to the E2 nodes directly over the transport. The HTTP server serves the OSC health probes,
``/metrics`` and the Subscription Manager's callback. SIGTERM or SIGINT stops it cleanly.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path

import click

from ricsdk.errors import RicSdkError

__all__ = ["xapp"]


@click.group()
def xapp() -> None:
    """Run xApps defined by a manifest."""


@xapp.command("run")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--transport", "transport_kind", type=click.Choice(["rmr", "grpc"]), default="rmr", show_default=True)
@click.option("--rmr-port", type=int, default=None, help="RMR data port (default: descriptor's rmrdata, else 4560).")
@click.option("--grpc-target", default=None, help="host:port of the E2 relay service (with --transport grpc).")
@click.option("--http-host", default="0.0.0.0", show_default=True)
@click.option(
    "--http-port", type=int, default=None, help="Health, metrics and callbacks (default: descriptor, else 8080)."
)
@click.option(
    "--lineage-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Record every decision in a lineage spool there.",
)
@click.option("--governance", "governance", default=None, help="host:port of governance's lineage gRPC service.")
@click.option(
    "--governance-token-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="File holding the bearer token for governance (else RICSDK_GOVERNANCE_TOKEN).",
)
@click.option(
    "--osc/--standalone",
    default=None,
    help="Use the OSC Subscription Manager and appmgr (default: when a descriptor is found).",
)
@click.option(
    "--batch-wait-ms",
    type=click.FloatRange(0, 10_000),
    default=0.0,
    show_default=True,
    help="After the first indication of a batch, wait this long for more before deciding (many cells in one "
    "batch: less CPU, up to this much more latency). Keep it well under the reporting period.",
)
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info")
@click.option("--console-logs", is_flag=True, help="Human-readable logs instead of JSON lines.")
def run(
    manifest: Path,
    transport_kind: str,
    rmr_port: int | None,
    grpc_target: str | None,
    http_host: str,
    http_port: int | None,
    lineage_dir: Path | None,
    governance: str | None,
    governance_token_file: Path | None,
    osc: bool | None,
    batch_wait_ms: float,
    log_level: str,
    console_logs: bool,
) -> None:
    """Run the model-only xApp described by MANIFEST until SIGTERM."""
    from ricsdk import logs

    logs.configure(json=not console_logs, level=log_level)
    if transport_kind == "grpc" and not grpc_target:
        raise click.BadParameter("--grpc-target is required with --transport grpc", param_hint="--grpc-target")
    if governance and lineage_dir is None:
        raise click.BadParameter(
            "--governance ships the lineage spool: give --lineage-dir too", param_hint="--governance"
        )
    token = (
        governance_token_file.read_text().strip()
        if governance_token_file is not None
        else os.environ.get("RICSDK_GOVERNANCE_TOKEN")
    )
    try:
        asyncio.run(
            _run(
                manifest,
                transport_kind,
                rmr_port,
                grpc_target,
                http_host,
                http_port,
                lineage_dir,
                osc,
                governance,
                token,
                batch_wait_ms / 1000.0,
            )
        )
    except RicSdkError as exc:
        raise click.ClickException(str(exc)) from exc


async def _run(
    manifest_path: Path,
    transport_kind: str,
    rmr_port: int | None,
    grpc_target: str | None,
    http_host: str,
    http_port: int | None,
    lineage_dir: Path | None,
    osc: bool | None,
    governance: str | None = None,
    token: str | None = None,
    batch_wait_s: float = 0.0,
) -> None:
    from ricsdk.lineage import LineageRecorder, Spool, SpoolConfig
    from ricsdk.lineage.reporter import GrpcLineageClient, LineageReporter
    from ricsdk.runtime.appmgr import AppmgrClient, AppmgrConfig, Registration
    from ricsdk.runtime.config import ConfigWatcher, XAppConfig
    from ricsdk.runtime.manifest import load_manifest
    from ricsdk.runtime.model_xapp import ModelXApp
    from ricsdk.runtime.platform import PlatformConfig, PlatformServer, XAppHost, descriptor_of
    from ricsdk.runtime.runner import RunnerConfig, XAppRunner
    from ricsdk.runtime.submgr import ClientEndpoint, SubmgrConfig, SubmgrSubscriber
    from ricsdk.runtime.subscriptions import Subscriber
    from ricsdk.transport.base import Transport

    env = os.environ
    descriptor: XAppConfig | None = None
    if env.get("CONFIG_FILE") or env.get("XAPP_DESCRIPTOR_PATH"):
        descriptor = XAppConfig.from_env()
    use_osc = descriptor is not None if osc is None else osc
    if use_osc and descriptor is None:
        raise click.UsageError("--osc needs a descriptor (CONFIG_FILE or XAPP_DESCRIPTOR_PATH)")
    port = http_port if http_port is not None else descriptor.http_port if descriptor is not None else 8080

    manifest = load_manifest(manifest_path)
    transport: Transport
    if transport_kind == "rmr":
        from ricsdk.transport.rmr import RmrConfig, RmrTransport

        data_port = rmr_port if rmr_port is not None else descriptor.rmr_data_port if descriptor else 4560
        transport = RmrTransport(RmrConfig.from_env(listen_port=data_port))
    else:
        from ricsdk.transport.grpc import GrpcE2Transport, GrpcTransportConfig

        assert grpc_target is not None
        transport = GrpcE2Transport(GrpcTransportConfig(target=grpc_target, app_id=manifest.name))

    recorder: LineageRecorder | None = None
    reporter: LineageReporter | None = None
    lineage_client: GrpcLineageClient | None = None
    if lineage_dir is not None:
        spool = Spool(lineage_dir, SpoolConfig())
        recorder = LineageRecorder(spool, instance=f"{manifest.name}-{socket.gethostname()}")
        recorder.open()
        await recorder.start()
        if governance:
            lineage_client = GrpcLineageClient(governance, token=token)
            reporter = LineageReporter(spool, lineage_client)
            await reporter.start()
    app = ModelXApp(manifest, lineage=recorder, reporter=reporter)

    subscriber: Subscriber | None = None
    submgr: SubmgrSubscriber | None = None
    if use_osc:
        assert descriptor is not None
        host = f"service-ricxapp-{descriptor.name}-http.ricxapp"
        submgr = SubmgrSubscriber(SubmgrConfig.from_env(), ClientEndpoint(host, port, descriptor.rmr_data_port))
        subscriber = submgr
    runner = XAppRunner(
        app,
        transport,
        subscriber=subscriber,
        config=RunnerConfig(app_config=descriptor.controls if descriptor else {}, batch_wait_s=batch_wait_s),
    )
    watcher = ConfigWatcher(descriptor, app.reconfigure) if descriptor is not None else None
    platform = PlatformServer(
        runner,
        config=PlatformConfig(host=http_host, port=port),
        descriptor=descriptor_of(watcher, descriptor),
        subscriptions=submgr,
    )
    appmgr = registration = None
    if use_osc and descriptor is not None:
        appmgr = AppmgrClient(AppmgrConfig.from_env())
        registration = Registration.from_config(descriptor)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with XAppHost(runner, platform, appmgr=appmgr, registration=registration, watcher=watcher):
            click.echo(f"{manifest.name} {manifest.version} running; http on port {platform.port}", err=True)
            await stop.wait()
    finally:
        if recorder is not None:
            await recorder.stop()
        if reporter is not None:
            if not await reporter.flush(10.0):
                click.echo("lineage not fully shipped to governance; the spool keeps the rest", err=True)
            await reporter.aclose()
        if recorder is not None:
            await recorder.aclose()
        if lineage_client is not None:
            await lineage_client.aclose()
