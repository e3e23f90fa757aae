"""The node's own health as readings: CPU temperature, load, memory, disk, outbox, uptime.

Read through psutil (the Pi's SoC temperature is its `cpu_thermal` sensor). Stewards see a node
filling its disk or cooking in its box before it stops reporting.
"""

from __future__ import annotations

import time
from typing import Any

from contract.senml import Kind
from edge.driver import Driver, Options, QuantitySpec, Sample
from edge.errors import SensorError
from edge.hardware import Hardware

SAMPLE_CONFIG = """
[[sensors]]
type = "node_health"
id = "node"           # node.cpu.temperature, node.load, node.memory.available, ...
interval_s = 300
"""

QUANTITIES = (
    QuantitySpec("cpu.temperature", "Cel", Kind.GAUGE, "SoC temperature", (-40.0, 110.0)),
    QuantitySpec("load", "count", Kind.GAUGE, "1-minute load average (runnable processes)"),
    QuantitySpec("memory.available", "B", Kind.GAUGE, "memory available"),
    QuantitySpec("memory.used", "%", Kind.GAUGE, "memory in use", (0.0, 100.0)),
    QuantitySpec("disk.free", "B", Kind.GAUGE, "free space where the outbox lives"),
    QuantitySpec("outbox.depth", "count", Kind.GAUGE, "readings not yet acknowledged"),
    QuantitySpec("uptime", "s", Kind.GAUGE, "since the system booted"),
)


def cpu_temperature(temps: dict[str, list[Any]]) -> float | None:
    """The SoC's temperature from psutil.sensors_temperatures(). Pure."""
    for name in ("cpu_thermal", "soc_thermal", "coretemp", "k10temp", "cpu-thermal"):
        if temps.get(name):
            return float(temps[name][0].current)
    return None


class NodeHealth:
    quantities = QUANTITIES

    def __init__(self, hw: Hardware) -> None:
        try:
            import psutil
        except ImportError:  # no wheel for 32-bit ARM: Raspberry Pi OS's python3-psutil
            psutil = None
        self.psutil, self.hw = psutil, hw

    def read(self, now: float) -> list[Sample]:
        ps = self.psutil
        if ps is None:
            raise SensorError("the psutil module is missing: install python3-psutil (Raspberry "
                              "Pi OS; the agent's virtualenv sees the system's packages)")
        try:
            mem = ps.virtual_memory()
            disk = ps.disk_usage(str(self.hw.data_dir if self.hw.data_dir.exists() else "/"))
            out = [Sample("load", round(ps.getloadavg()[0], 2)),
                   Sample("memory.available", float(mem.available)),
                   Sample("memory.used", round(mem.percent, 1)),
                   Sample("disk.free", float(disk.free)),
                   Sample("outbox.depth", float(self.hw.outbox_depth())),
                   Sample("uptime", round(time.time() - ps.boot_time()))]
            temps = ps.sensors_temperatures() if hasattr(ps, "sensors_temperatures") else {}
        except OSError as exc:
            raise SensorError(f"node health: {exc}") from exc
        if (celsius := cpu_temperature(temps)) is not None:
            out.insert(0, Sample("cpu.temperature", round(celsius, 1)))
        return out


def parse(o: Options) -> None:
    return None


DRIVERS = (Driver(
    type="node_health", summary="the node's CPU temperature, load, memory, disk, outbox, uptime",
    parse=parse, open=lambda o, hw: NodeHealth(hw), quantities=lambda o: QUANTITIES,
    sample_config=SAMPLE_CONFIG),)
