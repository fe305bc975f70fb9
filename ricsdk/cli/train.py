"""``ricsdk train``: models trained in the twin (``demand``, ``policy``) and judged in it (``evaluate``).

::

    ricsdk train demand --scenario steady --scenario flash_crowd --seed 7 --out xapps/slice_prb_allocator/model
    ricsdk train policy --scenario flash_crowd --seed 7 --out build/policy
    ricsdk train evaluate xapps/slice_prb_allocator/manifest.yaml build/policy/manifest.yaml --scenario flash_crowd

``--manifest`` names the xApp manifest whose features, window and model names the model is trained for (the
flagship's by default, relative to the working directory). ``demand`` updates that manifest in place (digest,
and version with ``--version``) when ``--out`` is its model's directory, and otherwise writes a manifest beside
the model; ``policy`` always writes its own manifest beside its model.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from ricsdk.errors import RicSdkError

__all__ = ["train"]

FLAGSHIP_MANIFEST = Path("xapps/slice_prb_allocator/manifest.yaml")

_manifest_option = click.option(
    "--manifest",
    "manifest_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=FLAGSHIP_MANIFEST,
    show_default=True,
    help="The xApp manifest the model serves: its features, window and model names.",
)


@click.group()
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    help="Progress (runs collected, search iterations) is logged at info, on stderr.",
)
def train(log_level: str) -> None:
    """Train models in the digital twin and evaluate them against it."""
    from ricsdk import logs

    logs.configure(json=False, level=log_level)


@train.command("demand")
@click.option("--scenario", "scenarios", multiple=True, required=True, help="Shipped scenario name or file (repeat).")
@click.option("--seed", type=int, default=7, show_default=True, help="Seeds every run, the exploration and the MLP.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Artifact directory.")
@_manifest_option
@click.option("--train-episodes", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--val-episodes", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--ticks", type=click.IntRange(min=16), default=None, help="Cap on each run's ticks (default: whole).")
@click.option("--max-iter", type=click.IntRange(min=1), default=60, show_default=True, help="MLP epochs at most.")
@click.option("--version", "version", default=None, help="Model version (default: the manifest's).")
def demand(
    scenarios: tuple[str, ...],
    seed: int,
    out: Path,
    manifest_path: Path,
    train_episodes: int,
    val_episodes: int,
    ticks: int | None,
    max_iter: int,
    version: str | None,
) -> None:
    """Train the demand (next-period PRB need) model on twin data and write model.onnx, model.json, manifest."""
    from ricsdk.runtime.manifest import load_manifest
    from ricsdk.training.artifact import manifest_text_with_model, write_artifact
    from ricsdk.training.demand import DemandConfig, check_beats_baseline, train_demand
    from ricsdk.twin import load_scenario

    try:
        manifest = load_manifest(manifest_path)
        config = DemandConfig(
            seed=seed,
            train_episodes=train_episodes,
            val_episodes=val_episodes,
            ticks=ticks,
            max_iter=max_iter,
            version=version,
        )
        result = train_demand(manifest, [load_scenario(s) for s in scenarios], config)
        m, t = result.metrics, result.artifact.lineage["training"]
        click.echo(f"rows: {t['rows_train']} train, {t['rows_val']} validation; data sha256 {t['data_sha256']}")
        click.echo(
            f"validation MAE: model {m['val_mae']:.3f} % PRB, "
            f"baseline (repeat last PRB usage) {m['baseline_val_mae']:.3f}"
        )
        for name, s in m["val_by_slice"].items():
            click.echo(f"  {name}: model {s['mae']:.3f}, baseline {s['baseline_mae']:.3f}")
        click.echo(f"validation RMSE: model {m['val_rmse']:.3f}, baseline {m['baseline_val_rmse']:.3f}")
        click.echo(f"onnxruntime vs scikit-learn, max |diff| on validation rows: {m['onnx_sklearn_max_abs_diff']:.2e}")
        check_beats_baseline(result)
        fields = {"sha256": result.artifact.sha256}
        if version is not None:
            fields["version"] = version
        text = manifest_path.read_text()
        if manifest.model.path == (out / "model.onnx").resolve():
            target = manifest_path
        else:
            target = out / "manifest.yaml"
            fields["path"] = "model.onnx"
        written = write_artifact(
            result.artifact, out, manifest_text=manifest_text_with_model(text, **fields), manifest_path=target
        )
    except RicSdkError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {', '.join(str(p) for p in written)} (model sha256 {result.artifact.sha256})")


@train.command("policy")
@click.option("--scenario", required=True, help="Shipped scenario name or file.")
@click.option("--seed", type=int, default=7, show_default=True, help="Seeds the episodes and the search.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Artifact directory.")
@_manifest_option
@click.option("--iterations", type=click.IntRange(min=1), default=12, show_default=True)
@click.option("--population", type=click.IntRange(min=2), default=20, show_default=True)
@click.option("--elite", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--episodes", type=click.IntRange(min=1), default=1, show_default=True, help="Per candidate.")
@click.option("--episode-ticks", type=click.IntRange(min=16), default=1200, show_default=True)
@click.option("--cost-weight", type=click.FloatRange(min=0.0), default=0.002, show_default=True)
@click.option(
    "--hidden", type=click.IntRange(min=1), multiple=True, default=(), help="Hidden layer sizes (default: linear)."
)
def policy(
    scenario: str,
    seed: int,
    out: Path,
    manifest_path: Path,
    iterations: int,
    population: int,
    elite: int,
    episodes: int,
    episode_ticks: int,
    cost_weight: float,
    hidden: tuple[int, ...],
) -> None:
    """Train a quota policy in the Gymnasium environment (cross-entropy method) and write it with its manifest."""
    from ricsdk.runtime.manifest import load_manifest
    from ricsdk.training.artifact import write_artifact
    from ricsdk.training.policy import PolicyConfig, policy_manifest_text, train_policy
    from ricsdk.twin import load_scenario

    target = out / "manifest.yaml"
    if target.resolve() == manifest_path.resolve():
        raise click.BadParameter("--out would overwrite the template manifest", param_hint="--out")
    try:
        template = load_manifest(manifest_path)
        sc = load_scenario(scenario)
        config = PolicyConfig(
            seed=seed,
            hidden=hidden,
            iterations=iterations,
            population=population,
            elite=elite,
            episodes=episodes,
            episode_ticks=episode_ticks,
            cost_weight=cost_weight,
        )
        result = train_policy(template, sc, config)
        for h in result.history:
            click.echo(
                f"iteration {h['iteration']:2d}: best {h['best']:.3f}, elite mean {h['elite_mean']:.3f}, "
                f"population mean {h['population_mean']:.3f}"
            )
        m = result.metrics
        click.echo(
            f"validation return: policy {m['val_return']:.3f}, no reservation {m['val_return_no_reservation']:.3f}; "
            f"SLA satisfaction {m['val_sla_satisfaction']:.5f} vs {m['val_sla_satisfaction_no_reservation']:.5f}; "
            f"reserved share {m['val_prb_reserved_share']:.3f}"
        )
        written = write_artifact(
            result.artifact,
            out,
            manifest_text=policy_manifest_text(template, sc, result.artifact),
            manifest_path=target,
        )
    except RicSdkError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {', '.join(str(p) for p in written)} (model sha256 {result.artifact.sha256})")


@train.command("evaluate")
@click.argument("manifests", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--scenario", default="flash_crowd", show_default=True)
@click.option("--transport", type=click.Choice(["memory", "rmr", "grpc"]), default="memory", show_default=True)
@click.option("--periods", type=click.IntRange(min=1), default=None, help="Ticks (default: the whole scenario).")
@click.option("--seed", type=int, default=None, help="Twin seed (default: the scenario's).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None)
def evaluate(
    manifests: tuple[Path, ...],
    scenario: str,
    transport: str,
    periods: int | None,
    seed: int | None,
    json_out: Path | None,
) -> None:
    """Run each MANIFEST's xApp and the baselines closed-loop against the twin; print their SLA figures."""
    from ricsdk.training.evaluate import compare, manifest_factory
    from ricsdk.twin import load_scenario

    try:
        sc = load_scenario(scenario)
        policies = {str(p): manifest_factory(p) for p in manifests}
        rows = asyncio.run(compare(policies, sc, transport, periods, seed=seed))
    except RicSdkError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{sc.name}, {rows[0].ticks} ticks, transport {transport}")
    click.echo(f"{'policy':<48} {'violation cell-s':>16} {'ratio':>8} {'shortfall Mbit':>14} {'URLLC p99 ms':>12}")
    for r in rows:
        click.echo(
            f"{r.name:<48} {r.violation_s:>16.1f} {r.violation_ratio:>8.4f} "
            f"{r.throughput_shortfall_mbit:>14.1f} {r.urllc_p99_delay_ms:>12.1f}"
        )
    if json_out is not None:
        json_out.write_text(json.dumps([r.as_dict() for r in rows], indent=2) + "\n")
