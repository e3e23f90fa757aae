"""Every query of every Grafana dashboard (PromQL flavour) run against a real VictoriaMetrics
fed by the gateway's sink from simulated nodes: each returns the series it should, with the
labels its legend names. (The InfluxQL flavour cannot be run here: no InfluxDB server can be
installed; tests/dashboards checks its shape.)"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from dashboards.build import all_dashboards
from tests.support.site import Site, wait_until
from tests.support.victoria import Victoria

pytestmark = pytest.mark.slow
NODES = {"soil-1": "soil", "water-1": "water", "energy-1": "energy", "weather-1": "weather"}


def label_values(vm: Victoria, query: str) -> list[str]:
    """What Grafana's label_values(selector, label) variable query lists."""
    m = re.fullmatch(r"label_values\((.+), (\w+)\)", query)
    assert m, query
    selector, label = m.groups()
    return sorted({str(s["metric"].get(label)) for s in vm.export(selector)
                   if s["metric"].get(label)})  # type: ignore[union-attr]


def expand(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace(f"${name}", value)
    return text


def test_every_dashboard_query_returns_its_series(make_site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    vm = Victoria(tmp_path / "vm").start()
    extra = ("[signals]\nevery_s = 2\n[[sinks]]\nname = \"vm\"\ntype = \"influxdb\"\n"
             f"url = \"{vm.url}\"\nbucket = \"eil\"\nflavor = \"victoriametrics\"\n")
    # 300x: readings every simulated minute stay fresh for the signals (stale after three
    # intervals: 0.6 s real); two simulated hours in half a minute
    site: Site = make_site(NODES, speed=300.0, gateway_extra=extra,
                           sim_start=time.time() - 5 * 86400)
    try:
        site.broker.start()
        site.start_gateway()
        for node in NODES:
            site.start_node(node)
        wanted = ["eil_signal_field_capacity", "eil_sink_behind", "eil_signal_upper"]
        wait_until(lambda: all(vm.export(f'{{__name__="{m}"}}') for m in wanted), 90,
                   "signals, soil levels and the sink's lag in VictoriaMetrics", every=1.0)
        time.sleep(15)  # over an hour more of simulated readings: counters grow within an hour
        # queried at the newest reading the sink has written, not at the node clock's now: at
        # 300x, Grafana's 5-minute lookback is one real second, less than a busy sink can lag
        # (an instant query at now returned nothing once, on a loaded CI machine)
        newest = max(t for series in vm.export('{__name__="eil_reading_value"}')
                     for t in series["timestamps"])  # type: ignore[attr-defined]
        start, end = site.sim_start, min(site.sim_now(), newest / 1000)
        checked = 0
        for uid, model in all_dashboards("prometheus").items():
            variables: dict[str, list[str]] = {}
            for v in model["templating"]["list"]:
                query = expand(v["query"], {k: vals[0] for k, vals in variables.items()})
                variables[v["name"]] = label_values(vm, query)
                assert variables[v["name"]], (uid, v["name"], query)
            assert variables["site"] == ["test-site"]
            for panel in model["panels"]:
                combos: list[dict[str, str]] = [{"site": "test-site"}]
                if "repeat" in panel:  # one panel per value, as Grafana repeats it
                    combos = [{"site": "test-site", panel["repeat"]: value}
                              for value in variables[panel["repeat"]]]
                for values in combos:
                    for target in panel["targets"]:
                        checked += check(vm, uid, panel, target, values, start, end)
        print(f"{checked} dashboard queries returned their series")
    finally:
        vm.stop()


def check(vm: Victoria, uid: str, panel: dict[str, Any], target: dict[str, Any],
          values: dict[str, str], start: float, end: float) -> int:
    expr = expand(target["expr"], values)
    if target.get("instant"):
        result = vm.query(expr, end)
    else:
        result = vm.query(expr, end, step="3600", start_s=start)
    where = f"{uid} / {panel['title']} / {target['refId']}: {expr}"
    assert result, f"{where} returned nothing"
    for series in result:
        labels = series["metric"]
        for name in re.findall(r"\{\{(\w+)\}\}", target["legendFormat"]):
            assert name in labels, f"{where}: a series without the {name} label its legend names"
        for name, value in values.items():
            if name in labels:
                assert labels[name] == value, f"{where}: {labels}"
        points = series.get("values") or [series.get("value")]
        assert points and all(p is not None for p in points), where
    return 1
