"""The model host: verified ONNX model versions, onnxruntime sessions and the active/shadow/canary slots.

Layer 3: imports only ``ricsdk.errors`` and its own modules. ``load_model`` verifies and loads an artifact (off
the decision loop); ``ModelHost`` routes one batched inference per period through its slots and reports
failures per row instead of raising.
"""

from ricsdk.models.host import InferenceResult, ModelHost, RowSource, RowStatus, Slot, SlotStats, canary_unit
from ricsdk.models.loaded import (
    NEGLIGIBLE_WEIGHT,
    ORT_ERRORS,
    LoadedModel,
    Session,
    count_negligible_weights,
    load_model,
    session_options,
)
from ricsdk.models.spec import ModelSpec, ModelVersion

__all__ = [
    "NEGLIGIBLE_WEIGHT",
    "ORT_ERRORS",
    "InferenceResult",
    "LoadedModel",
    "ModelHost",
    "ModelSpec",
    "ModelVersion",
    "RowSource",
    "RowStatus",
    "Session",
    "Slot",
    "SlotStats",
    "canary_unit",
    "count_negligible_weights",
    "load_model",
    "session_options",
]
