"""``ricsdk lineage verify`` and ``ricsdk lineage query``: check chains and ask governance about decisions.

``verify SPOOL_DIR`` re-reads a spool offline (every frame, hash, link and sequence) and names each bad record;
``verify --governance URL`` asks governance to re-verify what it stored (every instance, or ``--instance``).
``query`` asks governance: ``governing`` (the model version governing a slice at a time), ``decisions`` (a
slice's decisions in a time range), ``decision`` (one decision with its provenance), ``lifecycle``, ``stats``.

Exit status: 0 when everything verifies (or the query answered), 1 when an issue was found or governance
refused or failed, 2 for bad arguments.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ricsdk.errors import RicSdkError

__all__ = ["lineage"]


@click.group()
def lineage() -> None:
    """Decision lineage: verify spools and stored chains, query governance."""


def _client(url: str, token: str | None, ca: str | None) -> Any:
    from rapps.governance.client import GovernanceClient

    return GovernanceClient(url, token=token, verify=ca if ca else True)


@lineage.command()
@click.argument("spool_dir", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--governance", "url", help="verify what this governance (REST URL) stores instead")
@click.option("--instance", help="with --governance: only this instance")
@click.option("--token", envvar="RICSDK_GOVERNANCE_TOKEN", help="bearer token (env RICSDK_GOVERNANCE_TOKEN)")
@click.option("--ca", type=click.Path(exists=True, dir_okay=False), help="CA bundle to trust for HTTPS")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
def verify(
    spool_dir: Path | None, url: str | None, instance: str | None, token: str | None, ca: str | None, as_json: bool
) -> None:
    """Verify a spool directory, or (with --governance) the chains governance stores."""
    if (spool_dir is None) == (url is None):
        raise click.UsageError("give SPOOL_DIR or --governance URL")
    if spool_dir is not None:
        from ricsdk.lineage import verify_spool

        try:
            report = verify_spool(spool_dir)
        except RicSdkError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        if as_json:
            doc = {
                "path": report.path,
                "ok": report.ok,
                "segments": report.segments,
                "records": report.records,
                "instances": {k: vars_of(v) for k, v in report.instances.items()},
                "issues": [
                    {
                        "kind": i.kind.value,
                        "instance": i.instance,
                        "sequence": i.sequence,
                        "segment": i.segment,
                        "offset": i.offset,
                        "detail": i.detail,
                    }
                    for i in report.issues
                ],
            }
            click.echo(json.dumps(doc, indent=2))
        else:
            for name, summary in report.instances.items():
                click.echo(
                    f"{name}: sequences {summary.first_sequence}..{summary.last_sequence}, {summary.records} main "
                    f"+ {summary.overflow_records} overflow records, acknowledged {summary.acknowledged}"
                )
            for issue in report.issues:
                click.echo(str(issue))
            click.echo(f"{'OK' if report.ok else 'FAILED'}: {report.records} records in {report.segments} segments")
        sys.exit(0 if report.ok else 1)
    assert url is not None
    try:
        with _client(url, token, ca) as client:
            names = [instance] if instance else [c["instance"] for c in client.chains()]
            results = [client.verify_chain(name) for name in names]
    except RicSdkError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(results, indent=2))
    else:
        for result in results:
            for issue in result["issues"]:
                click.echo(
                    f"{issue['kind']}: instance {issue['instance']!r} sequence {issue['sequence']} "
                    f"({issue['stream']}): {issue['detail']}"
                )
            status = "OK" if result["ok"] else "FAILED"
            click.echo(
                f"{status}: {result['instance']}: {result['records']} stored records, "
                f"{result['integrity_events']} integrity events at ingest"
            )
    sys.exit(0 if all(r["ok"] for r in results) else 1)


def vars_of(summary: Any) -> dict[str, Any]:
    return {
        "first_sequence": summary.first_sequence,
        "last_sequence": summary.last_sequence,
        "records": summary.records,
        "overflow_records": summary.overflow_records,
        "acknowledged": summary.acknowledged,
    }


@lineage.command()
@click.argument("what", type=click.Choice(["governing", "decisions", "decision", "lifecycle", "stats"]))
@click.option("--governance", "url", envvar="RICSDK_GOVERNANCE_URL", default="http://127.0.0.1:8071", show_default=True)
@click.option("--token", envvar="RICSDK_GOVERNANCE_TOKEN", help="bearer token (env RICSDK_GOVERNANCE_TOKEN)")
@click.option("--ca", type=click.Path(exists=True, dir_okay=False), help="CA bundle to trust for HTTPS")
@click.option("--slice", "slice_id", help="S-NSSAI, e.g. 1-000001 (governing, decisions, lifecycle)")
@click.option("--at", help="time: ns since the epoch or ISO-8601 (governing)")
@click.option("--start", default="0", help="from (decisions)")
@click.option("--end", help="to, exclusive (decisions)")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--instance", help="xApp instance (decision)")
@click.option("--sequence", type=int, help="record sequence (decision)")
@click.option("--model", "model_name", help="model name (stats)")
def query(
    what: str,
    url: str,
    token: str | None,
    ca: str | None,
    slice_id: str | None,
    at: str | None,
    start: str,
    end: str | None,
    limit: int,
    instance: str | None,
    sequence: int | None,
    model_name: str | None,
) -> None:
    """Ask governance WHAT: governing | decisions | decision | lifecycle | stats (JSON on stdout)."""
    needs = {
        "governing": ("slice_id", "at"),
        "decisions": ("slice_id",),
        "decision": ("instance", "sequence"),
        "lifecycle": ("slice_id",),
        "stats": (),
    }[what]
    given = {"slice_id": slice_id, "at": at, "instance": instance, "sequence": sequence}
    missing = [n for n in needs if given[n] is None]
    if missing:
        raise click.UsageError(f"{what} needs " + ", ".join("--" + n.replace("_id", "") for n in missing))
    try:
        with _client(url, token, ca) as client:
            if what == "governing":
                result = client.get(f"/v1/slices/{slice_id}/governing", at=at)
            elif what == "decisions":
                result = client.get("/v1/decisions", slice_id=slice_id, start=start, end=end, limit=limit)
            elif what == "decision":
                result = client.get(f"/v1/decisions/{instance}/{sequence}")
            elif what == "lifecycle":
                result = client.get(f"/v1/slices/{slice_id}/lifecycle")
            else:
                result = client.get("/v1/models/stats", name=model_name)
    except RicSdkError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(json.dumps(result, indent=2))
