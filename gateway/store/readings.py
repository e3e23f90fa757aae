"""The embedded store: SQLite, one file. Chosen by measurement (docs/store.md, bench/store_choice.py).

(node, seq) is the primary key of a hot reading row; commit() looks every arriving seq up among
the rows, and among the cold chunks (cold.py) when it may have moved there, so a replay is
ignored and a reading is stored exactly once. Commits are WAL + synchronous=FULL: when commit() returns, the
readings survive kill -9 and power loss, and only then does the gateway acknowledge them.
Node, series and quantity names are interned into small integer ids to keep rows small. A
quantity arriving in bulk (BULK_MIN or more readings of one node in a commit: a backlog) is
written as a chunk at once instead (cold.insert_fresh), under the same rules.

Acknowledgement watermarks live in the store and advance inside the commit transaction, so any
number of ingest workers (MQTT shared subscription) can commit parts of one node's stream and
every one of them computes the same, correct watermark.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import shutil
import sqlite3
import threading
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from contract.senml import contiguous_ranges
from contract.topics import NodeId
from gateway.errors import StoreError
from gateway.store import cold, devices, rollups, sequence_repair, sink_cursors
from gateway.store.chunk import Buckets
from gateway.store.rows import DeadLetter, ExportRow, StoredReading, StoredSeries
from gateway.store.sequence_repair import Sequences
from gateway.store.sink_cursors import SinkCursors
from gateway.store.sql import Access, translated
from gateway.store.watermark import Anomaly, Watermark

# per node: (sequence numbers handled by one message, the floor that message declared)
Handled = dict[NodeId, list[tuple[list[int], int | None]]]
Row = tuple[object, ...]  # a readings row: node_id, seq, series_id, t, v, vs, ref, cal, q

SCHEMA_VERSION = 10
# a quantity of a node with this many readings in one commit is written as a chunk at once
# (a backlog after an outage); fewer stay rows until the mover takes them (the live trickle)
BULK_MIN = 64
_UNREAD = 2**62  # the cursor of a node a reader does not read: beyond any seq
_SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (
    node_id   INTEGER PRIMARY KEY,
    site      TEXT NOT NULL,
    node      TEXT NOT NULL,
    acked     INTEGER NOT NULL DEFAULT 0,   -- cumulative acknowledgement watermark
    last_seen REAL,                         -- gateway clock, last message of any kind
    state     TEXT,                         -- retained status: online / offline
    status    TEXT,                         -- last status message (JSON)
    readings  INTEGER NOT NULL DEFAULT 0,   -- stored readings, kept by commit (a count(*)
                                            -- per page view grew with the store: 0.4 s at 4 M)
    floor     INTEGER,                      -- bfloor of the node's newest pack
    cold_seq  INTEGER NOT NULL DEFAULT 0,   -- the highest seq moved into chunks (cold.py)
    retired   REAL,                         -- when a steward retired it (eil gateway retire)
    UNIQUE (site, node)
);
CREATE TABLE IF NOT EXISTS series (
    series_id INTEGER PRIMARY KEY,
    node_id   INTEGER NOT NULL REFERENCES nodes,
    name      TEXT NOT NULL,
    kind      TEXT NOT NULL,
    unit      TEXT,
    UNIQUE (node_id, name, kind, unit)
);
CREATE TABLE IF NOT EXISTS readings (
    node_id   INTEGER NOT NULL,
    seq       INTEGER NOT NULL,
    series_id INTEGER NOT NULL,
    t         INTEGER NOT NULL,   -- node-assigned time, ms since the UNIX epoch
    v         REAL,
    vs        TEXT,
    ref       TEXT,
    cal       TEXT,               -- calibration identity the value was computed with
    q         INTEGER,            -- QARTOD flag set at the edge (3 suspect, 4 fail)
    PRIMARY KEY (node_id, seq)
) WITHOUT ROWID;
-- covers v (and, WITHOUT ROWID, the key node_id, seq): a chart's or the engine's range scan
-- reads the index alone, 3x faster than looking every row up (docs/performance.md)
CREATE INDEX IF NOT EXISTS readings_by_series_time_value ON readings (series_id, t, v);
CREATE TABLE IF NOT EXISTS committed_ranges (  -- committed above a gap in a node's sequence
    node_id INTEGER NOT NULL,
    first   INTEGER NOT NULL,
    last    INTEGER NOT NULL,
    PRIMARY KEY (node_id, first)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS conflicts (  -- one (node, seq) arrived with two contents
    id       INTEGER PRIMARY KEY,
    node_id  INTEGER NOT NULL,
    seq      INTEGER NOT NULL,
    first_at REAL NOT NULL,
    last_at  REAL NOT NULL,
    count    INTEGER NOT NULL DEFAULT 1,
    stored   TEXT NOT NULL,               -- the version kept in readings (JSON)
    arriving TEXT NOT NULL,               -- the other version (JSON)
    digest   TEXT NOT NULL UNIQUE,
    kept     TEXT NOT NULL DEFAULT 'first' -- which one readings holds (sequence_repair.py)
);
CREATE TABLE IF NOT EXISTS seq_anomalies (  -- sequence claims the gateway did not act on
    node_id   INTEGER NOT NULL,
    kind      TEXT NOT NULL,              -- floor | ahead (gateway/store/watermark.py)
    claimed   INTEGER NOT NULL,
    watermark INTEGER NOT NULL,
    first_at  REAL NOT NULL,
    last_at   REAL NOT NULL,
    count     INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (node_id, kind, claimed)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dead_letters (
    id       INTEGER PRIMARY KEY,
    first_at REAL NOT NULL,
    last_at  REAL NOT NULL,
    count    INTEGER NOT NULL DEFAULT 1,
    topic    TEXT NOT NULL,
    site     TEXT,
    node     TEXT,
    seq      INTEGER,
    reason   TEXT NOT NULL,
    payload  BLOB NOT NULL,
    digest   TEXT NOT NULL UNIQUE
);
"""


