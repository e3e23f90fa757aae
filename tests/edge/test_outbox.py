from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from contract.senml import Kind
from edge.errors import OutboxError
from edge.outbox import Outbox, Sampled

T0 = 1_795_392_000.0


def items(n: int, t: float = T0) -> list[Sampled]:
    return [Sampled(t + i, "soil.moisture", Kind.GAUGE, 20.0 + i, "%") for i in range(n)]


def test_sequence_survives_reopen_and_full_acknowledgement(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    assert [r.seq for r in box.append(items(3))] == [1, 2, 3]
    assert box.ack(3) == 3 and box.depth == 0
    box.close()  # acknowledged rows are deleted at the latest on close
    box = Outbox(tmp_path / "o.db")  # every row deleted, yet numbering goes on
    assert (box.last_seq, box.acked) == (3, 3)
    assert [r.seq for r in box.append(items(2))] == [4, 5]
    assert [r.value for r in box.pending(0, 10)] == [20.0, 21.0]


def test_pending_respects_cursor_limit_and_acknowledgement(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    box.append(items(10))
    assert [r.seq for r in box.pending(0, 4)] == [1, 2, 3, 4]
    assert [r.seq for r in box.pending(7, 100)] == [8, 9, 10]
    box.ack(5)
    assert [r.seq for r in box.pending(0, 2)] == [6, 7]  # never resend what is acknowledged
    assert box.ack(4) == 0 and box.acked == 5  # acks never move backwards


def test_ack_beyond_newest_seq_deletes_nothing(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    box.append(items(3))
    with pytest.raises(OutboxError, match="beyond the newest reading 3"):
        box.ack(1000)
    assert box.acked == 0 and box.depth == 3  # not clamped: nothing acknowledged
    box.append(items(2))
    assert [r.seq for r in box.pending(0, 10)] == [1, 2, 3, 4, 5]


def test_acknowledged_rows_go_with_the_next_write_and_a_lost_ack_only_means_a_resend(
        tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    box.append(items(5))
    box.ack(3)
    other = sqlite3.connect(tmp_path / "o.db")
    assert other.execute("SELECT count(*) FROM outbox").fetchone() == (5,)
    box.append(items(1))
    assert other.execute("SELECT min(seq), count(*) FROM outbox").fetchone() == (4, 3)
    box.ack(6)
    box.db.close()  # killed before the next write: the ack was not persisted
    reopened = Outbox(tmp_path / "o.db")
    assert reopened.acked == 3 and [r.seq for r in reopened.pending(0, 10)] == [4, 5, 6]


def test_committed_rows_are_on_disk_for_another_reader(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    box.append(items(4))
    other = sqlite3.connect(tmp_path / "o.db")
    assert other.execute("SELECT count(*), max(seq) FROM outbox").fetchone() == (4, 4)
    assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_events_keep_text_and_ref(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    box.append([Sampled(T0, "loan.checkout", Kind.EVENT, text="T001", ref="m-abc")])
    (r,) = box.pending(0, 1)
    assert (r.kind, r.text, r.ref, r.value, r.unit) == (Kind.EVENT, "T001", "m-abc", None, None)


def test_an_outbox_written_by_version_0_1_gains_the_new_columns(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "o.db")
    db.execute("CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, t REAL NOT NULL, "
               "name TEXT NOT NULL, kind TEXT NOT NULL, v REAL, u TEXT, vs TEXT, ref TEXT)")
    db.execute("INSERT INTO outbox VALUES (1, ?, 'soil.moisture', 'gauge', 20.0, '%', NULL, NULL)",
               (T0,))
    db.commit()
    db.close()
    box = Outbox(tmp_path / "o.db")
    box.append([Sampled(T0, "soil.moisture", Kind.GAUGE, 21.0, "%", cal="c-9", q=4)])
    assert [(r.seq, r.value, r.cal, r.q) for r in box.pending(0, 10)] == [
        (1, 20.0, None, None), (2, 21.0, "c-9", 4)]
