"""``ricsdk trace import|show|replay`` and ``ricsdk replay``: E2 traces for testers.

``import CAPTURE OUT`` turns a capture of E2AP over SCTP (tcpdump/Wireshark pcap or pcapng) into a ricsdk trace
(pcapng of exported-PDU packets with per-message metadata, Wireshark opens it); ``show TRACE`` lists a trace's
messages; ``replay TRACE`` (also ``ricsdk replay``, the same command) runs a model xApp from a manifest over the
trace and reports its controls, asserts them against an expectations file (``--expect``), writes the
expectations the run meets (``--write-expect``), or runs two models on the same trace and writes a comparison
report (``--compare MODEL_A MODEL_B``: two manifests, or two ONNX files served with ``--manifest``).

The manifest defaults to ``./manifest.yaml``, else the flagship's (``./xapps/slice_prb_allocator/manifest.yaml``
in a ricsdk checkout). By default the xApp subscribes to the E2 nodes the trace holds indications of
(``--nodes trace``); ``--nodes manifest`` keeps the manifest's list.

Exit status: 0 on success, 1 when the expectations fail, the replay cannot finish or a file cannot be read as a
capture, 2 for bad arguments or an invalid manifest / expectations file.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any, NoReturn

import click

from ricsdk.errors import ConfigError, RicSdkError

__all__ = ["replay", "trace"]

_MTYPE_NAMES = {
    12001: "E2_SETUP_REQ",
    12002: "E2_SETUP_RESP",
    12003: "E2_SETUP_FAILURE",
    12010: "SUB_REQ",
    12011: "SUB_RESP",
    12012: "SUB_FAILURE",
    12020: "SUB_DEL_REQ",
    12021: "SUB_DEL_RESP",
    12022: "SUB_DEL_FAILURE",
    12040: "CONTROL_REQ",
    12041: "CONTROL_ACK",
    12042: "CONTROL_FAILURE",
    12050: "INDICATION",
    20010: "A1_POLICY_REQ",
    20011: "A1_POLICY_RESP",
}


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _logs(level: str) -> None:
    from ricsdk import logs

    logs.configure(json=False, level=level)


_log_level = click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="warning",
    show_default=True,
    help="structlog level (logs go to stderr)",
)


@click.group()
def trace() -> None:
    """E2 traces: import captures, show and replay traces."""


# -- import ---------------------------------------------------------------------------------------------


def _meid_map(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for v in values:
        addr, sep, name = v.rpartition("=")
        if not sep or not addr or not name:
            raise click.BadParameter(f"expected ADDRESS=NAME, got {v!r}", param_hint="--meid")
        out[addr] = name
    return out


@trace.command("import")
@click.argument("capture", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--ric-port", "ric_ports", type=int, multiple=True, help="SCTP port of the RIC side (repeatable)")
@click.option("--ppid", "ppids", type=int, multiple=True, help="SCTP PPID that marks E2AP (repeatable; default 70)")
@click.option("--no-verify-checksum", is_flag=True, help="accept SCTP packets whose CRC32c is wrong (offload)")
@click.option("--meid", "meids", multiple=True, help="name an E2 node: IP[:PORT]=NAME (repeatable)")
@click.option("--json", "as_json", is_flag=True, help="print the import counters as JSON")
@_log_level
def import_(
    capture: Path,
    out: Path,
    ric_ports: tuple[int, ...],
    ppids: tuple[int, ...],
    no_verify_checksum: bool,
    meids: tuple[str, ...],
    as_json: bool,
    log_level: str,
) -> None:
    """Import CAPTURE (E2AP over SCTP) into the ricsdk trace OUT (pcapng)."""
    from ricsdk.trace.importer import ImportConfig, import_capture, log_summary
    from ricsdk.trace.pcap import CaptureError
    from ricsdk.trace.records import DEFAULT_RIC_PORTS, E2AP_PPID, encode_trace

    _logs(log_level)
    config = ImportConfig(
        ric_ports=ric_ports or DEFAULT_RIC_PORTS,
        ppids=ppids or (E2AP_PPID,),
        verify_checksum=not no_verify_checksum,
        meids=_meid_map(meids),
    )
    try:
        result = import_capture(capture.read_bytes(), config)
    except CaptureError as exc:
        _fail(f"{capture}: {exc}")
    log_summary(result, str(capture))
    out.write_bytes(encode_trace(result.records))
    st = result.stats
    if as_json:
        click.echo(json.dumps({"out": str(out), "nodes": dict(result.nodes), **st.as_dict()}, indent=2))
        return
    click.echo(f"{st.messages} E2AP messages from {len(result.nodes)} E2 node(s) written to {out}")
    for addr, name in result.nodes.items():
        click.echo(f"  node {name} ({addr})")
    click.echo(
        f"frames: {st.frames} read, {st.e2_frames} with E2 data; {st.reassembled} messages reassembled, "
        f"{st.duplicates} duplicate chunks, {st.incomplete} fragments incomplete"
    )
    if st.skipped:
        click.echo("skipped (not E2): " + ", ".join(f"{k} {v}" for k, v in sorted(st.skipped.items())))
    if st.malformed:
        click.echo("malformed: " + ", ".join(f"{k} {v}" for k, v in sorted(st.malformed.items())))
    if st.undecodable_e2ap:
        click.echo(f"E2AP messages that do not decode (kept): {st.undecodable_e2ap}")


# -- reading traces -------------------------------------------------------------------------------------


def _load(paths: tuple[Path, ...]) -> list[Any]:
    """Records of one or more traces (rotated segments in order); a raw SCTP capture is imported on the fly."""
    from ricsdk.trace.importer import import_capture, log_summary
    from ricsdk.trace.pcap import CaptureError

    records: list[Any] = []
    for path in paths:
        try:
            result = import_capture(path.read_bytes())
        except CaptureError as exc:
            _fail(f"{path}: {exc}")
        except OSError as exc:
            _fail(f"{path}: {exc}")
        if result.stats.malformed or result.stats.skipped:
            log_summary(result, str(path))
        records.extend(result.records)
    return records


def _e2ap_name(payload: bytes) -> str:
    from ricsdk.e2 import e2ap
    from ricsdk.errors import E2DecodeError

    try:
        return type(e2ap.decode_e2ap(payload)).__name__
    except E2DecodeError as exc:
        return f"(undecodable: {exc.reason})"


@trace.command()
@click.argument("traces", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--limit", type=int, default=0, help="list at most this many messages (0: all)")
@click.option("--summary", "summary_only", is_flag=True, help="only the summary")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per message, then the summary")
@_log_level
def show(traces: tuple[Path, ...], limit: int, summary_only: bool, as_json: bool, log_level: str) -> None:
    """List the messages of TRACE(S): time, direction, RMR type, E2 node, sub_id, E2AP message, size."""
    _logs(log_level)
    records = _load(traces)
    t0 = records[0].timestamp_ns if records else 0
    if not summary_only:
        for i, r in enumerate(records[: limit or None]):
            what = _e2ap_name(r.payload) if r.dissector == "e2ap" else r.dissector
            if as_json:
                doc = {
                    "index": i,
                    "t_s": round((r.timestamp_ns - t0) / 1e9, 6),
                    "dir": r.direction.value,
                    "mtype": r.mtype,
                    "meid": r.meid,
                    "sub_id": r.sub_id,
                    "message": what,
                    "size": len(r.payload),
                }
                click.echo(json.dumps(doc))
            else:
                name = _MTYPE_NAMES.get(r.mtype, str(r.mtype))
                click.echo(
                    f"{i:6d} {(r.timestamp_ns - t0) / 1e9:12.6f} {r.direction.value:3s} {name:16s} "
                    f"{r.meid or '-':20s} {r.sub_id:6d} {what} ({len(r.payload)} B)"
                )
    counts = Counter((r.direction.value, _MTYPE_NAMES.get(r.mtype, str(r.mtype))) for r in records)
    nodes = sorted({r.meid for r in records if r.meid})
    span = (records[-1].timestamp_ns - t0) / 1e9 if records else 0.0
    if as_json:
        doc2 = {
            "messages": len(records),
            "span_s": span,
            "nodes": nodes,
            "by_type": {f"{d} {n}": c for (d, n), c in sorted(counts.items())},
        }
        click.echo(json.dumps({"summary": doc2}))
        return
    click.echo(f"{len(records)} messages over {span:.3f} s, E2 nodes: {', '.join(nodes) or '-'}")
    for (d, n), c in sorted(counts.items()):
        click.echo(f"  {d:3s} {n:16s} {c}")


# -- replay ---------------------------------------------------------------------------------------------


def _default_manifest() -> Path:
    for candidate in (Path("manifest.yaml"), Path("xapps/slice_prb_allocator/manifest.yaml")):
        if candidate.is_file():
            return candidate
    raise click.UsageError("no manifest: give --manifest (no ./manifest.yaml, not in a ricsdk checkout)")


def _pace(value: str) -> float | None:
    if value == "max":
        return None
    try:
        pace = float(value)
    except ValueError:
        raise click.BadParameter("'max' or a speed factor > 0 (1.0 = recorded timing)", param_hint="--pace") from None
    if not pace > 0:
        raise click.BadParameter("must be > 0", param_hint="--pace")
    return pace


def _manifest_for(model: Path, base: Path | None, records: list[Any], nodes: str) -> Any:
    from ricsdk.runtime.manifest import load_manifest
    from ricsdk.trace.session import manifest_for_trace, manifest_with_model

    if model.suffix.lower() == ".onnx":
        manifest = manifest_with_model(load_manifest(base or _default_manifest()), model)
    else:
        manifest = load_manifest(model)
    return manifest_for_trace(manifest, records) if nodes == "trace" else manifest


async def _run(manifest: Any, records: list[Any], config: Any, timeout: float | None) -> Any:
    from ricsdk.runtime.model_xapp import ModelXApp
    from ricsdk.trace.session import replay_xapp

    return await replay_xapp(ModelXApp(manifest), records, config, timeout_s=timeout)


def _summary(run: Any) -> None:
    st = run.stats
    o = run.outcomes
    click.echo(
        f"replayed {st.indications} indications from {len(run.periods)} E2 node(s) in {run.elapsed_s:.3f} s; "
        f"{len(run.controls)} controls ({o['acked']} acked, {o['failed']} failed, {o['timed_out']} timed out)"
    )
    if st.unsubscribed:
        click.echo(f"indications skipped (no matching subscription): {st.unsubscribed}")
    for node, timeline in run.in_force().items():
        if timeline and timeline[-1]:
            quotas = ", ".join(f"{k} {q[0]}/{q[1]}/{q[2]}" for k, q in sorted(timeline[-1].items()))
            click.echo(f"  {node} quotas in force (min/max/dedicated %): {quotas}")


@click.command()
@click.argument("traces", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="the xApp manifest")
@click.option("--pace", default="max", show_default=True, help="'max' (as fast as possible) or a speed factor")
@click.option(
    "--control-answers",
    type=click.Choice(["synthesise", "replay", "none"]),
    default="synthesise",
    show_default=True,
    help="what answers the xApp's controls",
)
@click.option(
    "--nodes",
    type=click.Choice(["trace", "manifest"]),
    default="trace",
    show_default=True,
    help="subscribe to the trace's E2 nodes or to the manifest's",
)
@click.option("--expect", "expect_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--write-expect", type=click.Path(dir_okay=False, path_type=Path), help="write what this run does")
@click.option("--compare", nargs=2, type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("replay-compare"),
    show_default=True,
    help="--compare: report directory",
)
@click.option("--timeout", type=float, default=None, help="give up when the replay takes longer (seconds)")
@click.option("--json", "as_json", is_flag=True, help="print the run (or comparison) as JSON")
@_log_level
def replay(
    traces: tuple[Path, ...],
    manifest: Path | None,
    pace: str,
    control_answers: str,
    nodes: str,
    expect_file: Path | None,
    write_expect: Path | None,
    compare: tuple[Path, Path] | None,
    out: Path,
    timeout: float | None,
    as_json: bool,
    log_level: str,
) -> None:
    """Replay TRACE(S) into a model xApp; assert its controls (--expect) or compare two models (--compare)."""
    from ricsdk.trace.replay import ControlAnswers, ReplayConfig
    from ricsdk.trace.session import ReplayError

    if compare and (expect_file or write_expect):
        raise click.UsageError("--compare cannot be combined with --expect / --write-expect")
    _logs(log_level)
    config = ReplayConfig(pace=_pace(pace), control_answers=ControlAnswers(control_answers))
    records = _load(traces)
    try:
        if compare:
            _compare(compare, manifest, records, nodes, config, timeout, out, as_json)
            return
        m = _manifest_for(manifest or _default_manifest(), None, records, nodes)
        run = asyncio.run(_run(m, records, config, timeout))
    except ConfigError as exc:
        _fail(str(exc), 2)
    except ReplayError as exc:
        _fail(str(exc))
    except RicSdkError as exc:
        _fail(f"{type(exc).__name__}: {exc}")
    _report_run(run, expect_file, write_expect, as_json)


def _report_run(run: Any, expect_file: Path | None, write_expect: Path | None, as_json: bool) -> None:
    from ricsdk.trace.expect import check, expectations_of, load_expectations, render_diff

    if write_expect is not None:
        doc = expectations_of(run)
        text = json.dumps(doc, indent=1) if write_expect.suffix == ".json" else _yaml(doc)
        write_expect.write_text(text)
    if as_json:
        doc = {
            "indications": run.stats.indications,
            "controls": [
                {"node": c.e2_node, "period": c.period, "quotas": {k: list(q) for k, q in c.quotas.items()}}
                for c in run.controls
            ],
            "outcomes": dict(run.outcomes),
            "elapsed_s": run.elapsed_s,
        }
        click.echo(json.dumps(doc))
    else:
        _summary(run)
    if expect_file is None:
        return
    try:
        exp = load_expectations(expect_file)
    except ConfigError as exc:
        _fail(str(exc), 2)
    mismatches, checks = check(exp, run)
    if mismatches:
        click.echo(render_diff(mismatches, checks), err=True)
        sys.exit(1)
    click.echo(f"expectations met: {checks} checks against {expect_file}")


def _yaml(doc: Any) -> str:
    import yaml

    return str(yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=120))


def _compare(
    models: tuple[Path, Path],
    manifest: Path | None,
    records: list[Any],
    nodes: str,
    config: Any,
    timeout: float | None,
    out: Path,
    as_json: bool,
) -> None:
    from ricsdk.trace.compare import compare_runs, render_html, render_markdown

    runs = []
    for model in models:
        m = _manifest_for(model, manifest, records, nodes)
        runs.append(asyncio.run(_run(m, records, config, timeout)))
    report = compare_runs(runs[0], runs[1], label_a=str(models[0]), label_b=str(models[1]))
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps(report, indent=2) + "\n")
    md = render_markdown(report)
    (out / "compare.md").write_text(md)
    (out / "compare.html").write_text(render_html(report))
    if as_json:
        click.echo(json.dumps(report))
    else:
        click.echo(md, nl=False)
        click.echo(f"\nreport written to {out}/compare.json, compare.md, compare.html")


trace.add_command(replay)
