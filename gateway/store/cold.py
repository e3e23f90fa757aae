"""The store's chunks (one series, one period, compressed columns: chunk.py) in the same SQLite
file: readings older than the hot window, moved out of the row table by the mover, and
readings that arrived in bulk, written as chunks by ingest at once (insert_fresh).

Why in SQLite and not in Parquet files beside it: a move is one transaction (the chunks appear
and their rows disappear together), so a kill -9 at any instant of it leaves either the rows or
the chunks, never both and never neither, with nothing to reconcile at start-up; exactly-once
stays one database's business. Measured against Parquet (zstd, polars) on the same readings in
docs/store.md.

Only gauges and counters become chunks (events, with their member pseudonyms, stay rows: few, and
erasure rewrites them). A node's `cold_seq` is the highest seq it has in chunks, so ingest looks
into chunks only for a replay at or below it.

Every function here runs inside the caller's transaction and lock (Store).
"""

from __future__ import annotations

import bisect
import operator
import sqlite3
from collections.abc import Iterator

from gateway.store.chunk import Buckets, Columns, add_buckets, decode, decode_points, encode

SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    series_id INTEGER NOT NULL,
    t0        INTEGER NOT NULL,     -- first and last reading's time, ms
    t1        INTEGER NOT NULL,
    seq0      INTEGER NOT NULL,     -- lowest and highest seq
    seq1      INTEGER NOT NULL,
    node_id   INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    data      BLOB NOT NULL,        -- chunk.py
    PRIMARY KEY (series_id, t0, seq0)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chunks_by_node_seq ON chunks (node_id, seq0);
