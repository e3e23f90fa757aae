"""The signals' own time series (signals.db): what each run computed, so trends and alerts
come from stored history instead of recomputing the past at every run."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from gateway.store.rows import SignalValue
from gateway.store.sql import translated

_SCHEMA = """
CREATE TABLE IF NOT EXISTS signal_values (
    id TEXT NOT NULL, t INTEGER NOT NULL, signal TEXT NOT NULL, scope TEXT NOT NULL,
    value REAL, unit TEXT NOT NULL, band TEXT, alert INTEGER NOT NULL, note TEXT,
    lower REAL, upper REAL, series TEXT, lines TEXT,
    PRIMARY KEY (id, t)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS signal_values_by_t ON signal_values (t);
"""
_ROW = "(id, t, signal, scope, value, unit, band, alert, note, lower, upper, series, lines)"


def _lines(v: SignalValue) -> str | None:
    return json.dumps(dict(v.lines), separators=(",", ":")) if v.lines else None


@translated
class SignalStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA busy_timeout=5000")
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(signal_values)")}
        for added in ("lower REAL", "upper REAL", "series TEXT", "lines TEXT"):
            if columns and added.split()[0] not in columns:  # signals.db of an earlier release
                self.db.execute(f"ALTER TABLE signal_values ADD COLUMN {added}")
        self.db.executescript(_SCHEMA)

    def add(self, values: list[SignalValue], t_ms: int) -> None:
        """Keep what the run at `t_ms` computed (one transaction)."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany(
                f"INSERT OR REPLACE INTO signal_values {_ROW} VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(v.id, t_ms, v.signal, v.scope, v.value, v.unit, v.band, int(v.alert), v.note,
                  v.lower, v.upper, v.series, _lines(v)) for v in values])

    def load(self, runs: Iterable[tuple[int, SignalValue]]) -> int:
        """Bulk-load (run time ms, value) pairs in one transaction, without fsync: for
        benchmarks and imports of history. Returns how many."""
        self.db.execute("PRAGMA synchronous=OFF")
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            before = self.db.total_changes
            self.db.executemany(
                f"INSERT OR REPLACE INTO signal_values {_ROW} VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                ((v.id, t, v.signal, v.scope, v.value, v.unit, v.band, int(v.alert), v.note,
                  v.lower, v.upper, v.series, _lines(v)) for t, v in runs))
            added = self.db.total_changes - before
        self.db.execute("PRAGMA synchronous=FULL")
        return added

    def recent(self, since_ms: int, ids: Iterable[str]) -> dict[str, list[tuple[float, float]]]:
        """(time s, value) of each of `ids` with a value since `since_ms`, oldest first. One
        primary-key range per id: a year of history costs nothing (a scan by time would read
        all of it at every run)."""
        out: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for sid in ids:
            out[sid] = [(t / 1000, value) for t, value in self.db.execute(
                "SELECT t, value FROM signal_values WHERE id = ? AND t >= ? AND value IS NOT "
                "NULL ORDER BY t", (sid, since_ms))]
        return out

    def runs_after(self, t_ms: int, max_values: int) -> tuple[list[tuple[int, SignalValue]], int]:
        """Whole runs after `t_ms`, oldest first, about `max_values` values at most (one run
        more when a single run is larger): ((run time, value) pairs, the last run's time, or
        `t_ms` if none). For the sinks, which follow the runs by time."""
        times = [t for (t,) in self.db.execute(
            "SELECT DISTINCT t FROM signal_values WHERE t > ? ORDER BY t LIMIT 1000", (t_ms,))]
        out: list[tuple[int, SignalValue]] = []
        last = t_ms
        for t in times:
            rows = self.db.execute(
                "SELECT id, signal, scope, value, unit, band, alert, note, lower, upper, series, "
                "lines FROM signal_values WHERE t = ?", (t,)).fetchall()
            if out and len(out) + len(rows) > max_values:
                break
            out += [(t, SignalValue(i, sg, sc, v, u, b, bool(a), n, lo, hi, se, tuple(
                json.loads(ln).items()) if ln else ())) for i, sg, sc, v, u, b, a, n, lo, hi, se, ln
                in rows]
            last = t
        return out, last

    def history(self, signal_id: str, since_ms: int = 0
                ) -> list[tuple[int, float | None, str | None]]:
        """(time ms, value, band) of every run since `since_ms`, oldest first."""
        return self.db.execute("SELECT t, value, band FROM signal_values WHERE id = ? AND t >= ? "
                               "ORDER BY t", (signal_id, since_ms)).fetchall()

    def stored(self, signal_id: str, t_ms: int) -> tuple[float | None, str | None] | None:
        """(value, band) the run at `t_ms` stored for the signal; None if no run then."""
        row = self.db.execute("SELECT value, band FROM signal_values WHERE id = ? AND t = ?",
                              (signal_id, t_ms)).fetchone()
        return None if row is None else (row[0], row[1])

    def first_value_time(self, signal_id: str, since_ms: int) -> int | None:
        """When the signal first had a value at or after `since_ms` (ms), if ever."""
        row = self.db.execute("SELECT min(t) FROM signal_values WHERE id = ? AND t >= ? AND "
                              "value IS NOT NULL", (signal_id, since_ms)).fetchone()
        return None if row[0] is None else int(row[0])

    def means(self, signal_id: str, since_ms: int, bucket_ms: int) -> list[list[float]]:
        """[first time ms, mean value] per `bucket_ms` since `since_ms`: a sparkline."""
        return [[t, v] for t, v in self.db.execute(
            "SELECT min(t), avg(value) FROM signal_values WHERE id = ? AND t >= ? AND value IS "
            "NOT NULL GROUP BY (t - ?) / ? ORDER BY 1", (signal_id, since_ms, since_ms, bucket_ms))]

    def sparkline(self, signal_id: str, now_ms: int, days: int = 30, points: int = 60
                  ) -> list[list[float]]:
        """The signal over the last `days`, or over its history if younger, as at most
        `points` (time ms, mean) pairs: a site a few hours old sees its trend too."""
        first = self.first_value_time(signal_id, now_ms - days * 86_400_000)
        if first is None:
            return []
        return self.means(signal_id, first, max(1, (now_ms - first) // points + 1))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> SignalStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
