"""[backup] in gateway.toml: where backups go and how many are kept."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.config import Table


@dataclass(frozen=True)
class BackupConfig:
    folder: Path | None = None  # a local folder (a USB disk, a mounted share)
    restic_repository: str | None = None  # a restic repository: a path or sftp:user@host:/path
    password_file: Path | None = None  # restic's key: without it nothing restores
    keep: int = 7  # backups kept (restic: the last 7 and 4 weekly)

    @property
    def configured(self) -> bool:
        return self.folder is not None or self.restic_repository is not None

    @property
    def target(self) -> str:
        return str(self.folder) if self.folder else f"restic:{self.restic_repository}"


def parse_backup(t: Table) -> BackupConfig:
    known = {"folder", "restic_repository", "password_file", "keep"}
    unknown = sorted(set(t.data) - known)
    if unknown:
        raise t.fail(unknown[0], f"unknown option; [backup] takes {', '.join(sorted(known))}")
    if not t.data:
        return BackupConfig()
    folder = t.get("folder", str, None)
    repo = t.get("restic_repository", str, None)
    if (folder is None) == (repo is None):
        raise t.fail("folder", "give one target: folder (a local path) or restic_repository")
    password = t.get("password_file", str, None)
    if repo is not None and password is None:
        raise t.fail("password_file", "a restic repository is encrypted: its key file is "
                                      "needed (keep a copy off the gateway: without it nothing "
                                      "restores)")
    keep = t.get("keep", int, 7)
    if keep < 1:
        raise t.fail("keep", f"keep at least 1 backup, got {keep}")
    if folder is not None and not Path(folder).is_absolute():
        raise t.fail("folder", f"{folder!r}: an absolute path, e.g. /media/usb/eil-backups")
    return BackupConfig(Path(folder) if folder else None, repo,
                        Path(password) if password else None, keep)
