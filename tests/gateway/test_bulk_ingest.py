"""The bulk path of ingest: a quantity arriving with many readings in one commit is written as a
chunk at once (gateway/store/readings.py BULK_MIN, cold.insert_fresh) instead of as rows. Every
reader returns what the row path gives on the same literal data, before and after the mover;
a replay is a duplicate, a changed replay a conflict, a seq twice in one commit stored once;
a kill -9 at random instants of bulk commits loses and duplicates nothing."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from contract.senml import Kind, Reading, encode_pack
from contract.topics import Channel, NodeId
from gateway.config import RetentionConfig
from gateway.ingest.validate import validate_message
from gateway.store import Store
from gateway.store.readings import BULK_MIN
from gateway.store.rows import StoredReading, StoredSeries
from tests.gateway.test_cold_store import HOUR, T0, A, B, commit, readings, views

Rows = list[tuple[NodeId, StoredReading]]


def as_series(rows: Rows) -> tuple[Rows, list[tuple[NodeId, StoredSeries]]]:
    """The events of `rows` as rows, the rest as one StoredSeries per node and quantity."""
    events: Rows = []
    series: dict[tuple[NodeId, str, str, str | None], StoredSeries] = {}
    for node, r in rows:
        if r.kind == "event":
            events.append((node, r))
            continue
        s = series.setdefault((node, r.name, r.kind, r.unit),
                              StoredSeries(r.name, r.kind, r.unit or "", [], [], [], [], []))
        s.seqs.append(r.seq)
        s.t_ms.append(r.t_ms)
        s.values.append(r.value)  # type: ignore[arg-type]
        s.cals.append(r.cal)
        s.qs.append(r.q)
    return events, [(key[0], s) for key, s in series.items()]


def commit_bulk(store: Store, rows: Rows) -> int:
    events, series = as_series(rows)
    handled = {node: [([r.seq for n, r in rows if n == node], None)] for node in {n for n, _ in rows}}
    return store.commit(events, [], handled, {}, (), series)[0]  # type: ignore[arg-type]


def chunks(store: Store) -> int:
    return int(store.db.execute("SELECT count(*) FROM chunks").fetchone()[0])


def hot(store: Store) -> int:
    return int(store.db.execute("SELECT count(*) FROM readings").fetchone()[0])


def test_every_reader_sees_bulk_readings_as_it_sees_rows(tmp_path: Path) -> None:
    by_rows, by_bulk = Store(tmp_path / "rows.db"), Store(tmp_path / "bulk.db")
    for node, n in ((A, 300), (B, 200)):
        for part in range(0, n, 100):  # 100 rounds a commit: 100 readings per quantity
            batch = readings(node, 100, start_seq=part * 4 + 1)
            assert commit(by_rows, batch) == commit_bulk(by_bulk, batch) == 400
    # a chunk per commit, quantity and 6-hour period its 100 rounds (16.7 h) touch
    assert chunks(by_rows) == 0 and chunks(by_bulk) == 5 * 3 * 3
    assert hot(by_bulk) == 500  # only the events are rows
    assert views(by_bulk) == views(by_rows)
    for store in (by_rows, by_bulk):  # the mover: rows into chunks, the bulk path's chunks
        while store.move_cold(T0 + 1000 * HOUR):  # merged per closed period
            pass
    assert views(by_bulk) == views(by_rows)
    assert chunks(by_bulk) == chunks(by_rows)


def test_a_replay_is_a_duplicate_a_changed_one_a_conflict_and_a_repeat_stored_once(
        tmp_path: Path) -> None:
    store = Store(tmp_path / "eil.db")
    batch = readings(A, 100)
    assert commit_bulk(store, batch) == 400
    before = views(store)
    assert commit_bulk(store, batch) == 0  # the same packs again: a node that lost its ack
    assert commit(store, batch) == 0  # and again record by record, as rows
    assert views(store) == before and store.sequences.conflicts() == []
    changed = [(n, StoredReading(r.seq, r.t_ms, r.name, r.kind, r.unit,
                                 r.value + 1 if r.seq == 5 else r.value, r.text, r.ref, r.cal,
                                 r.q)) for n, r in batch]
    assert commit_bulk(store, changed) == 0
    (c,) = store.sequences.conflicts()
    assert (c["seq"], c["stored"]["value"], c["arriving"]["value"]) == (  # type: ignore[index]
        5, batch[4][1].value, batch[4][1].value + 1)  # type: ignore[operator]
    assert views(store) == before
    # one commit holding two messages with the same readings (a resend still in the batch)
    more = readings(A, 100, start_seq=401)
    events, series = as_series(more)
    twice = series + series
    handled = {A: [([r.seq for _, r in more], None)], }
    assert store.commit(events, [], handled, {}, (), twice)[0] == 400
    assert store.node_summary()[0]["readings"] == 800
    assert sorted(r.seq for r in store.export()) == list(range(1, 801))


def test_few_readings_of_a_quantity_stay_rows_and_retention_is_respected(tmp_path: Path) -> None:
    store = Store(tmp_path / "eil.db")
    few = readings(A, BULK_MIN - 1)  # one short of the bulk path per quantity
    assert commit_bulk(store, few) == 4 * (BULK_MIN - 1)
    assert chunks(store) == 0 and hot(store) == 4 * (BULK_MIN - 1)
    assert commit_bulk(store, readings(A, 300, start_seq=4 * BULK_MIN - 3)) == 1200
    while store.move_cold(T0 + 1000 * HOUR):
        pass
    policy = RetentionConfig(raw_days=0, quantities=(("moisture", 1.0, 0.0),)).policy
    gone = store.expire(T0 + 49 * HOUR, policy)  # soil moisture before T0 + 24 h is deleted
    kept = list(store.export(name="soil.moisture"))
    assert gone.raw > 0 and min(r.t_ms for r in kept) >= T0 + 24 * HOUR
    # the whole first day again, in bulk: what retention deleted does not come back
    assert commit_bulk(store, readings(A, 144)) == 0
    assert list(store.export(name="soil.moisture")) == kept


def test_ingest_of_node_packs_stores_the_same_through_either_path(tmp_path: Path) -> None:
    node = NodeId("site", "n1")
    now = T0 / 1000 + 100 * 86400
    packs, seq = [], 1
    for p in range(6):
        rs = []
        for i in range(300):
            t = T0 / 1000 + seq * 2.5
            if i % 50 == 49:
                rs.append(Reading(seq, t, "energy.total", Kind.COUNTER, seq * 0.5, "kWh"))
            else:
                rs.append(Reading(seq, t, ("soil.moisture", "air.temperature")[i % 2], Kind.GAUGE,
                                  round(20 + (seq % 31) * 0.1, 1), ("%", "K")[i % 2],
                                  cal="ads1115:bed-1" if i % 3 else None, q=3 if i == 7 else None))
            seq += 1
        packs.append(encode_pack(node, rs, floor=1 + p * 300))
    stores = {}
    for columns in (False, True):
        store = stores[columns] = Store(tmp_path / f"{columns}.db")
        outs = [validate_message(node.topic(Channel.READINGS), p, now, max_pack_bytes=1 << 20,
                                 max_future_s=60, columns=columns) for p in packs]
        assert all(bool(o.series) is columns and not o.dead for o in outs)
        rows = [(node, r) for o in outs for r in o.readings]
        series = [(node, s) for o in outs for s in o.series]
        handled = {node: [(o.handled_seqs, o.floor) for o in outs]}
        new, acked = store.commit(rows, [], handled, {}, (), series)
        assert (new, acked) == (1800, {node: 1800})
    # moisture and temperature (882 readings each) as a chunk each; the counter's 36 as rows
    assert (chunks(stores[True]), hot(stores[True]), chunks(stores[False])) == (2, 36, 0)
    exported = [list(s.export()) for s in stores.values()]
    assert exported[0] == exported[1] and len(exported[0]) == 1800
    temps = {r.unit for r in exported[0] if r.name == "air.temperature"}
    assert temps == {"Cel"}  # K converted to the canonical unit on both paths
    assert [s.latest() for s in stores.values()][0] == stores[True].latest()


WRITER = """
import sys, json
from contract.topics import NodeId
from gateway.store import Store
from tests.gateway.test_cold_store import readings
from tests.gateway.test_bulk_ingest import as_series
node = NodeId("site", "bed-1")
store = Store(__import__("pathlib").Path(sys.argv[1]))
start = store.node_summary()[0]["acked"] + 1 if store.node_summary() else 1
while True:
    batch = readings(node, 100, start_seq=start)
    events, series = as_series(batch)
    store.commit(events, [], {node: [([r.seq for _, r in batch], None)]}, {}, (), series)
    print(start + 399, flush=True)  # committed and returned: this must survive any kill
    start += 400
"""


def test_a_kill_at_any_instant_of_bulk_commits_loses_and_duplicates_nothing(
        tmp_path: Path) -> None:
    db = tmp_path / "eil.db"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    rng = random.Random(7)
    promised = 0
    kills = 0
    for _ in range(15):  # bounded: a few commits a round, killed at a random instant
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE,
                                env=env, text=True)
        assert proc.stdout is not None
        first = proc.stdout.readline()  # started and committing
        assert first.strip(), "the writer did not start"
        promised = max(promised, int(first))
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
        promised = max([promised, *map(int, out.split())])
        kills += 1
        with Store(db) as check:
            seqs = [r.seq for r in check.export()]
            assert seqs == list(range(1, len(seqs) + 1)), f"after kill {kills}: gaps or doubles"
            assert len(seqs) >= promised, f"after kill {kills}: a committed reading is gone"
            (node,) = check.node_summary()
            assert node["readings"] == len(seqs) == node["acked"]
            assert check.sequences.conflicts() == []
    assert promised >= 15 * 400 and kills == 15
