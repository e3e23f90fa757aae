"""Site → neighbourhood across gateways on loopback (docs/federation.md): two site gateways,
each with simulated water and energy nodes, forward their signal summaries to the gateway of
their neighbourhood through its own broker, as nodes of it (garden-a also its water meter's
readings, `[upstream] series`); the neighbourhood rolls them up on schedule with its own
thresholds. garden-a's forwarder is killed -9 at random instants meanwhile: nothing arrives
twice, the forwarded series is the site's own, in order, none missing. The fault test across
network hosts, beside a native bridge, is test_federation_netns.py."""

from __future__ import annotations

import json
import random
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from contract import summaries
from eil.broker import free_port
from gateway.errors import StoreError
from gateway.store import DataDir, Store
from tests.support.site import Site, wait_until

pytestmark = pytest.mark.slow
SCOPE = "north-end"
SITES = ("garden-a", "garden-b")
SCOPES_TOML = f"""[scopes.{SCOPE}]
title = "North End"
level = "neighbourhood"
sites = ["garden-a", "garden-b"]

[scopes.{SCOPE}.thresholds."water.use"]
upper = 5000.0
source = "North End water plan 2026: the neighbourhood's share of the catchment"
"""


def upstream_block(upper: Site, site: str, every_s: float = 0.3, series: str = "") -> str:
    return (f'[upstream]\nscope = "{SCOPE}"\nhost = "127.0.0.1"\nport = {upper.setup.port}\n'
            f'password_file = "{upper.setup.secret_file(site)}"\nevery_s = {every_s}\n'
            + (f"series = {series}\n" if series else ""))


def make_federation(make_site: Callable[..., Site], http_port: int = 0
                    ) -> tuple[Site, dict[str, Site]]:
    upper = make_site({}, site=SCOPE, devices=SITES, http_port=http_port,
                      gateway_extra="[signals]\nevery_s = 1\n")
    (upper.root / "gw").mkdir(parents=True, exist_ok=True)
    DataDir(upper.root / "gw").scopes_file.write_text(SCOPES_TOML)
    sites = {}
    for name in SITES:
        sites[name] = make_site({"water-1": "water", "energy-1": "energy"}, site=name,
                                speed=3600.0, interval=1200.0,
                                gateway_extra="[signals]\nevery_s = 1\n" + upstream_block(
                                    upper, name, series='["water-1/water.volume"]'
                                    if name == "garden-a" else ""))
    return upper, sites


def forwarded(upper: Site, site: str) -> list[tuple[int, int, dict[str, Any]]]:
    """(seq, run ms, summary) of every summary the neighbourhood stored from `site`."""
    if not upper.db_path().exists():
        return []
    try:
        store = Store(upper.db_path(), readonly=True)
    except StoreError:  # its gateway is creating it
        return []
    with store:
        return [(r.seq, r.t_ms, summaries.decode(r.name, r.text or ""))
                for r in store.export(node=site) if r.name.startswith(summaries.PREFIX)]


def site_runs(site: Site) -> dict[int, float | None]:
    """Run time ms -> the site's water use total, of every run its gateway kept (signals.db)."""
    data = DataDir(site.root / "gw")
    if not data.has_signal_history():
        return {}
    with data.signal_history() as history:
        return {t: value for t, value, _ in history.history("water.use@site")}


def panel(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/panel?scope={SCOPE}",
                                timeout=20) as r:
        return json.loads(r.read())  # type: ignore[no-any-return]


def test_two_sites_roll_up_at_their_neighbourhood(make_site: Callable[..., Site]) -> None:
    port = free_port()
    upper, sites = make_federation(make_site, port)
    upper.broker.start()
    upper.start_gateway()
    for s in sites.values():
        s.broker.start()
        s.start_gateway()
        for node in s.nodes:
            s.start_node(node)
        s._spawn("forwarder", ["gateway", "forward", "--config", str(s.gateway_cfg)])

    def water_total() -> dict[str, Any] | None:
        try:
            p = panel(port)
        except OSError:
            return None
        return next((e for e in p["signals"] if e["signal"] == "water.use"), None)

    wait_until(lambda: (w := water_total()) is not None and w["value"] is not None, 90,
               "a neighbourhood water total from both sites")
    def forwarded_series() -> int:
        with Store(upper.db_path(), readonly=True) as store:
            return sum(1 for _ in store.export(node="garden-a", name="water-1.water.volume"))

    wait_until(lambda: forwarded_series() > 20, 30, "garden-a's water meter readings forwarded")
    rng = random.Random()
    for _ in range(6):  # garden-a's forwarder killed -9 at random instants: nothing twice
        time.sleep(rng.uniform(0.1, 1.2))
        sites["garden-a"].kill("forwarder")
        sites["garden-a"]._spawn("forwarder", ["gateway", "forward", "--config",
                                               str(sites["garden-a"].gateway_cfg)])
    time.sleep(3.0)
    for s in sites.values():
        s.kill("forwarder")  # freeze what the neighbourhood has
    wait_until(lambda: (upper.root / "gw" / "scopes.json").exists(), 10, "a scheduled run")
    time.sleep(2.5)  # a scheduled roll-up after the last forwarded run
    total = water_total()
    assert total is not None
    own: dict[str, float] = {}
    for name, s in sites.items():
        got = forwarded(upper, name)
        with Store(upper.db_path(), readonly=True) as store:  # summaries and series together
            seqs = [r.seq for r in store.export(node=name)]
        assert seqs == list(range(1, len(seqs) + 1)), f"{name}: gaps or doubles {seqs}"
        runs = [(t, e["signal"]) for _, t, e in got]
        assert len(runs) == len(set(runs)), f"{name}: a run forwarded twice"
        newest = max(t for _, t, _ in got)
        water = next(e for _, t, e in got if t == newest and e["signal"] == "water.use")
        # what the neighbourhood holds is what the site computed in that run
        assert site_runs(s)[newest] == water["value"]
        own[name] = water["value"]
    assert total["sites"] == own
    assert total["value"] == pytest.approx(sum(own.values()))
    assert total["threshold"]["source"].startswith("North End water plan")

    # garden-a's water meter readings, forwarded as its own series water-1.water.volume
    with Store(upper.db_path(), readonly=True) as store:
        up = [(r.t_ms, r.value, r.unit, r.kind) for r in store.export(
            node="garden-a", name="water-1.water.volume")]
    with Store(sites["garden-a"].db_path(), readonly=True) as store:
        home = [(r.t_ms, r.value, r.unit, r.kind) for r in store.export(
            node="water-1", name="water.volume")]
        held = store.sinks.status(0, ["_upstream"])
    assert len(up) > 20 and up == home[:len(up)]  # in order, none missing, none twice
    assert (up[0][2], up[0][3]) == ("l", "counter")
    assert held and held[0].sink == "_upstream"  # retention keeps what is not forwarded yet
    with Store(upper.db_path(), readonly=True) as store:  # garden-b forwards no series
        assert not [r for r in store.export(node="garden-b") if r.kind != "event"]
