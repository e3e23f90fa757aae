"""The library's own records, next to the readings store: catalogue, markings, loan periods and
memberships (the only personal data at the gateway: a member number, a name, a contact)."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import GatewayError
from gateway.store.rows import Tool, ToolInfo
from gateway.store.sql import translated

MARKINGS = ("available", "maintenance", "missing")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS tools (
    tag TEXT PRIMARY KEY, name TEXT NOT NULL, category TEXT NOT NULL,
    purchase_price REAL NOT NULL, currency TEXT NOT NULL,
    co2e_kg REAL NOT NULL, co2e_source TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'available', status_reason TEXT, status_at REAL);
CREATE TABLE IF NOT EXISTS categories (category TEXT PRIMARY KEY, loan_days INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS members (
    pseudonym TEXT PRIMARY KEY, member_no TEXT NOT NULL UNIQUE, name TEXT, contact TEXT,
    enrolled_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS erasures (at REAL NOT NULL, anon TEXT NOT NULL, summary TEXT NOT NULL);
"""


class LibraryError(GatewayError):
    pass


@dataclass(frozen=True)
class Member:
    pseudonym: str
    member_no: str
    name: str | None
    contact: str | None
    enrolled_at: float


@translated
class LibraryDb:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA busy_timeout=5000")
        self.db.execute("PRAGMA secure_delete=ON")  # a forgotten member's record is overwritten
        self.db.executescript(_SCHEMA)

    # --- catalogue ------------------------------------------------------------------------
    def import_catalogue(self, tools: list[Tool]) -> tuple[int, int, list[str]]:
        """Add or update tools (markings are kept); (added, updated, tags not in the file)."""
        known = {row[0] for row in self.db.execute("SELECT tag FROM tools")}
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany(
                "INSERT INTO tools (tag, name, category, purchase_price, currency, co2e_kg, "
                "co2e_source) VALUES (?,?,?,?,?,?,?) ON CONFLICT (tag) DO UPDATE SET "
                "name=excluded.name, category=excluded.category, "
                "purchase_price=excluded.purchase_price, currency=excluded.currency, "
                "co2e_kg=excluded.co2e_kg, co2e_source=excluded.co2e_source",
                [(t.tag, t.name, t.category, t.purchase_price, t.currency, t.co2e_kg,
                  t.co2e_source) for t in tools])
        tags = {t.tag for t in tools}
        return len(tags - known), len(tags & known), sorted(known - tags)

    def tools(self) -> dict[str, ToolInfo]:
        return {tag: ToolInfo(name, category, status) for tag, name, category, status in
                self.db.execute("SELECT tag, name, category, status FROM tools")}

    def catalogue(self) -> list[dict[str, object]]:
        cur = self.db.execute("SELECT tag, name, category, purchase_price, currency, co2e_kg, "
                              "co2e_source, status, status_reason FROM tools ORDER BY tag")
        keys = [d[0] for d in cur.description]
        return [dict(zip(keys, row, strict=True)) for row in cur]

    def mark(self, tag: str, status: str, reason: str | None) -> None:
        if status not in MARKINGS:
            raise LibraryError(f"status {status!r} is not one of {', '.join(MARKINGS)}")
        with self.db:
            if not self.db.execute("UPDATE tools SET status=?, status_reason=?, status_at=? "
                                   "WHERE tag=?", (status, reason, time.time(), tag)).rowcount:
                raise LibraryError(f"no tool with tag {tag} in the catalogue")

    def set_loan_days(self, category: str, days: int) -> None:
        if not 1 <= days <= 365:
            raise LibraryError(f"loan days {days} is outside 1..365")
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO categories VALUES (?, ?)",
                            (category.lower(), days))

    def loan_days(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT category, loan_days FROM categories"))

    # --- members --------------------------------------------------------------------------
    def enrol(self, pseudonym: str, member_no: str, name: str | None,
              contact: str | None) -> Member:
        if not pseudonym.startswith("m-") or len(pseudonym) != 18:
            raise LibraryError(f"{pseudonym!r} is not a station pseudonym (m- and 16 hex digits)")
        member = Member(pseudonym, member_no, name, contact, time.time())
        try:
            with self.db:
                self.db.execute("INSERT INTO members VALUES (?,?,?,?,?)",
                                (pseudonym, member_no, name, contact, member.enrolled_at))
        except sqlite3.IntegrityError:
            raise LibraryError(f"card {pseudonym} or member number {member_no} is already "
                               "enrolled") from None
        return member

    def members(self) -> dict[str, Member]:
        return {row[0]: Member(*row) for row in self.db.execute(
            "SELECT pseudonym, member_no, name, contact, enrolled_at FROM members")}

    def find_member(self, ident: str) -> Member | None:
        row = self.db.execute("SELECT pseudonym, member_no, name, contact, enrolled_at FROM "
                              "members WHERE pseudonym=? OR member_no=?", (ident, ident)).fetchone()
        return Member(*row) if row else None

    def delete_member(self, pseudonym: str, anon: str, summary: str) -> None:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("DELETE FROM members WHERE pseudonym=?", (pseudonym,))
            self.db.execute("INSERT INTO erasures VALUES (?,?,?)", (time.time(), anon, summary))
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        self.db.close()
