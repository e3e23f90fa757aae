"""Cold storage: readings moved from rows into chunks read back exactly as before the move through
every reader, a replay of a moved reading is still a duplicate (or a conflict, with both
versions), and a kill -9 at any instant of a move loses, duplicates or corrupts nothing."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from contract.topics import NodeId
from core.clock import ManualClock
from core.errors import EilError
from gateway.config import RetentionConfig, load_gateway_config
from gateway.store import Store
from gateway.store.cold import PERIOD_MS
from gateway.store.mover import ColdMover, cutoff_ms
from gateway.store.rows import StoredReading

A, B = NodeId("site", "bed-1"), NodeId("site", "tank")
T0 = 1_764_547_200_000  # 2025-12-01, ms
HOUR = 3_600_000


def readings(node: NodeId, n: int, *, start_seq: int = 1) -> list[tuple[NodeId, StoredReading]]:
    """Every 10 minutes: two gauges (one calibrated, some flagged), a counter and an event."""
    out, seq = [], start_seq
    for i in range(n):
        t = T0 + i * 600_000
        out += [(node, StoredReading(seq, t, "soil.moisture", "gauge", "%", round(20 + i % 7 * 0.3, 1),
                                     None, None, "ads:bed-1:2025-11", 3 if i % 13 == 0 else None)),
                (node, StoredReading(seq + 1, t + 5, "air.temperature", "gauge", "Cel",
                                     -2.5 + (i * 0.37) % 9, None, None)),
                (node, StoredReading(seq + 2, t + 9, "water.volume", "counter", "l",
                                     float(i * 12), None, None)),
                (node, StoredReading(seq + 3, t + 11, "tool.lent", "event", None, None,
                                     "drill-3", "member-ab12"))]
        seq += 4
    return out


def commit(store: Store, rows: list[tuple[NodeId, StoredReading]]) -> int:
    handled = {}
    for node in {n for n, _ in rows}:
        handled[node] = [([r.seq for n, r in rows if n == node], None)]
    return store.commit(rows, [], handled, {})[0]  # type: ignore[arg-type]


def views(store: Store) -> dict[str, object]:
    """What every reader returns, for comparing a store before and after a move."""
    since = {"soil.moisture": T0, "air.temperature": T0 + 2 * HOUR, "water.volume": T0}
    out: dict[str, object] = {
        "export": list(store.export()),
        "export bed-1 air": list(store.export(node="bed-1", name="air.temperature")),
        "export window": list(store.export(since_ms=T0 + 5 * HOUR, until_ms=T0 + 30 * HOUR)),
        "series": store.series("bed-1", "soil.moisture", T0, T0 + 100 * HOUR),
        "series window": store.series("tank", "air.temperature", T0 + 3 * HOUR, T0 + 9 * HOUR),
        "gauge_series": sorted(store.gauge_series(since, T0 + 40 * HOUR)),
        "latest": store.latest(),
        "newest": store.newest_time_ms(),
        "summary": [{k: v for k, v in n.items() if k in ("node", "readings", "first_seq",
                                                         "last_seq", "acked")}
                    for n in store.node_summary()],
    }
    unit, times, means = store.series("bed-1", "air.temperature", T0, T0 + 100 * HOUR, points=17)
    out["bucketed"] = (unit, times, [round(m, 9) for m in means])
    return out


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "eil.db")
    commit(s, readings(A, 300))
    commit(s, readings(B, 200))
    return s


def test_every_reader_returns_the_same_rows_after_a_move(store: Store) -> None:
    before = views(store)
    assert store.move_cold(T0 + 24 * HOUR) > 0  # the first day: hot and cold both hold readings
    assert views(store) == before
    while store.move_cold(T0 + 1000 * HOUR, limit=500):  # now everything that can move
        pass
    assert views(store) == before
    moved, oldest, size = store.cold_totals()
    assert moved == 3 * 300 + 3 * 200 and oldest == T0  # gauges and counters; events stay rows
    hot = store.db.execute("SELECT count(*), count(*) FILTER (WHERE vs IS NULL) FROM readings"
                           ).fetchone()
    assert hot == (500, 0)
    assert size / moved < 8, size / moved


def test_a_replay_of_moved_readings_is_a_duplicate_and_a_changed_one_a_conflict(
        store: Store) -> None:
    while store.move_cold(T0 + 1000 * HOUR):
        pass
    assert commit(store, readings(A, 300)) == 0  # nothing stored twice
    assert len(list(store.export(node="bed-1"))) == 4 * 300
    forged = [(A, StoredReading(5, T0 + 600_000, "soil.moisture", "gauge", "%", 99.0, None,
                                None))]
    assert commit(store, forged) == 0
    (conflict,) = store.sequences.conflicts()
    assert conflict["seq"] == 5 and conflict["arriving"]["value"] == 99.0  # type: ignore[index]
    stored = conflict["stored"]  # the cold version, read back from its chunk
    assert (stored["value"], stored["cal"]) == (20.3, "ads:bed-1:2025-11")  # type: ignore[index]


MOVER = """
import sys, time
from gateway.store import Store
store = Store(__import__("pathlib").Path(sys.argv[1]))
print("ready", flush=True)
while store.move_cold(int(sys.argv[2]), limit=2):
    pass
