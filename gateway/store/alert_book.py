"""Alerts in the gateway's store (alerts.db): each source's state and its history, silences,
escalations, and the notification outbox the sender process delivers.

Durability is the point of this module:
- a transition and its queue rows (one per recipient told) are written in one transaction
  (`record`), so a notification is never lost between the two and never queued twice;
- the sender claims the pending rows of a recipient into one message (`claim`: its words,
  its single-use acknowledgement tokens, the groups' and repeats' bookkeeping, one transaction),
  marks it in flight before each attempt (`attempt`) and delivered after (`delivered`): a
  message is delivered exactly once unless the sender dies between a channel accepting it and
  `delivered`, when it is sent once more, with the same identity (docs/alerts.md);
- a recipient's messages go out in order: the next is composed only when the one before is
  delivered, so transitions reach each recipient in order per alert, however long a channel
  was down, and what piled up meanwhile goes out as one message.

alerts.db is its own file: neither ingest nor the signals run waits for the sender's writes.
Site times (the lifecycle's) are ms; delivery times (retries, heartbeats) are real seconds.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from gateway.errors import StoreError
from gateway.store.alert_rows import (
    ACK,
    ACKNOWLEDGED,
    ESCALATE,
    FIRE,
    FIRING,
    REPEAT,
    RESOLVE,
    RESOLVED,
    Alert,
    Event,
    Pending,
    Told,
)
from gateway.store.sql import translated

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY, state TEXT NOT NULL, severity TEXT NOT NULL, source TEXT NOT NULL,
    grp TEXT NOT NULL, scope TEXT NOT NULL, since_ms INTEGER NOT NULL,
    detail TEXT NOT NULL                     -- the rest of alert_rows.Alert, as JSON
);
CREATE TABLE IF NOT EXISTS events (          -- every transition and act, never edited
    seq INTEGER PRIMARY KEY AUTOINCREMENT, alert_id TEXT NOT NULL, t_ms INTEGER NOT NULL,
    kind TEXT NOT NULL, severity TEXT NOT NULL, state TEXT NOT NULL, text TEXT NOT NULL,
    notify INTEGER NOT NULL, by TEXT, note TEXT
);
CREATE INDEX IF NOT EXISTS events_by_alert ON events (alert_id, seq);
CREATE INDEX IF NOT EXISTS events_by_t ON events (t_ms);
CREATE TABLE IF NOT EXISTS queue (           -- a transition waiting for, or told to, a recipient
    seq INTEGER NOT NULL REFERENCES events, recipient TEXT NOT NULL, message TEXT,
    PRIMARY KEY (recipient, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS queue_pending ON queue (recipient, message, seq);
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY, recipient TEXT NOT NULL, n INTEGER NOT NULL, created_ms INTEGER NOT NULL,
    title TEXT NOT NULL, body TEXT NOT NULL, alerts INTEGER NOT NULL, digest INTEGER NOT NULL,
    delivered REAL, channel INTEGER, attempts INTEGER NOT NULL DEFAULT 0,
    in_flight INTEGER NOT NULL DEFAULT 0, next_try REAL NOT NULL DEFAULT 0, last_error TEXT
);
CREATE INDEX IF NOT EXISTS messages_open ON messages (recipient, delivered, n);
CREATE TABLE IF NOT EXISTS groups_told (
    recipient TEXT NOT NULL, grp TEXT NOT NULL, last_ms INTEGER NOT NULL,
    PRIMARY KEY (recipient, grp)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS told (            -- open alerts a recipient heard fire: repeats
    recipient TEXT NOT NULL, alert_id TEXT NOT NULL, last_ms INTEGER NOT NULL, text TEXT NOT NULL,
    repeats INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (recipient, alert_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS silences (
    id INTEGER PRIMARY KEY, pattern TEXT NOT NULL, until_ms INTEGER NOT NULL,
    reason TEXT NOT NULL, by TEXT NOT NULL, created_ms INTEGER NOT NULL, ended_ms INTEGER
);
CREATE TABLE IF NOT EXISTS escalations (
    alert_id TEXT NOT NULL, since_ms INTEGER NOT NULL, recipient TEXT NOT NULL,
    PRIMARY KEY (alert_id, since_ms, recipient)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS channels (        -- each recipient's channels as the sender found them
    recipient TEXT NOT NULL, channel INTEGER NOT NULL, failing_since REAL, last_ok REAL,
    last_error TEXT, refused INTEGER NOT NULL DEFAULT 0, last_try REAL,
    PRIMARY KEY (recipient, channel)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ack_tokens (      -- only a hash of each link's token is kept
    hash BLOB PRIMARY KEY, alert_id TEXT NOT NULL, recipient TEXT NOT NULL,
    expires_ms INTEGER NOT NULL, used_ms INTEGER);
CREATE TABLE IF NOT EXISTS heartbeats (name TEXT PRIMARY KEY, pid INTEGER, t REAL NOT NULL);
CREATE TABLE IF NOT EXISTS prefs (          -- what a person set for themselves on the web
    recipient TEXT PRIMARY KEY, settings TEXT NOT NULL, by TEXT NOT NULL, at_ms INTEGER NOT NULL);
"""
_COLUMNS = "id, state, severity, source, grp, scope, since_ms, detail"
_DETAIL = ("title", "text", "link", "told", "flips", "shelved_from", "shelved_until", "ack_by",
           "ack_ms", "ack_note")


