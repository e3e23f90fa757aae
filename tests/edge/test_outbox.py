from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contract.senml import Kind
from edge.errors import OutboxError
from edge.outbox import Outbox, Sampled, read_state
from edge.segment_log import SECTORS, Head, Writer, frame, parse, segment_paths

T0 = 1_795_392_000.0


def items(n: int, t: float = T0) -> list[Sampled]:
    return [Sampled(t + i, "soil.moisture", Kind.GAUGE, 20.0 + i, "%") for i in range(n)]


def test_sequence_survives_reopen_and_full_acknowledgement(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox")
    assert [r.seq for r in box.append(items(3))] == [1, 2, 3]
    assert box.ack(3) == 3 and box.depth == 0
    box.close()  # the acknowledgement reaches the card at the latest on close
    box = Outbox(tmp_path / "outbox")  # every reading acknowledged, yet numbering goes on
    assert (box.last_seq, box.acked) == (3, 3)
    assert [r.seq for r in box.append(items(2))] == [4, 5]
    assert [r.value for r in box.pending(0, 10)] == [20.0, 21.0]


def test_pending_respects_cursor_limit_and_acknowledgement(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox")
    box.append(items(4))
    box.append(items(6, T0 + 4))
    assert [r.seq for r in box.pending(0, 4)] == [1, 2, 3, 4]
    assert [r.seq for r in box.pending(2, 5)] == [3, 4, 5, 6, 7]  # across two commits
    assert [r.seq for r in box.pending(7, 100)] == [8, 9, 10]
    box.ack(5)
    assert [r.seq for r in box.pending(0, 2)] == [6, 7]  # never resend what is acknowledged
    assert box.ack(4) == 0 and box.acked == 5  # acks never move backwards


def test_ack_beyond_newest_seq_deletes_nothing(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox")
    box.append(items(3))
    with pytest.raises(OutboxError, match="beyond the newest reading 3"):
        box.ack(1000)
    assert box.acked == 0 and box.depth == 3  # not clamped: nothing acknowledged
    box.append(items(2))
    assert [r.seq for r in box.pending(0, 10)] == [1, 2, 3, 4, 5]


def test_an_ack_reaches_the_card_with_the_next_commit_and_a_lost_one_only_means_a_resend(
        tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox")
    box.append(items(5))
    box.ack(3)
    box.sync_acks()  # idle: writes nothing
    assert read_state(tmp_path / "outbox") == (5, 0, 5)
    box.append(items(1))
    assert read_state(tmp_path / "outbox") == (6, 3, 3)
    box.ack(6)  # killed before the next commit: this ack never reached the card
    reopened = Outbox(tmp_path / "outbox")
    assert reopened.acked == 3 and [r.seq for r in reopened.pending(0, 10)] == [4, 5, 6]


def test_events_calibrations_and_flags_round_trip(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox")
    box.append([Sampled(T0, "loan.checkout", Kind.EVENT, text="T001", ref="m-abc"),
                Sampled(T0 + 0.0004, "soil.moisture", Kind.GAUGE, 21.5, "%", cal="c-9", q=3)])
    box.close()
    ev, g = Outbox(tmp_path / "outbox").pending(0, 2)
    assert (ev.kind, ev.text, ev.ref, ev.value, ev.unit) == (Kind.EVENT, "T001", "m-abc", None,
                                                              None)
    assert (g.time, g.value, g.unit, g.cal, g.q) == (T0, 21.5, "%", "c-9", 3)


def test_marks_commit_with_their_readings_and_survive_reopen(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox")
    box.append(items(2), {"pico": (7, 100)})
    box.append(items(1), {"other": (1, 5)})
    box.append(items(1))
    assert Outbox(tmp_path / "outbox").marks() == {"pico": (7, 100), "other": (1, 5)}


def test_segments_rotate_and_go_only_once_acknowledged_on_the_card(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox", segment_bytes=8192)
    for i in range(60):
        box.append(items(20, T0 + 20 * i))
    paths = segment_paths(tmp_path / "outbox")
    assert len(paths) > 3
    assert [r.seq for r in box.pending(0, 2000)] == list(range(1, 1201))
    box.ack(1000)
    box.sync_acks()
    assert segment_paths(tmp_path / "outbox") == paths  # the ack is only in memory
    box.append(items(1))
    kept = segment_paths(tmp_path / "outbox")
    assert len(kept) < len(paths)
    assert [r.seq for r in box.pending(0, 2000)] == list(range(1001, 1202))
    box.close()
    again = Outbox(tmp_path / "outbox", segment_bytes=8192)
    assert [r.seq for r in again.pending(0, 2000)] == list(range(1001, 1202))
    assert (again.last_seq, again.acked) == (1201, 1000)


def test_a_torn_commit_is_as_if_never_made_and_the_log_goes_on(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox")
    box.append(items(20))
    box.append(items(20, T0 + 20))
    box.close()
    (seg,) = segment_paths(tmp_path / "outbox")
    data = seg.read_bytes()
    second = parse(data, 0)
    assert second is not None
    end = second[2]
    third = parse(data, end)
    assert third is not None
    # a power cut wrote only part of the second commit's sector
    with seg.open("r+b") as f:
        f.seek(end + 20)
        f.write(os.urandom(100))
    box = Outbox(tmp_path / "outbox")
    assert box.last_seq == 20 and [r.seq for r in box.pending(0, 100)] == list(range(1, 21))
    assert [r.seq for r in box.append(items(3))] == [21, 22, 23]
    box.close()
    assert read_state(tmp_path / "outbox") == (23, 0, 23)


def test_a_frame_at_4096_byte_alignment_is_read_like_one_at_512(tmp_path: Path) -> None:
    path = tmp_path / "00000001.seg"
    a = frame(Head(3, 0, 3), b"x" * 10, 4096)
    b = frame(Head(5, 1, 2), b"y" * 600, 512)
    path.write_bytes(a + b)
    first = parse(path.read_bytes(), 0)
    assert first is not None and first[2] == 4096 and len(b) == 1024
    second = parse(path.read_bytes(), 4096)
    assert second is not None and second[0] == Head(5, 1, 2) and second[1] == b"y" * 600


def test_the_log_written_through_the_page_cache_reads_the_same(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox", direct_io=False)  # as where O_DIRECT is refused
    box.append(items(5))
    assert box._writer is not None and not box._writer.direct
    box.close()
    assert [r.value for r in Outbox(tmp_path / "outbox").pending(0, 9)] == [
        20.0, 21.0, 22.0, 23.0, 24.0]


def test_on_ext4_a_commit_of_20_readings_writes_one_sector(tmp_path: Path) -> None:
    writer = Writer(tmp_path / "probe.seg", 0)
    writer.close()
    if not writer.direct:
        pytest.skip("this file system refuses O_DIRECT")
    box = Outbox(tmp_path / "outbox")
    box.append(items(20))

    def written() -> int:
        line = next(x for x in Path("/proc/self/io").read_text().splitlines()
                    if x.startswith("write_bytes:"))
        return int(line.split()[1])

    before = written()
    for i in range(1, 11):
        box.append(items(20, T0 + 20 * i))
    assert box._writer is not None and box._writer.sector in SECTORS
    per_commit = (written() - before) / 10
    assert per_commit <= 2 * box._writer.sector, per_commit  # not a 4 KiB page per commit


def _legacy(path: Path, acked: int, rows: int, marks: bool) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, t REAL NOT NULL, "
               "name TEXT NOT NULL, kind TEXT NOT NULL, v REAL, u TEXT, vs TEXT, ref TEXT)")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    for seq in range(acked + 1, acked + rows + 1):
        db.execute("INSERT INTO outbox VALUES (?, ?, 'soil.moisture', 'gauge', ?, '%', NULL, "
                   "NULL)", (seq, T0 + seq, float(seq)))
    db.execute("INSERT OR REPLACE INTO sqlite_sequence VALUES ('outbox', ?)", (acked + rows,))
    db.execute("INSERT INTO meta VALUES ('acked', ?)", (acked,))
    if marks:
        db.executemany("INSERT INTO meta VALUES (?, ?)", [("mark:pico:boot", 9),
                                                          ("mark:pico:next", 44)])
    db.commit()
    db.close()


def test_a_sqlite_outbox_of_an_older_version_is_carried_into_the_log_once(tmp_path: Path) -> None:
    _legacy(tmp_path / "outbox.db", acked=10, rows=4, marks=True)
    box = Outbox(tmp_path / "outbox")
    assert not (tmp_path / "outbox.db").exists()
    assert (box.last_seq, box.acked, box.marks()) == (14, 10, {"pico": (9, 44)})
    assert [(r.seq, r.value, r.cal, r.q) for r in box.pending(0, 10)] == [
        (11, 11.0, None, None), (12, 12.0, None, None), (13, 13.0, None, None),
        (14, 14.0, None, None)]
    assert [r.seq for r in box.append(items(1))] == [15]
    box.close()
    # killed after the import but before the database was deleted: it is not imported again
    _legacy(tmp_path / "outbox.db", acked=10, rows=4, marks=False)
    again = Outbox(tmp_path / "outbox")
    assert not (tmp_path / "outbox.db").exists()
    assert again.last_seq == 15 and len(again.pending(0, 100)) == 5


def test_a_fully_acknowledged_sqlite_outbox_keeps_its_numbering(tmp_path: Path) -> None:
    _legacy(tmp_path / "outbox.db", acked=500, rows=0, marks=False)
    box = Outbox(tmp_path / "outbox")
    assert (box.last_seq, box.acked, box.pending(0, 10)) == (500, 500, [])
    assert [r.seq for r in box.append(items(1))] == [501]


_WRITER = """
import sys
from pathlib import Path
from contract.senml import Kind
from edge.outbox import Outbox, Sampled
box = Outbox(Path(sys.argv[1]), segment_bytes=16384)
while True:
    n = box.last_seq
    batch = [Sampled(1.7e9 + n + i, "s.x", Kind.GAUGE, float(n + 1 + i), "%")
             for i in range(1 + n % 37)]
    box.append(batch, {"mcu": (1, box.last_seq + len(batch) + 1)})
    if n % 3 == 0 and box.last_seq > 50:
        box.ack(box.last_seq - 40)
    print(box.last_seq, box.acked_on_disk, flush=True)
"""


def test_kill_9_at_random_instants_loses_no_committed_reading(tmp_path: Path) -> None:
    rng = random.Random(16)
    root = Path(__file__).resolve().parents[2]
    path = tmp_path / "outbox"
    committed, acked = 0, 0
    for _ in range(25):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], cwd=root,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        first = proc.stdout.readline()  # started and committed at least once
        assert first, "the writer did not start"
        time.sleep(rng.uniform(0, 0.15))
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=20)
        for line in (first + out).split("\n")[:-1]:  # a line cut by the kill is not counted
            committed, acked = map(int, line.split())
        box = Outbox(path, segment_bytes=16384)
        # every commit that returned is there (one more may have landed before the kill)
        assert box.last_seq >= committed and box.acked >= acked
        held = box.pending(0, 10**6)
        assert [r.seq for r in held] == list(range(box.acked + 1, box.last_seq + 1))
        assert all(r.value == float(r.seq) and r.time == 1.7e9 + r.seq - 1 for r in held)
        assert box.marks() == {"mcu": (1, box.last_seq + 1)}  # mark and readings together
        committed, acked = box.last_seq, box.acked
        box.close()


names = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,63}", fullmatch=True)
times = st.floats(946_684_800, 4e9, allow_nan=False)
optional_text = st.one_of(st.none(), st.text(max_size=10))
measurements = st.builds(
    Sampled, times, names, st.sampled_from([Kind.GAUGE, Kind.COUNTER]),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(["%", "Cel", "m3", "W"]),
    cal=st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}", fullmatch=True)),
    q=st.one_of(st.none(), st.sampled_from([3, 4])))
events = st.builds(Sampled, times, names, st.just(Kind.EVENT), text=st.text(max_size=30),
                   ref=optional_text)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(measurements, events), max_size=40))
def test_what_is_committed_is_what_is_read_back(tmp_path_factory: pytest.TempPathFactory,
                                                 sampled: list[Sampled]) -> None:
    path = tmp_path_factory.mktemp("o") / "outbox"
    box = Outbox(path)
    written = box.append(sampled)
    box.close()
    assert Outbox(path).pending(0, 100) == written


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.integers(0, 10**6), st.integers(0, 50),
       st.integers(0, 2000), st.integers(0, 255))
def test_a_damaged_frame_never_reads_as_another(payload: bytes, last: int, count: int,
                                                where: int, value: int) -> None:
    head = Head(last + count, last, count)
    data = bytearray(frame(head, payload, 512))
    assert parse(bytes(data), 0) == (head, payload, len(data))
    where %= len(data)
    if data[where] == value:
        return
    data[where] = value
    parsed = parse(bytes(data), 0)
    # a change inside the padding is harmless; anywhere else the frame no longer checks
    assert parsed is None or (parsed[0], parsed[1]) == (head, payload)


def test_a_segment_created_just_before_a_crash_is_taken_as_empty(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox")
    box.append(items(3))
    box.close()
    (tmp_path / "outbox" / "00000002.seg").write_bytes(b"")  # created, nothing in it yet
    (tmp_path / "outbox" / "00000003.seg").write_bytes(bytes(8192))  # preallocated only
    again = Outbox(tmp_path / "outbox")
    assert (again.last_seq, [r.seq for r in again.pending(0, 9)]) == (3, [1, 2, 3])
    assert [r.seq for r in again.append(items(1))] == [4]
    again.close()
    assert read_state(tmp_path / "outbox") == (4, 0, 4)
