"""The committed flagship model: its manifest (model.json) and the ModelSpec the runtime loads it with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ricsdk.errors import ConfigError
from ricsdk.models import ModelSpec
from xapps.slice_prb_allocator.features import FEATURES, WINDOW

__all__ = ["MODEL_DIR", "load_manifest", "model_spec"]

MODEL_DIR = Path(__file__).resolve().parent / "model"


def load_manifest(model_dir: Path = MODEL_DIR) -> dict[str, Any]:
    """``model.json``, checked to describe the features this package builds (names, order, window)."""
    path = model_dir / "model.json"
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read the model manifest: {exc}", source=str(path)) from exc
    names = [f.get("name") for f in manifest.get("features", [])]
    if names != [s.name for s in FEATURES] or manifest.get("window") != WINDOW:
        raise ConfigError(
            f"the model was trained on features {names} over {manifest.get('window')} periods; this package "
            f"builds {[s.name for s in FEATURES]} over {WINDOW}",
            source=str(path),
            field="features",
        )
    return manifest


def model_spec(model_dir: Path = MODEL_DIR) -> ModelSpec:
    """The ModelSpec of the artifact in ``model_dir`` (its digest taken from the manifest, not the file)."""
    m = load_manifest(model_dir)
    try:
        return ModelSpec(
            name=m["name"],
            version=m["version"],
            path=model_dir / m["file"],
            sha256=m["sha256"],
            input_name=m["input_name"],
            output_name=m["output_name"],
            n_features=m["n_features"],
            n_outputs=m["n_outputs"],
        )
    except KeyError as exc:
        raise ConfigError(f"missing {exc.args[0]!r}", source=str(model_dir / "model.json")) from exc
