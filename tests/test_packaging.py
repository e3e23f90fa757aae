"""The wheel a steward installs (the seed's and the Ansible roles' install path) carries every
file of the packages that git tracks: a page, script or default config left out of
`package-data` works in the checkout and fails only once installed."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.support.deploy import ROOT, project_wheel

PACKAGES = ("core", "contract", "edge", "gateway", "eil")


@pytest.mark.slow
def test_the_wheel_holds_every_tracked_file_of_the_packages(tmp_path: Path) -> None:
    tracked = subprocess.run(["git", "ls-files", *PACKAGES, "hardware/firmware/eilfw"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    want = {p.removeprefix("hardware/firmware/") for p in tracked
            if not p.endswith((".pyc",)) and "/tests/" not in p and p != "eil/kitdata"}
    kits = subprocess.run(["git", "ls-files", "hardware/kits/*.toml"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout.split()
    assert len(kits) >= 6
    want |= {"eil/kitdata/" + Path(k).name for k in kits}  # the kits, through eil/kitdata
    with zipfile.ZipFile(project_wheel(tmp_path)) as wheel:
        have = set(wheel.namelist())
    assert sorted(want - have) == []
