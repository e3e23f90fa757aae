"""A steward's repairs of a node's sequence (`store.sequences`, `eil gateway sequence`).

- The acknowledgement watermark, set by hand (lowering is always safe; raising declares
  readings gone for good and needs `accept_gap`).
- Conflicts: a `(node, seq)` that arrived again with other content (a cloned SD card, a forged
  pack) keeps the version that arrived first and records the other. When the first was the
  forgery, the steward chooses the other (`keep`): the stored reading is replaced by it (a
  reading already moved into a cold chunk is taken out of it and stored as a row), the choice
  is recorded with who made it and when, and choosing "first" again reverses it. Every sink's
  cursor for the node goes back before that seq, so the databases behind them get the chosen
  version too (one that keys points by time keeps the other version's point as well where
  the two times differ). Signal values and hourly roll-ups already computed from the replaced
  version are not recomputed.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from contract.topics import NodeId
from gateway.errors import StoreError
from gateway.store import cold
from gateway.store.sql import Access
from gateway.store.watermark import Watermark

SCHEMA = """
CREATE TABLE IF NOT EXISTS conflict_choices (  -- a steward's choice between conflicting versions
    id       INTEGER PRIMARY KEY,
    node_id  INTEGER NOT NULL,
    seq      INTEGER NOT NULL,
    conflict INTEGER,                   -- conflicts.id of the version kept; NULL: the first
    by       TEXT NOT NULL,
    at       REAL NOT NULL,
    replaced TEXT NOT NULL              -- the version that was stored until then (JSON)
);
"""
KEEP = ("first", "other")


@dataclass(frozen=True, slots=True)
class Choice:
    node: str
    seq: int
    kept: str  # first | other
    conflict: int | None  # the conflict whose arriving version is now stored
    by: str
    at: float


def _node(db: sqlite3.Connection, node: NodeId) -> tuple[int, int]:
    row = db.execute("SELECT node_id, acked FROM nodes WHERE site=? AND node=?",
                     (node.site, node.node)).fetchone()
    if row is None:
        raise StoreError(f"the store has no node {node}")
    return int(row[0]), int(row[1])


def _current(db: sqlite3.Connection, nid: int, seq: int) -> str:
    """The stored version of (node, seq) as a conflict records it, taken out of the store."""
    row = db.execute("SELECT node_id, seq, series_id, t, v, vs, ref, cal, q FROM readings "
                     "WHERE node_id = ? AND seq = ?", (nid, seq)).fetchone()
    if row is not None:
        db.execute("DELETE FROM readings WHERE node_id = ? AND seq = ?", (nid, seq))
    else:
        row = cold.take_out(db, nid, seq)
    if row is None:
        raise StoreError(f"seq {seq} is no longer stored (retention deleted it): there is "
                         "nothing to replace")
    name, kind, unit = db.execute("SELECT name, kind, unit FROM series WHERE series_id = ?",
                                  (row[2],)).fetchone()
    return json.dumps({"seq": row[1], "time_ms": row[3], "name": name, "kind": kind,
                       "unit": unit, "value": row[4], "text": row[5], "ref": row[6],
                       "cal": row[7], "q": row[8]}, separators=(",", ":"))


def _store_version(db: sqlite3.Connection, nid: int, version: str) -> None:
    v = json.loads(version)
    key = (nid, v["name"], v["kind"], v["unit"])
    db.execute("INSERT OR IGNORE INTO series (node_id, name, kind, unit) VALUES (?,?,?,?)", key)
    (sid,) = db.execute("SELECT series_id FROM series WHERE node_id=? AND name=? AND kind=? AND "
                        "unit IS ?", key).fetchone()
    db.execute("INSERT INTO readings VALUES (?,?,?,?,?,?,?,?,?)",
               (nid, v["seq"], sid, v["time_ms"], v["value"], v["text"], v["ref"], v["cal"],
                v["q"]))


def keep(db: sqlite3.Connection, node: NodeId, seq: int, which: str, by: str, at: float,
         conflict: int | None = None) -> Choice:
    if which not in KEEP:
        raise StoreError(f"keep {which!r}? one of: {', '.join(KEEP)}")
    nid, _ = _node(db, node)
    rows = db.execute("SELECT id, stored, arriving, kept FROM conflicts WHERE node_id = ? AND "
                      "seq = ? ORDER BY id", (nid, seq)).fetchall()
    if not rows:
        raise StoreError(f"no conflict is recorded for {node} seq {seq} (eil gateway sequence "
                         f"{node.node} lists them)")
    kept_now = next((r for r in rows if r[3] == "other"), None)
    if which == "first":
        if kept_now is None:
            raise StoreError(f"{node} seq {seq} already keeps the version that arrived first")
        chosen, version = None, rows[0][1]
    else:
        others = [r for r in rows if conflict is None or r[0] == conflict]
        if not others:
            raise StoreError(f"conflict {conflict} is not one of {node} seq {seq}'s: "
                             f"{', '.join(str(r[0]) for r in rows)}")
        if len(others) > 1:
            raise StoreError(f"{len(others)} other versions of {node} seq {seq} arrived "
                             f"(conflicts {', '.join(str(r[0]) for r in others)}): choose one "
                             "with --id")
        chosen, version = others[0][0], others[0][2]
        if kept_now is not None and kept_now[0] == chosen:
            raise StoreError(f"{node} seq {seq} already keeps that version (conflict {chosen})")
    replaced = _current(db, nid, seq)
    _store_version(db, nid, version)
    db.execute("UPDATE conflicts SET kept = CASE WHEN id = ? THEN 'other' ELSE 'first' END "
               "WHERE node_id = ? AND seq = ?", (chosen, nid, seq))
    db.execute("INSERT INTO conflict_choices (node_id, seq, conflict, by, at, replaced) VALUES "
               "(?,?,?,?,?,?)", (nid, seq, chosen, by, at, replaced))
    # the sinks write the chosen version again: every cursor of the node back before it
    db.execute("UPDATE sink_cursors SET seq = min(seq, ?1), settled = min(settled, ?1) WHERE "
               "node_id = ?2", (seq - 1, nid))
    return Choice(node.node, seq, which, chosen, by, at)


def set_watermark(db: sqlite3.Connection, node: NodeId, seq: int, accept_gap: bool
                  ) -> tuple[int, int]:
    if seq < 0:
        raise StoreError(f"a watermark is 0 or more, got {seq}")
    nid, old = _node(db, node)
    if seq > old and not accept_gap:
        raise StoreError(
            f"raising {node}'s watermark from {old} to {seq} would acknowledge "
            f"{seq - old} readings this store never received; pass --accept-gap if "
            "the node no longer holds them")
    wm = Watermark(seq, [(a, b) for a, b in db.execute(
        "SELECT first, last FROM committed_ranges WHERE node_id=? AND last > ?", (nid, seq))])
    wm.commit([])  # merge ranges that now touch the watermark
    db.execute("DELETE FROM committed_ranges WHERE node_id=?", (nid,))
    db.executemany("INSERT INTO committed_ranges VALUES (?,?,?)",
                   [(nid, a, b) for a, b in wm.above])
    db.execute("UPDATE nodes SET acked=? WHERE node_id=?", (wm.acked, nid))
    db.execute("DELETE FROM seq_anomalies WHERE node_id=?", (nid,))
    return old, wm.acked


class Sequences:
    """The sequence repairs of a Store (`store.sequences`). `schema` is the store's: an older
    store (read-only, not yet upgraded) has no conflicts or no choices yet."""

    def __init__(self, access: Access, schema: int) -> None:
        self.access, self.schema, self.path = access, schema, access.path

    def conflicts(self, limit: int = 100, node: str | None = None) -> list[dict[str, object]]:
        """Readings whose (node, seq) arrived again with other content, newest first, with
        both versions and which one is stored (`kept`: first or other)."""
        if self.schema < 5:
            return []
        kept = "c.kept" if self.schema >= 10 else "'first'"
        with self.access.read() as db:
            rows = db.execute(
                "SELECT c.id, n.site, n.node, c.seq, c.first_at, c.last_at, c.count, c.stored, "
                f"c.arriving, {kept} FROM conflicts c JOIN nodes n USING (node_id) "
                "WHERE ?1 IS NULL OR n.node = ?1 ORDER BY c.last_at DESC, c.id DESC LIMIT ?2",
                (node, limit)).fetchall()
        return [{"id": cid, "site": site, "node": node_, "seq": seq, "first_at": first,
                 "last_at": last, "count": count, "stored": json.loads(stored),
                 "arriving": json.loads(arriving), "kept": kept_}
                for cid, site, node_, seq, first, last, count, stored, arriving, kept_ in rows]

    def choices(self, node: str | None = None, limit: int = 100) -> list[dict[str, object]]:
        """The stewards' conflict choices, newest first: who kept which version when."""
        if self.schema < 10:
            return []
        with self.access.read() as db:
            rows = db.execute(
                "SELECT n.node, x.seq, x.conflict, x.by, x.at, x.replaced FROM conflict_choices x"
                " JOIN nodes n USING (node_id) WHERE ?1 IS NULL OR n.node = ?1 "
                "ORDER BY x.id DESC LIMIT ?2", (node, limit)).fetchall()
        return [{"node": n, "seq": seq, "kept": "first" if c is None else "other",
                 "conflict": c, "by": by, "at": at, "replaced": json.loads(replaced)}
                for n, seq, c, by, at, replaced in rows]

    def keep(self, node: NodeId, seq: int, which: str, by: str, at: float,
             conflict: int | None = None) -> Choice:
        """Store the version of (node, seq) that arrived first, or the other one (see the
        module's docstring); recorded with `by` and `at`, reversible."""
        return self.access.write(f"keeping a version of {node} seq {seq}", lambda: keep(
            self.access.db, node, seq, which, by, at, conflict))

    def set_watermark(self, node: NodeId, seq: int, *, accept_gap: bool = False
                      ) -> tuple[int, int]:
        """A steward's repair of a node's acknowledgement watermark: returns (old, new).

        Lowering is always safe (the node resends what it still holds; replays are harmless)
        and clears the node's sequence anomalies. Raising declares readings the store never
        received as handled, so it needs `accept_gap` (the store was restored from an older
        backup and the node no longer holds them)."""
        return self.access.write(f"setting {node}'s watermark", lambda: set_watermark(
            self.access.db, node, seq, accept_gap))
