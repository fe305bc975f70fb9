"""Writing a trained model: ``model.onnx``, ``model.json`` (its lineage) and the xApp manifest that serves it.

A manifest is updated as text, so its comments and layout survive: lines of its ``model:`` block (``sha256``,
``version``, ``path``) get their new values, and the result is validated with
:func:`~ricsdk.runtime.manifest.parse_manifest` before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import structlog
import yaml

from ricsdk.errors import ConfigError
from ricsdk.features import FeatureSpec
from ricsdk.runtime.manifest import Manifest, parse_manifest
from ricsdk.twin.scenario import Scenario

__all__ = [
    "Artifact",
    "feature_entries",
    "library_versions",
    "manifest_text_with_model",
    "scenario_ref",
    "write_artifact",
]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Artifact:
    """A trained model: the ONNX bytes and its ``model.json`` document."""

    onnx_bytes: bytes
    lineage: dict[str, Any]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.onnx_bytes).hexdigest()


def library_versions(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The versions that determine a training run's bytes."""
    out = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
    }
    out.update(extra or {})
    return out


def scenario_ref(scenario: Scenario) -> dict[str, Any]:
    """A scenario as lineage: its name, source and the sha256 of its validated content."""
    body = json.dumps(scenario.raw, sort_keys=True, default=str).encode()
    return {"name": scenario.name, "source": Path(scenario.source).name, "sha256": hashlib.sha256(body).hexdigest()}


def feature_entries(features: tuple[FeatureSpec, ...]) -> list[dict[str, Any]]:
    return [
        {"name": s.name, "measurement": s.measurement, "fn": s.fn.value, "over": s.over, "alpha": s.alpha}
        for s in features
    ]


def manifest_text_with_model(text: str, **fields: str) -> str:
    """``text`` (a manifest) with fields of its top-level ``model:`` block replaced (``sha256``, ``version``,
    ``path``...), each of which must be there once, in block style."""
    lines = text.splitlines(keepends=True)
    try:
        start = next(i for i, line in enumerate(lines) if re.match(r"^model:\s*(#.*)?$", line))
    except StopIteration:
        raise ConfigError("no block-style 'model:' section in the manifest", field="$.model") from None
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^\S", lines[i])), len(lines))
    for key, value in fields.items():
        pat = re.compile(rf"^(\s+{re.escape(key)}:\s*)(\S+)(\s*(?:#.*)?\n?)$")
        hits = [(i, m) for i in range(start + 1, end) if (m := pat.match(lines[i])) is not None]
        if len(hits) != 1:
            raise ConfigError(
                f"expected one '{key}:' line in the manifest's model section, found {len(hits)}", field=f"$.model.{key}"
            )
        i, m = hits[0]
        lines[i] = f"{m.group(1)}{value}{m.group(3)}"
    return "".join(lines)


def _check_manifest(text: str, base_dir: Path, source: str) -> Manifest:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", source=source) from exc
    return parse_manifest(doc, base_dir=base_dir, source=source)


def write_artifact(
    artifact: Artifact, out: Path, *, manifest_text: str | None = None, manifest_path: Path | None = None
) -> list[Path]:
    """Write ``model.onnx`` and ``model.json`` to ``out`` and, when given, the manifest serving them.

    ``manifest_text`` must already carry the artifact's digest (:func:`manifest_text_with_model`); it is written
    to ``manifest_path`` (default ``out / "manifest.yaml"``) after checking that it parses and that its model
    path resolves to the ``model.onnx`` written here. Returns the paths written.
    """
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / "model.onnx"
    written = [onnx_path, out / "model.json"]
    target = manifest_path or out / "manifest.yaml"
    if manifest_text is not None:
        m = _check_manifest(manifest_text, target.parent, str(target))
        if m.model.path != onnx_path.resolve():
            raise ConfigError(
                f"the manifest's model path {m.model.path} is not {onnx_path.resolve()}", source=str(target)
            )
        if m.model.sha256 != artifact.sha256:
            raise ConfigError("the manifest does not carry the artifact's digest", source=str(target))
    onnx_path.write_bytes(artifact.onnx_bytes)
    (out / "model.json").write_text(json.dumps(artifact.lineage, indent=2) + "\n")
    if manifest_text is not None:
        target.write_text(manifest_text)
        written.append(target)
    log.info("model written", out=str(out), sha256=artifact.sha256, files=[p.name for p in written])
    return written
