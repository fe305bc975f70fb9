"""What a model version is: an ONNX artifact identified by name, version and sha256, and the shapes it must have."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ricsdk.errors import ConfigError

__all__ = ["ModelSpec", "ModelVersion"]

_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """The identity of a model version, as lineage records it: name, version and artifact digest."""

    name: str
    version: str
    sha256: str

    def __str__(self) -> str:
        return f"{self.name}@{self.version} ({self.sha256[:12]})"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A model version to load and the contract it must meet.

    The graph must take ``input_name`` as float32 ``[batch, n_features]`` and give ``output_name`` as float32
    ``[batch, n_outputs]``, the batch dimension dynamic. ``allow_reshape`` accepts a graph whose output is
    ``[batch * n_outputs, 1]`` (what skl2onnx produces for multi-output regressors) and reshapes it to
    ``[batch, n_outputs]``; without it such a graph is refused. ``intra_op_threads`` sizes onnxruntime's
    intra-op pool (1 runs the graph on the calling thread); ``spinning`` lets its threads busy-wait between
    calls (off by default: it burns a core per thread for a few microseconds of latency).
    """

    name: str
    version: str
    path: Path
    sha256: str
    input_name: str
    output_name: str
    n_features: int
    n_outputs: int
    intra_op_threads: int = 1
    spinning: bool = False
    allow_reshape: bool = False

    def __post_init__(self) -> None:
        name = self.name if isinstance(self.name, str) else ""
        source = f"model {name}" if name else "model"
        for f in ("name", "version", "input_name", "output_name"):
            v = getattr(self, f)
            if not isinstance(v, str) or not v:
                raise ConfigError("must be a non-empty string", source=source, field=f)
        if isinstance(self.path, str):
            object.__setattr__(self, "path", Path(self.path))
        if not isinstance(self.path, Path):
            raise ConfigError(f"must be a path, not {self.path!r}", source=source, field="path")
        if not isinstance(self.sha256, str) or not _SHA256.fullmatch(self.sha256):
            raise ConfigError("must be 64 lowercase hex digits", source=source, field="sha256")
        for f in ("n_features", "n_outputs", "intra_op_threads"):
            v = getattr(self, f)
            if type(v) is not int or v < 1:
                raise ConfigError(f"must be an int >= 1, not {v!r}", source=source, field=f)
        for f in ("spinning", "allow_reshape"):
            if type(getattr(self, f)) is not bool:
                raise ConfigError("must be a bool", source=source, field=f)

    @property
    def identity(self) -> ModelVersion:
        return ModelVersion(self.name, self.version, self.sha256)
