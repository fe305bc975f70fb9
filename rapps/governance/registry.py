"""The model registry: ONNX artifacts with their manifests, versions, aliases and digest-pinned downloads.

An upload is a manifest (JSON object) and the ONNX bytes. It is refused (:class:`RegistryError`) unless:

- the manifest names the model and version (``name``, ``version``, equal to the URL's when given there) and
  the artifact digest, as ``digest: "sha256:<hex>"`` or ``sha256: "<hex>"`` (the flagship xApp's
  ``model.json`` shape), and sha256 of the uploaded bytes is that digest;
- the bytes are an ONNX model that onnxruntime can load, and, when the manifest says how many features
  (``n_features`` or a ``features`` list) and outputs (``n_outputs``) there are, the model's first input and
  output have those sizes (or a dynamic size).

Versions are immutable; aliases (``champion``, ``challenger``, any ``[a-z][a-z0-9-]*``) move between versions
and every move is kept (``alias_events``). Training lineage is the manifest's ``training`` object, kept as
given, plus ``metrics`` and ``versions`` when present. Downloads name the digest they expect; the server
refuses a mismatch, and clients check the bytes again.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from rapps.governance.errors import RegistryError, StoreError
from rapps.governance.schemas import ModelVersionOut
from rapps.governance.store import SqlStore

__all__ = ["ALIAS_PATTERN", "feature_names", "normalize_digest", "register", "verify_artifact"]

ALIAS_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def normalize_digest(value: str) -> str:
    """``sha256:<hex>`` from ``sha256:<hex>`` or a bare 64-digit hex string (lower-cased)."""
    text = value.strip().lower()
    hexpart = text.removeprefix("sha256:")
    if not _HEX64.match(hexpart):
        raise RegistryError(f"not a sha256 digest: {value!r}", field="digest")
    return f"sha256:{hexpart}"


def feature_names(manifest: dict[str, Any]) -> list[str]:
    """Feature names from a manifest's ``features`` (strings, or objects with a ``name``); [] when absent."""
    names: list[str] = []
    for item in manifest.get("features") or []:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            names.append(item["name"])
    return names


def _manifest_digest(manifest: dict[str, Any]) -> str:
    raw = manifest.get("digest") or manifest.get("sha256")
    if not isinstance(raw, str):
        raise RegistryError("the manifest names no artifact digest ('digest' or 'sha256')", field="digest")
    return normalize_digest(raw)


def verify_artifact(manifest: dict[str, Any], artifact: bytes) -> str:
    """Check an upload (see the module docstring); returns the normalised digest."""
    digest = _manifest_digest(manifest)
    actual = "sha256:" + hashlib.sha256(artifact).hexdigest()
    if actual != digest:
        raise RegistryError(f"artifact digest is {actual}, the manifest says {digest}", field="digest")
    try:
        import onnxruntime

        session = onnxruntime.InferenceSession(artifact, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for any unloadable model
        raise RegistryError(f"the artifact is not a loadable ONNX model: {exc}", field="artifact") from exc
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if not inputs or not outputs:
        raise RegistryError("the ONNX model has no input or no output", field="artifact")
    expected_in = manifest.get("n_features") or (len(feature_names(manifest)) or None)
    expected_out = manifest.get("n_outputs")
    for label, port, expected in (("input", inputs[0], expected_in), ("output", outputs[0], expected_out)):
        if expected is None:
            continue
        shape = list(port.shape or [])
        last = shape[-1] if shape else None
        if isinstance(last, int) and last != int(expected):
            raise RegistryError(
                f"the model's first {label} {port.name!r} has size {last}, the manifest says {expected}",
                field="n_features" if label == "input" else "n_outputs",
            )
    return digest


def register(
    store: SqlStore,
    manifest: dict[str, Any],
    artifact: bytes,
    *,
    created_by: str,
    name: str | None = None,
    version: str | None = None,
) -> ModelVersionOut:
    """Verify and store a model version."""
    m_name, m_version = manifest.get("name"), manifest.get("version")
    if not isinstance(m_name, str) or not _NAME_PATTERN.match(m_name):
        raise RegistryError(f"invalid or missing model name {m_name!r}", field="name")
    if not isinstance(m_version, str) or not _NAME_PATTERN.match(m_version):
        raise RegistryError(f"invalid or missing version {m_version!r}", field="version")
    if name is not None and name != m_name:
        raise RegistryError(f"the manifest names model {m_name!r}, the request {name!r}", field="name")
    if version is not None and version != m_version:
        raise RegistryError(f"the manifest names version {m_version!r}, the request {version!r}", field="version")
    training = manifest.get("training")
    if training is not None and not isinstance(training, dict):
        raise RegistryError("'training' must be an object", field="training")
    digest = verify_artifact(manifest, artifact)
    try:
        store.put_model_version(m_name, m_version, digest, manifest, artifact, created_by)
    except StoreError as exc:
        if "already registered" in str(exc):
            raise RegistryError(str(exc), field="version") from exc
        raise
    return store.model_version(m_name, m_version)
