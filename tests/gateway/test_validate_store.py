from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from contract.senml import Kind, Reading, encode_pack
from contract.topics import Channel, NodeId
from gateway.errors import StoreError
from gateway.ingest.validate import validate_message
from gateway.store import SCHEMA_VERSION, Store
from gateway.store.rows import StoredReading

N = NodeId("site-1", "node-1")
T0 = 1_795_392_000.0
LIMITS = {"max_pack_bytes": 256 * 1024, "max_future_s": 3600.0}


def test_values_are_stored_in_canonical_units() -> None:
    payload = encode_pack(N, [Reading(1, T0, "pv.power", Kind.GAUGE, 0.25, "kW"),
                              Reading(2, T0, "air.temperature", Kind.GAUGE, 300.0, "K")])
    out = validate_message(N.topic(Channel.READINGS), payload, T0, **LIMITS)
    assert [(r.value, r.unit) for r in out.readings] == [(250.0, "W"), (300.0 - 273.15, "Cel")]
    assert out.dead == []


def test_future_readings_and_wrong_channel_are_dead_letters_with_their_seq() -> None:
    payload = encode_pack(N, [Reading(1, T0 + 7200, "a", Kind.GAUGE, 1.0, "W"),
                              Reading(2, T0, "loan.checkout", Kind.EVENT, text="T1"),
                              Reading(3, T0, "b", Kind.GAUGE, 1.0, "W")])
    out = validate_message(N.topic(Channel.READINGS), payload, T0, **LIMITS)
    assert [r.seq for r in out.readings] == [3]
    assert [(d.seq, d.reason) for d in out.dead] == [
        (1, "seq 1: time 1795399200.0 is more than 3600 s in the future"),
        (2, "seq 2: event record on the readings channel")]
    assert sorted(out.handled_seqs) == [1, 2, 3]  # all three may be acknowledged once committed


def test_status_topic_carrying_data_and_foreign_topics_are_refused() -> None:
    out = validate_message("eil/v1/site-1/node-1/ack", b"[]", T0, **LIMITS)
    assert out.dead[0].reason == "channel 'ack' does not carry readings"
    out = validate_message("other/topic", b"x", T0, **LIMITS)
    assert out.node is None and "is not of the form" in out.dead[0].reason


def test_store_keeps_each_reading_once_and_counts_repeated_dead_letters(tmp_path: Path) -> None:
    store = Store(tmp_path / "eil.db")
    payload = encode_pack(N, [Reading(s, T0 + s, "a", Kind.GAUGE, float(s), "W")
                              for s in (1, 2, 3)])
    out = validate_message(N.topic(Channel.READINGS), payload, T0, **LIMITS)
    rows = [(N, r) for r in out.readings]
    assert store.commit(rows, [], {N: [([1, 2, 3], 1)]}, {N: T0}) == (3, {N: 3})
    assert store.commit(rows, [], {N: [([1, 2, 3], 1)]}, {N: T0}) == (0, {N: 3})  # a replay
    bad = validate_message(N.topic(Channel.READINGS), b"{oops", T0, **LIMITS).dead
    store.commit([], bad, {}, {})
    store.commit([], bad, {}, {})
    assert [(d["count"], d["node"]) for d in store.dead_letters()] == [(2, "node-1")]
    assert store.dead_letter_total() == 2
    assert [(r.seq, r.value, r.unit) for r in store.export()] == [
        (1, 1.0, "W"), (2, 2.0, "W"), (3, 3.0, "W")]
    (summary,) = store.node_summary()
    assert (summary["readings"], summary["dead_letters"], summary["acked"]) == (3, 2, 3)
    latest = store.latest()
    assert [(x["name"], x["value"]) for x in latest] == [("a", 3.0)]
    assert json.dumps(latest)  # the web API serialises it as is
    store.close()


def test_watermark_is_kept_in_the_store_across_workers_and_restarts(tmp_path: Path) -> None:
    first = Store(tmp_path / "eil.db")
    assert first.commit([], [], {N: [([1, 2], 1), ([5, 6], 1)]}, {})[1] == {N: 2}
    first.close()
    second = Store(tmp_path / "eil.db")  # another worker, or the same one restarted
    assert second.commit([], [], {N: [([3, 4], 1)]}, {})[1] == {N: 6}  # 5-6 were remembered
    assert second.db.execute("SELECT count(*) FROM committed_ranges").fetchone() == (0,)
    second.close()


def _rows(seqs: range, value: float = 1.0, t: float = T0) -> list[tuple[NodeId, StoredReading]]:
    return [(N, StoredReading(s, round((t + s) * 1000), "a", "gauge", "W", value, None, None))
            for s in seqs]


