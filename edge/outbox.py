"""Durable outbox: every reading is committed here before it may be published, and deleted only
when the gateway acknowledges it.

One commit (`append`: the readings the agent sampled in the last second or so, and the hand-off
marks that cover them) is one frame of edge.segment_log, on the card when `append` returns: kill
-9 or power loss after it loses nothing, and a commit cut short is found torn and is as if never
made (its readings were never published). Each frame also records the newest sequence number and
the acknowledged one as they were at that commit, so numbering goes on strictly increasing across
restarts even when every reading has been acknowledged and deleted.

An acknowledgement changes memory only; it reaches the card with the next commit (or `close`),
never on a write of its own: an idle node writes nothing. If the process dies first, the readings
it covered are merely sent again (the gateway stores a replay once). A segment file is deleted
once every reading in it is acknowledged on the card (`sync_acks`, and after each commit).

Outboxes of earlier releases (SQLite, `outbox.db` beside the log's directory) are carried
into the log on first open: unacknowledged readings, sequence numbers, acknowledgement and marks.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import zlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from contract.senml import Kind, Reading
from edge.errors import OutboxError
from edge.handoff import Mark
from edge.segment_log import (
    SEGMENT_BYTES,
    Head,
    LogCorrupt,
    Segment,
    Writer,
    fsync_dir,
    segment_path,
    segment_paths,
)

log = logging.getLogger("eil.node.outbox")

_CACHED_FRAMES = 8  # decoded frames kept: the agent publishes what it has just committed


@dataclass(frozen=True, slots=True)
class Sampled:
    """A reading sampled but not yet committed: the outbox gives it its sequence number."""

    time: float  # UNIX seconds, when measured
    name: str
    kind: Kind
    value: float | None = None
    unit: str | None = None  # SenML symbol; None for events
    text: str | None = None  # events
    ref: str | None = None  # events: the second subject
    cal: str | None = None  # calibration identity
    q: int | None = None  # QARTOD flag set at the edge


class OutboxState(NamedTuple):
    last_seq: int  # the newest sequence number given out
    acked: int  # acknowledged, as on the card
    held: int  # readings kept and not acknowledged on the card


def _payload(readings: Sequence[Reading], marks: Mapping[str, Mark]) -> bytes:
    rows = []
    for r in readings:
        row: list[Any] = [r.time, r.name, r.kind.value, r.value, r.unit, r.text, r.ref, r.cal, r.q]
        while row[-1] is None:
            row.pop()
        rows.append(row)
    body = {"r": rows, "m": {source: list(mark) for source, mark in marks.items()}}
    return zlib.compress(json.dumps(body, separators=(",", ":")).encode(), 6)


def _decode(head: Head, payload: bytes) -> tuple[list[Reading], dict[str, Mark]]:
    body = json.loads(zlib.decompress(payload))
    first = head.last_seq - head.count + 1
    readings = []
    for i, row in enumerate(body["r"]):
        t, name, kind, *rest = row
        rest += [None] * (6 - len(rest))
        readings.append(Reading(first + i, t, name, Kind(kind), *rest))
    if len(readings) != head.count:
        raise LogCorrupt(f"a frame says {head.count} readings and holds {len(readings)}")
    return readings, {source: (boot, nxt) for source, (boot, nxt) in body["m"].items()}


def _scan(directory: Path) -> tuple[list[Segment], Head | None, dict[str, Mark]]:
    segments: list[Segment] = []
    newest: Segment | None = None  # the last segment with a valid frame: it holds the state
    paths = segment_paths(directory)
    for path in paths:
        segment = Segment(path)
        if torn := segment.scan():
            log.warning("%s: %d bytes after the last valid frame at byte %d (%s)", path, torn,
                        segment.end, "a commit cut short" if path == paths[-1] else
                        "NOT at the tail: readings after it are unreadable")
        if segment.head is not None:
            newest = segment
        segments.append(segment)
    if newest is None or newest.head is None:
        return segments, None, {}
    return segments, newest.head, _decode(newest.head, newest.last_payload)[1]


def read_state(directory: Path) -> OutboxState:
    """The outbox's state as on the card, read without changing anything (for status and tests;
    safe while the agent runs)."""
    _, head, _ = _scan(directory)
    if head is None:
        return OutboxState(0, 0, 0)
    return OutboxState(head.last_seq, head.acked, head.last_seq - head.acked)


class Outbox:
    def __init__(self, path: Path, segment_bytes: int = SEGMENT_BYTES,
                 direct_io: bool = True) -> None:
        """Open (or create) the outbox whose log is the directory `path`. `direct_io=False`
        writes through the page cache (what happens anyway where O_DIRECT is refused)."""
        self.path = path
        self.segment_bytes = segment_bytes
        self.direct_io = direct_io
        try:
            path.mkdir(parents=True, exist_ok=True)
            legacy = path.with_suffix(".db")
            if legacy != path and legacy.exists():
                self._import_legacy(legacy)
            self.segments, head, self._marks = _scan(path)
        except (OSError, sqlite3.Error, LogCorrupt, ValueError, KeyError) as exc:
            raise OutboxError(f"cannot open outbox {path}: {exc}") from exc
        self.last_seq: int = head.last_seq if head else 0
        self.acked: int = head.acked if head else 0
        self.acked_on_disk = self.acked
        self._cache: OrderedDict[tuple[int, int], list[Reading]] = OrderedDict()
        self._writer: Writer | None = None
        self._retire()

    def append(self, items: Sequence[Sampled], marks: Mapping[str, Mark] | None = None
               ) -> list[Reading]:
        """Commit items, and in the same frame the hand-off marks that cover them (see
        edge.handoff); return the items as Readings."""
        first = self.last_seq + 1
        readings = [Reading(first + i, round(x.time, 3), x.name, x.kind, x.value, x.unit, x.text,
                            x.ref, x.cal, x.q) for i, x in enumerate(items)]
        merged = {**self._marks, **(marks or {})}
        head = Head(self.last_seq + len(readings), self.acked, len(readings))
        try:
            self._write(head, _payload(readings, merged))
        except OSError as exc:
            raise OutboxError(f"cannot write outbox {self.path}: {exc}") from exc
        self.last_seq, self._marks, self.acked_on_disk = head.last_seq, merged, head.acked
        if readings:
            segment = self.segments[-1]
            self._remember((segment.number, len(segment.offsets) - 1), readings)
        self._retire()
        return readings

    def _write(self, head: Head, payload: bytes) -> None:
        segment = self.segments[-1] if self.segments else None
        if segment is None or (segment.end and segment.end + len(payload) + 4096
                               > self.segment_bytes):
            segment = Segment(segment_path(self.path, segment.number + 1 if segment else 1))
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            self.segments.append(segment)
        if self._writer is None or self._writer.path != segment.path:
            self._writer = Writer(segment.path, self.segment_bytes, self.direct_io)
            fsync_dir(self.path)  # the new file's name is on the card before anything in it
        offset = segment.end
        segment.end = self._writer.write(head, payload, offset)
        segment.head, segment.last_payload = head, payload
        if head.count:
            segment.offsets.append(offset)
            segment.last_seqs.append(head.last_seq)

    def marks(self) -> dict[str, Mark]:
        """The committed hand-off marks, by source."""
        return dict(self._marks)

    def _retire(self) -> None:
        """Delete the segments, except the newest, whose readings are all acknowledged on the card
        (an acknowledgement only in memory deletes nothing)."""
        while len(self.segments) > 1 and (not self.segments[0].last_seqs or
                                          self.segments[0].last_seqs[-1] <= self.acked_on_disk):
            gone = self.segments.pop(0)
            os.unlink(gone.path)
            log.debug("deleted %s: every reading in it acknowledged", gone.path)

    def sync_acks(self) -> None:
        """Delete fully acknowledged segments now (the agent calls this when it has nothing to
        append). Writes nothing: a new acknowledgement reaches the card with the next commit."""
        self._retire()

    def pending(self, after_seq: int, limit: int) -> list[Reading]:
        """Unacknowledged readings with seq > after_seq, oldest first."""
        start = max(after_seq, self.acked)
        out: list[Reading] = []
        for segment in self.segments:
            if not segment.last_seqs or segment.last_seqs[-1] <= start:
                continue
            for i in segment.frames_after(start):
                out.extend(r for r in self._frame(segment, i) if r.seq > start)
                if len(out) >= limit:
                    return out[:limit]
        return out

    def _frame(self, segment: Segment, i: int) -> list[Reading]:
        key = (segment.number, i)
        if (cached := self._cache.get(key)) is not None:
            return cached
        try:
            readings = _decode(*segment.read(i))[0]
        except (OSError, LogCorrupt, ValueError, KeyError) as exc:
            raise OutboxError(f"cannot read outbox {self.path}: {exc}") from exc
        self._remember(key, readings)
        return readings

    def _remember(self, key: tuple[int, int], readings: list[Reading]) -> None:
        self._cache[key] = readings
        while len(self._cache) > _CACHED_FRAMES:
            self._cache.popitem(last=False)

    def ack(self, seq: int) -> int:
        """The gateway has committed everything up to `seq`: it will not be sent again, and its
        deletion is recorded with the next commit. Returns how many readings were newly
        acknowledged.

        The caller applies only acknowledgements of readings it has published (edge/agent.py);
        one beyond our newest sequence number cannot be about our readings at all and raises
        OutboxError, deleting nothing (capping it would delete readings never sent).
        """
        if seq > self.last_seq:
            raise OutboxError(f"acknowledgement {seq} is beyond the newest reading "
                              f"{self.last_seq} of {self.path}: not applied")
        if seq <= self.acked:
            return 0
        newly, self.acked = seq - self.acked, seq
        return newly

    @property
    def depth(self) -> int:
        return self.last_seq - self.acked

    def close(self) -> None:
        """Record a newer acknowledgement (one frame, only if there is one), then close."""
        try:
            if self.acked > self.acked_on_disk:
                self._write(Head(self.last_seq, self.acked, 0), _payload([], self._marks))
                self.acked_on_disk = self.acked
                self._retire()
        except OSError as exc:
            raise OutboxError(f"cannot write outbox {self.path}: {exc}") from exc
        finally:
            if self._writer is not None:
                self._writer.close()
                self._writer = None

    def _import_legacy(self, legacy: Path) -> None:
        """Carry a SQLite outbox (earlier releases) into the log: written to a temporary file,
        renamed into place, then the database deleted, so a crash at any point imports it once."""
        if segment_paths(self.path):  # imported before; the crash came before the deletion
            _delete_sqlite(legacy)
            return
        db = sqlite3.connect(f"file:{legacy}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT seq FROM sqlite_sequence WHERE name='outbox'").fetchone()
            last_seq = row[0] if row else 0
            meta = dict(db.execute("SELECT key, value FROM meta"))
            columns = [c[1] for c in db.execute("PRAGMA table_info(outbox)")]
            wanted = ["seq", "t", "name", "kind", "v", "u", "vs", "ref", "cal", "q"]
            select = ", ".join(c if c in columns else "NULL" for c in wanted)
            acked = int(meta.get("acked", 0))
            rows = db.execute(f"SELECT {select} FROM outbox WHERE seq > ? ORDER BY seq",
                              (acked,)).fetchall()
        finally:
            db.close()
        marks = {key[5:-5]: (value, meta[f"{key[:-5]}:next"]) for key, value in meta.items()
                 if key.startswith("mark:") and key.endswith(":boot")
                 and f"{key[:-5]}:next" in meta}
        readings = [Reading(s, t, n, Kind(k), v, u, vs, ref, cal, q)
                    for s, t, n, k, v, u, vs, ref, cal, q in rows]
        tmp = self.path / "import.tmp"
        tmp.unlink(missing_ok=True)  # a crash cut an earlier import short
        writer = Writer(tmp, 0)
        try:
            offset, run = 0, 0
            for i in range(1, len(readings) + 1):  # one frame per run of consecutive seqs
                if i == len(readings) or readings[i].seq != readings[i - 1].seq + 1:
                    chunk = readings[run:i]
                    offset = writer.write(Head(chunk[-1].seq, acked, len(chunk)),
                                          _payload(chunk, marks), offset)
                    run = i
            writer.write(Head(last_seq, acked, 0), _payload([], marks), offset)
        finally:
            writer.close()
        os.rename(tmp, segment_path(self.path, 1))
        fsync_dir(self.path)
        _delete_sqlite(legacy)
        log.info("carried %d unacknowledged readings (seq %d) from %s into %s",
                 len(readings), last_seq, legacy, self.path)


def _delete_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
