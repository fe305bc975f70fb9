"""Run every ``benchmarks/bench_*.py`` module and record the results.

Each module exposes ``run(quick: bool) -> dict[case_name, case_dict]`` (schema in BENCHMARKS.md); its group is
the module name without ``bench_`` unless it sets ``GROUP``. ``--quick`` runs one iteration of everything (the
smoke run ``make test`` uses) and writes nothing unless ``--out`` is given.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for mod in ("numpy", "onnxruntime", "grpc", "google.protobuf"):
        try:
            m = importlib.import_module(mod)
            out[mod.replace("google.", "")] = getattr(m, "__version__", "?")
        except ImportError:
            continue
    return out


def _commit() -> str:
    try:
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def discover() -> list[str]:
    return sorted(p.stem for p in HERE.glob("bench_*.py"))


def run_all(quick: bool, only: list[str] | None = None) -> dict[str, Any]:
    groups: dict[str, Any] = {}
    for name in discover():
        if only and not any(o in name for o in only):
            continue
        mod = importlib.import_module(f"benchmarks.{name}")
        group = getattr(mod, "GROUP", name.removeprefix("bench_"))
        t0 = time.perf_counter()
        cases = mod.run(quick)
        groups.setdefault(group, {"cases": {}})["cases"].update(cases)
        groups[group].setdefault("seconds", 0.0)
        groups[group]["seconds"] = round(groups[group]["seconds"] + time.perf_counter() - t0, 1)
    return {
        "commit": _commit(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": quick,
        "machine": {"cpu": _cpu_model(), "cores": os.cpu_count(), **_versions()},
        "groups": groups,
    }


def print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"ricsdk benchmarks @ {result['commit']} ({result['machine']['cpu']})")
    for col in ("group", "case", "unit", "p50", "p99", "baseline p50", "ratio", "target", "met"):
        table.add_column(col)
    for g, body in result["groups"].items():
        for c, r in body["cases"].items():
            base = r.get("baseline", {})
            met = r.get("met")
            table.add_row(
                g,
                c,
                str(r.get("unit", "")),
                str(r.get("p50", "")),
                str(r.get("p99", "")),
                str(base.get("p50", "")),
                str(r.get("ratio_p50", "")),
                json.dumps(r.get("target", "")) if r.get("target") else "",
                "" if met is None else ("yes" if met else "NO"),
            )
    Console(width=200).print(table)


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks")
    ap.add_argument("--quick", action="store_true", help="one iteration of everything; writes nothing")
    ap.add_argument("--only", nargs="*", help="run only modules whose name contains one of these")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    result = run_all(args.quick, args.only)
    out = args.out or (None if args.quick else HERE / "results" / "latest.json")
    if out is not None:
        if args.only and out.exists() and not args.quick:
            merged = json.loads(out.read_text())
            merged.update({k: v for k, v in result.items() if k != "groups"})
            merged.setdefault("groups", {}).update(result["groups"])
            result = merged
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2, sort_keys=False) + "\n")
    print_table(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
