"""A real Home Assistant Core (from PyPI, on Python 3.13) with its MQTT integration on the
tests' Mosquitto under its own credential and ACL: the gateway's discovery makes an entity of
every node quantity and site signal, with Home Assistant's units, device classes and the
stored values; a node that goes offline makes its entities unavailable; after a Home Assistant
restart everything is back; a node the steward retires disappears from Home Assistant."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from eil.broker import HOMEASSISTANT_USER, find_binary
from tests.support.homeassistant import HomeAssistant
from tests.support.site import Site, wait_until

pytestmark = pytest.mark.slow
NODES = {"soil-1": "soil", "water-1": "water"}


def entity(states: dict[str, dict[str, Any]], name: str) -> dict[str, Any] | None:
    found = [s for s in states.values() if s["attributes"].get("friendly_name") == name]
    return found[0] if found else None


def test_home_assistant_discovers_nodes_and_signals(make_site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    site: Site = make_site(NODES, speed=60.0, homeassistant=True,
                           gateway_extra="[homeassistant]\nenabled = true\nevery_s = 1\n"
                                         "[signals]\nevery_s = 3\n")
    # a node silent for 3 s fires an alert, which Home Assistant shows as a problem sensor
    (site.gateway_cfg.parent / "alerts.toml").write_text(
        '[timing]\nevaluate_every = "1s"\n[sources."node.silent"]\nlimit = 3\n')
    site.broker.start()
    site.start_gateway()
    for node in NODES:
        site.start_node(node)
    ha = HomeAssistant(tmp_path / "ha", site.setup.port, HOMEASSISTANT_USER,
                       site.setup.credentials[HOMEASSISTANT_USER])
    try:
        ha.start()
        wait_until(lambda: site.stored("soil-1")[0] > 0, 60, "a first stored reading")
        first = time.monotonic()
        moisture = "soil-1 (test-site) soil.moisture"
        def shown(name: str) -> bool:
            e = entity(ha.states(), name)
            return e is not None and e["state"] not in ("unavailable", "unknown")

        wait_until(lambda: shown(moisture), 60, "the soil moisture entity with a value",
                   every=0.5)
        appeared_s = time.monotonic() - first
        states = ha.states()
        want = {moisture: ("moisture", "measurement", "%"),
                "soil-1 (test-site) soil.temperature": ("temperature", "measurement", "°C"),
                "water-1 (test-site) water.volume": ("water", "total_increasing", "L"),
                "water-1 (test-site) water.flow": ("volume_flow_rate", "measurement", "L/min"),
                "water-1 (test-site) water.tank": ("volume_storage", "measurement", "L")}
        for name, (device_class, state_class, unit) in want.items():
            e = entity(states, name)
            assert e is not None, (name, sorted(s["attributes"].get("friendly_name", "")
                                                for s in states.values()))
            a = e["attributes"]
            assert (a.get("device_class"), a.get("state_class"), a.get("unit_of_measurement")
                    ) == (device_class, state_class, unit), (name, a)
        with site.open_store() as store:
            latest = {(r["node"], r["name"]): r["value"] for r in store.latest()}
        value = float(entity(ha.states(), moisture)["state"])  # type: ignore[index]
        assert abs(value - float(latest[("soil-1", "soil.moisture")])) < 5.0  # a newer one
        wait_until(lambda: any(s["attributes"].get("friendly_name", "").endswith("(site)")
                               for s in ha.states().values()), 60, "the site's signals")
        # a node going offline: its entities become unavailable
        assert site.stop("soil-1") == 0
        wait_until(lambda: entity(ha.states(), moisture)["state"] == "unavailable", 30,  # type: ignore[index]
                   "soil-1 unavailable", every=0.5)
        assert entity(ha.states(), "water-1 (test-site) water.tank")["state"] != "unavailable"  # type: ignore[index]
        silent = "test-site alerts Node silent (soil-1)"
        wait_until(lambda: (entity(ha.states(), silent) or {}).get("state") == "on", 60,
                   "the node.silent alert on in Home Assistant", every=0.5)
        a = entity(ha.states(), silent)["attributes"]  # type: ignore[index]
        assert (a["device_class"], a["alert_state"], a["severity"], a["id"]) == (
            "problem", "firing", "warning", "node.silent/soil-1"), a
        assert "soil-1 has sent nothing for" in a["text"]
        # Home Assistant restarted: the entities come back, with their values
        ha.stop()
        # Home Assistant's credential reads only what the gateway publishes for it (tried
        # while it is down: one credential, one session)
        sub = subprocess.run(
            [find_binary("mosquitto_sub"), "-h", "127.0.0.1", "-p", str(site.setup.port), "-V",
             "mqttv5", "-u", HOMEASSISTANT_USER, "-P", site.setup.credentials[HOMEASSISTANT_USER],
             "-t", "eil/v1/test-site/+/readings", "-t", "eil/v1/test-site/_gateway/library",
             "-C", "1", "-W", "4"], capture_output=True, timeout=20)
        assert sub.stdout == b"", sub.stdout[:200]  # nodes publish readings every second
        ha.start()
        wait_until(lambda: shown("water-1 (test-site) water.tank"), 60,
                   "the entities back after a restart", every=0.5)
        # a node retired by the steward: Home Assistant removes its device and entities
        done = subprocess.run([sys.executable, "-m", "eil", "gateway", "retire", "water-1",
                               "--data", str(site.root / "gw")], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0 and "water-1 is retired" in done.stdout, done.stderr
        wait_until(lambda: entity(ha.states(), "water-1 (test-site) water.tank") is None, 60,
                   "water-1's entities removed", every=0.5)
        assert shown("soil-1 (test-site) soil.temperature") or entity(
            ha.states(), "soil-1 (test-site) soil.temperature") is not None  # others stay
        print(f"Home Assistant: the first node entity {appeared_s:.1f} s after the node's "
              "first stored reading")
    finally:
        ha.stop()
