"""`eil node probe` and `eil node calibrate` as a steward runs them, on EIL_HW=fake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eil.cli import main

CONFIG = """
site = "garden-1"
node = "bed-node"
data_dir = "state"
[broker]
password = "x"
[[sensors]]
type = "seesaw_soil"
id = "bed-1"
[[sensors]]
type = "bme280"
id = "air"
[[sensors]]
type = "ina260"
id = "battery"
[[sensors]]
type = "ezo_ph"
id = "pond"
[[sensors]]
type = "ds18b20"
id = "pond-temp"
device = "28-0316a2791bff"
[[sensors]]
type = "yf_s201"
id = "drip"
pin = 17
"""


@pytest.fixture
def node_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EIL_HW", "fake")
    path = tmp_path / "node.toml"
    path.write_text(CONFIG)
    return path


def test_probe_recognises_the_simulated_kit(node_toml: Path, capsys: pytest.CaptureFixture
                                            ) -> None:
    assert main(["node", "probe", "--config", str(node_toml)]) == 0
    out = capsys.readouterr().out
    for where, kind in [("i2c-1 0x36", "seesaw_soil"), ("i2c-1 0x77", "bme280"),
                        ("i2c-1 0x40", "ina260"), ("i2c-1 0x63", "ezo_ph"),
                        ("1-Wire 28-0316a2791bff", "ds18b20")]:
        assert f"# found: {where} ({kind}" in out
    assert 'type = "seesaw_soil"\nbus = 1\naddress = 0x36' in out
    assert "ina219" not in out  # the INA260's TI id rules the INA219 out


def test_calibrate_from_given_points_then_list(node_toml: Path, capsys: pytest.CaptureFixture
                                               ) -> None:
    assert main(["node", "calibrate", "bed-1", "--config", str(node_toml), "--raw", "400=8",
                 "--raw", "1200=40", "--note", "loam, gravimetric"]) == 0
    out = capsys.readouterr().out
    assert "two_point, gain 0.04, offset -8" in out
    assert main(["node", "calibrations", "--config", str(node_toml), "--json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert record["points"] == [[400.0, 8.0], [1200.0, 40.0]] and record["note"] == "loam, gravimetric"
    assert (node_toml.parent / "state" / "calibrations.json").exists()


def test_device_side_ph_calibration_measures_now(node_toml: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    assert main(["node", "calibrate", "pond", "--config", str(node_toml), "--reference", "7",
                 "--reference", "4", "--yes", "--samples", "1"]) == 0
    assert "multi_point, gain 1, offset 0, device reports ?CAL,2" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["bed-9", "--raw", "1=2"], "no sensor 'bed-9'; this node has: bed-1, air, battery"),
    (["air", "--raw", "1=2"], "air (bme280) takes no calibration"),
    (["bed-1", "--method", "k_factor", "--raw", "1=2"], "calibrates by two_point, multi_point"),
    (["drip", "--reference", "10", "--yes"], "run it interactively, or give --raw"),
    (["pond", "--raw", "7=7"], "must be measured now"),
])
def test_refusals_say_why(node_toml: Path, capsys: pytest.CaptureFixture, argv: list[str],
                          message: str) -> None:
    assert main(["node", "calibrate", *argv[:1], "--config", str(node_toml), *argv[1:]]) == 2
    assert message in capsys.readouterr().err


def test_interactive_two_point_session_measures_each_point(node_toml: Path) -> None:
    from edge.calibrate import Request, calibrate
    from edge.config import load_node_config
    from edge.fakes.hardware import FakeHardware

    cfg = load_node_config(node_toml)
    hw = FakeHardware(sleep=lambda s: None)
    answers = iter(["8", "", "not a number", "40", "", ""])
    counts = iter([400, 1200])

    def ask(prompt: str) -> str:
        if prompt.startswith("put the probe in"):
            hw.i2c(1).devices[0x36].count = next(counts)  # the steward moves the probe
        return next(answers)

    said: list[str] = []
    cal = calibrate(cfg, Request("bed-1", samples=2), hw, ask, said.append)
    assert cal.points == ((400.0, 8.0), (1200.0, 40.0)) and cal.gain == pytest.approx(0.04)
    assert said == ["point 1: raw 400 -> 8", "not a number: 'not a number'",
                    "point 2: raw 1200 -> 40"]
    hw.close()
