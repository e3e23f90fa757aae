"""`eil gateway backup`: check free space, take a consistent copy (gateway/store/snapshot.py),
verify it, send it to the target, keep the newest `keep`, and record the outcome in the data
directory (backup-state.json), which `eil status`, the fleet view and the `backup.age` alert
read. `drill`: restore the latest backup into a scratch place and verify it. `fetch`: a
backup of the target as a folder, for `eil gateway restore` (gateway/store/snapshot.py's
`restore` puts it into an empty data directory)."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from gateway.backup.config import BackupConfig
from gateway.backup.targets import PREFIX, Folder, TargetError, target
from gateway.errors import GatewayError
from gateway.store.data_dir import DataDir
from gateway.store.snapshot import MANIFEST, BackupError, Snapshot, estimate_bytes, restore

log = logging.getLogger("eil.backup")
MARGIN = 64 * 2**20  # what a backup leaves free on the card or the disk, at least


@dataclass(frozen=True)
class Done:
    name: str
    where: str
    bytes: int
    took_s: float


def _name(now: float) -> str:
    return PREFIX + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))


def backup(data: DataDir, cfg: BackupConfig, site: str) -> Done:
    if not cfg.configured:
        raise GatewayError("no [backup] target in gateway.toml (folder or restic_repository; "
                           "docs/backup.md)")
    started = time.time()
    name = _name(started)
    t = target(cfg, site)
    staging = data.staging / name
    try:
        staging = t.staging(name) if isinstance(t, Folder) else staging
        need = int(estimate_bytes(data.root) * 1.1) + MARGIN
        free = shutil.disk_usage(staging.parent if staging.parent.exists() else data.root).free
        if free < need:
            raise BackupError(f"not enough space for a backup at {staging.parent}: "
                              f"{free / 1e6:.0f} MB free, {need / 1e6:.0f} MB needed "
                              "(a backup never fills the card)")
        staging.parent.mkdir(parents=True, exist_ok=True)
        snap = data.snapshot(staging)
        where = t.send(staging, name)
    except (GatewayError, OSError) as exc:
        data.record_backup({"ok": False, "at": started, "target": cfg.target,
                            "error": str(exc)})
        raise GatewayError(f"backup failed: {exc}") from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    done = Done(name, where, snap.bytes, time.time() - started)
    data.record_backup({"ok": True, "at": started, "target": cfg.target, "name": name,
                        "bytes": done.bytes, "took_s": round(done.took_s, 2)})
    log.info("backup %s: %d bytes to %s in %.1f s", name, done.bytes, where, done.took_s)
    return done


def fetch(cfg: BackupConfig, site: str, name: str | None, scratch: Path) -> Path:
    """The backup `name` (default the newest) of the target, as a folder with its manifest."""
    t = target(cfg, site)
    got = t.fetch(name, scratch)
    if not (got / MANIFEST).exists():
        raise TargetError(f"{got}: no {MANIFEST}: not an EIL backup")
    return got


def drill(data: DataDir, cfg: BackupConfig, site: str) -> Snapshot:
    """Restore the newest backup into a scratch folder and verify it: a backup nobody has
    restored is a hope, not a backup."""
    data.staging.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="drill-", dir=data.staging) as tmp:
            snap = restore(fetch(cfg, site, None, Path(tmp) / "fetched"), Path(tmp) / "restored")
    except (GatewayError, OSError) as exc:
        data.record_backup({"drill_ok": False, "drill_at": time.time(), "drill_error": str(exc)},
                           merge=True)
        raise GatewayError(f"restore drill failed: {exc}") from exc
    data.record_backup({"drill_ok": True, "drill_at": time.time(), "drill_error": None},
                       merge=True)
    return snap
