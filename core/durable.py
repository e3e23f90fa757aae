"""Forcing what was written to stable storage: the one helper the node's outbox and the
gateway's backups share."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_path(path: Path) -> None:
    """fsync a file or a directory (a directory's entries: a new or renamed file's name is on
    the card only once its directory is synced)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