def test_the_same_seq_with_other_content_is_a_conflict_with_both_versions(tmp_path: Path) -> None:
    """Two devices under one identity (a cloned SD card): neither version is dropped."""
    store = Store(tmp_path / "eil.db")
    assert store.commit(_rows(range(1, 4)), [], {N: [([1, 2, 3], 1)]}, {}) == (3, {N: 3})
    clone = _rows(range(3, 5), value=9.0)  # seq 3 differs, seq 4 is new
    assert store.commit(clone, [], {N: [([3, 4], 3)]}, {}) == (1, {N: 4})
    assert store.commit(_rows(range(1, 4)), [], {N: [([1, 2, 3], 1)]}, {})[0] == 0  # exact replay
    store.commit(clone[:1], [], {N: [([3], 3)]}, {})  # the same clash again: counted, not repeated
    (c,) = store.sequences.conflicts()
    assert (c["node"], c["seq"], c["count"]) == ("node-1", 3, 2)
    assert (c["stored"]["value"], c["arriving"]["value"]) == (1.0, 9.0)  # type: ignore[index]
    assert c["stored"]["name"] == "a" and c["arriving"]["unit"] == "W"  # type: ignore[index]
    assert [r.value for r in store.export()] == [1.0, 1.0, 1.0, 9.0]
    (summary,) = store.node_summary()
    assert summary["conflicts"] == 1 and summary["readings"] == 4
    store.close()


def test_a_clash_inside_one_batch_is_a_conflict_too(tmp_path: Path) -> None:
    store = Store(tmp_path / "eil.db")
    batch = _rows(range(1, 3)) + _rows(range(2, 3), value=5.0)
    assert store.commit(batch, [], {N: [([1, 2], 1), ([2], 2)]}, {}) == (2, {N: 2})
    assert [(c["seq"], c["arriving"]["value"]) for c in store.sequences.conflicts()] == [(2, 5.0)]  # type: ignore[index]


def test_a_forged_floor_is_recorded_and_a_steward_lowers_or_raises_the_watermark(
        tmp_path: Path) -> None:
    store = Store(tmp_path / "eil.db")
    store.commit(_rows(range(1, 393)), [], {N: [(list(range(1, 393)), 1)]}, {})
    forged = {N: [([1_000_000], 1_000_000)]}
    assert store.commit([], [], forged, {})[1] == {N: 392}  # nothing moved
    (summary,) = store.node_summary()
    assert summary["floor"] == 1_000_000 and summary["anomalies"][0]["kind"] == "floor"  # type: ignore[index]
    assert store.watermark_of(N) == (392, False)
    with pytest.raises(StoreError, match="would acknowledge 8 readings this store never"):
        store.sequences.set_watermark(N, 400)
    assert store.sequences.set_watermark(N, 390) == (392, 390)  # lowering: the node merely resends
    assert store.node_summary()[0]["anomalies"] == []
    assert store.commit([], [], {N: [([391, 392, 393], 391)]}, {})[1] == {N: 393}
    # a store restored from an older backup: the node no longer holds 394..499
    assert store.sequences.set_watermark(N, 499, accept_gap=True) == (393, 499)
    store.close()


def test_a_fresh_node_is_believed_and_an_unknown_node_cannot_be_repaired(tmp_path: Path) -> None:
    store = Store(tmp_path / "eil.db")
    assert store.watermark_of(N) == (0, True)
    assert store.commit(_rows(range(501, 503)), [], {N: [([501, 502], 501)]}, {})[1] == {N: 502}
    with pytest.raises(StoreError, match="no node site-1/other"):
        store.sequences.set_watermark(NodeId("site-1", "other"), 0)
    store.close()


V1_READINGS = """CREATE TABLE readings (node_id INTEGER NOT NULL, seq INTEGER NOT NULL,
    series_id INTEGER NOT NULL, t INTEGER NOT NULL, v REAL, vs TEXT, ref TEXT,
    PRIMARY KEY (node_id, seq)) WITHOUT ROWID"""


