"""DS18B20 through fixture sysfs trees: values, CRC failure, power-on reset, unplugged probe."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.errors import SensorError
from edge.sensors.ds18b20 import DS18B20, list_devices, parse_w1_slave

GOOD = "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"


def tree(root: Path, probes: dict[str, str]) -> Path:
    for serial, text in probes.items():
        (root / serial).mkdir(parents=True)
        (root / serial / "w1_slave").write_text(text)
    (root / "w1_bus_master1").mkdir(parents=True, exist_ok=True)
    return root


def test_reads_millidegrees(tmp_path: Path) -> None:
    probe = DS18B20(w1_root=tree(tmp_path, {"28-0316a2791bff": GOOD}))
    assert [(s.key, s.value) for s in probe.read(0)] == [("temperature", 23.125)]


def test_negative_temperatures(tmp_path: Path) -> None:
    text = GOOD.replace("t=23125", "t=-10062")
    assert DS18B20("28-aa", tree(tmp_path, {"28-aa": text})).read(0)[0].value == -10.062


@pytest.mark.parametrize("text, reason", [
    (GOOD.replace("YES", "NO"), "CRC check failed"),
    (GOOD.replace("t=23125", "t=85000"), "power-on reset"),
    (GOOD.replace("t=23125", "t=127000"), "outside the DS18B20 range"),
    (GOOD.splitlines()[0], "has 1 lines, expected 2"),
    (GOOD.replace("t=23125", ""), "no t=<millidegrees>"),
])
def test_bad_content_is_an_error_not_a_value(text: str, reason: str) -> None:
    with pytest.raises(SensorError, match=reason):
        parse_w1_slave(text)


def test_unplugged_probe_and_ambiguous_bus(tmp_path: Path) -> None:
    root = tree(tmp_path, {"28-aa": GOOD, "28-bb": GOOD})
    assert list_devices(root) == ["28-aa", "28-bb"]
    with pytest.raises(SensorError, match="found 2 DS18B20 probes .* name one with device"):
        DS18B20(w1_root=root)
    probe = DS18B20("28-aa", root)
    (root / "28-aa" / "w1_slave").unlink()
    (root / "28-aa").rmdir()
    with pytest.raises(SensorError, match="probe unplugged"):
        probe.read(0)


@given(st.text(max_size=120))
def test_parser_never_fails_other_than_with_a_sensor_error(text: str) -> None:
    try:
        value = parse_w1_slave(text)
    except SensorError:
        return
    assert -55.0 <= value <= 125.0
