"""Lineage queries on both stores: by slice and time, governing model at T, lifecycle and rollbacks, stats."""

from __future__ import annotations

import pytest

from rapps.governance.errors import NotFoundError
from rapps.governance.ingest import Ingestor
from rapps.governance.store import SqlStore
from ricsdk.lineage import ModelRef, RcAction, Slot

from .conftest import MODEL_A, MODEL_B, SECOND, T0, Producer

SHADOW_B = ModelRef(MODEL_B.name, MODEL_B.version, MODEL_B.digest, Slot.SHADOW)


def _history(store: SqlStore) -> None:
    """Slice 1: A for 10 s, B for 10 s (B in shadow meanwhile), back to A (a rollback); slice 2: A only."""
    producer = Producer()
    payloads = []
    for i in range(30):
        ts = T0 + i * SECOND
        model = MODEL_A if i < 10 or i >= 20 else MODEL_B
        reason = "rollback: KPI below baseline" if i == 20 else ""
        payloads.append(producer.make(ts=ts, model=model, action=RcAction(5, 60, 0, True, reason)))
        if i < 10:
            payloads.append(producer.make(ts=ts + 1, model=SHADOW_B, action=RcAction(5, 50, 0, False, "shadow")))
        payloads.append(producer.make(ts=ts + 2, slice_id="1-000002", policy_ids=("sla-2",) if i >= 15 else ()))
    ingestor = Ingestor(store)
    ingestor.open()
    ingestor.ingest(1, payloads)


def test_decisions_by_slice_and_time_range_paginate_in_time_order(store: SqlStore) -> None:
    _history(store)
    page = store.decisions_by_slice("1-000001", T0 + 5 * SECOND, T0 + 12 * SECOND, limit=4)
    got = [d.timestamp_ns for d in page.items]
    assert got == sorted(got) and len(got) == 4 and page.next_cursor
    ts, _, row_id = page.next_cursor.partition(":")
    rest = store.decisions_by_slice("1-000001", T0 + 5 * SECOND, T0 + 12 * SECOND, after=(int(ts), int(row_id)))
    everything = got + [d.timestamp_ns for d in rest.items]
    assert everything == sorted(everything) and rest.next_cursor is None
    assert len(everything) == 5 * 2 + 2  # seconds 5..9 have a shadow record too
    assert all(d.slice_id == "1-000001" for d in page.items + rest.items)


def test_governing_model_ignores_shadow_and_reports_since_when(store: SqlStore) -> None:
    _history(store)
    early = store.governing("1-000001", T0 + 5 * SECOND + 500)
    assert early.model is not None and early.model.version == "1.0.0" and early.model.slot == "active"
    assert early.since_ns == T0
    mid = store.governing("1-000001", T0 + 15 * SECOND)
    assert mid.model is not None and mid.model.version == "2.0.0"
    assert mid.since_ns == T0 + 10 * SECOND
    late = store.governing("1-000001", T0 + 25 * SECOND)
    assert late.model is not None and late.model.version == "1.0.0" and late.since_ns == T0 + 20 * SECOND
    assert store.governing("1-000001", T0 - 1).model is None
    assert store.governing("1-000001", T0 + 25 * SECOND, cell="nowhere").model is None


def test_lifecycle_has_spans_policies_and_the_rollback(store: SqlStore) -> None:
    _history(store)
    life = store.lifecycle("1-000001")
    assert life.first_seen_ns == T0 and life.last_seen_ns == T0 + 29 * SECOND
    assert [(s.model.version, s.first_ns, s.last_ns) for s in life.governing] == [
        ("1.0.0", T0, T0 + 9 * SECOND),
        ("2.0.0", T0 + 10 * SECOND, T0 + 19 * SECOND),
        ("1.0.0", T0 + 20 * SECOND, T0 + 29 * SECOND),
    ]
    assert [s.model.slot for s in life.shadow] == ["shadow"]
    assert len(life.rollbacks) == 1
    rb = life.rollbacks[0]
    assert (rb.from_model.version, rb.to_model.version, rb.at_ns) == ("2.0.0", "1.0.0", T0 + 20 * SECOND)
    other = store.lifecycle("1-000002")
    assert [s.policy_ids for s in other.governing] == [[], ["sla-2"]] and other.rollbacks == []
    with pytest.raises(NotFoundError):
        store.lifecycle("9-000009")


def test_model_stats_per_version_and_slot(store: SqlStore) -> None:
    _history(store)
    stats = {(s.model.version, s.model.slot): s for s in store.model_stats("prb")}
    assert stats[("1.0.0", "active")].decisions == 20 + 30
    assert stats[("1.0.0", "active")].slices == 2
    assert stats[("2.0.0", "active")].decisions == 10
    shadow = stats[("2.0.0", "shadow")]
    assert shadow.decisions == 10 and shadow.withheld == 10 and shadow.sent == 0
    assert shadow.cpu_us_per_decision == 20.0


def test_one_decision_decodes_its_payload(store: SqlStore) -> None:
    _history(store)
    stored = store.decision("xapp-1", 0)
    assert stored.record.features == (1.0, 2.0, 3.0)
    assert stored.summary.model.version == "1.0.0" and stored.summary.stream == "main"
    assert store.decisions_by_id("xapp-1/0")[0].sequence == 0
    with pytest.raises(NotFoundError):
        store.decision("xapp-1", 10_000)
