"""The sensor registry: every driver type by name, and how a [[sensors]] block becomes a sensor.

To add a driver: write `edge/sensors/<name>.py` with `DRIVERS = (Driver(...),)` (options
parser, driver class, declared quantities, SAMPLE_CONFIG, and a `simulate` that attaches a device
model to FakeHardware), import it and add it to MODULES below, and add one test file. Each
module may declare several types (DRIVERS is a tuple): a chip and its simulated twin, say.
"""

from __future__ import annotations

import logging

from core.errors import ConfigError
from edge.calibration import CalibratedSensor, CalibrationBook, CalibrationError
from edge.driver import Driver, Options, QuantitySpec, Sample, Sensor, SensorConfig
from edge.errors import SensorError
from edge.hardware import Hardware
from edge.sensors import (
    ads1115_soil,
    atlas_ezo,
    bme280,
    dfrobot_tds,
    ds18b20,
    ina219,
    ina260,
    ina3221,
    jsn_sr04t,
    node_health,
    pico_bridge,
    pzem004t,
    s0_pulse,
    seesaw_soil,
    sim_energy,
    sim_soil,
    sim_tool_station,
    sim_water,
    sim_water_quality,
    sim_weather,
    tool_station,
    yf_s201,
)

log = logging.getLogger("eil.node")
MODULES = (seesaw_soil, ads1115_soil, ds18b20, yf_s201, jsn_sr04t, atlas_ezo, dfrobot_tds, ina219,
           ina260, ina3221, pzem004t, s0_pulse, bme280, pico_bridge, tool_station, node_health,
           sim_soil, sim_water, sim_energy, sim_tool_station, sim_weather, sim_water_quality)
REGISTRY: dict[str, Driver] = {d.type: d for m in MODULES for d in m.DRIVERS}
REOPEN_AFTER = 3  # consecutive failed reads before the device is opened afresh


def driver_for(cfg: SensorConfig) -> Driver:
    driver = REGISTRY.get(cfg.type)
    if driver is None:
        raise ConfigError(f"{cfg.source}: type: unknown sensor type {cfg.type!r}; known types: "
                          f"{', '.join(sorted(REGISTRY))}")
    return driver


def parse_options(cfg: SensorConfig) -> object:
    """Validate a sensor block's options without touching hardware (start-up config check)."""
    driver = driver_for(cfg)
    opts = Options(cfg)
    try:
        parsed = driver.parse(opts)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{cfg.source}: {exc}") from exc
    if unknown := opts.unknown():
        raise ConfigError(f"{cfg.source}: unknown option(s) {', '.join(unknown)} for type "
                          f"{cfg.type!r}; it takes: {', '.join(sorted(opts.used)) or 'none'}")
    return parsed


class AttachedSensor:
    """A driver bound to its device through the hardware. The device is opened on first read,
    and again after repeated failures (a chip that lost power also lost its configuration), so
    a sensor that is missing at start-up or unplugged later comes back by itself."""

    def __init__(self, driver: Driver, options: object, hw: Hardware) -> None:
        self.driver, self.options, self.hw = driver, options, hw
        self.quantities: tuple[QuantitySpec, ...] = driver.quantities(options)
        self.device: Sensor | None = None
        self.failures = 0

    def read(self, now: float) -> list[Sample]:
        try:
            if self.device is None:
                self.device = self.driver.open(self.options, self.hw)
            samples = self.device.read(now)
        except SensorError:
            self._failed()
            raise
        except (OSError, RuntimeError, ValueError) as exc:  # a library error we did not translate
            self._failed()
            raise SensorError(f"{self.driver.type}: {exc}") from exc
        self.failures = 0
        return samples

    def _failed(self) -> None:
        self.failures += 1
        if self.failures >= REOPEN_AFTER:
            self.close()
            self.failures = 0

    def close(self) -> None:
        close = getattr(self.device, "close", None)
        if close is not None:
            close()
        self.device = None


def attach(cfg: SensorConfig, hw: Hardware, book: CalibrationBook) -> Sensor:
    driver = driver_for(cfg)
    options = parse_options(cfg)
    if hw.fake and driver.simulate is not None:
        driver.simulate(options, hw)  # type: ignore[arg-type]
    sensor: Sensor = AttachedSensor(driver, options, hw)
    if driver.calibration is not None:
        try:
            sensor = CalibratedSensor(sensor, driver.calibration, book, cfg.name, cfg.type,
                                      cfg.calibration)
        except CalibrationError as exc:
            raise ConfigError(f"{cfg.source}: calibration: {exc}") from exc
    elif cfg.calibration is not None:
        raise ConfigError(f"{cfg.source}: calibration: type {cfg.type!r} takes no calibration")
    return sensor