@dataclass(frozen=True, slots=True)
class Storage:
    hot: int  # readings in rows
    cold: int  # readings in chunks
    oldest_hot_ms: int | None
    oldest_cold_ms: int | None
    oldest_rollup_ms: int | None  # the oldest hour summarised (roll-ups outlive raw readings)
    bytes: int  # the store's files
    free_bytes: int  # free space on their file system
    last_day: int = 0  # about how many readings have node time in the day before the newest

    @property
    def days_left(self) -> float | None:
        """Days until the free space is gone at the last day's rate and today's bytes per
        reading (None with nothing to go by)."""
        total = self.hot + self.cold
        if not total or not self.last_day:
            return None
        return self.free_bytes / (self.bytes / total * self.last_day)


def sequence_state(node: str, acked: int, status: dict[str, object]) -> str:
    """"ok", or what is wrong with the node's sequence as its own status reports it (shown by
    eil status and the fleet view, repaired with eil gateway sequence). Its status is stale by
    up to one status interval, so only a refusal the node reports counts, never a comparison
    of its last_seq with the watermark."""
    refused, node_acked = status.get("ack_refused"), status.get("acked")
    if isinstance(refused, int):  # cleared by the node's next status once an ack is good
        return (f"the node refuses acknowledgement {refused}, beyond its newest reading: the "
                f"watermark {acked} is not this node's stream; repair with: eil gateway "
                f"sequence {node} --set {node_acked if isinstance(node_acked, int) else 'N'}")
    return "ok"


def _retired(row: Row, raw_from: dict[int, int]) -> bool:
    """A reading older than its series' raw readings now begin: retention deleted it."""
    sid, t = row[2], row[3]
    return isinstance(sid, int) and isinstance(t, int) and t < raw_from.get(sid, t)


def _fetched(cur: sqlite3.Cursor, batch: int) -> Iterator[tuple[object, ...]]:
    while rows := cur.fetchmany(batch):
        yield from rows


def _statements(script: str) -> list[str]:
    """The statements of a schema script, for running them inside one transaction
    (executescript commits first)."""
    out, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    return out


