"""The import-layer contract (.importlinter, checked with import-linter): the layers of the
stack point one way, node and gateway are independent, no package has an import cycle, and
production code does not import the fakes. The contract must also be able to fail: a copy of
the tree with one deliberate upward import, and one with a cycle, are refused."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("core", "contract", "edge", "gateway", "eil")


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{tree / 'hardware' / 'firmware'}"}
    return subprocess.run([str(LINT), "--no-cache"], cwd=tree, env=env, capture_output=True,
                          text=True, timeout=120)


def copy_tree(tmp_path: Path) -> Path:
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "hardware" / "firmware" / "eilfw",
                    tmp_path / "hardware" / "firmware" / "eilfw",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path)
    return tmp_path


def test_the_tree_keeps_every_contract(tmp_path: Path) -> None:
    result = lint(copy_tree(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken." in result.stdout


@pytest.mark.parametrize("where, line, broken", [
    ("core/clock.py", "import gateway.config  # upward", "core is not allowed to import gateway"),
    ("edge/outbox.py", "import gateway.store  # sideways", "edge is not allowed to import gateway"),
    ("gateway/store/watermark.py", "import gateway.ingest.service  # a cycle",
     "No cycles are allowed in gateway"),
    ("edge/agent.py", "import edge.fakes.hardware  # a fake in production",
     "edge.agent is not allowed to import edge.fakes"),
])
def test_a_deliberate_violation_is_refused(tmp_path: Path, where: str, line: str,
                                           broken: str) -> None:
    tree = copy_tree(tmp_path)
    with (tree / where).open("a") as f:
        f.write(f"\n{line}\n")
    result = lint(tree)
    assert result.returncode != 0 and broken in result.stdout, result.stdout


def test_the_nodes_command_line_loads_no_gateway_code() -> None:
    """A Pi Zero runs `eil node run`: the command line and the agent must not pull in the
    gateway's packages (polars, FastAPI) through an import at the top of a module."""
    probe = ("import sys, eil.cli, edge.agent; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & "
             "{'gateway', 'polars', 'fastapi', 'uvicorn', 'duckdb'}))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=60, check=True).stdout.strip()
    assert out == "[]", out
