"""Node health readings from the running system (psutil) and the agent's outbox depth."""

from __future__ import annotations

from collections import namedtuple

from edge.fakes.hardware import FakeHardware
from edge.sensors.node_health import NodeHealth, cpu_temperature


def test_health_readings_are_real_figures() -> None:
    hw = FakeHardware()
    hw.outbox_depth = lambda: 42
    got = {s.key: s.value for s in NodeHealth(hw).read(0.0)}
    assert got["outbox.depth"] == 42.0
    assert got["memory.available"] > 10e6 and 0 < got["memory.used"] < 100  # type: ignore[operator]
    assert got["disk.free"] > 0 and got["uptime"] > 0 and got["load"] >= 0  # type: ignore[operator]
    hw.close()


def test_cpu_temperature_prefers_the_soc_sensor() -> None:
    T = namedtuple("T", "label current high critical")
    assert cpu_temperature({"cpu_thermal": [T("", 51.5, None, None)]}) == 51.5
    assert cpu_temperature({"acpitz": [T("", 30.0, None, None)]}) is None
