"""Each sink's durable cursor in the store, and what it has to write next (gateway/sinks/).

A sink's position is kept per node as a sequence number: everything of the node up to it has
been confirmed by the sink's database. A sink reads only up to the node's acknowledgement
watermark, the contiguous part of the node's stream (a range committed above a gap waits for
the gap, as the node's own acknowledgement does), so a cursor never has to skip back. Sequence
numbers are dense, so (cursor, cursor + n] holds at most n readings, hot rows and cold chunks
alike: a batch is bounded without counting.

Signal values (signals.db) are followed by their run time instead: every value of one run has
the same time, and a run is written whole.

A database may confirm a write before it is on its disk (VictoriaMetrics keeps the last
seconds in memory: a kill -9 loses them), so each cursor also has a settled position, the one
confirmed at least the sink's `settle_s` ago. After an outage, and whenever a sink process
starts, the sink goes back to its settled positions and writes those seconds again (a replay
doubles nothing). Retention keeps everything above the settled positions.

Refused points (the database called them bad) are recorded here with the database's reason.
Retention asks `hold` how far every configured sink has written, and keeps the rest.

A sink taken out of gateway.toml is marked removed when the gateway next starts (`configured`):
it holds nothing back, `eil status` and the fleet view say so, and `eil gateway sink remove`
forgets it (its cursors, counters and refusals).

The functions run inside the caller's lock and transaction; `SinkCursors` (a Store's
`.sinks`) is the facade the rest of the gateway uses.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.errors import StoreError
from gateway.store import cold
from gateway.store.rows import ExportRow
from gateway.store.sql import Access

SCHEMA = """
CREATE TABLE IF NOT EXISTS sink_cursors (
    sink    TEXT NOT NULL,
    node_id INTEGER NOT NULL,
    seq     INTEGER NOT NULL,     -- everything of the node up to here is written
    settled INTEGER NOT NULL,     -- and was written at least the sink's settle_s ago
    PRIMARY KEY (sink, node_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sink_state (
    sink       TEXT PRIMARY KEY,
    signals_t  INTEGER NOT NULL DEFAULT 0,  -- signal runs up to this time (ms) are written
    signals_settled INTEGER NOT NULL DEFAULT 0,  -- and were at least settle_s ago
    written    INTEGER NOT NULL DEFAULT 0,  -- points the database confirmed
    refused    INTEGER NOT NULL DEFAULT 0,  -- points it refused as bad (sink_refused)
    last_ok    REAL,                        -- gateway clock, last confirmed write
    last_error TEXT,
    error_at   REAL,
    failing    INTEGER NOT NULL DEFAULT 0,  -- 1 while the database is unreachable or failing
    removed    REAL                         -- gateway clock: first start without it configured
);
CREATE TABLE IF NOT EXISTS sink_refused (
    id     INTEGER PRIMARY KEY,
    sink   TEXT NOT NULL,
    at     REAL NOT NULL,
    what   TEXT NOT NULL,                   -- node and seq, or signal and run time
    status INTEGER NOT NULL,                -- the database's HTTP status
    reason TEXT NOT NULL,                   -- its message
    line   TEXT NOT NULL                    -- the point as sent
);
"""


@dataclass(frozen=True, slots=True)
class Batch:
    rows: list[ExportRow]  # ref always None: no member pseudonym goes to a sink
    ends: dict[int, int]  # node_id -> the cursor once these rows are written


@dataclass(frozen=True, slots=True)
class SinkStatus:
    sink: str
    behind: int  # readings stored and not yet written
    behind_s: float | None  # node-time age of the oldest of them (None: nothing behind)
    written: int
    refused: int
    last_ok: float | None
    last_error: str | None
    error_at: float | None
    failing: bool
    removed: float | None = None  # taken out of gateway.toml: holds nothing back


def start(db: sqlite3.Connection, sink: str, at_end: bool, now_ms: int) -> None:
    """Give a sink its cursors on first use: at the beginning (write everything stored) or at
    the end (only what arrives from now on). A node that appears later starts at 0."""
    if db.execute("SELECT 1 FROM sink_state WHERE sink = ?", (sink,)).fetchone():
        return
    db.execute("INSERT INTO sink_state (sink) VALUES (?)", (sink,))
    if at_end:
        db.execute("INSERT INTO sink_cursors SELECT ?, node_id, acked, acked FROM nodes",
                   (sink,))
        db.execute("UPDATE sink_state SET signals_t = ?1, signals_settled = ?1 WHERE sink = ?2",
                   (now_ms, sink))


def rewind(db: sqlite3.Connection, sink: str) -> None:
    """Back to the settled positions: what the database may not have kept is written again."""
    db.execute("UPDATE sink_cursors SET seq = settled WHERE sink = ?", (sink,))
    db.execute("UPDATE sink_state SET signals_t = signals_settled WHERE sink = ?", (sink,))


def batch(db: sqlite3.Connection, sink: str, limit: int) -> Batch:
    """Up to about `limit` readings past the sink's cursors, node by node in seq order."""
    cursors = dict(db.execute("SELECT node_id, seq FROM sink_cursors WHERE sink = ?", (sink,)))
    return after(db, cursors, limit)


def after(db: sqlite3.Connection, cursors: dict[int, int], limit: int,
          nodes: set[str] | None = None) -> Batch:
    """Up to about `limit` readings past `cursors` (node id -> seq; 0 for a node without one)
    and at most up to each node's acknowledgement watermark, hot and cold alike, node by node
    in seq order; of every node or only those named in `nodes`."""
    rows: list[ExportRow] = []
    ends: dict[int, int] = {}
    budget = limit  # sequence numbers to cover: at most one reading each
    for nid, site, node, acked in db.execute(
            "SELECT node_id, site, node, acked FROM nodes ORDER BY node_id").fetchall():
        lo = cursors.get(nid, 0)
        if acked <= lo or (nodes is not None and node not in nodes):
            continue
        hi = min(acked, lo + budget)
        budget -= hi - lo
        series: dict[int, tuple[str, str, str | None]] = {}
        found = [r for r in db.execute(
            "SELECT seq, t, series_id, v, vs, cal, q FROM readings WHERE node_id = ? AND "
            "seq > ? AND seq <= ?", (nid, lo, hi))]
        found += [(r[1], r[3], r[2], r[4], None, r[7], r[8])
                  for r in cold.rows_by_seq(db, nid, lo + 1, hi).values()]
        found.sort()
        for seq, t, sid, v, vs, cal, q in found:
            if sid not in series:
                series[sid] = db.execute("SELECT name, kind, unit FROM series WHERE "
                                         "series_id = ?", (sid,)).fetchone()
            name, kind, unit = series[sid]
            rows.append(ExportRow(site, node, seq, t, name, kind, unit, v, vs, None, cal, q))
        ends[nid] = hi
        if budget <= 0:
            break
    return Batch(rows, ends)


def place(db: sqlite3.Connection, sink: str, at: dict[int, int]) -> None:
    """Cursors set to `at` (node id -> seq), settled at once: a reader whose own durable record
    (the forwarder's outbox) says where it is, telling retention what it still needs."""
    db.executemany("INSERT INTO sink_cursors VALUES (?, ?, ?, ?) ON CONFLICT (sink, node_id) "
                   "DO UPDATE SET seq = excluded.seq, settled = excluded.settled",
                   [(sink, n, s, s) for n, s in at.items()])


def positions(db: sqlite3.Connection, sink: str) -> tuple[dict[int, int], int]:
    """The sink's cursors (node id -> seq) and its signals cursor."""
    return (dict(db.execute("SELECT node_id, seq FROM sink_cursors WHERE sink = ?", (sink,))),
            signals_cursor(db, sink))


def advance(db: sqlite3.Connection, sink: str, ends: dict[int, int], signals_t: int,
            settled: tuple[dict[int, int], int], written: int, at: float) -> None:
    """Move the cursors to `ends` and `signals_t` (the database confirmed everything before
    them) and the settled positions to `settled`."""
    db.executemany("INSERT INTO sink_cursors VALUES (?, ?, ?, 0) ON CONFLICT (sink, node_id) "
                   "DO UPDATE SET seq = excluded.seq", [(sink, n, s) for n, s in ends.items()])
    db.executemany("UPDATE sink_cursors SET settled = min(seq, ?) WHERE sink = ? AND "
                   "node_id = ?", [(s, sink, n) for n, s in settled[0].items()])
    db.execute("UPDATE sink_state SET written = written + ?, last_ok = ?, failing = 0, "
               "signals_t = ?, signals_settled = min(?, ?) WHERE sink = ?",
               (written, at, signals_t, signals_t, settled[1], sink))


def failed(db: sqlite3.Connection, sink: str, reason: str, at: float) -> None:
    db.execute("UPDATE sink_state SET last_error = ?, error_at = ?, failing = 1 WHERE sink = ?",
               (reason, at, sink))


def refused(db: sqlite3.Connection, sink: str, points: list[tuple[str, int, str, str]],
            at: float) -> None:
    """Record points the database refused as bad: (what, status, reason, line)."""
    db.executemany("INSERT INTO sink_refused (sink, at, what, status, reason, line) VALUES "
                   "(?, ?, ?, ?, ?, ?)", [(sink, at, *p) for p in points])
    db.execute("UPDATE sink_state SET refused = refused + ?, last_error = ?, error_at = ? "
               "WHERE sink = ?", (len(points), f"refused: {points[-1][2]}" if points else None,
                                  at, sink))


def signals_cursor(db: sqlite3.Connection, sink: str) -> int:
    row = db.execute("SELECT signals_t FROM sink_state WHERE sink = ?", (sink,)).fetchone()
    return 0 if row is None else int(row[0])


def status(db: sqlite3.Connection, sinks: list[str], now_ms: int, removals: bool = True
           ) -> list[SinkStatus]:
    """`removals`: the store knows which sinks were taken out of the config (schema 10)."""
    out = []
    nodes = db.execute("SELECT node_id, acked FROM nodes").fetchall()
    for sink in sinks:
        state = db.execute("SELECT written, refused, last_ok, last_error, error_at, failing, "
                           f"{'removed' if removals else 'NULL'} FROM sink_state WHERE sink = ?",
                           (sink,)).fetchone()
        if state is None:  # configured, not run yet: everything is ahead of it
            state = (0, 0, None, None, None, 0, None)
        cursors = dict(db.execute("SELECT node_id, seq FROM sink_cursors WHERE sink = ?",
                                  (sink,)))
        behind, oldest = 0, None
        for nid, acked in nodes:
            c = cursors.get(nid, 0)
            if acked > c:
                behind += acked - c
                t = _first_time_after(db, nid, c)
                if t is not None:
                    oldest = t if oldest is None else min(oldest, t)
        out.append(SinkStatus(sink, behind, None if oldest is None else
                              max(0.0, (now_ms - oldest) / 1000), state[0], state[1], state[2],
                              state[3], state[4], bool(state[5]), state[6]))
    return out


def _first_time_after(db: sqlite3.Connection, nid: int, seq: int) -> int | None:
    hot = db.execute("SELECT t FROM readings WHERE node_id = ? AND seq > ? ORDER BY seq LIMIT 1",
                     (nid, seq)).fetchone()
    chunk = db.execute("SELECT min(t0) FROM chunks WHERE node_id = ? AND seq1 > ?",
                       (nid, seq)).fetchone()
    times = [x[0] for x in (hot, chunk) if x is not None and x[0] is not None]
    return min(times) if times else None


def refusals(db: sqlite3.Connection, sink: str, limit: int) -> list[dict[str, object]]:
    return [dict(zip(("at", "what", "status", "reason", "line"), row, strict=True))
            for row in db.execute("SELECT at, what, status, reason, line FROM sink_refused "
                                  "WHERE sink = ? ORDER BY id DESC LIMIT ?", (sink, limit))]


def hold(db: sqlite3.Connection, sinks: list[str]) -> dict[int, int]:
    """Per node, the lowest settled cursor of the given sinks: retention keeps every reading
    above it.
    A node a sink has no cursor for yet is held from 0."""
    if not sinks:
        return {}
    marks = ", ".join("?" for _ in sinks)
    out: dict[int, int] = {}
    for (nid,) in db.execute("SELECT node_id FROM nodes").fetchall():
        rows = dict(db.execute(f"SELECT sink, settled FROM sink_cursors WHERE node_id = ? AND "
                               f"sink IN ({marks})", (nid, *sinks)))
        out[nid] = min(rows.get(s, 0) for s in sinks)
    return out


def configured(db: sqlite3.Connection, sinks: Sequence[str], at: float) -> list[str]:
    """The gateway starts with `sinks` configured: a sink it knows that is not among them is
    marked removed (from `at`, kept from its first such start), one that is back is not.
    Returns the sinks newly marked."""
    names = set(sinks)
    known = db.execute("SELECT sink, removed FROM sink_state").fetchall()
    gone = [s for s, removed in known if s not in names and removed is None]
    db.executemany("UPDATE sink_state SET removed = ? WHERE sink = ?", [(at, s) for s in gone])
    db.executemany("UPDATE sink_state SET removed = NULL WHERE sink = ?",
                   [(s,) for s, removed in known if s in names and removed is not None])
    return gone


def remove(db: sqlite3.Connection, sink: str, force: bool) -> int:
    """Forget a sink: its cursors, counters and refusals. Returns the refusals deleted."""
    row = db.execute("SELECT removed FROM sink_state WHERE sink = ?", (sink,)).fetchone()
    if row is None:
        known = [s for (s,) in db.execute("SELECT sink FROM sink_state ORDER BY sink")]
        raise StoreError(f"no sink {sink!r} in this store; it knows: "
                         f"{', '.join(known) or 'none'}")
    if row[0] is None and not force:
        raise StoreError(f"sink {sink!r} was still in gateway.toml when the gateway last "
                         "started: take it out of [sinks] and restart the gateway first (its "
                         "cursor would otherwise start again from scratch), or pass --force")
    db.execute("DELETE FROM sink_cursors WHERE sink = ?", (sink,))
    db.execute("DELETE FROM sink_state WHERE sink = ?", (sink,))
    return db.execute("DELETE FROM sink_refused WHERE sink = ?", (sink,)).rowcount


class SinkCursors:
    """The sinks' side of a Store (`store.sinks`): every sink's durable cursor, its lag and its
    errors. `schema` is the store's: one older than the sinks (read-only, not yet upgraded)
    has none."""

    def __init__(self, access: Access, schema: int) -> None:
        self.access, self.schema, self.path = access, schema, access.path
        self.ready = schema >= 8

    def start(self, sink: str, at_end: bool, now_ms: int) -> None:
        self.access.write("starting sink " + sink,
                          lambda: start(self.access.db, sink, at_end, now_ms))

    def batch(self, sink: str, limit: int) -> Batch:
        with self.access.read() as db:  # hot and cold at one instant, as export
            return batch(db, sink, limit)

    def advance(self, sink: str, ends: dict[int, int], signals_t: int,
                settled: tuple[dict[int, int], int], written: int, at: float) -> None:
        self.access.write("advancing sink " + sink, lambda: advance(
            self.access.db, sink, ends, signals_t, settled, written, at))

    def rewind(self, sink: str) -> None:
        self.access.write("rewinding sink " + sink, lambda: rewind(self.access.db, sink))

    def place(self, sink: str, at: dict[str, int], now_ms: int, unread: int) -> None:
        """A reader with its own durable position (node -> seq, for every node it reads) tells
        retention where it is, as a sink's settled cursors (the forwarder of `[upstream]
        series`); the nodes it does not read (`unread`: beyond any seq) hold nothing back."""
        def run() -> None:
            db = self.access.db
            start(db, sink, False, now_ms)
            place(db, sink, {nid: at.get(node, unread) for nid, node in db.execute(
                "SELECT node_id, node FROM nodes").fetchall()})
        self.access.write("placing " + sink, run)

    def positions(self, sink: str) -> tuple[dict[int, int], int]:
        with self.access.read() as db:
            return positions(db, sink)

    def failed(self, sink: str, reason: str, at: float) -> None:
        self.access.write("recording sink " + sink,
                          lambda: failed(self.access.db, sink, reason, at))

    def refused(self, sink: str, points: list[tuple[str, int, str, str]], at: float) -> None:
        self.access.write("recording sink " + sink,
                          lambda: refused(self.access.db, sink, points, at))

    def status(self, now_ms: int, sinks: Sequence[str] | None = None) -> list[SinkStatus]:
        """Each sink's lag, last success and last error (eil status, the fleet view); without
        `sinks`, of every sink that has run on this store, removed ones included."""
        if not self.ready:
            return []
        with self.access.read() as db:
            names = list(sinks) if sinks is not None else [n for (n,) in db.execute(
                "SELECT sink FROM sink_state ORDER BY sink")]
            return status(db, names, now_ms, self.schema >= 10)

    def refusals(self, sink: str, limit: int = 100) -> list[dict[str, object]]:
        if not self.ready:
            return []
        with self.access.read() as db:
            return refusals(db, sink, limit)

    def configured(self, sinks: Sequence[str], at: float) -> list[str]:
        """The gateway's start: which sinks (and readers) its config has (see `configured`)."""
        return self.access.write("noting the configured sinks",
                                 lambda: configured(self.access.db, sinks, at))

    def remove(self, sink: str, force: bool = False) -> int:
        """`eil gateway sink remove`: forget a sink taken out of gateway.toml."""
        return self.access.write("removing sink " + sink,
                                 lambda: remove(self.access.db, sink, force))
