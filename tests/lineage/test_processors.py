"""The processor chain as plain callables: enrich, digest, chain-hash, sink."""

from __future__ import annotations

import hashlib
import itertools

from ricsdk.lineage import (
    GENESIS_HASH,
    CaptureSink,
    ChainHasher,
    Enricher,
    ProcessorChain,
    RecordEvent,
    digest,
    drop_features,
    encode_record,
    features_digest,
)

from .conftest import MODEL, StepClock


def _event(i: int) -> RecordEvent:
    return {
        "decision_id": "",
        "e2_node": "gnb",
        "cell": "c",
        "slice_id": "1",
        "model": MODEL,
        "features": (float(i), 1.0),
        "output": (0.5,),
        "action": None,
        "stage_ns": {"infer": 10, "decode": 5},
    }


def test_chain_links_each_record_to_the_previous_one(clock: StepClock) -> None:
    """Sequences count up from 0, prev_hash is the previous hash, hash is sha256 of the canonical body."""
    sink = CaptureSink()
    chain = ProcessorChain([Enricher("x", clock=clock.ns), digest, ChainHasher(), sink])
    for i in range(5):
        chain(_event(i))
    records = sink.records
    assert [r.sequence for r in records] == [0, 1, 2, 3, 4]
    assert records[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(records):
        assert after.prev_hash == before.hash
        assert after.timestamp_ns > before.timestamp_ns
    for r in records:
        assert hashlib.sha256(encode_record(r)).digest() == r.hash
        assert r.decision_id == f"x/{r.sequence}"
        assert r.input_digest == features_digest(r.features or ())
        assert r.stage_ns == (("decode", 5), ("infer", 10))


def test_enricher_continues_from_a_given_sequence_and_gives_back_the_last(clock: StepClock) -> None:
    enrich = Enricher("x", clock=clock.ns, next_sequence=41)
    event = enrich(_event(0))
    assert event["sequence"] == 41
    assert not enrich.release(40)
    assert enrich.release(41)
    assert enrich(_event(1))["sequence"] == 41


def test_user_processor_can_drop_the_feature_row_and_the_digest_stays(clock: StepClock) -> None:
    sink = CaptureSink()
    chain = ProcessorChain([Enricher("x", clock=clock.ns), digest, drop_features, ChainHasher(), sink])
    chain(_event(3))
    (record,) = sink.records
    assert record.features is None
    assert record.input_digest == features_digest((3.0, 1.0))


def test_a_given_input_digest_is_kept(clock: StepClock) -> None:
    event = _event(1)
    event["input_digest"] = "feedface"
    assert digest(event)["input_digest"] == "feedface"


def test_hasher_keeps_one_chain_per_instance(clock: StepClock) -> None:
    sink = CaptureSink()
    hasher = ChainHasher()
    chain_a = ProcessorChain([Enricher("a", clock=clock.ns), digest, hasher, sink])
    chain_b = ProcessorChain([Enricher("b", clock=clock.ns), digest, hasher, sink])
    chain_a(_event(0))
    chain_b(_event(0))
    chain_a(_event(1))
    a0, b0, a1 = sink.records
    assert b0.prev_hash == GENESIS_HASH
    assert a1.prev_hash == a0.hash
    assert (ProcessorChain([digest]) + ProcessorChain([drop_features])).processors == (digest, drop_features)
