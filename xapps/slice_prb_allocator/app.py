"""The flagship xApp: the manifest's ONNX model sets each slice's PRB quota every reporting period."""

from __future__ import annotations

from pathlib import Path

from ricsdk.lineage.recorder import LineageRecorder
from ricsdk.runtime.manifest import Manifest, load_manifest
from ricsdk.runtime.model_xapp import ModelXApp

__all__ = ["MANIFEST", "SlicePrbAllocator"]

MANIFEST = Path(__file__).resolve().parent / "manifest.yaml"


class SlicePrbAllocator(ModelXApp):
    """``SlicePrbAllocator.from_manifest()`` builds it from the shipped manifest and trained model."""

    @classmethod
    def from_manifest(
        cls, path: Path = MANIFEST, *, lineage: LineageRecorder | None = None, manifest: Manifest | None = None
    ) -> SlicePrbAllocator:
        return cls(manifest or load_manifest(path), lineage=lineage)
