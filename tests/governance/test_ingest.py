"""Ingest with chain verification, against SQLite and PostgreSQL: idempotence, integrity events, acks."""

from __future__ import annotations

from rapps.governance.chain import IntervalSet
from rapps.governance.ingest import Ingestor
from rapps.governance.store import SqlStore
from rapps.governance.verify import verify_stored_chain

from .conftest import MODEL_B, Producer


def _kinds(store: SqlStore) -> list[tuple[str, int]]:
    return [(e.kind, e.sequence) for e in store.integrity_events()]


def test_interval_set_tracks_contiguous_prefix_and_holes() -> None:
    s = IntervalSet()
    for v in (0, 1, 2, 5, 6, 9):
        s.add(v)
    assert s.intervals() == [(0, 2), (5, 6), (9, 9)]
    assert s.contiguous() == 2 and s.highest() == 9
    assert s.missing(0, 10, [4]) == [(3, 3), (7, 8), (10, 10)]
    s.add_range(3, 4)
    s.add_range(7, 8)
    assert s.intervals() == [(0, 9)]
    assert IntervalSet([(1, 3)]).contiguous() == -1


def test_in_order_batches_are_stored_and_acknowledged(store: SqlStore) -> None:
    ingestor = Ingestor(store)
    ingestor.open()
    payloads = Producer().many(50)
    counts, marks = ingestor.ingest(1, payloads[:30])
    assert counts.stored == 30 and counts.events == 0 and marks == {"xapp-1": (29, 29)}
    counts, marks = ingestor.ingest(1, payloads[30:])
    assert marks == {"xapp-1": (49, 49)}
    assert _kinds(store) == []
    assert verify_stored_chain(store, "xapp-1").ok


def test_resending_is_idempotent_and_still_acknowledged(store: SqlStore) -> None:
    ingestor = Ingestor(store)
    ingestor.open()
    payloads = Producer().many(20)
    ingestor.ingest(1, payloads)
    counts, marks = ingestor.ingest(1, payloads[5:15] + payloads[5:8])
    assert counts.stored == 0 and counts.duplicates == 13 and counts.events == 0
    assert marks == {"xapp-1": (19, 19)}
    assert store.chains() == [("xapp-1", 19, 19, 20)]


def test_state_survives_a_restart_of_the_store(store: SqlStore) -> None:
    payloads = Producer().many(30)
    first = Ingestor(store)
    first.open()
    first.ingest(1, payloads[:20])
    again = Ingestor(store)
    again.open()
    counts, marks = again.ingest(1, payloads[10:])
    assert counts.duplicates == 10 and counts.stored == 10 and counts.events == 0
    assert marks["xapp-1"] == (29, 29)


def test_fork_bad_hash_and_bad_record_are_stored_as_events_never_as_decisions(store: SqlStore) -> None:
    ingestor = Ingestor(store)
    ingestor.open()
    producer = Producer()
    payloads = producer.many(10)
    ingestor.ingest(1, payloads)
    other = Producer().make(ts=123, slice_id="9")  # sequence 0 again, another body: a fork
    tampered = bytearray(payloads[3])
    tampered[20] ^= 0x01  # a byte of the body: the hash no longer matches
    counts, _ = ingestor.ingest(1, [other, bytes(tampered), b"\x01garbage" + bytes(40)])
    assert counts.stored == 0 and counts.events == 3
    kinds = {e.kind: e for e in store.integrity_events()}
    assert set(kinds) == {"fork", "bad_hash", "bad_record"}
    assert kinds["fork"].sequence == 0 and kinds["fork"].payload_stored
    assert kinds["bad_hash"].sequence == 3 and kinds["bad_hash"].payload_stored
    assert store.decision("xapp-1", 0).summary.slice_id == "1-000001"


def test_a_gap_is_an_event_and_holds_the_acknowledgement_back(store: SqlStore) -> None:
    ingestor = Ingestor(store)
    ingestor.open()
    payloads = Producer().many(10)
    ingestor.ingest(1, payloads[:4])
    counts, marks = ingestor.ingest(1, payloads[6:])
    assert counts.stored == 4 and marks["xapp-1"] == (3, 9)
    events = store.integrity_events()
    assert [(e.kind, e.sequence) for e in events] == [("gap", 6)]
    assert "4..5" in events[0].detail
    # the missing records arrive late: stored, flagged as a reorder, and the acknowledgement moves on
    counts, marks = ingestor.ingest(1, payloads[4:6])
    assert marks["xapp-1"] == (9, 9)
    assert [k for k, _ in _kinds(store)] == ["gap", "reorder", "reorder"]


def test_broken_link_when_nothing_is_missing(store: SqlStore) -> None:
    ingestor = Ingestor(store)
    ingestor.open()
    a = Producer()
    first = a.many(3)
    b = Producer(start_sequence=3)  # continues the numbering but not the chain
    ingestor.ingest(1, first + b.many(2, start_ns=first and 2_000))
    assert _kinds(store) == [("broken_link", 3)]
    assert store.chains()[0][1] == 4


def test_overflow_log_chains_separately_and_fills_the_contiguous_prefix(store: SqlStore) -> None:
    ingestor = Ingestor(store)
    ingestor.open()
    producer = Producer()
    main = [producer.make(stream=1, ts=i) for i in range(3)]
    overflow = [producer.make(stream=2, ts=3 + i) for i in range(2)]
    main += [producer.make(stream=1, ts=5 + i) for i in range(3)]
    _, marks = ingestor.ingest(1, main)
    assert marks["xapp-1"] == (2, 7)
    _, marks = ingestor.ingest(2, overflow)
    assert marks["xapp-1"] == (7, 7)
    assert _kinds(store) == []
    report = verify_stored_chain(store, "xapp-1")
    assert report.ok and report.records == 8


def test_stored_verification_names_an_edited_record(store: SqlStore) -> None:
    ingestor = Ingestor(store)
    ingestor.open()
    ingestor.ingest(1, Producer().many(20, model=MODEL_B))
    conn = store._writer
    sql = store.dialect.sql("SELECT payload FROM decisions WHERE instance = ? AND sequence = ?")
    payload = bytearray(conn.execute(sql, ("xapp-1", 11)).fetchone()[0])
    payload[30] ^= 0x40
    conn.execute(
        store.dialect.sql("UPDATE decisions SET payload = ? WHERE instance = ? AND sequence = ?"),
        (bytes(payload), "xapp-1", 11),
    )
    conn.execute(store.dialect.sql("UPDATE decisions SET slice_id = ? WHERE sequence = ?"), ("1-0000ff", 15))
    report = verify_stored_chain(store, "xapp-1")
    assert not report.ok
    named = {(i.kind, i.sequence) for i in report.issues}
    assert ("column_mismatch", 15) in named
    assert any(seq == 11 and kind in ("hash_mismatch", "bad_record") for kind, seq in named)
