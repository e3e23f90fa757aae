"""Where backups go: a local folder (written under a temporary name, synced, renamed; the
oldest beyond `keep` removed), or a restic repository (Debian's restic: deduplicated and
encrypted; `forget --prune` keeps the last daily and weekly ones; `check` verifies it)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from core.durable import fsync_path
from gateway.backup.config import BackupConfig
from gateway.errors import GatewayError

PREFIX = "eil-backup-"


class TargetError(GatewayError):
    pass


def _sync_tree(path: Path) -> None:
    for p in [path, *path.rglob("*")]:
        fsync_path(p)


class Folder:
    def __init__(self, root: Path, keep: int) -> None:
        self.root, self.keep = root, keep

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.root).free

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and
                      p.name.startswith(PREFIX) and not p.name.endswith(".tmp"))

    def staging(self, name: str) -> Path:
        """Where a backup is taken directly: under a temporary name on the target itself."""
        if not self.root.is_dir():
            raise TargetError(f"backup folder {self.root} does not exist (is the disk mounted?)")
        return self.root / f"{name}.tmp"

    def send(self, staged: Path, name: str) -> str:
        _sync_tree(staged)
        final = self.root / name
        os.replace(staged, final)
        _sync_tree(self.root)
        for old in self.names()[:-self.keep]:
            shutil.rmtree(self.root / old)
        return str(final)

    def fetch(self, name: str | None, scratch: Path) -> Path:
        del scratch
        names = self.names()
        if not names:
            raise TargetError(f"no backup in {self.root}")
        chosen = name or names[-1]
        if chosen not in names:
            raise TargetError(f"no backup {chosen!r} in {self.root}; there are {names}")
        return self.root / chosen


class Restic:
    def __init__(self, repository: str, password_file: Path, keep: int, host: str) -> None:
        self.repository, self.password_file, self.keep, self.host = (
            repository, password_file, keep, host)

    def _run(self, *args: str, cwd: Path | None = None) -> str:
        env = {**os.environ, "RESTIC_PASSWORD_FILE": str(self.password_file),
               "RESTIC_REPOSITORY": self.repository}
        try:
            done = subprocess.run(["restic", "--no-cache", *args], cwd=cwd, env=env,
                                  capture_output=True, text=True, timeout=6 * 3600)
        except OSError as exc:
            raise TargetError(f"restic cannot run: {exc}") from exc
        if done.returncode != 0:
            raise TargetError(f"restic {args[0]} failed: {done.stderr.strip()[-500:]}")
        return done.stdout

    def init(self) -> None:
        """A new repository (encrypted with the key in password_file)."""
        self._run("init")

    def send(self, staged: Path, name: str) -> str:
        self._run("backup", "--host", self.host, "--tag", "eil", "--tag", name, ".", cwd=staged)
        self._run("forget", "--host", self.host, "--tag", "eil", "--keep-last", str(self.keep),
                  "--keep-weekly", "4", "--prune")
        return f"restic:{self.repository}"

    def check(self) -> None:
        self._run("check")

    def fetch(self, snapshot: str | None, scratch: Path) -> Path:
        """Restore the snapshot (default the latest) into `scratch` and return it."""
        self._run("restore", snapshot or "latest", "--host", self.host, "--target", str(scratch))
        return scratch


def target(cfg: BackupConfig, host: str) -> Folder | Restic:
    if cfg.folder is not None:
        return Folder(cfg.folder, cfg.keep)
    assert cfg.restic_repository is not None and cfg.password_file is not None
    return Restic(cfg.restic_repository, cfg.password_file, cfg.keep, host)
