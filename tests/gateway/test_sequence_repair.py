"""A steward's choice between two versions of one (node, seq) (gateway/store/sequence_repair.py,
`eil gateway sequence NODE --conflict SEQ --keep first|other`): the chosen version is stored,
hot or cold, recorded with who and when, reversible; the sinks write it again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from contract.topics import NodeId
from gateway.errors import StoreError
from gateway.store import Store
from gateway.store.rows import StoredReading

N = NodeId("site-1", "node-1")
T0 = 1_795_392_000_000  # ms
ROOT = Path(__file__).resolve().parents[2]


def rows(seqs: range, value: float = 1.0, name: str = "a", dt: int = 0
         ) -> list[tuple[NodeId, StoredReading]]:
    return [(N, StoredReading(s, T0 + s * 1000 + dt, name, "gauge", "W", value, None, None))
            for s in seqs]


def commit(store: Store, batch: list[tuple[NodeId, StoredReading]]) -> None:
    store.commit(batch, [], {N: [([r.seq for _, r in batch], None)]}, {})


def values(store: Store) -> list[tuple[int, str, float | None, int]]:
    return [(r.seq, r.name, r.value, r.t_ms) for r in store.export()]


def test_keeping_the_other_version_replaces_it_records_who_and_reverses(tmp_path: Path) -> None:
    store = Store(tmp_path / "eil.db")
    commit(store, rows(range(1, 6)))  # a forged pack got here first? the steward will say
    store.sinks.start("vm", False, T0)
    store.sinks.advance("vm", {1: 5}, 0, ({1: 5}, 0), 5, 1.0)
    commit(store, rows(range(3, 4), value=7.5, name="b", dt=250))  # the real reading
    before = values(store)
    choice = store.sequences.keep(N, 3, "other", "alice", 1000.0)
    assert (choice.kept, choice.by, choice.conflict) == ("other", "alice", 1)
    assert values(store) == [*before[:2], (3, "b", 7.5, T0 + 3250), *before[3:]]
    (c,) = store.sequences.conflicts()
    assert c["kept"] == "other" and c["stored"]["value"] == 1.0  # type: ignore[index]
    assert store.sinks.positions("vm")[0] == {1: 2}  # the sink writes seq 3 again
    (summary,) = store.node_summary()
    assert summary["readings"] == 5  # replaced, not added
    # the same real reading arriving again is a replay now, not a new conflict
    commit(store, rows(range(3, 4), value=7.5, name="b", dt=250))
    assert len(store.sequences.conflicts()) == 1
    # reversed
    store.sequences.keep(N, 3, "first", "bob", 2000.0)
    assert values(store) == before
    assert [(x["by"], x["kept"], x["at"]) for x in store.sequences.choices()] == [
        ("bob", "first", 2000.0), ("alice", "other", 1000.0)]
    assert store.sequences.choices()[1]["replaced"]["value"] == 1.0  # type: ignore[index]
    store.close()


def test_a_cold_reading_is_taken_out_of_its_chunk(tmp_path: Path) -> None:
    store = Store(tmp_path / "eil.db")
    commit(store, rows(range(1, 201)))
    while store.move_cold(T0 + 10**9):
        pass
    assert store.cold_totals()[0] == 200
    commit(store, rows(range(50, 51), value=-4.0))  # a replay with other content, found cold
    store.sequences.keep(N, 50, "other", "alice", 1.0)
    got = values(store)
    assert len(got) == 200 and got[49] == (50, "a", -4.0, T0 + 50_000)
    assert [v for s, _, v, _ in got if s != 50] == [1.0] * 199
    assert store.cold_totals()[0] == 199  # the chosen version is a row until the next move
    store.sequences.keep(N, 50, "first", "alice", 2.0)
    assert [v for _, _, v, _ in values(store)] == [1.0] * 200
    store.close()


def test_mistakes_are_refused_with_the_reason(tmp_path: Path) -> None:
    store = Store(tmp_path / "eil.db")
    commit(store, rows(range(1, 4)))
    with pytest.raises(StoreError, match="no conflict is recorded for site-1/node-1 seq 2"):
        store.sequences.keep(N, 2, "other", "a", 1.0)
    commit(store, rows(range(2, 3), value=5.0))
    commit(store, rows(range(2, 3), value=6.0))
    with pytest.raises(StoreError, match="already keeps the version that arrived first"):
        store.sequences.keep(N, 2, "first", "a", 1.0)
    with pytest.raises(StoreError, match=r"2 other versions .* \(conflicts 1, 2\): choose one"):
        store.sequences.keep(N, 2, "other", "a", 1.0)
    with pytest.raises(StoreError, match="conflict 9 is not one of"):
        store.sequences.keep(N, 2, "other", "a", 1.0, conflict=9)
    with pytest.raises(StoreError, match="the store has no node site-1/ghost"):
        store.sequences.keep(NodeId("site-1", "ghost"), 2, "other", "a", 1.0)
    store.sequences.keep(N, 2, "other", "a", 1.0, conflict=2)
    with pytest.raises(StoreError, match="already keeps that version"):
        store.sequences.keep(N, 2, "other", "a", 1.0, conflict=2)
    assert [v for _, _, v, _ in values(store)] == [1.0, 6.0, 1.0]
    store.close()


def eil(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "eil", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


def test_the_steward_chooses_from_the_command_line(tmp_path: Path) -> None:
    with Store(tmp_path / "eil.db") as store:
        commit(store, rows(range(1, 4)))
        commit(store, rows(range(3, 4), value=2.5))
    shown = eil("gateway", "sequence", "node-1", "--data", str(tmp_path))
    assert shown.returncode == 0, shown.stderr
    assert "seq 3 (conflict 1, arrived x1): first a=1.0 W at " in shown.stdout
    assert "other a=2.5 W at " in shown.stdout and "stored: first" in shown.stdout
    done = eil("gateway", "sequence", "node-1", "--data", str(tmp_path), "--conflict", "3",
               "--keep", "other", "--by", "alice")
    assert done.returncode == 0, done.stderr
    assert "seq 3: the store now keeps the other version (conflict 1); recorded as chosen by " \
           "alice" in done.stdout
    shown = eil("gateway", "sequence", "node-1", "--data", str(tmp_path))
    assert "stored: other" in shown.stdout and "alice kept the other version of seq 3" in \
        shown.stdout
    half = eil("gateway", "sequence", "node-1", "--data", str(tmp_path), "--conflict", "3")
    assert half.returncode == 2 and "--conflict SEQ and --keep first|other go together" in \
        half.stderr
    again = eil("gateway", "sequence", "node-1", "--data", str(tmp_path), "--conflict", "3",
                "--keep", "other")
    assert again.returncode == 2 and "already keeps that version" in again.stderr
    with Store(tmp_path / "eil.db", readonly=True) as store:
        assert [v for _, _, v, _ in values(store)] == [1.0, 1.0, 2.5]


def test_a_store_of_the_previous_schema_is_upgraded_in_place(tmp_path: Path) -> None:
    with Store(tmp_path / "eil.db") as store:
        commit(store, rows(range(1, 3)))
        commit(store, rows(range(2, 3), value=3.0))
        store.sinks.start("vm", False, T0)
        for sql in ("ALTER TABLE conflicts DROP COLUMN kept", "DROP TABLE conflict_choices",
                    "ALTER TABLE sink_state DROP COLUMN removed", "PRAGMA user_version=9"):
            store.db.execute(sql)
    with Store(tmp_path / "eil.db", readonly=True) as old:  # a reader before the upgrade
        assert old.sequences.conflicts()[0]["kept"] == "first"
        assert old.sequences.choices() == []
    with Store(tmp_path / "eil.db") as store:
        assert store.sequences.conflicts()[0]["kept"] == "first"
        store.sequences.keep(N, 2, "other", "a", 1.0)
        assert store.sinks.status(T0)[0].removed is None