-- a replay's lookup (rows_by_seq) comes from the newest end: chunks ending at or after it
CREATE INDEX IF NOT EXISTS chunks_by_node_last_seq ON chunks (node_id, seq1);
CREATE TABLE IF NOT EXISTS open_periods (  -- periods of a series still being filled by moves
    series_id INTEGER NOT NULL,
    period    INTEGER NOT NULL,     -- t // PERIOD_MS
    PRIMARY KEY (series_id, period)
) WITHOUT ROWID;
"""
CHUNK_MAX = 4096  # readings per chunk at most
PERIOD_MS = 6 * 3_600_000  # a chunk covers at most one 6-hour period of one series
# a cold reading as the row table has it: node_id, seq, series_id, t, v, vs, ref, cal, q
ColdRow = tuple[int, int, int, int, float, None, None, str | None, int | None]


def move(db: sqlite3.Connection, before_ms: int, limit: int) -> int:
    """Move up to about `limit` gauge and counter readings with node time before `before_ms`
    into chunks, series by series, one chunk per series and period moved; then merge the
    chunks of every period that has closed (ended before `before_ms`) into one, so moving
    often, with a short hot window, leaves no small chunks and encodes a reading twice at most.
    Returns how many readings moved (0: none left)."""
    moved = 0
    series = db.execute("SELECT series_id FROM series WHERE kind != 'event' ORDER BY series_id"
                        ).fetchall()
    for (sid,) in series:
        if moved >= limit:
            break
        rows = db.execute(
            "SELECT node_id, seq, t, v, cal, q FROM readings WHERE series_id = ? AND t < ? AND "
            "v IS NOT NULL AND vs IS NULL AND ref IS NULL ORDER BY t, seq LIMIT ?",
            (sid, before_ms, limit - moved)).fetchall()
        if not rows:
            continue
        periods: dict[int, list[_Moved]] = {}
        for r in rows:
            periods.setdefault(r[2] // PERIOD_MS, []).append((r[1], r[2], r[3], r[4], r[5]))
        for period, part in periods.items():
            _insert_chunks(db, sid, rows[0][0], part)
            db.execute("INSERT OR IGNORE INTO open_periods VALUES (?, ?)", (sid, period))
        db.executemany("DELETE FROM readings WHERE node_id = ? AND seq = ?",
                       [(r[0], r[1]) for r in rows])
        top: dict[int, int] = {}
        for r in rows:
            top[r[0]] = max(top.get(r[0], 0), r[1])
        db.executemany("UPDATE nodes SET cold_seq = max(cold_seq, ?) WHERE node_id = ?",
                       [(seq, nid) for nid, seq in top.items()])
        moved += len(rows)
    for sid, period in db.execute("SELECT series_id, period FROM open_periods WHERE period < ?",
                                  (before_ms // PERIOD_MS,)).fetchall():
        _merge_period(db, sid, period)
    return moved


_Moved = tuple[int, int, float, "str | None", "int | None"]  # seq, t, v, cal, q


def insert_fresh(db: sqlite3.Connection, sid: int, nid: int, seqs: list[int], times: list[int],
                 values: list[float], cals: list[str | None], qs: list[int | None]) -> None:
    """New readings of one series written as chunks at once, by ingest (the bulk path: a
    backlog arriving in large packs), instead of as rows that move later. Their periods are
    open, so the mover merges them into full chunks once each period has closed."""
    n = len(seqs)
    periods = {min(times) // PERIOD_MS, max(times) // PERIOD_MS}
    ordered = all(map(operator.le, times, times[1:])) and all(map(operator.lt, seqs, seqs[1:]))
    if len(periods) == 1 and ordered and n <= CHUNK_MAX:
        db.execute("INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?)",
                   (sid, times[0], times[-1], seqs[0], seqs[-1], nid, n,
                    encode(Columns(seqs, times, values, cals, qs))))
    else:
        parts: dict[int, list[_Moved]] = {}
        for row in zip(seqs, times, values, cals, qs, strict=True):
            parts.setdefault(row[1] // PERIOD_MS, []).append(row)
        for part in parts.values():
            _insert_chunks(db, sid, nid, part)
        periods = set(parts)
    db.executemany("INSERT OR IGNORE INTO open_periods VALUES (?, ?)",
                   [(sid, p) for p in periods])
    db.execute("UPDATE nodes SET cold_seq = max(cold_seq, ?) WHERE node_id = ?",
               (max(seqs), nid))


def _insert_chunks(db: sqlite3.Connection, sid: int, nid: int, part: list[_Moved]) -> None:
    part.sort(key=lambda r: (r[1], r[0]))
    for i in range(0, len(part), CHUNK_MAX):
        piece = part[i:i + CHUNK_MAX]
        cols = Columns([r[0] for r in piece], [r[1] for r in piece], [r[2] for r in piece],
                       [r[3] for r in piece], [r[4] for r in piece])
        db.execute("INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?)",
                   (sid, cols.times[0], cols.times[-1], min(cols.seqs), max(cols.seqs), nid,
                    len(piece), encode(cols)))


def _merge_period(db: sqlite3.Connection, sid: int, period: int) -> None:
    """The chunks of one closed period of a series, as few full chunks as fit."""
    found = db.execute("SELECT t0, seq0, node_id, data FROM chunks WHERE series_id = ? AND "
                       "t0 >= ? AND t0 < ?", (sid, period * PERIOD_MS,
                                              (period + 1) * PERIOD_MS)).fetchall()
    if len(found) > 1:
        merged: list[_Moved] = []
        for c in (decode(data) for _, _, _, data in found):
            merged += list(zip(c.seqs, c.times, c.values, c.cals, c.qs, strict=True))
        db.executemany("DELETE FROM chunks WHERE series_id = ? AND t0 = ? AND seq0 = ?",
                       [(sid, t0, seq0) for t0, seq0, _, _ in found])
        _insert_chunks(db, sid, found[0][2], merged)
    db.execute("DELETE FROM open_periods WHERE series_id = ? AND period = ?", (sid, period))


def _rows(sid: int, nid: int, c: Columns) -> Iterator[ColdRow]:
    for seq, t, v, cal, q in zip(c.seqs, c.times, c.values, c.cals, c.qs, strict=True):
        yield (nid, seq, sid, t, v, None, None, cal, q)


def rows_by_seq(db: sqlite3.Connection, nid: int, first: int, last: int) -> dict[int, ColdRow]:
    """The node's cold readings with seq in [first, last] (a replay's stored versions)."""
    out: dict[int, ColdRow] = {}
    # from the newest end: a replay is of recent readings (a node resending what its lost
    # acknowledgement did not cover), and chunks starting before it are all but every chunk
    # (measured: 0.3 ms instead of 6.9 ms at 10,000 chunks); a store a reader opened before
    # its gateway added the index is read the slow way
    query = ("SELECT series_id, data FROM chunks {} WHERE node_id = ? AND seq1 >= ? AND "
             "seq0 <= ?")
    try:
        found = db.execute(query.format("INDEXED BY chunks_by_node_last_seq"),
                           (nid, first, last)).fetchall()
    except sqlite3.OperationalError:
        found = db.execute(query.format(""), (nid, first, last)).fetchall()
    for sid, data in found:
        for row in _rows(sid, nid, decode(data)):
            if first <= row[1] <= last:
                out[row[1]] = row
    return out


def take_out(db: sqlite3.Connection, nid: int, seq: int) -> ColdRow | None:
    """Remove one reading from the chunk that holds it (the rest of the chunk is written
    again, or the chunk deleted if it held only that one) and return it; None if no chunk
    holds it. A steward's conflict choice (sequence_repair.py) puts another version in its
    place as a row."""
    for sid, t0, seq0, data in db.execute(
            "SELECT series_id, t0, seq0, data FROM chunks WHERE node_id = ? AND seq0 <= ? AND "
            "seq1 >= ?", (nid, seq, seq)).fetchall():
        c = decode(data)
        if seq not in c.seqs:
            continue
        i = c.seqs.index(seq)
        row: ColdRow = (nid, seq, sid, c.times[i], c.values[i], None, None, c.cals[i], c.qs[i])
        db.execute("DELETE FROM chunks WHERE series_id = ? AND t0 = ? AND seq0 = ?",
                   (sid, t0, seq0))
        rest: list[_Moved] = [r for r in zip(c.seqs, c.times, c.values, c.cals, c.qs,
                                             strict=True) if r[0] != seq]
        if rest:
            _insert_chunks(db, sid, nid, rest)
        return row
    return None


def series_rows(db: sqlite3.Connection, sid: int, since_ms: int | None, until_ms: int | None
                ) -> list[ColdRow]:
    """One series' cold readings with since <= t < until (either bound open), in (t, seq)
    order."""
    lo = since_ms if since_ms is not None else -(2**62)
    hi = until_ms if until_ms is not None else 2**62
    out: list[ColdRow] = []
    for nid, data in db.execute("SELECT node_id, data FROM chunks WHERE series_id = ? AND "
                                "t0 < ? AND t1 >= ?", (sid, hi, lo)):
        out.extend(r for r in _rows(sid, nid, decode(data)) if lo <= r[3] < hi)
    out.sort(key=lambda r: (r[3], r[1]))
    return out


def series_points(db: sqlite3.Connection, sid: int, since_ms: int, until_ms: int
                  ) -> tuple[list[int], list[float], bool]:
    """One series' cold times ms and values in [since, until), and whether they are in time
    order (chunks overlapping in time, from late readings moved later, are not): the chart
    path, without a tuple per reading."""
    times: list[int] = []
    values: list[float] = []
    ordered = True
    for data in db.execute("SELECT data FROM chunks WHERE series_id = ? AND t0 < ? AND "
                           "t1 >= ? ORDER BY t0, seq0", (sid, until_ms, since_ms)):
        ts, vs = decode_points(data[0])
        lo, hi = bisect.bisect_left(ts, since_ms), bisect.bisect_left(ts, until_ms)
        if lo < hi:
            if times and ts[lo] < times[-1]:
                ordered = False  # chunks overlapping in time (late readings moved later)
            times += ts[lo:hi]
            values += vs[lo:hi]
    return times, values, ordered


def series_buckets(db: sqlite3.Connection, sid: int, since_ms: int, until_ms: int, width: int,
                   into: Buckets) -> None:
    """One series' cold readings in [since, until) added to time buckets (chunk.add_buckets)."""
    for (data,) in db.execute("SELECT data FROM chunks WHERE series_id = ? AND t0 < ? AND "
                              "t1 >= ?", (sid, until_ms, since_ms)):
        add_buckets(data, since_ms, until_ms, width, into)


