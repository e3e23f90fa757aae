"""The gateway's data directory behind one object: the only code that knows its file names.

    eil.db            readings, dead letters, conflicts, watermarks (readings.Store)
    signals.db        what every signals run computed (signal_history.SignalStore)
    signals.json      the latest run's summaries, as published (replaced atomically)
    scopes.json       the latest run's roll-up of each scope fed by its sites' forwarders
    upstream/         the forwarder's outbox, when this site forwards to a scope above
    library.db        the tool library's catalogue, markings and members (library_db.LibraryDb)
    accounts.db       steward and volunteer accounts and sessions (accounts.Accounts)
    alerts.db         alerts, their history, silences and the notification outbox (alert_book)
    alerts.sender.lock  held by the running notification sender
    backup-state.json the last backup's and restore drill's outcome (gateway/backup/)
    .staging/         backups being taken for a restic repository, and restore drills
    first-run-token   the one-time token that creates the first account (mode 600)
    thresholds.toml   the site's signal parameters and threshold overrides (the steward's)
    scopes.toml       the neighbourhood and municipality scopes of the panel (the steward's)

Everything else asks a DataDir for what it needs instead of joining file names to a folder.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from gateway.store.accounts import Accounts
from gateway.store.alert_book import AlertBook
from gateway.store.library_db import LibraryDb
from gateway.store.readings import Store
from gateway.store.signal_history import SignalStore
from gateway.store.snapshot import Snapshot, take


class DataDir:
    def __init__(self, root: Path) -> None:
        self.root = root

    def __repr__(self) -> str:
        return f"DataDir({str(self.root)!r})"

    # --- readings -----------------------------------------------------------------------------
    @property
    def readings_path(self) -> Path:
        return self.root / "eil.db"

    def has_readings(self) -> bool:
        return self.readings_path.exists()

    def readings(self, *, readonly: bool = False) -> Store:
        return Store(self.readings_path, readonly=readonly)

    # --- signals ------------------------------------------------------------------------------
    def has_signal_history(self) -> bool:
        return (self.root / "signals.db").exists()

    def signal_history(self) -> SignalStore:
        self.root.mkdir(parents=True, exist_ok=True)
        return SignalStore(self.root / "signals.db")

    def latest_signals(self) -> list[dict[str, Any]]:
        """The signal summaries of the last run, as published (empty before the first run)."""
        path = self.root / "signals.json"
        return list(json.loads(path.read_text())) if path.exists() else []

    def save_latest_signals(self, payload: bytes) -> None:
        """Replace signals.json atomically: the web API never reads half a file."""
        self._replace(self.root / "signals.json", payload)

    def latest_rollups(self) -> dict[str, list[dict[str, Any]]]:
        """Scope name -> its roll-up as the last signals run computed it (empty when no scope
        of scopes.toml has sites forwarding to this gateway)."""
        path = self.root / "scopes.json"
        return dict(json.loads(path.read_text())) if path.exists() else {}

    def save_rollups(self, payload: bytes) -> None:
        self._replace(self.root / "scopes.json", payload)

    @staticmethod
    def _replace(path: Path, payload: bytes) -> None:
        path.with_suffix(".tmp").write_bytes(payload)
        os.replace(path.with_suffix(".tmp"), path)

    @property
    def thresholds_file(self) -> Path:
        return self.root / "thresholds.toml"

    @property
    def scopes_file(self) -> Path:
        """scopes.toml; the summary files it names are relative to the data directory."""
        return self.root / "scopes.toml"

    # --- tool library -------------------------------------------------------------------------
    def has_library(self) -> bool:
        return (self.root / "library.db").exists()

    def library(self) -> LibraryDb:
        return LibraryDb(self.root / "library.db")

    # --- alerts -------------------------------------------------------------------------------
    def has_alerts(self) -> bool:
        return (self.root / "alerts.db").exists()

    def alerts(self) -> AlertBook:
        self.root.mkdir(parents=True, exist_ok=True)
        return AlertBook(self.root / "alerts.db")

    @property
    def sender_lock_path(self) -> Path:
        """Held by the running notification sender (one per data directory)."""
        return self.root / "alerts.sender.lock"

    def disk_usage(self) -> tuple[int, int]:
        """(bytes free on the data directory's file system, bytes its files take)."""
        used = sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())
        return shutil.disk_usage(self.root).free, used

    # --- backups ------------------------------------------------------------------------------
    @property
    def staging(self) -> Path:
        """Where a backup for a restic repository is taken before it is sent (never in a
        backup: snapshot.py leaves out folders starting with '.')."""
        return self.root / ".staging"

    def snapshot(self, dest: Path) -> Snapshot:
        """A consistent, verified copy of this data directory in the new directory `dest`."""
        return take(self.root, dest)

    def backup_state(self) -> dict[str, Any]:
        path = self.root / "backup-state.json"
        return dict(json.loads(path.read_text())) if path.exists() else {}

    def record_backup(self, outcome: dict[str, Any], *, merge: bool = False) -> None:
        """The last backup's outcome: a success replaces everything; a failure or a drill
        keeps the last success beside it."""
        state = self.backup_state()
        if merge:
            state |= outcome
        elif outcome.get("ok"):
            state = {**{k: v for k, v in state.items() if k.startswith("drill")},
                     "last_ok": outcome, "last": outcome}
        else:
            state["last"] = outcome
        self._replace(self.root / "backup-state.json", json.dumps(state).encode())

    # --- accounts -----------------------------------------------------------------------------
    def accounts(self) -> Accounts:
        return Accounts(self.root / "accounts.db")

    @property
    def first_run_token(self) -> Path:
        return self.root / "first-run-token"
