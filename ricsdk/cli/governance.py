"""``ricsdk governance serve`` and ``ricsdk models push|list|alias|pull``: the governance rApp and its registry.

``serve`` runs :class:`rapps.governance.server.GovernanceServer` until SIGINT or SIGTERM (then it stops
gracefully). The ``models`` commands talk to a running governance over REST; the token comes from
``--token`` or ``RICSDK_GOVERNANCE_TOKEN``.

Exit status: 0 on success, 1 when governance refused or failed (the reason on stderr), 2 for bad arguments.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

import click

from ricsdk.errors import ConfigError, RicSdkError

__all__ = ["governance", "models"]

_URL = click.option(
    "--governance",
    "url",
    envvar="RICSDK_GOVERNANCE_URL",
    default="http://127.0.0.1:8071",
    show_default=True,
    help="governance REST base URL (env RICSDK_GOVERNANCE_URL)",
)
_TOKEN = click.option("--token", envvar="RICSDK_GOVERNANCE_TOKEN", help="bearer token (env RICSDK_GOVERNANCE_TOKEN)")
_CA = click.option("--ca", type=click.Path(exists=True, dir_okay=False), help="CA bundle to trust for HTTPS")


def _fail(exc: Exception) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(1)


@click.group()
def governance() -> None:
    """The governance rApp: lineage ingest and queries, model registry, reports."""


@governance.command()
@click.option("--database", default="governance.db", show_default=True, help="SQLite path or PostgreSQL URL/DSN")
@click.option("--grpc-listen", default="127.0.0.1:50071", show_default=True, help="gRPC ingest HOST:PORT")
@click.option("--http-listen", default="127.0.0.1:8071", show_default=True, help="REST HOST:PORT")
@click.option("--profile", type=click.Choice(["secure", "demo"]), default="secure", show_default=True)
@click.option("--tokens", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="token file")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tls-client-ca", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="require mTLS")
@click.option("--energy-j-per-cpu-second", type=float, default=None, help="energy coefficient (default 12.0)")
@click.option("--window-s", type=float, default=60.0, show_default=True, help="slice lifecycle bucket")
@click.option("--ready-file", type=click.Path(dir_okay=False, path_type=Path), help="write bound ports as JSON")
def serve(
    database: str,
    grpc_listen: str,
    http_listen: str,
    profile: str,
    tokens: Path | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    tls_client_ca: Path | None,
    energy_j_per_cpu_second: float | None,
    window_s: float,
    ready_file: Path | None,
) -> None:
    """Serve gRPC ingest and the REST API until SIGINT/SIGTERM."""
    from rapps.governance.config import GovernanceConfig, Profile, TlsConfig, parse_listen
    from rapps.governance.reports import DEFAULT_ENERGY_J_PER_CPU_S
    from rapps.governance.server import GovernanceServer

    try:
        if (tls_cert is None) != (tls_key is None):
            raise ConfigError("--tls-cert and --tls-key go together", field="tls")
        config = GovernanceConfig(
            database=database,
            grpc_listen=parse_listen(grpc_listen, field_name="grpc_listen"),
            http_listen=parse_listen(http_listen, field_name="http_listen"),
            profile=Profile(profile),
            tokens_file=tokens,
            tls=TlsConfig(tls_cert, tls_key, tls_client_ca) if tls_cert is not None and tls_key is not None else None,
            energy_j_per_cpu_s=(
                DEFAULT_ENERGY_J_PER_CPU_S if energy_j_per_cpu_second is None else energy_j_per_cpu_second
            ),
            window_s=window_s,
            ready_file=ready_file,
        )
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc

    async def run() -> None:
        server = GovernanceServer(config)
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await server.start()
        click.echo(f"governance: gRPC on {server.grpc_port}, REST on {server.http_port}", err=True)
        try:
            await stop.wait()
        finally:
            await server.aclose()

    try:
        asyncio.run(run())
    except RicSdkError as exc:
        _fail(exc)


def _client(url: str, token: str | None, ca: str | None) -> Any:
    from rapps.governance.client import GovernanceClient

    return GovernanceClient(url, token=token, verify=ca if ca else True)


@click.group()
def models() -> None:
    """The model registry of a governance service."""


@models.command()
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--artifact", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="default: manifest's file"
)
@_URL
@_TOKEN
@_CA
def push(manifest: Path, artifact: Path | None, url: str, token: str | None, ca: str | None) -> None:
    """Upload MANIFEST (JSON) and its ONNX artifact; governance verifies the digest."""
    try:
        doc = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"cannot read the manifest: {exc}", param_hint="MANIFEST") from exc
    if artifact is None:
        name = doc.get("file") if isinstance(doc, dict) else None
        if not isinstance(name, str):
            raise click.BadParameter("the manifest names no 'file'; give --artifact", param_hint="--artifact")
        artifact = manifest.parent / name
    try:
        with _client(url, token, ca) as client:
            entry = client.push_model(doc, artifact.read_bytes())
    except (RicSdkError, OSError) as exc:
        _fail(exc)
    click.echo(f"{entry['name']} {entry['version']} {entry['digest']}")


@models.command(name="list")
@click.option("--name", help="only this model")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@_URL
@_TOKEN
@_CA
def list_models(name: str | None, as_json: bool, url: str, token: str | None, ca: str | None) -> None:
    """List registered model versions with their aliases."""
    try:
        with _client(url, token, ca) as client:
            entries = client.models(name)
    except RicSdkError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    for e in entries:
        aliases = ",".join(e["aliases"]) or "-"
        click.echo(f"{e['name']}\t{e['version']}\t{e['digest']}\t{e['size_bytes']}\t{aliases}")


@models.command()
@click.argument("name")
@click.argument("alias_name", metavar="ALIAS")
@click.argument("version")
@_URL
@_TOKEN
@_CA
def alias(name: str, alias_name: str, version: str, url: str, token: str | None, ca: str | None) -> None:
    """Point ALIAS (champion, challenger, ...) of model NAME at VERSION."""
    try:
        with _client(url, token, ca) as client:
            event = client.set_alias(name, alias_name, version)
    except RicSdkError as exc:
        _fail(exc)
    click.echo(f"{name} {alias_name} -> {version} (was {event['previous'] or 'unset'})")


@models.command()
@click.argument("name")
@click.option("--version", help="the version to pull")
@click.option("--alias", "alias_name", help="or the alias to resolve (champion, ...)")
@click.option("--digest", help="the digest to pin (default: the registry's for that version)")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@_URL
@_TOKEN
@_CA
def pull(
    name: str,
    version: str | None,
    alias_name: str | None,
    digest: str | None,
    output: Path,
    url: str,
    token: str | None,
    ca: str | None,
) -> None:
    """Download a model version's ONNX (digest-pinned) and its manifest (OUTPUT + '.json')."""
    if (version is None) == (alias_name is None):
        raise click.UsageError("give exactly one of --version and --alias")
    try:
        with _client(url, token, ca) as client:
            entry = client.resolve(name, version=version, alias=alias_name)
            data = client.pull(name, entry["version"], digest or entry["digest"])
        output.write_bytes(data)
        output.with_name(output.name + ".json").write_text(json.dumps(entry["manifest"], indent=2), encoding="utf-8")
    except (RicSdkError, OSError) as exc:
        _fail(exc)
    click.echo(f"{name} {entry['version']} {entry['digest']} -> {output}")
