"""The sensor kits (hardware/kits/*.toml, eil/kit.py, `eil kit`): every kit's BOM covers the
node.toml it gets, its power budget is the hand calculation written here, an off-grid kit's
battery and panel follow from the sun model, the pages are made from the sources, and two
sensors on one address, pin or port are refused."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from core.errors import ConfigError
from edge.config import load_node_config
from eil import kit
from eil.site.layout import SiteError
from eil.site.nodes import KINDS, check_hardware
from gateway.signals.fao56 import extraterrestrial_radiation

ROOT = Path(__file__).resolve().parent.parent

# Wh a day, by hand: V x (active mA x duty + idle mA x (1 - duty)) x 24 h / 1000, the duty
# being active_s x readings a day / 86,400 (the Pi: readings of every sensor, node_health's
# every 300 s included)
PI_5MIN = 5 * (200 * (1 / 300) + 110 * (299 / 300)) * 24 / 1000  # 576 readings: 13.236
BY_HAND = {
    "soil": PI_5MIN + 3.3 * 5 * 24 / 1000,  # the probe's 5 mA either way: 0.396
    "weather": PI_5MIN + 3.3 * (0.7 / 3000 + 0.004 * 2999 / 3000) * 24 / 1000,
    "water": (5 * (200 * 0.5 * 2016 / 86400 + 110 * (1 - 0.5 * 2016 / 86400)) * 24 / 1000
              + 5 * 15 * 24 / 1000  # the flow sensor: 1.8
              + 5 * (30 * 288 * 0.1 / 86400 + 8 * (1 - 288 * 0.1 / 86400)) * 24 / 1000),
    "energy": (5 * (200 * 0.5 * 8928 / 86400 + 110 * (1 - 0.5 * 8928 / 86400)) * 24 / 1000
               + 3.3 * 1 * 24 / 1000),
    "tools": (5 * 200 * 24 / 1000  # polled every 0.1 s: the Pi never rests
              + 5 * 50 * 24 / 1000  # the reader
              + 2 * 3.3 * 10 * 0.2 * 24 / 1000  # two LEDs lit 20 % of the time
              + 3.3 * 25 * 0.02 * 24 / 1000),  # the buzzer, 2 %
    "pico": (5 * (200 * 0.5 * 17568 / 86400 + 110 * (1 - 0.5 * 17568 / 86400)) * 24 / 1000
             + 5 * 25 * 24 / 1000),
}


def test_there_are_the_six_kits_and_the_site_kinds_come_from_them() -> None:
    assert kit.kinds() == sorted(BY_HAND)
    assert KINDS == {k: kit.load(k).drivers for k in BY_HAND}
    assert KINDS["water"] == ("yf_s201", "jsn_sr04t")


@pytest.mark.parametrize("kind", sorted(BY_HAND))
def test_the_power_budget_is_the_hand_calculation(kind: str) -> None:
    k = kit.load(kind)
    total = sum(d.wh_per_day for d in kit.budget(k, kit.schedule(k)))
    assert total == pytest.approx(BY_HAND[kind], rel=1e-9)


def test_an_off_grid_kit_is_sized_for_its_worst_month_at_the_latitude() -> None:
    soil = kit.load("soil")
    wh = sum(d.wh_per_day for d in kit.budget(soil, kit.schedule(soil)))
    sized = kit.size(soil, wh, 50.85)
    assert sized is not None and sized.month == "December"
    ra, daylight = extraterrestrial_radiation(50.85, 344)
    sun = (0.25 + 0.50 * 0.25) * ra / 3.6  # Angstrom at 25 % sunshine, MJ -> kWh
    assert sized.sun_hours == pytest.approx(sun)
    draw = wh / 0.8
    assert sized.battery_wh == pytest.approx(draw * 3 / 0.8)  # 3 days at 80 % depth
    assert sized.battery_ah == pytest.approx(draw * 3 / 0.8 / 12.8)
    assert sized.panel_w == pytest.approx(draw / (sun * 0.75))
    south = kit.size(soil, wh, -33.9)
    assert south is not None and south.month == "June"  # the southern winter
    assert kit.size(kit.load("energy"), 10.0, 50.0) is None  # on mains
    with pytest.raises(ConfigError, match="between -90 and 90"):
        kit.size(soil, wh, 95.0)


def test_every_kits_bom_covers_every_sensor_of_the_node_toml_it_gets(tmp_path: Path) -> None:
    for kind in sorted(BY_HAND):
        subprocess.run([sys.executable, "-m", "eil", "site", "init", str(tmp_path / kind),
                        "--site", "garden", "--gateway-host", "gw.example.org"],
                       check=True, capture_output=True, timeout=60)
        done = subprocess.run([sys.executable, "-m", "eil", "site", "add-node", "n-1",
                               "--kind", kind, "--dir", str(tmp_path / kind)],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        sensors = tomllib.loads((tmp_path / kind / "nodes" / "n-1" / "node.toml"
                                 ).read_text())["sensors"]
        served = {p.serves for p in kit.load(kind).parts}
        assert {s["type"] for s in sensors} - {"node_health"} <= served, kind
        assert "node" in served and any(p.serves == "power" for p in kit.load(kind).parts)


def test_the_kit_pages_are_made_from_the_sources(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "eil", "kit", "render", str(tmp_path)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    for kind in BY_HAND:
        assert (tmp_path / f"{kind}.md").read_text() == (
            ROOT / "hardware" / "kits" / f"{kind}.md").read_text(), \
            f"hardware/kits/{kind}.md is stale: eil kit render hardware/kits"


def test_eil_kit_prints_the_bom_wiring_and_budget_for_a_latitude() -> None:
    done = subprocess.run([sys.executable, "-m", "eil", "kit", "water", "--latitude", "60"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for words in ("YF-S201", "JSN-SR04T", "GPIO17 pin 11", "Power budget",
                  "Off-grid at latitude 60", "Worst month: December", f"{BY_HAND['water']:.2f}"):
        assert words in out, words
    bad = subprocess.run([sys.executable, "-m", "eil", "kit", "greenhouse"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert bad.returncode == 2 and "no kit 'greenhouse'; the kits are: energy, pico" in bad.stderr


def test_a_broken_kit_names_its_file_key_and_reason(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    good = (ROOT / "hardware" / "kits" / "soil.toml").read_text()
    monkeypatch.setattr(kit, "_kits_dir", lambda: tmp_path)
    cases = {
        'drivers = ["seesaw_soil"]': ('drivers = ["seesaw_soil", "bme280"]',
                                      "parts: no part serves bme280: the BOM must cover"),
        'serves = "seesaw_soil"\nvolts = 3.3': ('serves = "seesaw"\nvolts = 3.3',
                                                "parts[2].serves: 'seesaw' is not one of"),
        'part = "soil probe"': ('part = "soil sensor"',
                                "wiring[0].part: 'soil sensor' is not a part of the kit"),
    }
    for old, (new, reason) in cases.items():
        assert old in good
        (tmp_path / "soil.toml").write_text(good.replace(old, new, 1))
        with pytest.raises(ConfigError, match=re.escape("hardware/kits/soil.toml: " + reason)):
            kit.load("soil")


NODE = """site = "garden"
node = "n-1"
[broker]
password = "x"
{sensors}"""


@pytest.mark.parametrize(("sensors", "reason"), [
    ('[[sensors]]\ntype = "ina219"\nid = "pv"\naddress = 0x40\n'
     '[[sensors]]\ntype = "ina260"\nid = "battery"\naddress = 0x40\n',
     r"sensors\[0\] \(pv, ina219\) and sensors\[1\] \(battery, ina260\) both use I2C bus 1 "
     r"address 0x40"),
    ('[[sensors]]\ntype = "yf_s201"\nid = "drip"\npin = 17\n'
     '[[sensors]]\ntype = "s0_pulse"\nid = "grid"\npin = 17\nimpulses_per_kwh = 1000\n',
     r"sensors\[0\] \(drip, yf_s201\) and sensors\[1\] \(grid, s0_pulse\) both use GPIO 17"),
    ('[[sensors]]\ntype = "jsn_sr04t"\nid = "tank"\nport = "/dev/serial0"\ndiameter_m = 1.0\n'
     'sensor_height_m = 1.2\nmax_level_m = 1.0\n'
     '[[sensors]]\ntype = "tool_station"\nreaders = [{ type = "rdm6300", port = "/dev/serial0" }]'
     '\nled_ok = 23\n',
     r"both use serial port /dev/serial0"),
])
def test_two_sensors_on_one_address_pin_or_port_are_refused_naming_both(
        tmp_path: Path, sensors: str, reason: str) -> None:
    path = tmp_path / "node.toml"
    path.write_text(NODE.format(sensors=sensors))
    with pytest.raises(ConfigError, match=reason):
        load_node_config(path)
    with pytest.raises(SiteError, match=reason):
        check_hardware(NODE.format(sensors=sensors), "node.toml")


def test_two_channels_of_one_converter_are_no_clash(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    path.write_text(NODE.format(sensors=(
        '[[sensors]]\ntype = "ads1115_soil"\nid = "bed-2"\naddress = 0x48\nchannel = 0\n'
        '[[sensors]]\ntype = "dfrobot_tds"\nid = "tank"\naddress = 0x48\nchannel = 1\n')))
    assert len(load_node_config(path).sensors) == 2