def _migrate(db: sqlite3.Connection) -> None:
    """Bring an older store up to SCHEMA_VERSION in place (columns only ever get added; the
    new index is built by the schema script that follows, once, at the first start)."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version == 1:
        db.execute("ALTER TABLE readings ADD COLUMN cal TEXT")
        db.execute("ALTER TABLE readings ADD COLUMN q INTEGER")
    if version in (1, 2):
        db.execute("DROP INDEX IF EXISTS readings_by_series_time")
    if version in (1, 2, 3) and db.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'nodes'").fetchone():
        db.execute("ALTER TABLE nodes ADD COLUMN readings INTEGER NOT NULL DEFAULT 0")
        db.execute("UPDATE nodes SET readings = (SELECT count(*) FROM readings "
                   "WHERE readings.node_id = nodes.node_id)")  # once, at the upgrade
    if version in (1, 2, 3, 4) and db.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'nodes'").fetchone():
        db.execute("ALTER TABLE nodes ADD COLUMN floor INTEGER")
    if version in (1, 2, 3, 4, 5) and db.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'nodes'").fetchone() and "cold_seq" not in {
            row[1] for row in db.execute("PRAGMA table_info(nodes)")}:
        db.execute("ALTER TABLE nodes ADD COLUMN cold_seq INTEGER NOT NULL DEFAULT 0")
    if version in range(1, 9) and db.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'nodes'").fetchone() and "retired" not in {
            row[1] for row in db.execute("PRAGMA table_info(nodes)")}:
        db.execute("ALTER TABLE nodes ADD COLUMN retired REAL")
    if version in range(5, 10) and "kept" not in {
            row[1] for row in db.execute("PRAGMA table_info(conflicts)")}:
        db.execute("ALTER TABLE conflicts ADD COLUMN kept TEXT NOT NULL DEFAULT 'first'")
    if version in range(8, 10) and "removed" not in {
            row[1] for row in db.execute("PRAGMA table_info(sink_state)")}:
        db.execute("ALTER TABLE sink_state ADD COLUMN removed REAL")
    if version > SCHEMA_VERSION:
        raise StoreError(f"store schema {version} is newer than this gateway's "
                         f"({SCHEMA_VERSION}): upgrade the gateway")


@translated
class Store:
    """The readings store: ingest's commit, the queries of the views and the command line, cold
    storage and retention; the sinks' cursors (`.sinks`) and a steward's sequence repairs
    (`.sequences`) are facades of their own."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        try:
            if readonly:
                if not path.exists():
                    raise StoreError(f"no EIL store at {path}")
                self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True,
                                          check_same_thread=False)
                self.db.execute("PRAGMA busy_timeout=5000")
                # a reader may meet a store its gateway has not upgraded yet (eil status right
                # after installing a new version): it reads what that schema has
                self.schema = self.db.execute("PRAGMA user_version").fetchone()[0]
                deadline = time.monotonic() + 5.0
                while self.schema == 0 and time.monotonic() < deadline:
                    # the gateway's first start has made the file and is creating its tables
                    # in one transaction of a few milliseconds: wait for it
                    time.sleep(0.05)
                    self.schema = self.db.execute("PRAGMA user_version").fetchone()[0]
                if self.schema == 0:
                    self.db.close()
                    raise StoreError(f"the store at {path} has no tables yet (its gateway is "
                                     "creating it): try again in a moment")
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=FULL")
                self.db.execute("PRAGMA busy_timeout=5000")
                # one transaction: several workers starting together migrate once, and a
                # reader sees either no tables (user_version 0) or all of them
                with self.db:
                    self.db.execute("BEGIN IMMEDIATE")
                    if self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                        _migrate(self.db)
                    for statement in _statements(_SCHEMA + cold.SCHEMA + rollups.SCHEMA +
                                                     sink_cursors.SCHEMA +
                                                     sequence_repair.SCHEMA):
                        self.db.execute(statement)
                    self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                self.schema = SCHEMA_VERSION
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store {path}: {exc}") from exc
        self.cold = self.schema >= 6  # an older store (read-only, not yet upgraded) has none
        self.rolled = self.schema >= 7
        self.retirements = self.schema >= 9
        self.lock = threading.Lock()  # one connection shared by ingest and web threads
        access = Access(self.db, self.lock, path)
        self.sinks = SinkCursors(access, self.schema)  # each sink's cursor
        self.sequences = Sequences(access, self.schema)  # a steward's sequence repairs
        self.node_ids: dict[NodeId, int] = {}
        self.series_ids: dict[tuple[int, str, str, str | None], int] = {}

    # --- ingest --------------------------------------------------------------------------------
    def node_id(self, node: NodeId) -> int:
        nid = self.node_ids.get(node)
        if nid is None:
            self.db.execute("INSERT OR IGNORE INTO nodes (site, node) VALUES (?, ?)",
                            (node.site, node.node))
            nid = self.db.execute("SELECT node_id FROM nodes WHERE site=? AND node=?",
                                  (node.site, node.node)).fetchone()[0]
            self.node_ids[node] = nid
        return nid

    def _series_id(self, nid: int, r: StoredReading) -> int:
        key = (nid, r.name, r.kind, r.unit)
        sid = self.series_ids.get(key)
        if sid is None:
            self.db.execute("INSERT OR IGNORE INTO series (node_id, name, kind, unit) "
                            "VALUES (?,?,?,?)", key)
            sid = self.db.execute("SELECT series_id FROM series WHERE node_id=? AND name=? AND "
                                  "kind=? AND unit IS ?", key).fetchone()[0]
            self.series_ids[key] = sid
        return sid

    def _load_watermark(self, nid: int) -> Watermark:
        acked, count = self.db.execute("SELECT acked, readings FROM nodes WHERE node_id=?",
                                       (nid,)).fetchone()
        above = self.db.execute("SELECT first, last FROM committed_ranges WHERE node_id=? "
                                "ORDER BY first", (nid,)).fetchall()
        return Watermark(acked, above, fresh=acked == 0 and count == 0 and not above)

    def _save_watermark(self, nid: int, wm: Watermark, floor: int | None, now: float) -> None:
        self.db.execute("DELETE FROM committed_ranges WHERE node_id=?", (nid,))
        self.db.executemany("INSERT INTO committed_ranges VALUES (?,?,?)",
                            [(nid, a, b) for a, b in wm.above])
        self.db.execute("UPDATE nodes SET acked=?, floor=coalesce(?, floor) WHERE node_id=?",
                        (wm.acked, floor, nid))
        self._record_anomalies(nid, wm.anomalies, now)

    def _record_anomalies(self, nid: int, anomalies: Sequence[Anomaly], now: float) -> None:
        self.db.executemany(
            "INSERT INTO seq_anomalies (node_id, kind, claimed, watermark, first_at, last_at)"
            " VALUES (?,?,?,?,?,?) ON CONFLICT (node_id, kind, claimed) DO UPDATE SET"
            " count = count + 1, last_at = excluded.last_at, watermark = excluded.watermark",
            [(nid, a.kind, a.claimed, a.watermark, now, now) for a in anomalies])

    def _insert(self, nid: int, node_rows: dict[int, Row], late: list[Row], now: float,
                deleted: dict[int, int], bulk: list[tuple[int, StoredSeries]]) -> int:
        """Insert one node's rows (keyed by seq) and bulk series (written as chunks at once,
        cold.insert_fresh); a seq already stored with other content is a conflict, recorded
        with both versions (a cloned SD card, a forged pack). A bulk series any of whose seqs
        is already stored, or twice in this commit, or retired by retention, goes the row way
        instead, so that every rule is the rows' own. Returns how many readings are new."""
        found: dict[int, Row] = {}
        cold_seq = self.db.execute("SELECT cold_seq FROM nodes WHERE node_id=?",
                                   (nid,)).fetchone()[0]
        seqs: list[int] = list(node_rows)
        for _, s in bulk:
            seqs += s.seqs
        for a, b in contiguous_ranges(seqs):  # one primary-key seek per run of seqs
            for row in self.db.execute("SELECT * FROM readings WHERE node_id=? AND seq BETWEEN "
                                       "? AND ?", (nid, a, b)):
                found[row[1]] = tuple(row)
            if a <= cold_seq:  # a replay of readings that may have moved to chunks
                found.update(cold.rows_by_seq(self.db, nid, a, b))
        written = 0
        if bulk:
            taken = set(node_rows)
            for sid, s in bulk:
                own = set(s.seqs)
                if (len(own) < len(s.seqs) or not own.isdisjoint(taken)
                        or not own.isdisjoint(found)
                        or (sid in deleted and min(s.t_ms) < deleted[sid])):
                    for r in s.readings():  # the row way, with its conflict rules
                        row = (nid, r.seq, sid, r.t_ms, r.value, None, None, r.cal, r.q)
                        if r.seq in node_rows:
                            late.append(row)
                        else:
                            node_rows[r.seq] = row
                    taken |= own
                    continue
                cold.insert_fresh(self.db, sid, nid, s.seqs, s.t_ms, s.values, s.cals, s.qs)
                taken |= own
                written += len(s.seqs)
        fresh = [row for seq, row in node_rows.items() if seq not in found
                 and not (deleted and _retired(row, deleted))]
        clashes = [(found[seq], row) for seq, row in node_rows.items()
                   if seq in found and found[seq][2:] != row[2:]]
        clashes += [(node_rows[row[1]], row) for row in late  # type: ignore[index]
                    if node_rows[row[1]][2:] != row[2:]]  # type: ignore[index]
        self.db.executemany("INSERT INTO readings VALUES (?,?,?,?,?,?,?,?,?)", fresh)
        self.db.execute("UPDATE nodes SET readings = readings + ? WHERE node_id = ?",
                        (len(fresh) + written, nid))
        self.db.executemany(
            "INSERT INTO conflicts (node_id, seq, first_at, last_at, stored, arriving, digest)"
            " VALUES (?,?,?,?,?,?,?) ON CONFLICT (digest) DO UPDATE SET count = count + 1,"
            " last_at = excluded.last_at",
            [(nid, stored[1], now, now, self._version(stored), self._version(arriving),
              hashlib.sha256(f"{nid}:{stored[1]}:{self._version(arriving)}".encode()).hexdigest())
             for stored, arriving in clashes])
        return len(fresh) + written

    def _version(self, row: Row) -> str:
        """One stored or arriving reading as JSON, for a conflict record."""
        name, kind, unit = self.db.execute("SELECT name, kind, unit FROM series WHERE "
                                           "series_id=?", (row[2],)).fetchone()
        return json.dumps({"seq": row[1], "time_ms": row[3], "name": name, "kind": kind,
                           "unit": unit, "value": row[4], "text": row[5], "ref": row[6],
                           "cal": row[7], "q": row[8]}, separators=(",", ":"))

    def commit(self, readings: Sequence[tuple[NodeId, StoredReading]],
               dead: Sequence[DeadLetter], handled: Handled, seen: dict[NodeId, float],
               anomalies: Sequence[tuple[NodeId, Anomaly]] = (),
               series: Sequence[tuple[NodeId, StoredSeries]] = ()
               ) -> tuple[int, dict[NodeId, int]]:
        """Store readings and series (exact replays ignored, a seq stored with other content
        recorded as a conflict), dead letters, last-seen times, sequence anomalies and the
        advanced watermarks in one durable transaction. A quantity of a node with BULK_MIN or
        more readings in `series` is written as chunks at once (the bulk path: cold.py), fewer
        as rows. Returns (new readings, watermark per handled node)."""
        now = time.time()
        try:
            with self.lock, self.db:
                self.db.execute("BEGIN IMMEDIATE")
                marks = {node: self._load_watermark(self.node_id(node)) for node in handled}
                rows: dict[int, dict[int, Row]] = {}
                late: dict[int, list[Row]] = {}
                last: NodeId | None = None
                nid, node_rows = 0, {}
                ids = self.series_ids
                for node, r in readings:
                    if node is not last:  # readings come node by node: look up once per run
                        last, nid = node, self.node_id(node)
                        node_rows = rows.setdefault(nid, {})
                    sid = ids.get((nid, r.name, r.kind, r.unit))
                    if sid is None:
                        sid = self._series_id(nid, r)
                    row = (nid, r.seq, sid, r.t_ms, r.value, r.text, r.ref, r.cal, r.q)
                    if r.seq in node_rows:  # the same seq twice in one batch
                        late.setdefault(nid, []).append(row)
                    else:
                        node_rows[r.seq] = row
                bulk = self._bulk(series, rows, late)
                # where retention has deleted each series' raw readings up to: read once a commit
                deleted = rollups.raw_from_all(self.db) if self.rolled else {}
                new = sum(self._insert(nid, node_rows, late.setdefault(nid, []), now, deleted,
                                       bulk.get(nid, []))
                          for nid, node_rows in rows.items())
                self.db.executemany(
                    "INSERT INTO dead_letters (first_at, last_at, topic, site, node, seq, reason,"
                    " payload, digest) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (digest) DO UPDATE"
                    " SET count = count + 1, last_at = excluded.last_at",
                    [(now, now, d.topic, d.node.site if d.node else None,
                      d.node.node if d.node else None, d.seq, d.reason, d.payload, d.digest)
                     for d in dead])
                for node, at in seen.items():
                    self.db.execute("UPDATE nodes SET last_seen=? WHERE node_id=?",
                                    (at, self.node_id(node)))
                acked: dict[NodeId, int] = {}
                for node, items in handled.items():
                    wm = marks[node]
                    for seqs, floor in items:
                        wm.commit(seqs, floor)
                    floors = [f for _, f in items if f is not None]
                    self._save_watermark(self.node_id(node), wm, max(floors, default=None), now)
                    acked[node] = wm.acked
                for node, anomaly in anomalies:
                    self._record_anomalies(self.node_id(node), [anomaly], now)
        except sqlite3.Error as exc:
            self.node_ids.clear()  # ids made in a rolled-back transaction are not real
            self.series_ids.clear()
            raise StoreError(f"commit to {self.path} failed: {exc}") from exc
        return new, acked

    def _bulk(self, series: Sequence[tuple[NodeId, StoredSeries]],
              rows: dict[int, dict[int, Row]], late: dict[int, list[Row]]
              ) -> dict[int, list[tuple[int, StoredSeries]]]:
        """`series` gathered per node and quantity: those with BULK_MIN or more readings, per
        node id; the others added to `rows` (and `late`) as commit() does with readings."""
        gathered: dict[tuple[int, int], StoredSeries] = {}
        for node, s in series:
            nid = self.node_id(node)
            rows.setdefault(nid, {})
            key = (nid, s.name, s.kind, s.unit)
            sid = self.series_ids.get(key)
            if sid is None:
                sid = self._series_id(nid, StoredReading(0, 0, s.name, s.kind, s.unit, None,
                                                         None, None))
            have = gathered.get((nid, sid))
            if have is None:
                gathered[(nid, sid)] = StoredSeries(s.name, s.kind, s.unit, list(s.seqs),
                                                    list(s.t_ms), list(s.values), list(s.cals),
                                                    list(s.qs))
            else:
                have.seqs += s.seqs
                have.t_ms += s.t_ms
                have.values += s.values
                have.cals += s.cals
                have.qs += s.qs
        out: dict[int, list[tuple[int, StoredSeries]]] = {}
        for (nid, sid), s in gathered.items():
            if len(s.seqs) >= BULK_MIN:
                out.setdefault(nid, []).append((sid, s))
                continue
            node_rows = rows[nid]
            for seq, t, v, cal, q in zip(s.seqs, s.t_ms, s.values, s.cals, s.qs, strict=True):
                row = (nid, seq, sid, t, v, None, None, cal, q)
                if seq in node_rows:  # the same seq twice in one batch
                    late.setdefault(nid, []).append(row)
                else:
                    node_rows[seq] = row
        return out

    def commit_device(self, device: NodeId, readings: Sequence[StoredReading],
                      dead: Sequence[DeadLetter], at: float) -> tuple[int, int, int]:
        """A third-party SenML device's readings (devices.py), in one durable transaction: each
        stored once per (series, time); a replay is skipped, a different value at the same
        identity recorded as a conflict, the rest numbered after the device's last. Returns
        (new, duplicates, conflicts)."""
        try:
            with self.lock, self.db:
                self.db.execute("BEGIN IMMEDIATE")
                nid = self.node_id(device)
                (seq,) = self.db.execute("SELECT acked FROM nodes WHERE node_id = ?",
                                         (nid,)).fetchone()
                retired = rollups.raw_from_all(self.db) if self.rolled else {}
                fresh: list[Row] = []
                clashes: list[tuple[Row, Row]] = []
                batch: dict[tuple[int, int], Row] = {}
                duplicates = 0
                for r in readings:
                    sid = self._series_id(nid, r)
                    row: Row = (nid, 0, sid, r.t_ms, r.value, r.text, None, None, None)
                    earlier = batch.get((sid, r.t_ms))
                    found = earlier[1:2] + earlier[4:6] if earlier is not None else \
                        devices.stored_at(self.db, sid, r.t_ms)
                    if found is not None:
                        if (found[1], found[2]) == (r.value, r.text):
                            duplicates += 1
                        else:
                            stored = (nid, found[0], sid, r.t_ms, found[1], found[2], None, None,
                                      None)
                            clashes.append((stored, row))
                        continue
                    if r.t_ms < retired.get(sid, r.t_ms):  # stored once; retention deleted it
                        duplicates += 1
                        continue
                    seq += 1
                    row = (nid, seq, *row[2:])
                    batch[(sid, r.t_ms)] = row
                    fresh.append(row)
                self.db.executemany("INSERT INTO readings VALUES (?,?,?,?,?,?,?,?,?)", fresh)
                self.db.execute("UPDATE nodes SET acked = ?, readings = readings + ?, last_seen "
                                "= ? WHERE node_id = ?",  # no status: a device sends none
                                (seq, len(fresh), at, nid))
                self.db.executemany(
                    "INSERT INTO conflicts (node_id, seq, first_at, last_at, stored, arriving, "
                    "digest) VALUES (?,?,?,?,?,?,?) ON CONFLICT (digest) DO UPDATE SET count = "
                    "count + 1, last_at = excluded.last_at",
                    [(nid, stored[1], at, at, self._version(stored), self._version(arriving),
                      hashlib.sha256(f"{nid}:{stored[1]}:{self._version(arriving)}".encode()
                                     ).hexdigest()) for stored, arriving in clashes])
                self.db.executemany(
                    "INSERT INTO dead_letters (first_at, last_at, topic, site, node, seq, reason,"
                    " payload, digest) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (digest) DO UPDATE"
                    " SET count = count + 1, last_at = excluded.last_at",
                    [(at, at, d.topic, device.site, device.node, None, d.reason, d.payload,
                      d.digest) for d in dead])
        except sqlite3.Error as exc:
            self.node_ids.clear()
            self.series_ids.clear()
            raise StoreError(f"commit to {self.path} failed: {exc}") from exc
        return len(fresh), duplicates, len(clashes)

    def watermark_of(self, node: NodeId) -> tuple[int, bool]:
        """(acknowledged seq, whether the store holds nothing of the node yet)."""
        with self.lock:
            row = self.db.execute(
                "SELECT acked, readings, EXISTS (SELECT 1 FROM committed_ranges c WHERE "
                "c.node_id = nodes.node_id) FROM nodes WHERE site=? AND node=?",
                (node.site, node.node)).fetchone()
        if row is None:
            return 0, True
        return row[0], row[0] == 0 and row[1] == 0 and not row[2]

    def load_series(self, node: NodeId, name: str, kind: str, unit: str | None,
                    rows: Iterable[tuple[int, int, float]]) -> int:
        """Bulk-load one series' (seq, t ms, value) rows in one transaction, without the
        durability of commit() (synchronous=OFF) and without acknowledgements: for benchmarks
        and history imports, never for ingest. Returns the rows added."""
        with self.lock:
            self.db.execute("PRAGMA synchronous=OFF")
            try:
                with self.db:
                    self.db.execute("BEGIN IMMEDIATE")
                    nid = self.node_id(node)
                    sid = self._series_id(nid, StoredReading(0, 0, name, kind, unit, None, None,
                                                             None))
                    before = self.db.total_changes
                    self.db.executemany("INSERT OR IGNORE INTO readings (node_id, seq, series_id, "
                                        "t, v) VALUES (?,?,?,?,?)",
                                        ((nid, seq, sid, t, v) for seq, t, v in rows))
                    added = self.db.total_changes - before
                    self.db.execute("UPDATE nodes SET readings = readings + ? WHERE node_id = ?",
                                    (added, nid))
            finally:
                self.db.execute("PRAGMA synchronous=FULL")
        return added

    def bytes_on_disk(self) -> int:
        """The store's files (database and write-ahead log) together."""
        return sum(f.stat().st_size for f in self.path.parent.glob(self.path.name + "*"))

    def set_status(self, node: NodeId, state: str, status_json: str, at: float) -> None:
        with self.lock, self.db:
            nid = self.node_id(node)
            self.db.execute("UPDATE nodes SET state=?, status=?, last_seen=max(coalesce("
                            "last_seen, 0), ?) WHERE node_id=?", (state, status_json, at, nid))

    # --- queries --------------------------------------------------------------------------------
    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        """One read transaction, so figures read by several statements agree with each other."""
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            self.db.execute("COMMIT")

    def export(self, node: str | None = None, name: str | None = None,
               since_ms: int | None = None, until_ms: int | None = None,
               batch: int = 10_000) -> Iterator[ExportRow]:
        """Every stored reading (hot rows and cold chunks alike), node by node in seq order."""
        where, args = ["1=1"], []  # type: tuple[list[str], list[object]]
        for clause, value in (("s.name = ?", name), ("r.t >= ?", since_ms),
                              ("r.t < ?", until_ms)):
            if value is not None:
                where.append(clause)
                args.append(value)
        with self._snapshot():  # hot and cold read at one instant: a move cannot double a row
            yield from self._export(node, where, args, name, since_ms, until_ms, batch)

    def _export(self, node: str | None, where: list[str], args: list[object],
                name: str | None, since_ms: int | None, until_ms: int | None, batch: int
                ) -> Iterator[ExportRow]:
        nodes = self.db.execute("SELECT node_id, site, node FROM nodes" + (
            " WHERE node = ?" if node is not None else "") + " ORDER BY site, node",
            [node] if node is not None else []).fetchall()
        for nid, site, name_of_node in nodes:
            cur = self.db.execute(
                "SELECT r.seq, r.t, s.name, s.kind, s.unit, r.v, r.vs, r.ref, r.cal, r.q FROM "
                f"readings r JOIN series s USING (series_id) WHERE r.node_id = ? AND "
                f"{' AND '.join(where)} ORDER BY r.seq", [nid, *args])
            cold_rows = self._cold_export(nid, name, since_ms, until_ms)
            merged = heapq.merge(_fetched(cur, batch), cold_rows,
                                 key=lambda row: int(row[0]))  # type: ignore[call-overload]
            for row in merged:
                yield ExportRow(site, name_of_node, *row)  # type: ignore[arg-type]

    def _cold_export(self, nid: int, name: str | None, since_ms: int | None,
                     until_ms: int | None) -> list[tuple[object, ...]]:
        if not self.cold:
            return []
        out: list[tuple[object, ...]] = []
        for sid in cold.node_series(self.db, nid):
            sname, kind, unit = self.db.execute("SELECT name, kind, unit FROM series WHERE "
                                                "series_id = ?", (sid,)).fetchone()
            if name is not None and sname != name:
                continue
            out += [(r[1], r[3], sname, kind, unit, r[4], None, None, r[7], r[8])
                    for r in cold.series_rows(self.db, sid, since_ms, until_ms) if r[0] == nid]
        out.sort(key=lambda row: row[0])  # type: ignore[arg-type, return-value]
        return out

    def series(self, node: str, name: str, since_ms: int, until_ms: int,
               points: int | None = None) -> tuple[str | None, list[int], list[float]]:
        """One quantity of one node in [since, until): (unit, times ms, values), oldest first,
        hot and cold alike. With `points`, the span is cut into that many time buckets and
        each comes back as (its first reading's time, mean), the way a chart of a month needs
        it."""
        with self.lock, self._snapshot():
            found = self.db.execute(
                "SELECT s.series_id, s.unit FROM series s JOIN nodes n USING (node_id) WHERE "
                "n.node = ? AND s.name = ? AND s.kind != 'event'", (node, name)).fetchall()
            if not found:
                return None, [], []
            if points:  # a bucket holding one reading keeps its exact time
                width = max(1, -(-(until_ms - since_ms) // points))
                buckets: Buckets = {}
                for sid, _ in found:
                    if self.cold:
                        cold.series_buckets(self.db, sid, since_ms, until_ms, width, buckets)
                    first_raw = rollups.raw_from(self.db, sid) if self.rolled else None
                    if first_raw is not None and since_ms < first_raw:  # raw deleted: roll-ups
                        rollups.add_buckets(self.db, sid, since_ms, min(until_ms, first_raw),
                                            width, buckets)
                    for b, t, total, count in self.db.execute(  # hot rows: summed by SQLite
                            "SELECT (t - ?) / ?, min(t), sum(v), count(*) FROM readings WHERE "
                            "series_id = ? AND t >= ? AND t < ? AND v IS NOT NULL GROUP BY 1",
                            (since_ms, width, sid, since_ms, until_ms)):
                        entry = buckets.setdefault(b, [t, 0.0, 0])
                        entry[0], entry[1], entry[2] = (min(entry[0], t), entry[1] + total,
                                                        entry[2] + count)
                ordered_b = sorted(buckets)
                return (found[0][1], [int(buckets[b][0]) for b in ordered_b],
                        [buckets[b][1] / buckets[b][2] for b in ordered_b])
            times: list[int] = []
            values: list[float] = []
            ordered = len(found) == 1
            for sid, _ in found:  # cold (older) first, then hot: usually already in order
                ct, cv, ordered_cold = (cold.series_points(self.db, sid, since_ms, until_ms)
                                        if self.cold else ([], [], True))
                hot = self.db.execute("SELECT t, v FROM readings WHERE series_id = ? AND "
                                      "t >= ? AND t < ? AND v IS NOT NULL ORDER BY t",
                                      (sid, since_ms, until_ms)).fetchall()
                ordered = ordered and ordered_cold and not (ct and hot and hot[0][0] < ct[-1])
                times += ct + [r[0] for r in hot]
                values += cv + [r[1] for r in hot]
        if not ordered:
            pairs = sorted(zip(times, values, strict=True), key=lambda p: p[0])
            times, values = [p[0] for p in pairs], [p[1] for p in pairs]
        return found[0][1], times, values

    def gauge_series(self, since: dict[str, int], max_ms: int,
                     nodes: Collection[str] | None = None
                     ) -> list[tuple[str, str, list[tuple[int, int, float]]]]:
        """For each gauge or counter series whose name is one of `since`'s quantities (or ends
        with "." and one, whatever a sensor's id prefix): (node, name, [(seq, t ms, value)]) from
        that quantity's start time up to `max_ms`, oldest first; of every node or only `nodes`.
        One indexed range scan per series."""
        like = " OR ".join("s.name = ? OR s.name LIKE ?" for _ in since)
        args: list[object] = [a for q in since for a in (q, f"%.{q}")]
        only = ""
        if nodes is not None:
            only = f" AND n.node IN ({','.join('?' * len(nodes))})"
            args += list(nodes)
        with self.lock, self._snapshot():
            series = self.db.execute(
                f"SELECT s.series_id, n.node, s.name FROM series s JOIN nodes n USING (node_id) "
                f"WHERE s.kind != 'event' AND ({like}){only}", args).fetchall()
            out = []
            for sid, node, name in series:
                start = min(t for q, t in since.items() if name == q or name.endswith("." + q))
                rows = self.db.execute(
                    "SELECT seq, t, v FROM readings WHERE series_id = ? AND t >= ? AND t <= ? AND "
                    "v IS NOT NULL", (sid, start, max_ms)).fetchall()
                if self.cold:
                    rows += [(r[1], r[3], r[4])
                             for r in cold.series_rows(self.db, sid, start, max_ms + 1)]
                    rows.sort(key=lambda r: (r[1], r[0]))
                out.append((node, name, rows))
        return out

    def newest_time_ms(self) -> int | None:
        """The newest node time of any stored reading (a demo's simulated "now")."""
        with self.lock, self._snapshot():
            row = self.db.execute("SELECT max(t) FROM readings").fetchone()
            newest = [row[0]] if row[0] is not None else []
            if self.cold:
                newest += [t for (t,) in self.db.execute("SELECT max(t1) FROM chunks")
                           if t is not None]
        return max(newest) if newest else None

    def node_summary(self) -> list[dict[str, object]]:
        with self.lock, self._snapshot():
            nodes = self.db.execute(
                "SELECT node_id, site, node, acked, last_seen, state, status, " + (
                    "readings" if self.schema >= 4 else "(SELECT count(*) FROM readings r WHERE "
                    "r.node_id = nodes.node_id)") + (", floor" if self.schema >= 5 else ", NULL")
                + (", retired" if self.retirements else ", NULL")
                + " FROM nodes ORDER BY site, node").fetchall()
            out = []
            for nid, site, node, acked, last_seen, state, status, count, floor, retired in nodes:
                first, last = self.db.execute(  # two seeks (min and max in one SELECT scan)
                    "SELECT (SELECT min(seq) FROM readings WHERE node_id=?1), "
                    "(SELECT max(seq) FROM readings WHERE node_id=?1)", (nid,)).fetchone()
                if self.cold:
                    c0, c1 = cold.seq_bounds(self.db, nid)
                    first = min((x for x in (first, c0) if x is not None), default=None)
                    last = max((x for x in (last, c1) if x is not None), default=None)
                dead = self.db.execute("SELECT coalesce(sum(count), 0) FROM dead_letters WHERE "
                                       "site=? AND node=?", (site, node)).fetchone()[0]
                conflicts, anomalies = 0, []
                if self.schema >= 5:
                    conflicts = self.db.execute("SELECT count(*) FROM conflicts WHERE node_id=?",
                                                (nid,)).fetchone()[0]
                    anomalies = [dict(zip(("kind", "claimed", "watermark", "first_at", "last_at",
                                           "count"), row, strict=True)) for row in self.db.execute(
                        "SELECT kind, claimed, watermark, first_at, last_at, count FROM "
                        "seq_anomalies WHERE node_id=? ORDER BY last_at DESC", (nid,))]
                st = json.loads(status) if status else {}
                out.append({"site": site, "node": node,
                            "state": "retired" if retired else state or "unknown",
                            "retired": retired,
                            "last_seen": last_seen, "acked": acked, "readings": count,
                            "first_seq": first, "last_seq": last, "dead_letters": dead,
                            "node_last_seq": st.get("last_seq"), "outbox": st.get("outbox"),
                            "node_acked": st.get("acked"), "status_time": st.get("time"),
                            "ack_refused": st.get("ack_refused"), "floor": floor,
                            "conflicts": conflicts, "anomalies": anomalies,
                            "sequence": sequence_state(node, acked, st)})
        return out

    def retire(self, node: str, retired: bool, at: float) -> None:
        """A steward retires a node that left the site (or brings it back): its readings stay,
        views say "retired", Home Assistant removes its device. Readings it still sends are
        stored as before."""
        with self.lock, self.db:
            self.db.execute("BEGIN IMMEDIATE")
            if self.db.execute("UPDATE nodes SET retired = ? WHERE node = ?",
                               (at if retired else None, node)).rowcount == 0:
                raise StoreError(f"the store has no node {node!r}")

    def latest(self) -> list[dict[str, object]]:
        """The newest reading of every series (by node time)."""
        # per series, one seek to the end of its (series_id, t) index, then one key lookup:
        # joining on max(t) instead read every reading of the store (2.8 s at 4 M readings)
        with self.lock, self._snapshot():
            rows = self.db.execute(
                "SELECT n.site, n.node, s.name, s.kind, s.unit, r.t, r.v, r.vs, r.ref, r.cal, r.q"
                " FROM series s CROSS JOIN nodes n ON n.node_id = s.node_id"
                " CROSS JOIN readings r ON (r.node_id, r.seq) = (SELECT node_id, seq FROM readings"
                " WHERE series_id = s.series_id ORDER BY t DESC, seq DESC LIMIT 1)"
                " ORDER BY n.site, n.node, s.name, s.kind, s.unit").fetchall()
            if self.cold:  # a series whose newest reading has moved (a node silent for long)
                rows = [*rows, *self._cold_latest()]
                rows.sort(key=lambda r: r[:5])
        out: list[dict[str, object]] = []
        for site, node, name, kind, unit, t, v, vs, ref, cal, q in rows:
            if out and (out[-1]["site"], out[-1]["node"], out[-1]["name"]) == (site, node, name):
                if int(t) <= int(out[-1]["time_ms"]):  # type: ignore[call-overload]
                    continue  # the same quantity in another unit or kind (or its older cold
                    # reading): the newest wins
                out.pop()
            out.append({"site": site, "node": node, "name": name, "kind": kind, "unit": unit,
                        "time_ms": t, "value": v, "text": vs, "ref": ref, "cal": cal, "q": q})
        return out

    def _cold_latest(self) -> list[tuple[object, ...]]:
        out: list[tuple[object, ...]] = []
        for sid, site, node, name, kind, unit in self.db.execute(
                "SELECT s.series_id, n.site, n.node, s.name, s.kind, s.unit FROM series s JOIN "
                "nodes n USING (node_id) WHERE s.series_id IN (SELECT DISTINCT series_id FROM "
                "chunks)").fetchall():
            r = cold.newest(self.db, sid)
            if r is not None:
                out.append((site, node, name, kind, unit, r[3], r[4], None, None, r[7], r[8]))
        return out

    # --- cold storage ---------------------------------------------------------------------------
    def move_cold(self, before_ms: int, limit: int = 200_000) -> int:
        """Move gauge and counter readings with node time before `before_ms` into chunks
        (gateway/store/cold.py), up to about `limit` in one durable transaction. Returns how
        many moved; call again until it returns 0."""
        try:
            with self.lock, self.db:
                self.db.execute("BEGIN IMMEDIATE")
                return cold.move(self.db, before_ms, limit)
        except sqlite3.Error as exc:
            raise StoreError(f"moving readings to cold storage in {self.path} failed: {exc}"
                             ) from exc

    def storage(self) -> Storage:
        """Where the readings are: hot rows and cold chunks, the oldest of each (node time ms),
        the store's bytes on disk and the free space beside it (eil status)."""
        with self.lock, self._snapshot():
            total = self.db.execute("SELECT coalesce(sum(readings), 0) FROM nodes").fetchone()[0]
            oldest_hot = min((t for (sid,) in self.db.execute("SELECT series_id FROM series")
                              for (t,) in self.db.execute("SELECT min(t) FROM readings WHERE "
                                                          "series_id = ?", (sid,))
                              if t is not None), default=None)  # a seek per series, no scan
            cold_n, oldest_cold, _ = cold.totals(self.db) if self.cold else (0, None, 0)
            oldest_rollup = rollups.oldest(self.db) if self.rolled else None
            ends = [*self.db.execute("SELECT max(t) FROM readings").fetchone(), *(
                self.db.execute("SELECT max(t1) FROM chunks").fetchone() if self.cold else ())]
            newest = max((t for t in ends if t is not None), default=None)
            day = 0
            if newest is not None:  # readings of the last day of node time, hot and cold
                since = int(newest) - 86_400_000
                day = sum(n for (sid,) in self.db.execute("SELECT series_id FROM series")
                          for (n,) in self.db.execute("SELECT count(*) FROM readings WHERE "
                                                      "series_id = ? AND t >= ?", (sid, since)))
                if self.cold:  # a chunk straddling the day's start: its share, by time
                    day += round(self.db.execute(
                        "SELECT coalesce(sum(n * (t1 - max(t0, ?1) + 1.0) / (t1 - t0 + 1)), 0) "
                        "FROM chunks WHERE t1 >= ?1", (since,)).fetchone()[0])
        return Storage(int(total) - cold_n, cold_n, oldest_hot, oldest_cold, oldest_rollup,
                       self.bytes_on_disk(), shutil.disk_usage(self.path.parent).free, day)

    def expire(self, now_ms: int, policy: rollups.Policy, sinks: Sequence[str] = ()
               ) -> rollups.Expired:
        """Retention (rollups.py): delete raw chunks and roll-ups older than `policy` keeps
        them, except raw readings one of `sinks` has not written yet."""
        try:
            with self.lock, self.db:
                self.db.execute("BEGIN IMMEDIATE")
                held = sink_cursors.hold(self.db, list(sinks))
                return rollups.expire(self.db, now_ms, policy, cold.PERIOD_MS, held)
        except sqlite3.Error as exc:
            raise StoreError(f"retention in {self.path} failed: {exc}") from exc

    def place_reader(self, reader: str, at: dict[str, int], now_ms: int) -> None:
        """A reader with its own durable position (node -> seq) tells retention where it is
        (the forwarder of `[upstream] series`); the nodes it does not read hold nothing back."""
        self.sinks.place(reader, at, now_ms, _UNREAD)

    def readings_after(self, after: dict[str, int], limit: int
                       ) -> tuple[list[ExportRow], dict[str, int]]:
        """Readings of the nodes named in `after` past its seqs (node -> seq), at most up to
        each node's acknowledgement watermark, hot and cold alike, in seq order; and where each
        node's reading ends now (node -> seq). The forwarder's read (eil/forwarder.py)."""
        with self.lock, self._snapshot():
            names = dict(self.db.execute("SELECT node_id, node FROM nodes"))
            cursors = {nid: after[node] for nid, node in names.items() if node in after}
            got = sink_cursors.after(self.db, cursors, limit, set(after))
        return got.rows, {names[nid]: end for nid, end in got.ends.items()}

    def cold_totals(self) -> tuple[int, int | None, int]:
        """(cold readings, the oldest one's time ms, bytes of chunk data)."""
        if not self.cold:
            return 0, None, 0
        with self.lock:
            return cold.totals(self.db)

    def events_named(self, suffixes: Sequence[str]) -> list[tuple[str, int, int, str, str | None,
                                                                  str | None]]:
        """Events whose name ends with one of `suffixes` (so a station's id prefix does not
        matter): (node, seq, time ms, name, text, ref), in no particular order."""
        like = " OR ".join("s.name = ? OR s.name LIKE ?" for _ in suffixes)
        args = [a for sfx in suffixes for a in (sfx, f"%.{sfx}")]
        with self.lock:
            # from the (small) series table to each matching series' index range; the
            # planner's own order scanned every reading of the store
            return self.db.execute(
                "SELECT n.node, r.seq, r.t, s.name, r.vs, r.ref FROM series s CROSS JOIN "
                "readings r ON r.series_id = s.series_id CROSS JOIN nodes n ON n.node_id = "
                f"r.node_id WHERE s.kind = 'event' AND ({like})", args).fetchall()

    def replace_ref(self, old: str, new: str) -> tuple[int, int]:
        """Erasure: every stored reading whose ref is `old` gets `new`, and dead letters whose
        payload mentions `old` are deleted. Returns (readings changed, dead letters deleted)."""
        with self.lock:
            self.db.execute("PRAGMA secure_delete=ON")  # overwrite the old values on disk
            with self.db:
                self.db.execute("BEGIN IMMEDIATE")
                changed = self.db.execute("UPDATE readings SET ref = ? WHERE ref = ?",
                                          (new, old)).rowcount
                dropped = self.db.execute("DELETE FROM dead_letters WHERE instr(payload, ?) > 0",
                                          (old.encode(),)).rowcount
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # and their copies in the WAL
        return changed, dropped

    def dead_letters(self, limit: int = 100) -> list[dict[str, object]]:
        with self.lock:
            rows = self.db.execute(
                "SELECT first_at, last_at, count, topic, site, node, seq, reason, length(payload)"
                " FROM dead_letters ORDER BY last_at DESC LIMIT ?", (limit,)).fetchall()
        keys = ("first_at", "last_at", "count", "topic", "site", "node", "seq", "reason", "bytes")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def dead_letter_total(self) -> int:
        with self.lock:
            return int(self.db.execute(
                "SELECT coalesce(sum(count), 0) FROM dead_letters").fetchone()[0])

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
