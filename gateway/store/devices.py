"""Readings of third-party SenML devices (contract/rfc8428.py), which carry no sequence
numbers: a reading is identified by (device, series, time), series = name, kind and unit. The
store looks each one up where it may already be (the hot rows through the series-time index,
the cold chunks of that series spanning its time), stores it once under the next sequence
number of the device, and records a different value at the same identity as a conflict.

Every function runs inside the caller's transaction and lock (Store)."""

from __future__ import annotations

import sqlite3

from gateway.store import cold


def stored_at(db: sqlite3.Connection, sid: int, t_ms: int) -> tuple[int, float | None,
                                                                    str | None] | None:
    """(seq, value, text) of the series' reading at exactly `t_ms`, hot or cold, if any."""
    row = db.execute("SELECT seq, v, vs FROM readings WHERE series_id = ? AND t = ? LIMIT 1",
                     (sid, t_ms)).fetchone()
    if row is not None:
        return int(row[0]), row[1], row[2]
    for r in cold.series_rows(db, sid, t_ms, t_ms + 1):
        return r[1], r[4], None
    return None
