"""Hourly roll-ups of every series (count, min, max, sum, first time), and retention: how long
raw readings and roll-ups are kept (`[retention]` in gateway.toml).

Roll-ups are made by retention from the raw chunks it is about to delete (whole periods, all
their readings at hand), so they summarise exactly the raw readings of their hour and cost no
bytes while those are still kept. Retention deletes raw chunks older than a quantity's
`raw_days` and roll-ups older than its `rollup_days` (0: forever); events (tool loans) and hot
rows are never deleted by it. A series' `raw_from` records where its raw readings now begin:
charts of older spans read its roll-ups, and ingest takes a replay of a reading older than that
as already handled (it was stored, and retention has since deleted it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from gateway.store.chunk import Buckets, Columns, decode

HOUR_MS = 3_600_000
SCHEMA = """
CREATE TABLE IF NOT EXISTS rollups (
    series_id INTEGER NOT NULL,
    hour      INTEGER NOT NULL,     -- t // HOUR_MS
    n         INTEGER NOT NULL,
    lo        REAL NOT NULL,
    hi        REAL NOT NULL,
    total     REAL NOT NULL,
    first_t   INTEGER NOT NULL,     -- the hour's first reading, ms
    PRIMARY KEY (series_id, hour)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS raw_from (  -- raw readings of the series before this were deleted
    series_id INTEGER PRIMARY KEY,
    t         INTEGER NOT NULL
);
"""
# (raw_days, rollup_days) for a series' quantity name; 0 keeps forever
Policy = Callable[[str], tuple[float, float]]


def roll_up(db: sqlite3.Connection, sid: int, first_hour: int, last_hour: int,
            columns: list[Columns]) -> None:
    """Replace the series' roll-ups of [first_hour, last_hour] with those of `columns`."""
    hours: dict[int, list[float]] = {}
    for c in columns:
        for t, v in zip(c.times, c.values, strict=True):
            h = hours.get(t // HOUR_MS)
            if h is None:
                hours[t // HOUR_MS] = [1, v, v, v, t]
            else:
                h[0] += 1
                h[1], h[2], h[3], h[4] = min(h[1], v), max(h[2], v), h[3] + v, min(h[4], t)
    db.execute("DELETE FROM rollups WHERE series_id = ? AND hour BETWEEN ? AND ?",
               (sid, first_hour, last_hour))
    db.executemany("INSERT INTO rollups VALUES (?,?,?,?,?,?,?)",
                   [(sid, hour, int(n), lo, hi, total, int(t))
                    for hour, (n, lo, hi, total, t) in hours.items()])


@dataclass(frozen=True, slots=True)
class Expired:
    raw: int  # raw readings deleted
    rolled: int  # roll-up hours deleted
    held: int  # raw readings retention would delete but a sink has not written yet


def expire(db: sqlite3.Connection, now_ms: int, policy: Policy, period_ms: int,
           held: dict[int, int] | None = None) -> Expired:
    """Delete what retention says: raw chunks of whole periods older than a quantity's
    raw_days, roll-ups older than its rollup_days. `held` (node id -> seq) keeps every period
    of a node's series from the first chunk holding a reading above that seq: a sink has not
    written it yet."""
    raw = rolled = kept = 0
    for sid, nid, name in db.execute("SELECT series_id, node_id, name FROM series WHERE "
                                     "kind != 'event'").fetchall():
        raw_days, rollup_days = policy(name)
        if raw_days > 0:
            due = (now_ms - int(raw_days * 86_400_000)) // period_ms * period_ms
            before = due
            if held is not None and nid in held:
                (first,) = db.execute("SELECT min(t0) FROM chunks WHERE series_id = ? AND "
                                      "seq1 > ?", (sid, held[nid])).fetchone()
                if first is not None and first < due:
                    before = first // period_ms * period_ms
                    kept += db.execute("SELECT coalesce(sum(n), 0) FROM chunks WHERE "
                                       "series_id = ? AND t0 >= ? AND t0 < ?",
                                       (sid, before, due)).fetchone()[0]
            per_node = db.execute("SELECT node_id, sum(n) FROM chunks WHERE series_id = ? AND "
                                  "t0 < ? GROUP BY node_id", (sid, before)).fetchall()
            gone = sum(n for _, n in per_node)
            if gone:
                doomed = [decode(data) for (data,) in db.execute(
                    "SELECT data FROM chunks WHERE series_id = ? AND t0 < ?", (sid, before))]
                hours = [t // HOUR_MS for c in doomed for t in (c.times[0], c.times[-1])]
                roll_up(db, sid, min(hours), max(hours), doomed)
                db.executemany("UPDATE nodes SET readings = readings - ? WHERE node_id = ?",
                               [(n, nid) for nid, n in per_node])
                db.execute("DELETE FROM chunks WHERE series_id = ? AND t0 < ?", (sid, before))
                db.execute("INSERT INTO raw_from VALUES (?, ?) ON CONFLICT (series_id) DO "
                           "UPDATE SET t = max(t, excluded.t)", (sid, before))
                raw += gone
        if rollup_days > 0:
            hour = (now_ms - int(rollup_days * 86_400_000)) // HOUR_MS
            rolled += db.execute("DELETE FROM rollups WHERE series_id = ? AND hour < ?",
                                 (sid, hour)).rowcount
    return Expired(raw, rolled, int(kept))


def raw_from_all(db: sqlite3.Connection) -> dict[int, int]:
    return dict(db.execute("SELECT series_id, t FROM raw_from"))


def raw_from(db: sqlite3.Connection, sid: int) -> int | None:
    row = db.execute("SELECT t FROM raw_from WHERE series_id = ?", (sid,)).fetchone()
    return None if row is None else int(row[0])


def add_buckets(db: sqlite3.Connection, sid: int, since: int, until: int, width: int,
                into: Buckets) -> None:
    """The series' roll-ups of hours starting in [since, until) added to time buckets (each
    hour counted in the bucket of its first reading)."""
    for n, total, t in db.execute("SELECT n, total, first_t FROM rollups WHERE series_id = ? "
                                  "AND hour >= ? AND hour < ?",
                                  (sid, since // HOUR_MS, -(-until // HOUR_MS))):
        if not since <= t < until:
            continue
        entry = into.setdefault((t - since) // width, [t, 0.0, 0])
        entry[0], entry[1], entry[2] = min(entry[0], t), entry[1] + total, entry[2] + n


def oldest(db: sqlite3.Connection) -> int | None:
    row = db.execute("SELECT min(first_t) FROM rollups").fetchone()
    return None if row[0] is None else int(row[0])