class AlertError(StoreError):
    """A request about alerts that cannot be met (no such alert, a used token)."""


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class OpenMessage:
    """A recipient's oldest message not yet delivered."""

    id: str
    recipient: str
    title: str
    body: str
    attempts: int
    in_flight: bool  # an attempt began and its outcome was never recorded: it may have arrived
    next_try: float
    channel: int | None
    last_error: str | None


@dataclass(frozen=True)
class ChannelState:
    recipient: str
    channel: int
    failing_since: float | None
    last_ok: float | None
    last_error: str | None
    refused: bool
    last_try: float | None = None  # the last failed attempt (real s)


def _row_alert(row: tuple[Any, ...]) -> Alert:
    aid, state, severity, source, grp, scope, since, detail = row
    d = json.loads(detail)
    d["flips"] = tuple(d.get("flips", ()))
    return Alert(aid, source, grp, severity, scope, state=state, since_ms=since, **d)


@translated
class AlertBook:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")  # a commit survives a power cut
        self.db.execute("PRAGMA busy_timeout=10000")  # the gateway and its sender share it
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> AlertBook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self.lock, self.db:
            self.db.execute("BEGIN IMMEDIATE")
            yield self.db

    # --- alerts and their history --------------------------------------------------------
    def alerts(self) -> dict[str, Alert]:
        with self.lock:
            rows = self.db.execute(f"SELECT {_COLUMNS} FROM alerts").fetchall()
        return {r[0]: _row_alert(r) for r in rows}

    def alert(self, alert_id: str) -> Alert:
        with self.lock:
            row = self.db.execute(f"SELECT {_COLUMNS} FROM alerts WHERE id = ?",
                                  (alert_id,)).fetchone()
        if row is None:
            raise AlertError(f"no alert {alert_id!r} (`eil alerts` lists them)")
        return _row_alert(row)

    @staticmethod
    def _put(db: sqlite3.Connection, a: Alert) -> None:
        d = asdict(a)
        db.execute("INSERT OR REPLACE INTO alerts VALUES (?,?,?,?,?,?,?,?)",
                   (a.id, a.state, a.severity, a.source, a.group, a.scope, a.since_ms,
                    json.dumps({k: d[k] for k in _DETAIL}, separators=(",", ":"))))

    @staticmethod
    def _event(db: sqlite3.Connection, e: Event) -> int:
        cur = db.execute("INSERT INTO events (alert_id, t_ms, kind, severity, state, text, "
                         "notify, by, note) VALUES (?,?,?,?,?,?,?,?,?)",
                         (e.alert_id, e.t_ms, e.kind, e.severity, e.state, e.text,
                          int(e.notify), e.by, e.note))
        return int(cur.lastrowid or 0)

    def record(self, make: Callable[[dict[str, Alert]], tuple[list[Alert], list[Event]]],
               route: Callable[[Event], list[str]]) -> list[Event]:
        """In one transaction: `make(stored alerts)` gives the changed alerts and their events
        (so an acknowledgement in between is never overwritten); they are stored and each event
        that notifies is queued for the recipients `route` gives it (or its `to`, for an
        escalation, which is remembered per firing episode so nobody is told twice). Returns
        the events."""
        with self._write() as db:
            stored = {r[0]: _row_alert(r) for r in db.execute(f"SELECT {_COLUMNS} FROM alerts")}
            changed, events = make(stored)
            since = {a.id: a.since_ms for a in [*stored.values(), *changed]}
            for a in changed:
                self._put(db, a)
            for e in events:
                # who heard of this episode: a firing starts one, so it needs none
                told = self._told_of(db, e.alert_id) if e.notify and not e.to and \
                    e.kind != FIRE else []
                seq = self._event(db, e)
                if not e.notify:
                    continue
                # a resolution goes to whoever heard of this episode (escalation included),
                # and only to them; anything else to its followers too
                who = e.to or (told if e.kind == RESOLVE else list(dict.fromkeys(
                    [*route(e), *told])))
                for r in who:
                    db.execute("INSERT OR IGNORE INTO queue (seq, recipient) VALUES (?, ?)",
                               (seq, r))
                    if e.kind == ESCALATE:
                        episode = since.get(e.alert_id, e.t_ms)
                        db.execute("INSERT OR IGNORE INTO escalations VALUES (?,?,?)",
                                   (e.alert_id, episode, r))
        return events

    @staticmethod
    def _told_of(db: sqlite3.Connection, alert_id: str) -> list[str]:
        """Who was queued a notification of the alert's current episode (since the last
        resolution told)."""
        last = db.execute("SELECT coalesce(max(seq), 0) FROM events WHERE alert_id = ? AND "
                          "kind = ? AND notify = 1", (alert_id, RESOLVE)).fetchone()[0]
        return [r for (r,) in db.execute(
            "SELECT DISTINCT q.recipient FROM events e JOIN queue q ON q.seq = e.seq WHERE "
            "e.alert_id = ? AND e.seq > ? ORDER BY q.recipient", (alert_id, last))]

    def escalations(self) -> dict[tuple[str, int], set[str]]:
        """(alert, firing episode) -> who was told of it by escalation."""
        out: dict[tuple[str, int], set[str]] = {}
        with self.lock:
            for aid, since, r in self.db.execute("SELECT alert_id, since_ms, recipient FROM "
                                                 "escalations"):
                out.setdefault((aid, since), set()).add(r)
        return out

    def acknowledge(self, alert_id: str, by: str, note: str | None, now_ms: int) -> Alert:
        """A firing alert taken on by `by`: no repeats and no escalation until it fires again.
        Recorded in its history; refused for an alert that is not firing."""
        with self._write() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM alerts WHERE id = ?",
                             (alert_id,)).fetchone()
            if row is None:
                raise AlertError(f"no alert {alert_id!r} (`eil alerts` lists them)")
            a = _row_alert(row)
            if a.state != FIRING:
                raise AlertError(f"alert {alert_id} is {a.state}, not firing: nothing to "
                                 "acknowledge")
            a = replace(a, state=ACKNOWLEDGED, ack_by=by, ack_ms=now_ms, ack_note=note)
            self._put(db, a)
            self._event(db, Event(a.id, ACK, now_ms, a.severity, ACKNOWLEDGED, a.text, False,
                                  by=by, note=note))
        return a

    def history(self, alert_id: str | None = None, limit: int = 100, since_ms: int = 0
                ) -> list[dict[str, Any]]:
        """Recorded transitions and acts, newest first."""
        where, args = "WHERE t_ms >= ?", [since_ms]
        if alert_id is not None:
            where += " AND alert_id = ?"
            args.append(alert_id)  # type: ignore[arg-type]
        with self.lock:
            rows = self.db.execute(
                f"SELECT seq, alert_id, t_ms, kind, severity, state, text, notify, by, note "
                f"FROM events {where} ORDER BY seq DESC LIMIT ?", (*args, limit)).fetchall()
        keys = ("seq", "alert", "t_ms", "kind", "severity", "state", "text", "notify", "by",
                "note")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    # --- silences ------------------------------------------------------------------------------
    def silence(self, pattern: str, until_ms: int, reason: str, by: str, now_ms: int) -> int:
        """Mute the alerts whose id matches `pattern` (shell-style: `node.silent/*`) until
        `until_ms`; returns the silence's number."""
        if not reason.strip():
            raise AlertError("a silence needs a reason (what is being done about it)")
        if until_ms <= now_ms:
            raise AlertError("a silence must end in the future")
        with self._write() as db:
            cur = db.execute("INSERT INTO silences (pattern, until_ms, reason, by, created_ms) "
                             "VALUES (?,?,?,?,?)", (pattern, until_ms, reason, by, now_ms))
            return int(cur.lastrowid or 0)

    def end_silence(self, number: int, now_ms: int) -> None:
        with self._write() as db:
            if db.execute("UPDATE silences SET ended_ms = ? WHERE id = ? AND ended_ms IS NULL",
                          (now_ms, number)).rowcount != 1:
                raise AlertError(f"no silence {number} in force")

    def silences(self, now_ms: int) -> list[dict[str, Any]]:
        """Silences in force at `now_ms`."""
        with self.lock:
            rows = self.db.execute(
                "SELECT id, pattern, until_ms, reason, by, created_ms FROM silences WHERE "
                "until_ms > ? AND ended_ms IS NULL ORDER BY id", (now_ms,)).fetchall()
        return [dict(zip(("id", "pattern", "until_ms", "reason", "by", "created_ms"), r,
                         strict=True)) for r in rows]

    def muted(self, now_ms: int) -> Callable[[str], bool]:
        patterns = [s["pattern"] for s in self.silences(now_ms)]
        return lambda aid: any(fnmatch.fnmatchcase(aid, p) for p in patterns)

    # --- the outbox: what the sender reads and writes ------------------------------------------
    def pending(self, recipient: str) -> list[Pending]:
        """Their queued notifications not yet in a message, oldest first."""
        with self.lock:
            rows = self.db.execute(
                "SELECT e.seq, e.alert_id, e.kind, e.t_ms, e.severity, a.grp, a.scope, "
                "a.detail, e.text, e.note, t.text FROM queue q JOIN events e ON e.seq = q.seq "
                "JOIN alerts a ON a.id = e.alert_id LEFT JOIN told t ON t.recipient = "
                "q.recipient AND t.alert_id = e.alert_id WHERE q.recipient = ? AND q.message "
                "IS NULL ORDER BY e.seq", (recipient,)).fetchall()
        out = []
        for seq, aid, kind, t, sev, grp, scope, detail, text, note, before in rows:
            d = json.loads(detail)
            out.append(Pending(seq, aid, kind, t, sev, grp, scope, d["title"], text,
                               d.get("link", ""), note, before))
        return out

    def groups(self, recipient: str) -> dict[str, int]:
        with self.lock:
            return dict(self.db.execute("SELECT grp, last_ms FROM groups_told WHERE "
                                        "recipient = ?", (recipient,)).fetchall())

    def told(self, recipient: str, muted: Callable[[str], bool]) -> list[Told]:
        """Alerts the recipient heard fire that are still firing, unacknowledged, unmuted."""
        with self.lock:
            rows = self.db.execute(
                "SELECT t.alert_id, a.grp, t.last_ms, a.severity, a.scope, a.detail, t.text, "
                "t.repeats FROM told t JOIN alerts a ON a.id = t.alert_id WHERE t.recipient = ? AND "
                "a.state = ?", (recipient, FIRING)).fetchall()
        out = []
        for aid, grp, last, sev, scope, detail, before, repeats in rows:
            d = json.loads(detail)
            if muted(aid) or (d.get("shelved_until") or 0) > last:
                continue
            out.append(Told(aid, grp, last, d["text"], sev, scope, d["title"],
                            d.get("link", ""), before, repeats))
        return out

    def sent_times(self, recipient: str, since_ms: int) -> list[int]:
        with self.lock:
            return [t for (t,) in self.db.execute(
                "SELECT created_ms FROM messages WHERE recipient = ? AND created_ms > ?",
                (recipient, since_ms))]

    def open_message(self, recipient: str) -> OpenMessage | None:
        with self.lock:
            row = self.db.execute(
                "SELECT id, recipient, title, body, attempts, in_flight, next_try, channel, "
                "last_error FROM messages WHERE recipient = ? AND delivered IS NULL ORDER BY n "
                "LIMIT 1", (recipient,)).fetchone()
        if row is None:
            return None
        mid, rec, title, body, attempts, in_flight, next_try, channel, error = row
        return OpenMessage(mid, rec, title, body, attempts, bool(in_flight), next_try, channel,
                           error)

    def claim(self, recipient: str, site: str, items: tuple[Pending, ...], digest: bool,
              compose: Callable[[str], tuple[str, str]], tokens: dict[bytes, str], now_ms: int,
              token_ttl_ms: int) -> str:
        """Make the next message of `recipient` from `items` (their queued rows and repeats):
        one transaction records it with the words `compose(identity)` gives (title, body),
        ties the queue rows to it, keeps the acknowledgement tokens' hashes (`tokens`: hash ->
        alert id), and updates what the recipient was told (groups' times, open alerts for
        repeats). Returns the message's identity, "<site>/<recipient>/<n>"."""
        with self._write() as db:
            n = db.execute("SELECT coalesce(max(n), 0) + 1 FROM messages WHERE recipient = ?",
                           (recipient,)).fetchone()[0]
            mid = f"{site}/{recipient}/{n}"
            title, body = compose(mid)
            db.execute("INSERT INTO messages (id, recipient, n, created_ms, title, body, alerts, "
                       "digest) VALUES (?,?,?,?,?,?,?,?)",
                       (mid, recipient, n, now_ms, title, body,
                        len({p.alert_id for p in items}), int(digest)))
            for p in items:
                if p.seq is not None:
                    db.execute("UPDATE queue SET message = ? WHERE recipient = ? AND seq = ?",
                               (mid, recipient, p.seq))
                db.execute("INSERT OR REPLACE INTO groups_told VALUES (?,?,?)",
                           (recipient, p.group, now_ms))
                if p.kind == RESOLVE:
                    db.execute("DELETE FROM told WHERE recipient = ? AND alert_id = ?",
                               (recipient, p.alert_id))
                elif p.kind == REPEAT:
                    db.execute("UPDATE told SET last_ms = ?, text = ?, repeats = repeats + 1 "
                               "WHERE recipient = ? AND alert_id = ?",
                               (now_ms, p.text, recipient, p.alert_id))
                else:
                    db.execute("INSERT OR REPLACE INTO told VALUES (?,?,?,?,0)",
                               (recipient, p.alert_id, now_ms, p.text))
            for h, aid in tokens.items():
                db.execute("INSERT INTO ack_tokens VALUES (?,?,?,?,NULL)",
                           (h, aid, recipient, now_ms + token_ttl_ms))
        return mid

    def attempt(self, message_id: str, channel: int) -> None:
        """Before a send: if the sender dies during it, the message is sent again (once)."""
        with self._write() as db:
            db.execute("UPDATE messages SET attempts = attempts + 1, in_flight = 1, channel = ? "
                       "WHERE id = ?", (channel, message_id))

    def delivered(self, message_id: str, recipient: str, channel: int, now_s: float) -> None:
        with self._write() as db:
            db.execute("UPDATE messages SET delivered = ?, in_flight = 0, channel = ?, "
                       "last_error = NULL WHERE id = ?", (now_s, channel, message_id))
            db.execute("INSERT INTO channels (recipient, channel, last_ok) VALUES (?,?,?) ON "
                       "CONFLICT DO UPDATE SET failing_since = NULL, last_ok = excluded.last_ok, "
                       "last_error = NULL, refused = 0", (recipient, channel, now_s))

    def failed(self, message_id: str, recipient: str, channel: int, error: str, refused: bool,
               now_s: float, next_try: float) -> None:
        """A send failed (the channel down, or refusing: a wrong address, a bad token); the
        message stays first in line and is tried again at `next_try`."""
        with self._write() as db:
            db.execute("UPDATE messages SET in_flight = 0, next_try = ?, last_error = ? WHERE "
                       "id = ?", (next_try, error, message_id))
            db.execute("INSERT INTO channels (recipient, channel, failing_since, last_error, "
                       "refused, last_try) VALUES (?,?,?,?,?,?) ON CONFLICT DO UPDATE SET "
                       "failing_since = coalesce(failing_since, excluded.failing_since), "
                       "last_error = excluded.last_error, refused = excluded.refused, "
                       "last_try = excluded.last_try",
                       (recipient, channel, now_s, error, int(refused), now_s))

    def channels(self, recipient: str | None = None) -> list[ChannelState]:
        with self.lock:
            rows = self.db.execute(
                "SELECT recipient, channel, failing_since, last_ok, last_error, refused, last_try "
                "FROM channels" + (" WHERE recipient = ?" if recipient else "") +
                " ORDER BY recipient, channel", (recipient,) if recipient else ()).fetchall()
        return [ChannelState(r, c, f, ok, e, bool(x), t) for r, c, f, ok, e, x, t in rows]

    def messages(self, recipient: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Messages, newest first, with their delivery state."""
        with self.lock:
            rows = self.db.execute(
                "SELECT id, recipient, created_ms, title, body, alerts, digest, delivered, "
                "channel, attempts, last_error FROM messages" +
                (" WHERE recipient = ?" if recipient else "") + " ORDER BY created_ms DESC, n "
                "DESC LIMIT ?", ((recipient,) if recipient else ()) + (limit,)).fetchall()
        keys = ("id", "recipient", "created_ms", "title", "body", "alerts", "digest",
                "delivered", "channel", "attempts", "last_error")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    # --- acknowledgement ------------------------------------------------------------------------
    def use_token(self, token: str, now_ms: int) -> tuple[str, str]:
        """Spend a link's single-use token: (alert id, recipient). Refused when unknown,
        expired or already used; the token can do nothing else."""
        with self._write() as db:
            row = db.execute("SELECT alert_id, recipient, expires_ms, used_ms FROM ack_tokens "
                             "WHERE hash = ?", (token_hash(token),)).fetchone()
            if row is None:
                raise AlertError("this acknowledgement link is not known here")
            aid, recipient, expires, used = row
            if used is not None:
                raise AlertError("this acknowledgement link was used already")
            if expires < now_ms:
                raise AlertError("this acknowledgement link has expired; sign in to acknowledge")
            db.execute("UPDATE ack_tokens SET used_ms = ? WHERE hash = ?",
                       (now_ms, token_hash(token)))
        return aid, recipient

    def token_alert(self, token: str) -> str | None:
        """The alert a link's token is for, without spending it (the confirmation page)."""
        with self.lock:
            row = self.db.execute("SELECT alert_id FROM ack_tokens WHERE hash = ? AND used_ms IS "
                                  "NULL", (token_hash(token),)).fetchone()
        return None if row is None else str(row[0])

    # --- a person's own settings ---------------------------------------------------------
    def prefs(self) -> dict[str, dict[str, Any]]:
        """Recipient -> the settings they (or a steward) chose on the web, over alerts.toml's."""
        with self.lock:
            return {r: json.loads(v) for r, v in self.db.execute(
                "SELECT recipient, settings FROM prefs")}

    def set_prefs(self, recipient: str, settings: dict[str, Any], by: str, now_ms: int) -> None:
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO prefs VALUES (?,?,?,?)",
                       (recipient, json.dumps(settings, sort_keys=True), by, now_ms))

    # --- the sender's heartbeat --------------------------------------------------------------
    def beat(self, name: str, pid: int, now_s: float) -> None:
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO heartbeats VALUES (?,?,?)", (name, pid, now_s))

    def heartbeat(self, name: str) -> tuple[int, float] | None:
        with self.lock:
            row = self.db.execute("SELECT pid, t FROM heartbeats WHERE name = ?",
                                  (name,)).fetchone()
        return None if row is None else (int(row[0]), float(row[1]))

    def counts(self) -> dict[str, int]:
        """Alerts by state, for status lines."""
        with self.lock:
            rows = self.db.execute("SELECT state, count(*) FROM alerts GROUP BY state").fetchall()
        out = {FIRING: 0, ACKNOWLEDGED: 0, RESOLVED: 0}
        out.update(dict(rows))
        return out
