"""Model-only xApps defined by a manifest: the ONNX model, the KPM inputs and windows, the quota mapping.

A manifest is YAML (or JSON) validated against :data:`MANIFEST_SCHEMA` (draft 2020-12), then turned into
frozen dataclasses. Paths are relative to the manifest's directory. Example (the flagship)::

    apiVersion: ricsdk/v1
    kind: ModelXApp
    metadata: {name: slice-prb-allocator, version: 1.0.0}
    model:
      name: slice-demand-mlp
      version: 1.0.0
      path: model/model.onnx
      sha256: 3f...
      input: features
      output: prb_need
    features:
      window: 8
      inputs:
        - {measurement: DRB.UEThpDl, fn: mean, over: 4}
        - {measurement: RRU.PrbUsedDl, fn: ewma, alpha: 0.3}
    subscription: {e2_nodes: [gnb-1], ran_function_id: 2, kpm_version: 2, period_ms: 100}
    control:
      ran_function_id: 3
      plmn: "001-01"
      param_ids: srsran
      mapping: {kind: prb_need, floor: 0.8, headroom: 0.25}
      max_change_per_period: 10
    slices:
      - {snssai: "1-000001", min_ratio: 5, max_ratio: 80}

Errors are :class:`~ricsdk.errors.ConfigError` naming the file and the JSON path of the offending entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import jsonschema
import yaml

from ricsdk.e2.common import Snssai, plmn_from_str
from ricsdk.e2.kpm import KpmVersion
from ricsdk.e2.slice_quota import QUOTA_ID_PRESETS, QuotaParamIds
from ricsdk.errors import ConfigError, E2ValueError
from ricsdk.features.spec import FeatureSpec, WindowFn
from ricsdk.models.spec import ModelSpec

__all__ = [
    "MANIFEST_SCHEMA",
    "ControlSpec",
    "Manifest",
    "QuotaMapping",
    "SliceBounds",
    "SubscriptionTemplate",
    "load_manifest",
    "parse_manifest",
]

_NAME = {"type": "string", "minLength": 1, "maxLength": 150}
MANIFEST_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "model", "features", "subscription", "control", "slices"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "ricsdk/v1"},
        "kind": {"const": "ModelXApp"},
        "metadata": {
            "type": "object",
            "required": ["name", "version"],
            "additionalProperties": False,
            "properties": {"name": _NAME, "version": _NAME, "description": {"type": "string"}},
        },
        "model": {
            "type": "object",
            "required": ["name", "version", "path", "sha256", "input", "output"],
            "additionalProperties": False,
            "properties": {
                "name": _NAME,
                "version": _NAME,
                "path": {"type": "string", "minLength": 1},
                "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                "input": _NAME,
                "output": _NAME,
                "n_outputs": {"type": "integer", "minimum": 1},
                "intra_op_threads": {"type": "integer", "minimum": 1, "maximum": 64},
                "spinning": {"type": "boolean"},
            },
        },
        "features": {
            "type": "object",
            "required": ["window", "inputs"],
            "additionalProperties": False,
            "properties": {
                "window": {"type": "integer", "minimum": 1, "maximum": 4096},
                "inputs": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["measurement", "fn"],
                        "additionalProperties": False,
                        "properties": {
                            "measurement": _NAME,
                            "fn": {"enum": [f.name.lower() for f in WindowFn]},
                            "over": {"type": "integer", "minimum": 1},
                            "alpha": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                        },
                    },
                },
            },
        },
        "subscription": {
            "type": "object",
            "required": ["e2_nodes", "period_ms"],
            "additionalProperties": False,
            "properties": {
                "e2_nodes": {"type": "array", "minItems": 1, "items": _NAME, "uniqueItems": True},
                "ran_function_id": {"type": "integer", "minimum": 0, "maximum": 4095},
                "kpm_version": {"enum": [2, 3]},
                "timestamp_octets": {"enum": [4, 8]},
                "period_ms": {"type": "integer", "minimum": 1},
                "extra_measurements": {"type": "array", "items": _NAME},
            },
        },
        "control": {
            "type": "object",
            "required": ["ran_function_id", "plmn", "mapping"],
            "additionalProperties": False,
            "properties": {
                "ran_function_id": {"type": "integer", "minimum": 0, "maximum": 4095},
                "plmn": {"type": "string", "pattern": "^[0-9]{3}-?[0-9]{2,3}$"},
                "param_ids": {"enum": sorted(QUOTA_ID_PRESETS)},
                "mapping": {
                    "type": "object",
                    "required": ["kind"],
                    "additionalProperties": False,
                    "properties": {
                        "kind": {"enum": ["prb_need", "direct"]},
                        "floor": {"type": "number", "minimum": 0, "maximum": 1},
                        "headroom": {"type": "number", "minimum": 0, "maximum": 10},
                        "dedicated": {"type": "integer", "minimum": 0, "maximum": 100},
                    },
                },
                "max_change_per_period": {"type": "integer", "minimum": 1, "maximum": 100},
                "send_unchanged": {"type": "boolean"},
            },
        },
        "slices": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["snssai"],
                "additionalProperties": False,
                "properties": {
                    "snssai": {"type": "string", "pattern": "^[0-9]{1,3}(-[0-9a-fA-F]{6})?$"},
                    "name": {"type": "string"},
                    "min_ratio": {"type": "integer", "minimum": 0, "maximum": 100},
                    "max_ratio": {"type": "integer", "minimum": 0, "maximum": 100},
                    "dedicated_ratio": {"type": "integer", "minimum": 0, "maximum": 100},
                },
            },
        },
        "lineage": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"record_features": {"type": "boolean"}},
        },
    },
}
_VALIDATOR = jsonschema.Draft202012Validator(MANIFEST_SCHEMA)


@dataclass(frozen=True, slots=True)
class SliceBounds:
    """The quota range a slice may be given (percent); the A1 slice SLA policy can narrow it at run time."""

    snssai: Snssai
    name: str = ""
    min_ratio: int = 0
    max_ratio: int = 100
    dedicated_ratio: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.dedicated_ratio <= self.min_ratio <= self.max_ratio <= 100:
            raise ConfigError(
                f"slice {self.snssai.key}: need 0 <= dedicated_ratio <= min_ratio <= max_ratio <= 100",
                field="slices",
            )


@dataclass(frozen=True, slots=True)
class QuotaMapping:
    """How model outputs become a quota.

    ``prb_need``: one output, the predicted PRB need in percent; ``min = need * floor``,
    ``max = need * (1 + headroom)``, ``dedicated`` fixed. ``direct``: three outputs, min / max / dedicated in
    percent. Either way the result is then clamped to the slice bounds and rate-limited by the policy guard.
    """

    kind: str = "prb_need"
    floor: float = 0.8
    headroom: float = 0.25
    dedicated: int = 0

    @property
    def n_outputs(self) -> int:
        return 1 if self.kind == "prb_need" else 3


@dataclass(frozen=True, slots=True)
class ControlSpec:
    ran_function_id: int
    plmn: bytes
    mapping: QuotaMapping
    param_ids: QuotaParamIds
    max_change_per_period: int = 100
    send_unchanged: bool = False


@dataclass(frozen=True, slots=True)
class SubscriptionTemplate:
    e2_nodes: tuple[str, ...]
    period_ms: int
    ran_function_id: int = 2
    kpm_version: KpmVersion = KpmVersion.V2
    timestamp_octets: int | None = None
    extra_measurements: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Manifest:
    name: str
    version: str
    model: ModelSpec
    features: tuple[FeatureSpec, ...]
    window: int
    subscription: SubscriptionTemplate
    control: ControlSpec
    slices: tuple[SliceBounds, ...]
    record_features: bool = True
    source: str = ""

    @property
    def measurements(self) -> tuple[str, ...]:
        """Every KPM measurement to subscribe to: the features' inputs first, then the extra KPIs."""
        seen = dict.fromkeys(f.measurement for f in self.features)
        seen.update(dict.fromkeys(self.subscription.extra_measurements))
        return tuple(seen)


