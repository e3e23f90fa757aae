"""Sensor drivers, one module each, registered explicitly by type name.

To add a driver: write `edge/sensors/<name>.py` with a class declaring `quantities`, a `read(now)`
method, a `build(cfg)` factory and a `SAMPLE_CONFIG`; add one line to REGISTRY; add one test file.
"""

from __future__ import annotations

from collections.abc import Callable

from edge.sensors import sim_energy, sim_soil, sim_tool_station, sim_water
from edge.sensors.base import Sensor, SensorConfig
from eil.errors import ConfigError

REGISTRY: dict[str, Callable[[SensorConfig], Sensor]] = {
    "sim.soil": sim_soil.build,
    "sim.water": sim_water.build,
    "sim.energy": sim_energy.build,
    "sim.tool_station": sim_tool_station.build,
}


def build_sensor(cfg: SensorConfig) -> Sensor:
    factory = REGISTRY.get(cfg.type)
    if factory is None:
        raise ConfigError(
            f"{cfg.source}: type: unknown sensor type {cfg.type!r}; known types: "
            f"{', '.join(sorted(REGISTRY))}"
        )
    try:
        return factory(cfg)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{cfg.source}: invalid option: {exc}") from exc
