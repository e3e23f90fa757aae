"""Every real driver, configured from its own sample config, runs on simulated hardware
(EIL_HW=fake) in a node process that publishes through a real Mosquitto to the gateway; the
store holds each quantity in its canonical unit, with calibration identities and no flags."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.registry import REGISTRY
from eil.site_files import node_toml
from tests.support.site import Site, wait_until

# sample configs share default addresses and ids; give each its own here
CHANGES = {
    "ina219": [("address = 0x40", "address = 0x44"), ('id = "pv"', 'id = "panel-2"')],
    "ina260": [("address = 0x40", "address = 0x45"), ('id = "battery"', 'id = "inverter"')],
    "ezo_ec": [('id = "pond"', 'id = "pond-ec"')],
    "dfrobot_tds": [("temperature_from = \"tank.temperature\"",
                     "temperature_from = \"pond-temp.temperature\""), ('id = "tank"', 'id = "rain"')],
    "ds18b20": [('id = "bed-1"', 'id = "pond-temp"')],
    "pico_bridge": [("measure_interval_s = 10", "measure_interval_s = 1")],
    # the tank sensor has /dev/serial0 (one port cannot serve two devices: the loader says so)
    "tool_station": [('port = "/dev/serial0"', 'port = "/dev/ttyS1"')],
}
REAL = sorted(t for t in REGISTRY if not t.startswith("sim."))

EXPECTED_UNITS = {
    "bed-1.soil.moisture_raw": "count", "bed-1.soil.temperature": "Cel",
    "bed-2.soil.moisture_voltage": "V", "pond-temp.temperature": "Cel",
    "irrigation.water.pulses": "count", "irrigation.water.volume": "l",
    "tank.distance": "m", "tank.volume": "l", "pond.water.ph": "pH", "pond-ec.water.ec": "S/m",
    "rain.water.ec": "S/m", "rain.water.tds": "ppm", "pv.dc.power": "W", "battery.dc.current": "A",
    "load.dc.voltage": "V", "house.ac.energy": "Wh", "house.ac.power_factor": "%",
    "grid.energy": "Wh", "air.pressure": "Pa", "air.humidity": "%RH", "node.uptime": "s",
    "node.outbox.depth": "count", "pico.ac.current": "A", "pico.ac.power": "W",
    "pico.water.volume": "l", "pico.energy": "Wh", "pico.soil.moisture_voltage": "V",
    "pico.mcu.temperature": "Cel",
}


def kit_config() -> str:
    blocks = []
    for kind in REAL:
        block = REGISTRY[kind].sample_config
        for old, new in CHANGES.get(kind, []):
            block = block.replace(old, new)
        blocks.append(block.replace("interval_s = 300", "interval_s = 2")
                      .replace("interval_s = 600", "interval_s = 2")
                      .replace("interval_s = 60\n", "interval_s = 2\n"))
    return "\n".join(blocks)


@pytest.mark.slow
def test_every_driver_on_simulated_hardware_reaches_the_gateway(
        make_site: Callable[..., Site], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EIL_HW", "fake")
    site = make_site({"kit": "soil"}, speed=1.0)
    cfg: Path = site.node_cfgs["kit"]
    cfg.write_text(node_toml(site.setup, "kit", cfg.parent, kit_config(),
                             publish="commit_interval_s = 0.2\nstatus_interval_s = 2\n"))
    site.broker.start()
    site.start_gateway()
    site.start_node("kit")

    def stored_names() -> dict[str, str | None]:
        assert site.alive("kit"), site.log("kit")[-2000:]
        try:
            with site.open_store() as store:
                return {r.name: r.unit for r in store.export(node="kit")}
        except sqlite3.OperationalError:  # the gateway has made the file, not yet its tables
            return {}

    wait_until(lambda: site.db_path().exists() and set(EXPECTED_UNITS) <= set(stored_names()),
               60, "a reading of every driver's quantities")
    assert site.stop("kit") == 0
    with site.open_store() as store:
        rows = list(store.export(node="kit"))
    units = {r.name: r.unit for r in rows}
    assert {k: units[k] for k in EXPECTED_UNITS} == EXPECTED_UNITS
    assert [r for r in rows if r.q is not None] == []  # simulated values are all plausible
    by_name = {r.name: r for r in rows}
    assert by_name["irrigation.water.volume"].cal == "nominal:yf_s201"
    assert by_name["rain.water.ec"].cal == "nominal:dfrobot_tds"
    assert by_name["pond.water.ph"].cal == "device:uncalibrated"
    # the Pico's readings keep the MCU's measurement times (1 s apart once configured), mapped
    # onto the node's clock: inside the span of the node's own readings
    pico = sorted(r.t_ms for r in rows if r.name == "pico.ac.current")
    node_clock = [r.t_ms for r in rows if r.name == "node.uptime"]
    assert len(pico) >= 3 and min(node_clock) - 2000 <= pico[0] <= pico[-1] <= max(node_clock)
    # (the agent collects every 5 s; thread scheduling under load delays a measurement a little)
    assert all(950 <= b - a <= 1300 for a, b in zip(pico[1:], pico[2:], strict=False)), pico
    assert by_name["pico.ac.current"].value == 3.998238  # 4 A, 12-bit ADC
    assert by_name["bed-1.soil.moisture_raw"].cal is None and "bed-1.soil.moisture" not in units
    assert by_name["house.ac.voltage"].value == 231.4 and by_name["air.pressure"].value == \
        pytest.approx(101_200, abs=1)
    assert by_name["house.ac.power_factor"].value == pytest.approx(94.0)  # "/" stored as %
    calibration_events = {r.ref for r in rows if r.name.endswith(".calibration")}
    assert {"nominal:yf_s201", "nominal:dfrobot_tds"} <= calibration_events
    assert "sensor.unavailable" not in units, site.log("kit")[-2000:]
