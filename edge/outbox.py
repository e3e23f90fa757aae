"""Durable outbox: every reading is committed here before it may be published, and deleted only
when the gateway acknowledges it.

SQLite in WAL mode with synchronous=FULL: a committed batch survives kill -9 and power loss.
Readings are appended in batches (the agent commits about once a second) so the SD card sees one
small WAL write per batch, not one per reading. Acknowledged rows are deleted in that same
transaction rather than in one of their own: an acknowledgement is kept in memory until then, and
if the process dies first the rows are merely sent again (the gateway ignores replays).
AUTOINCREMENT keeps sequence numbers strictly increasing across restarts, even after every row has
been acknowledged and deleted.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from contract.senml import Kind, Reading
from edge.errors import OutboxError
from edge.handoff import Mark


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

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    t    REAL NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    v    REAL,
    u    TEXT,
    vs   TEXT,
    ref  TEXT,
    cal  TEXT,
    q    INTEGER
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class Outbox:
    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, isolation_level=None)
            # Small pages: each commit rewrites whole pages into the WAL, and outbox rows are
            # tiny, so 1 KiB pages cut the bytes written to the SD card per commit by ~4x.
            self.db.execute("PRAGMA page_size=1024")
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(_SCHEMA)
            columns = {row[1] for row in self.db.execute("PRAGMA table_info(outbox)")}
            for added in ("cal TEXT", "q INTEGER"):  # outboxes written by version 0.1
                if added.split()[0] not in columns:
                    self.db.execute(f"ALTER TABLE outbox ADD COLUMN {added}")
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot open outbox {path}: {exc}") from exc
        self.path = path
        row = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name='outbox'").fetchone()
        self.last_seq: int = row[0] if row else 0
        row = self.db.execute("SELECT value FROM meta WHERE key='acked'").fetchone()
        self.acked: int = row[0] if row else 0
        self.acked_on_disk = self.acked

    def append(self, items: Sequence[Sampled], marks: Mapping[str, Mark] | None = None
               ) -> list[Reading]:
        """Commit items, and in the same transaction the hand-off marks that cover them (see
        edge.handoff); return the items as Readings."""
        first = self.last_seq + 1
        readings = [Reading(first + i, round(x.time, 3), x.name, x.kind, x.value, x.unit, x.text,
                            x.ref, x.cal, x.q) for i, x in enumerate(items)]
        rows = [(r.seq, r.time, r.name, r.kind.value, r.value, r.unit, r.text, r.ref, r.cal, r.q)
                for r in readings]
        try:
            with self.db:
                self.db.execute("BEGIN IMMEDIATE")
                self.db.executemany("INSERT INTO outbox VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
                for source, (boot, next_seq) in (marks or {}).items():
                    self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                                        [(f"mark:{source}:boot", boot),
                                         (f"mark:{source}:next", next_seq)])
                self._delete_acked()
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot write outbox {self.path}: {exc}") from exc
        if readings:
            self.last_seq = readings[-1].seq
        return readings

    def marks(self) -> dict[str, Mark]:
        """The committed hand-off marks, by source."""
        rows = dict(self.db.execute("SELECT key, value FROM meta WHERE key LIKE 'mark:%'"))
        return {key[5:-5]: (value, rows[f"{key[:-5]}:next"]) for key, value in rows.items()
                if key.endswith(":boot") and f"{key[:-5]}:next" in rows}

    def _delete_acked(self) -> None:
        if self.acked > self.acked_on_disk:
            self.db.execute("DELETE FROM outbox WHERE seq <= ?", (self.acked,))
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('acked', ?)", (self.acked,))
            self.acked_on_disk = self.acked

    def sync_acks(self) -> None:
        """Delete acknowledged rows now (the agent calls this when it has nothing to append)."""
        if self.acked > self.acked_on_disk:
            with self.db:
                self.db.execute("BEGIN IMMEDIATE")
                self._delete_acked()

    def pending(self, after_seq: int, limit: int) -> list[Reading]:
        """Unacknowledged readings with seq > after_seq, oldest first."""
        rows = self.db.execute(
            "SELECT seq, t, name, kind, v, u, vs, ref, cal, q FROM outbox WHERE seq > ? ORDER BY seq "
            "LIMIT ?", (max(after_seq, self.acked), limit),
        ).fetchall()
        return [Reading(s, t, n, Kind(k), v, u, vs, ref, cal, q)
                for s, t, n, k, v, u, vs, ref, cal, q in rows]

    def ack(self, seq: int) -> int:
        """The gateway has committed everything up to `seq`: it will not be sent again, and is
        deleted with the next write. Returns how many readings were newly acknowledged.

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
        self.sync_acks()
        self.db.close()
