from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.site import Site

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "contract" / "examples"
# the programs a test may run (scripts/programs.txt), and no skips on CI
pytest_plugins = ["tests.support.programs"]


@pytest.fixture
def make_site(tmp_path: Path) -> Iterator:
    sites: list[Site] = []

    def factory(nodes: dict[str, str], **kw: object) -> Site:
        site = Site(tmp_path / f"site{len(sites)}", nodes, **kw)  # type: ignore[arg-type]
        sites.append(site)
        return site

    yield factory
    for s in sites:
        s.close()