def _path(err: jsonschema.ValidationError) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)


def parse_manifest(doc: Any, *, base_dir: Path, source: str = "<manifest>") -> Manifest:
    """Validate a manifest document and build the :class:`Manifest`."""
    errors = sorted(_VALIDATOR.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        raise ConfigError(e.message, source=source, field=_path(e))
    m, f, s, c = doc["model"], doc["features"], doc["subscription"], doc["control"]
    try:
        features = tuple(
            FeatureSpec(i["measurement"], WindowFn[i["fn"].upper()], i.get("over", 1), i.get("alpha"))
            for i in f["inputs"]
        )
        mapping = QuotaMapping(**c["mapping"])
        n_out = m.get("n_outputs", mapping.n_outputs)
        if n_out != mapping.n_outputs:
            raise ConfigError(
                f"mapping {mapping.kind} needs {mapping.n_outputs} model output(s), the model declares {n_out}",
                source=source,
                field="$.model.n_outputs",
            )
        model = ModelSpec(
            name=m["name"],
            version=m["version"],
            path=(base_dir / m["path"]).resolve(),
            sha256=m["sha256"],
            input_name=m["input"],
            output_name=m["output"],
            n_features=len(features),
            n_outputs=n_out,
            intra_op_threads=m.get("intra_op_threads", 1),
            spinning=m.get("spinning", False),
        )
        slices = tuple(
            SliceBounds(
                Snssai.parse(x["snssai"]),
                x.get("name", ""),
                x.get("min_ratio", 0),
                x.get("max_ratio", 100),
                x.get("dedicated_ratio", 0),
            )
            for x in doc["slices"]
        )
        control = ControlSpec(
            c["ran_function_id"],
            plmn_from_str(c["plmn"]),
            mapping,
            QUOTA_ID_PRESETS[c.get("param_ids", "srsran")],
            c.get("max_change_per_period", 100),
            c.get("send_unchanged", False),
        )
    except ConfigError:
        raise
    except (E2ValueError, ValueError, KeyError) as exc:
        raise ConfigError(str(exc), source=source) from exc
    if len({b.snssai.key for b in slices}) != len(slices):
        raise ConfigError("slices repeat an S-NSSAI", source=source, field="$.slices")
    if sum(b.min_ratio for b in slices) > 100:
        raise ConfigError(
            "the slices' min_ratio bounds add up to more than 100 %: no quota could honour them all",
            source=source,
            field="$.slices",
        )
    return Manifest(
        doc["metadata"]["name"],
        doc["metadata"]["version"],
        model,
        features,
        f["window"],
        SubscriptionTemplate(
            tuple(s["e2_nodes"]),
            s["period_ms"],
            s.get("ran_function_id", 2),
            KpmVersion(s.get("kpm_version", 2)),
            s.get("timestamp_octets"),
            tuple(s.get("extra_measurements", ())),
        ),
        control,
        slices,
        doc.get("lineage", {}).get("record_features", True),
        source,
    )


def load_manifest(path: str | Path) -> Manifest:
    """Read and validate a manifest file (YAML or JSON)."""
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read manifest: {exc}", source=str(p)) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", source=str(p)) from exc
    return parse_manifest(doc, base_dir=p.parent, source=str(p))
