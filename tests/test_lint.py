"""The house rules' tools on every run: ruff on the whole tree, mypy on the production
packages (the tests themselves are not held to mypy yet)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_ruff_finds_nothing() -> None:
    done = subprocess.run([str(BIN / "ruff"), "check", "--no-cache", "."], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_nothing_in_the_production_packages() -> None:
    done = subprocess.run([str(BIN / "mypy"), "--no-incremental", "core", "contract", "edge",
                           "gateway", "eil", "dashboards"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