def node_series(db: sqlite3.Connection, nid: int) -> list[int]:
    return [sid for (sid,) in db.execute("SELECT DISTINCT series_id FROM chunks WHERE "
                                         "node_id = ?", (nid,))]


def newest(db: sqlite3.Connection, sid: int) -> ColdRow | None:
    """The series' newest cold reading by (t, seq)."""
    best: ColdRow | None = None
    for nid, data in db.execute("SELECT node_id, data FROM chunks WHERE series_id = ? AND t1 = "
                                "(SELECT max(t1) FROM chunks WHERE series_id = ?)", (sid, sid)):
        for row in _rows(sid, nid, decode(data)):
            if best is None or (row[3], row[1]) > (best[3], best[1]):
                best = row
    return best


def seq_bounds(db: sqlite3.Connection, nid: int) -> tuple[int | None, int | None]:
    return db.execute("SELECT min(seq0), max(seq1) FROM chunks WHERE node_id = ?",
                      (nid,)).fetchone()


def totals(db: sqlite3.Connection) -> tuple[int, int | None, int]:
    """(cold readings, the oldest cold reading's time ms, bytes of chunk data)."""
    n, oldest, size = db.execute("SELECT coalesce(sum(n), 0), min(t0), "
                                 "coalesce(sum(length(data)), 0) FROM chunks").fetchone()
    return int(n), oldest, int(size)

