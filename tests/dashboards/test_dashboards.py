"""The dashboards as rendered: stable bytes, unique uids, no overlapping panels, and every data
source a dashboard names declared in the provisioning files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from dashboards.build import FLAVORS, all_dashboards
from dashboards.catalog import DASHBOARDS
from dashboards.provisioning import Targets, dashboards_yaml, datasources_yaml
from dashboards.render import render

ROOT = Path(__file__).resolve().parents[2]


def test_rendering_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    for d in ("a", "b"):
        subprocess.run([sys.executable, "-m", "eil", "grafana", "render", str(tmp_path / d)],
                       check=True, cwd=ROOT, capture_output=True)
    a = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in (tmp_path / "a").rglob("*")
         if p.is_file()}
    b = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in (tmp_path / "b").rglob("*")
         if p.is_file()}
    assert a == b and len(a) == 2 + 2 * len(DASHBOARDS)
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "a").rglob("*.json")}
    render(tmp_path / "a", Targets())  # a third render leaves unchanged files alone
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "a").rglob("*.json")} == before


def test_uids_are_unique_and_stable() -> None:
    uids = [uid for flavor in FLAVORS for uid in all_dashboards(flavor)]
    assert len(uids) == len(set(uids)) == 2 * len(DASHBOARDS)
    assert set(all_dashboards("prometheus")) == {"eil-site-overview", "eil-garden", "eil-water",
                                                 "eil-energy", "eil-fleet"}
    for flavor in FLAVORS:
        for uid, model in all_dashboards(flavor).items():
            assert model["uid"] == uid
            ids = [p["id"] for p in model["panels"]]
            assert len(ids) == len(set(ids)), uid
            refs = [t["refId"] for p in model["panels"] for t in p["targets"]]
            assert all(refs), uid


def test_panels_do_not_overlap() -> None:
    for flavor in FLAVORS:
        for uid, model in all_dashboards(flavor).items():
            cells: dict[tuple[int, int], str] = {}
            for p in model["panels"]:
                g = p["gridPos"]
                assert 0 <= g["x"] and g["x"] + g["w"] <= 24 and g["h"] > 0, (uid, p["title"])
                if "repeat" in p:  # its copies fill the rest of its row
                    assert g["x"] == 0 and g["w"] == 24, (uid, p["title"])
                for x in range(g["x"], g["x"] + g["w"]):
                    for y in range(g["y"], g["y"] + g["h"]):
                        assert (x, y) not in cells, (uid, p["title"], cells[(x, y)])
                        cells[(x, y)] = p["title"]


def test_every_datasource_a_dashboard_names_is_provisioned() -> None:
    for flavor in FLAVORS:
        sources = yaml.safe_load(datasources_yaml(Targets(flavor=flavor)))["datasources"]
        declared = {(s["uid"], s["type"]) for s in sources}
        assert len(declared) == 1
        for uid, model in all_dashboards(flavor).items():
            used = {(p["datasource"]["uid"], p["datasource"]["type"]) for p in model["panels"]}
            used |= {(t["datasource"]["uid"], t["datasource"]["type"])
                     for p in model["panels"] for t in p["targets"]}
            used |= {(v["datasource"]["uid"], v["datasource"]["type"])
                     for v in model["templating"]["list"]}
            assert used == declared, (uid, used, declared)
        provider = yaml.safe_load(dashboards_yaml(Targets(flavor=flavor)))["providers"][0]
        assert provider["options"]["path"].endswith(f"/{flavor}")
        assert provider["folderUid"] == "eil" and provider["type"] == "file"


def test_influxql_queries_are_bounded_by_the_time_picker() -> None:
    for uid, model in all_dashboards("influxql").items():
        for p in model["panels"]:
            for t in p["targets"]:
                assert t["rawQuery"] is True and "$timeFilter" in t["query"], (uid, t)
                assert t["query"].startswith("SELECT "), (uid, t)
        for v in model["templating"]["list"]:
            assert v["query"].startswith("SHOW TAG VALUES FROM"), (uid, v)