print("done", flush=True)
time.sleep(60)
"""


@pytest.mark.slow
def test_a_kill_at_any_instant_of_a_move_loses_duplicates_and_corrupts_nothing(
        store: Store, tmp_path: Path) -> None:
    before = views(store)
    store.close()
    rng = random.Random(16)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    kills = 0
    for _ in range(40):  # bounded: each round moves a little more, killed at a random instant
        proc = subprocess.Popen([sys.executable, "-c", MOVER, str(tmp_path / "eil.db"),
                                 str(T0 + 1000 * HOUR)], stdout=subprocess.PIPE, env=env)
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0, 0.02))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        kills += 1
        check = Store(tmp_path / "eil.db")
        assert views(check) == before, f"after kill {kills}"
        done = check.cold_totals()[0] == 1500
        print(f"kill {kills}: {check.cold_totals()[0]} readings moved so far")
        check.close()
        if done:
            break
    assert kills >= 5  # the move was cut at several instants, not once
    final = Store(tmp_path / "eil.db")
    while final.move_cold(T0 + 1000 * HOUR):
        pass
    assert views(final) == before and final.cold_totals()[0] == 1500
    assert final.db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_the_mover_moves_whole_periods_older_than_the_hot_window(store: Store,
                                                                 tmp_path: Path) -> None:
    clock = ManualClock((T0 + 30 * HOUR + 1234) / 1000)
    mover = ColdMover(store, hot_s=6 * 3600, every_s=600, clock=clock)
    assert cutoff_ms(T0 + 30 * HOUR + 1234, 6 * 3600) == T0 + 24 * HOUR + 1234
    moved = mover.move_once()
    hot_gauges = store.db.execute("SELECT min(t) FROM readings WHERE vs IS NULL").fetchone()[0]
    assert hot_gauges >= T0 + 24 * HOUR + 1234 and moved == 3 * 145 * 2  # slots 0..144
    assert mover.move_once() == 0  # nothing more until the clock moves on
    assert store.storage().cold == moved
    cfg = tmp_path / "gateway.toml"
    cfg.write_text('site = "s"\n[broker]\npassword = "x"\n[store]\nhot_hours = 0\n')
    with pytest.raises(EilError, match=r"store\.hot_hours.*must be > 0"):
        load_gateway_config(cfg)


def test_moving_often_leaves_one_chunk_per_series_and_closed_period(store: Store) -> None:
    before = views(store)
    for step in range(1, 87):  # every 10 minutes of node time, a 1-hour hot window
        store.move_cold(T0 + step * 600_000 - HOUR)
        assert views(store) == before if step % 20 == 0 else True
    cutoff = T0 + 86 * 600_000 - HOUR
    chunks = store.db.execute("SELECT series_id, t0 / ?, count(*) FROM chunks GROUP BY 1, 2",
                              (PERIOD_MS,)).fetchall()
    closed = [count for _, period, count in chunks if period < cutoff // PERIOD_MS]
    still_open = [count for _, period, count in chunks if period >= cutoff // PERIOD_MS]
    assert closed and set(closed) == {1}  # merged once its period ended
    assert max(still_open) > 1  # the open period fills in small chunks until then
    assert views(store) == before


def test_hourly_rollups_summarise_exactly_the_raw_readings_of_their_hour(store: Store) -> None:
    while store.move_cold(T0 + 1000 * HOUR):
        pass
    assert store.storage().oldest_rollup_ms is None  # made only when raw readings go
    raw = list(store.export())
    store.expire(T0 + 10_000 * HOUR, RetentionConfig(raw_days=1).policy)  # all raw goes
    assert [r for r in store.export() if r.kind != "event"] == []
    want: dict[tuple[str, str, int], list[float]] = {}
    for r in raw:
        if r.kind != "event":
            e = want.setdefault((r.node, r.name, r.t_ms // HOUR), [])
            e.append(r.value)  # type: ignore[arg-type]
    got = {(node, name, hour): (n, lo, hi, total) for node, name, hour, n, lo, hi, total in
           store.db.execute("SELECT n.node, s.name, r.hour, r.n, r.lo, r.hi, r.total FROM "
                            "rollups r JOIN series s USING (series_id) JOIN nodes n USING "
                            "(node_id)")}
    assert got.keys() == want.keys()
    for key, values in want.items():
        n, lo, hi, total = got[key]
        assert (n, lo, hi) == (len(values), min(values), max(values))
        assert total == pytest.approx(sum(values))


def test_retention_deletes_only_what_its_policy_says(store: Store) -> None:
    while store.move_cold(T0 + 1000 * HOUR):
        pass
    before = {k: list(store.export(name=k)) for k in ("soil.moisture", "air.temperature",
                                                        "water.volume", "tool.lent")}
    chart = store.series("bed-1", "soil.moisture", T0, T0 + 48 * HOUR, points=8)
    policy = RetentionConfig(raw_days=0, quantities=(("moisture", 1.0, 0.0),)).policy
    now = T0 + 49 * HOUR  # soil moisture is kept one day raw: periods before T0 + 24 h go
    gone = store.expire(now, policy)
    raw, rolled = gone.raw, gone.rolled
    kept = list(store.export(name="soil.moisture"))
    assert raw == sum(1 for r in before["soil.moisture"] if r.t_ms < T0 + 24 * HOUR) > 0
    assert rolled == 0 and kept == [r for r in before["soil.moisture"] if r.t_ms >= T0 + 24 * HOUR]
    for other in ("air.temperature", "water.volume", "tool.lent"):  # not in the policy
        assert list(store.export(name=other)) == before[other]
    # the chart of the deleted day now comes from the roll-ups, with the same means
    unit, times, means = store.series("bed-1", "soil.moisture", T0, T0 + 48 * HOUR, points=8)
    assert (unit, times) == chart[:2] and means == pytest.approx(chart[2])
    # a node replaying a deleted reading does not bring it back
    old = [(n, r) for n, r in readings(A, 3)][:1]
    assert commit(store, old) == 0 and list(store.export(name="soil.moisture")) == kept
    summary = {n["node"]: n["readings"] for n in store.node_summary()}
    assert summary["bed-1"] + summary["tank"] == 4 * 500 - raw
    assert store.storage().oldest_rollup_ms == T0


def test_retention_is_configured_per_quantity_and_refuses_a_negative_age(tmp_path: Path) -> None:
    cfg = tmp_path / "gateway.toml"
    cfg.write_text('site = "s"\n[broker]\npassword = "x"\n[retention]\nraw_days = 400\n'
                   '[retention.quantities."node.load"]\nraw_days = 30\nrollup_days = 365\n')
    r = load_gateway_config(cfg).retention
    assert r.policy("pi.node.load") == (30, 365) and r.policy("soil.moisture") == (400, 0)
    assert RetentionConfig().policy("x") == (1095, 0)  # the default: three years raw
    cfg.write_text('site = "s"\n[broker]\npassword = "x"\n[retention]\nrollup_days = -1\n')
    with pytest.raises(EilError, match=r"retention\.rollup_days.*keep forever"):
        load_gateway_config(cfg)


def test_status_says_how_many_days_the_free_space_lasts_at_the_last_days_rate(
        store: Store) -> None:
    store.move_cold(T0 + 40 * HOUR)  # the last day spans hot rows and cold chunks
    s = store.storage()
    rows = list(store.export())
    newest = max(r.t_ms for r in rows)
    assert s.last_day == pytest.approx(sum(1 for r in rows if r.t_ms >= newest - 24 * HOUR),
                                       rel=0.03)  # a straddling chunk counts by its time share
    assert s.days_left == pytest.approx(s.free_bytes / (s.bytes / len(rows) * s.last_day))
    out = subprocess.run([sys.executable, "-m", "eil", "status", "--data", str(store.path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "days of it at the last day's" in out.stdout, out.stderr
