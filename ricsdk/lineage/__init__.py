"""Decision lineage: records, the processor chain, the crash-safe spool, the recorder and verification.

Layer 3: imports only ``ricsdk.errors`` and its own modules. See ``docs/lineage.md``.
"""

from ricsdk.lineage.encoding import decode_payload, encode_record, features_digest
from ricsdk.lineage.processors import (
    BatchSink,
    CaptureSink,
    ChainHasher,
    Enricher,
    OverflowSink,
    Processor,
    ProcessorChain,
    digest,
    drop_features,
)
from ricsdk.lineage.record import GENESIS_HASH, DecisionRecord, ModelRef, RcAction, RecordEvent, Slot, snssai
from ricsdk.lineage.recorder import LineageRecorder, RecorderState
from ricsdk.lineage.spool import ChainTail, FsyncPolicy, Spool, SpoolConfig, SpooledRecord, SpoolPosition, Stream
from ricsdk.lineage.stats import LineageStats
from ricsdk.lineage.verify import (
    ChainIssue,
    InstanceSummary,
    IssueKind,
    VerifyReport,
    verify_spool,
    verify_spool_strict,
)

__all__ = [
    "GENESIS_HASH",
    "BatchSink",
    "CaptureSink",
    "ChainHasher",
    "ChainIssue",
    "ChainTail",
    "DecisionRecord",
    "Enricher",
    "FsyncPolicy",
    "InstanceSummary",
    "IssueKind",
    "LineageRecorder",
    "LineageStats",
    "ModelRef",
    "OverflowSink",
    "Processor",
    "ProcessorChain",
    "RcAction",
    "RecordEvent",
    "RecorderState",
    "Slot",
    "Spool",
    "SpoolConfig",
    "SpoolPosition",
    "SpooledRecord",
    "Stream",
    "VerifyReport",
    "decode_payload",
    "digest",
    "drop_features",
    "encode_record",
    "features_digest",
    "snssai",
    "verify_spool",
    "verify_spool_strict",
]
