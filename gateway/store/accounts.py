"""People who may see more than the public views: stewards (the fleet) and volunteers (the tool
library's loans). There is no default account and no default password: the first one is made
with `eil gateway account add` on the gateway itself, or on the web with the one-time first-run
token the gateway writes to its data directory (gateway/web/auth.py). Passwords are kept as scrypt
hashes; browser sign-ins are random tokens of which only a hash is stored."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import sqlite3
import time
from pathlib import Path

from gateway.errors import GatewayError
from gateway.store.sql import translated

ROLES = ("steward", "volunteer")  # a steward may also do what a volunteer does
MIN_PASSWORD = 12
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
SESSION_S = 12 * 3600  # a sign-in lasts a working day
_SCHEMA = """CREATE TABLE IF NOT EXISTS accounts (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, salt BLOB NOT NULL, hash BLOB NOT NULL,
    created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (  -- only a hash of the cookie's token is kept
    token_hash BLOB PRIMARY KEY, name TEXT NOT NULL REFERENCES accounts ON DELETE CASCADE,
    expires REAL NOT NULL);"""


class AccountError(GatewayError):
    pass


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)  # type: ignore[arg-type]


@translated
class Accounts:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA busy_timeout=5000")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(_SCHEMA)

    def add(self, name: str, role: str, password: str) -> None:
        if not _NAME.match(name):
            raise AccountError(f"account name {name!r}: use 2-32 of a-z, 0-9, '.', '_', '-'")
        if role not in ROLES:
            raise AccountError(f"role {role!r} is not one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
        salt = os.urandom(16)
        try:
            with self.db:
                self.db.execute("INSERT INTO accounts VALUES (?,?,?,?,?)",
                                (name, role, salt, _hash(password, salt), time.time()))
        except sqlite3.IntegrityError:
            raise AccountError(f"account {name!r} exists already") from None

    def remove(self, name: str) -> None:
        with self.db:
            if not self.db.execute("DELETE FROM accounts WHERE name=?", (name,)).rowcount:
                raise AccountError(f"no account {name!r}")

    def list(self) -> list[tuple[str, str, float]]:
        return self.db.execute("SELECT name, role, created_at FROM accounts ORDER BY name"
                               ).fetchall()

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM accounts").fetchone()[0])

    def check(self, name: str, password: str) -> str | None:
        """The account's role if the password is right, else None (same work either way)."""
        row = self.db.execute("SELECT role, salt, hash FROM accounts WHERE name=?",
                              (name,)).fetchone()
        salt, stored = (row[1], row[2]) if row else (b"\0" * 16, b"\0" * 32)
        ok = hmac.compare_digest(_hash(password, salt), stored)
        return row[0] if row and ok else None

    def open_session(self, name: str, now: float | None = None) -> str:
        """A new sign-in for `name`: the token for the browser's cookie."""
        now = time.time() if now is None else now
        token = secrets.token_urlsafe(32)
        with self.db:
            self.db.execute("DELETE FROM sessions WHERE expires < ?", (now,))
            self.db.execute("INSERT INTO sessions VALUES (?,?,?)",
                            (_token_hash(token), name, now + SESSION_S))
        return token

    def session(self, token: str, now: float | None = None) -> tuple[str, str] | None:
        """(name, role) of a valid, unexpired sign-in, else None."""
        now = time.time() if now is None else now
        row = self.db.execute(
            "SELECT a.name, a.role FROM sessions s JOIN accounts a USING (name) "
            "WHERE s.token_hash = ? AND s.expires >= ?", (_token_hash(token), now)).fetchone()
        return (row[0], row[1]) if row else None

    def close_session(self, token: str) -> None:
        with self.db:
            self.db.execute("DELETE FROM sessions WHERE token_hash = ?", (_token_hash(token),))

    def close(self) -> None:
        self.db.close()
