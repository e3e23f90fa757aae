"""A consistent copy of the gateway's data directory while the gateway runs, its verification,
and its restore onto an empty one (docs/backup.md).

- `take`: a read transaction is opened on every database first, so each copy is the database
  at that instant (SQLite's online backup reads through the open transaction: writers go on,
  ingest is never stopped), then every database is copied and every other file beside them
  (thresholds, scopes, the forwarder's outbox); a manifest records each file's size and
  SHA-256, the store's schema and the readings of every node in the copy, which must equal
  the live store's at the same instant.
- `verify`: every checksum, every database's integrity check, the counts again: a damaged or
  truncated backup is refused with the file and the reason.
- `restore`: into a directory that holds no store, verified first, written under temporary
  names and renamed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import __version__
from core.durable import fsync_path
from gateway.errors import StoreError

MANIFEST = "manifest.json"
FORMAT = 1
_SKIP_SUFFIXES = ("-wal", "-shm", "-journal", ".lock", ".tmp")
_SKIP_NAMES = {"first-run-token"}  # a one-time secret: a restored gateway makes its own


class BackupError(StoreError):
    """A backup that cannot be taken, or that must not be restored."""


@dataclass(frozen=True)
class Snapshot:
    path: Path
    manifest: dict[str, Any]

    @property
    def bytes(self) -> int:
        return sum(int(f["size"]) for f in self.manifest["files"].values())


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(root: Path) -> list[Path]:
    """What a backup holds: every file but SQLite's side files, locks, one-time secrets and
    the staging of backups themselves (folders starting with '.')."""
    return sorted(p for p in root.rglob("*") if p.is_file()
                  and not p.name.endswith(_SKIP_SUFFIXES) and p.name not in _SKIP_NAMES
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def _counts(db: sqlite3.Connection) -> dict[str, int]:
    """Readings per node (site/node) as the store's own counters say."""
    try:
        return {f"{s}/{n}": int(c) for s, n, c in db.execute(
            "SELECT site, node, readings FROM nodes ORDER BY site, node")}
    except sqlite3.Error:
        return {}  # no readings table yet (a gateway that never stored anything)


def estimate_bytes(root: Path) -> int:
    """What a copy of the data directory takes, about (its files, write-ahead logs included)."""
    return sum(p.stat().st_size for p in _files(root)) + sum(
        p.stat().st_size for p in root.glob("*-wal"))


@contextmanager
def _pinned(root: Path, databases: list[Path]) -> Iterator[dict[Path, sqlite3.Connection]]:
    """A read transaction on every database, opened one right after the other."""
    with ExitStack() as stack:
        out = {}
        for path in databases:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
            stack.callback(db.close)
            db.execute("PRAGMA busy_timeout=10000")
            db.execute("BEGIN")
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot starts
            out[path] = db
        yield out


def take(root: Path, dest: Path) -> Snapshot:
    """Copy the data directory `root` into the new directory `dest` and verify the copy."""
    if dest.exists():
        raise BackupError(f"{dest} exists already: a backup goes into a new directory")
    files = _files(root)
    databases = [p for p in files if p.suffix == ".db"]
    dest.mkdir(parents=True)
    started = time.time()
    with _pinned(root, databases) as pinned:
        counts = _counts(pinned[root / "eil.db"]) if root / "eil.db" in pinned else {}
        schema = pinned[root / "eil.db"].execute("PRAGMA user_version").fetchone()[0] \
            if root / "eil.db" in pinned else None
        for path in files:
            target = dest / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            if path in pinned:
                copy = sqlite3.connect(target)
                try:
                    pinned[path].backup(copy)  # the pinned snapshot, page by page
                finally:
                    copy.close()
            else:
                shutil.copyfile(path, target)
    manifest = {"format": FORMAT, "eil": __version__, "created": started,
                "store_schema": schema, "counts": counts,
                "files": {str(p.relative_to(root)): {
                    "size": (dest / p.relative_to(root)).stat().st_size,
                    "sha256": _sha256(dest / p.relative_to(root))} for p in files}}
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    for p in [*dest.rglob("*")]:
        if p.is_file():
            fsync_path(p)
    fsync_path(dest)
    return verify(dest)


def verify(path: Path) -> Snapshot:
    """Every file against the manifest, every database's integrity, the counts: BackupError
    naming what is wrong."""
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path}: no readable {MANIFEST} ({exc}): not an EIL backup, or "
                          "a damaged one") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path}: backup format {manifest.get('format')!r}; this release "
                          f"reads format {FORMAT}")
    for name, f in manifest["files"].items():
        p = path / name
        if not p.is_file():
            raise BackupError(f"{path}: {name} is missing from the backup")
        if p.stat().st_size != f["size"]:
            raise BackupError(f"{path}: {name} is {p.stat().st_size} bytes, the manifest says "
                              f"{f['size']}: truncated or damaged")
        if _sha256(p) != f["sha256"]:
            raise BackupError(f"{path}: {name} does not match its checksum: damaged")
    check_databases(path, manifest)
    return Snapshot(path, manifest)


def check_databases(path: Path, manifest: dict[str, Any]) -> None:
    """Every database of the manifest in `path` (a backup, or a data directory restored from
    it) opens, passes its integrity check, and eil.db holds the readings counted at the copy."""
    for name in manifest["files"]:
        if not name.endswith(".db"):
            continue
        db = sqlite3.connect(f"file:{path / name}?mode=ro", uri=True)
        try:
            result = db.execute("PRAGMA integrity_check").fetchone()[0]
            counts = _counts(db) if name == "eil.db" else None
        except sqlite3.Error as exc:
            raise BackupError(f"{path}: {name} does not open as a database: {exc}") from None
        finally:
            db.close()
        if result != "ok":
            raise BackupError(f"{path}: {name} fails its integrity check: {result}")
        if counts is not None and counts != manifest["counts"]:
            raise BackupError(f"{path}: eil.db holds other readings than the live store did "
                              f"when it was copied: {counts} != {manifest['counts']}")


def holds_store(root: Path) -> bool:
    return root.exists() and any(p.suffix == ".db" for p in root.iterdir())


def restore(backup: Path, root: Path) -> Snapshot:
    """Put the verified backup into the data directory `root`, which must hold no store."""
    if holds_store(root):
        raise BackupError(f"{root} holds a store already: a restore goes into an empty data "
                          "directory (move this one aside first: it may be the only copy)")
    snap = verify(backup)
    root.mkdir(parents=True, exist_ok=True)
    for name in snap.manifest["files"]:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".restoring")
        shutil.copyfile(backup / name, tmp)
        fsync_path(tmp)
        os.replace(tmp, target)
    fsync_path(root)
    check_databases(root, snap.manifest)
    return snap