def test_a_version_1_store_is_migrated_in_place_and_keeps_its_readings(tmp_path: Path) -> None:
    path = tmp_path / "eil.db"
    db = sqlite3.connect(path)
    db.execute(V1_READINGS)
    db.execute("CREATE INDEX readings_by_series_time ON readings (series_id, t)")
    db.execute("INSERT INTO readings VALUES (1, 1, 1, 5, 2.5, NULL, NULL)")
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()
    with Store(path) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert store.db.execute("SELECT seq, v, cal, q FROM readings").fetchall() == [
            (1, 2.5, None, None)]
        indexes = {r[0] for r in store.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'readings'")}
        assert "readings_by_series_time" not in indexes  # replaced by the covering index
        assert "readings_by_series_time_value" in indexes
        plan = " ".join(str(r) for r in store.db.execute(
            "EXPLAIN QUERY PLAN SELECT t, v FROM readings WHERE series_id = 1 AND t >= 0"))
        assert "COVERING INDEX readings_by_series_time_value" in plan
    with Store(path):  # opening again is a no-op
        pass


def commit_values(store: Store, node: NodeId, values: list[tuple[int, float, str]]) -> None:
    """(seq, time offset s, quantity name) readings of `node`, in one commit."""
    payload = encode_pack(node, [Reading(seq, T0 + dt, name, Kind.GAUGE, float(seq), "W")
                                 for seq, dt, name in values])
    out = validate_message(node.topic(Channel.READINGS), payload, T0 + 100, **LIMITS)
    store.commit([(node, r) for r in out.readings], [], {}, {})


def test_latest_is_the_newest_by_node_time_and_counts_survive_the_upgrade(tmp_path: Path
                                                                          ) -> None:
    other = NodeId("site-1", "node-2")
    with Store(tmp_path / "eil.db") as store:
        commit_values(store, N, [(1, 10, "a"), (2, 20, "a"), (3, 20, "b")])
        commit_values(store, N, [(4, 5, "a")])  # backfilled later, measured earlier
        commit_values(store, other, [(7, 1, "a"), (8, 2, "a")])
        latest = [(x["node"], x["name"], x["value"]) for x in store.latest()]
        assert latest == [("node-1", "a", 2.0), ("node-1", "b", 3.0), ("node-2", "a", 8.0)]
        store.db.execute("ALTER TABLE nodes DROP COLUMN readings")  # as schema 3 had it
        store.db.execute("ALTER TABLE nodes DROP COLUMN floor")
        store.db.execute("PRAGMA user_version=3")
    with Store(tmp_path / "eil.db", readonly=True) as reader:  # before the gateway upgrades it
        assert [n["readings"] for n in reader.node_summary()] == [4, 2]
    with Store(tmp_path / "eil.db") as store:  # the upgrade counts what is stored, once
        counts = {n["node"]: (n["readings"], n["first_seq"], n["last_seq"])
                  for n in store.node_summary()}
        assert counts == {"node-1": (4, 1, 4), "node-2": (2, 7, 8)}
        commit_values(store, other, [(8, 2, "a"), (9, 3, "a")])  # a repeat and a new one
        assert {n["node"]: n["readings"] for n in store.node_summary()}["node-2"] == 3


def test_calibration_identity_and_flag_round_trip_through_the_store(tmp_path: Path) -> None:
    payload = encode_pack(N, [Reading(1, T0, "soil.moisture", Kind.GAUGE, 23.4, "%", cal="c-1"),
                              Reading(2, T0, "soil.temperature", Kind.GAUGE, 140.0, "Cel", q=4)])
    out = validate_message(N.topic(Channel.READINGS), payload, T0, **LIMITS)
    with Store(tmp_path / "eil.db") as store:
        store.commit([(N, r) for r in out.readings], [], {N: [(out.handled_seqs, 1)]}, {})
        assert [(r.seq, r.cal, r.q) for r in store.export()] == [(1, "c-1", None), (2, None, 4)]
        latest = {r["name"]: (r["cal"], r["q"]) for r in store.latest()}
        assert latest == {"soil.moisture": ("c-1", None), "soil.temperature": (None, 4)}


def test_a_reader_meeting_a_store_being_created_waits_for_it_or_says_so(tmp_path: Path
                                                                          ) -> None:
    """The gateway's first start creates the file, then (in one transaction) every table and
    the schema version: a reader in between waits for that transaction (a CLI command run
    right after the gateway started used to fail), and says so clearly if it never comes."""
    path = tmp_path / "eil.db"
    sqlite3.connect(path).close()  # the file exists, nothing in it yet
    with pytest.raises(StoreError, match="has no tables yet"):
        Store(path, readonly=True)  # nobody is creating it: after 5 s, the error
    creator = threading.Timer(0.5, lambda: Store(path).close())  # the gateway, starting
    creator.start()
    with Store(path, readonly=True) as reader:
        assert reader.node_summary() == [] and reader.schema == SCHEMA_VERSION
    creator.join()


def test_a_retired_node_keeps_its_readings_and_shows_retired(tmp_path: Path) -> None:
    with Store(tmp_path / "eil.db") as store:
        commit_values(store, N, [(1, 10, "a"), (2, 20, "a")])
        store.db.execute("ALTER TABLE nodes DROP COLUMN retired")  # as schema 8 had it
        store.db.execute("PRAGMA user_version=8")
    with Store(tmp_path / "eil.db", readonly=True) as reader:  # not upgraded yet: no retired
        assert reader.node_summary()[0]["retired"] is None
    with Store(tmp_path / "eil.db") as store:
        store.retire("node-1", True, 1_000.0)
        (n,) = store.node_summary()
        assert (n["state"], n["retired"], n["readings"]) == ("retired", 1_000.0, 2)
        assert [r.seq for r in store.export()] == [1, 2]
        store.retire("node-1", False, 2_000.0)
        assert store.node_summary()[0]["state"] != "retired"
        with pytest.raises(StoreError, match="no node 'node-9'"):
            store.retire("node-9", True, 3_000.0)
