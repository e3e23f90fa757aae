"""The signal families the engine runs, each with the quantities it reads. A family (soil.py,
water.py, energy.py, weather.py) computes related signals together from the catalogue's
definitions; this module sits above them so that the catalogue never imports its families."""

from __future__ import annotations

from collections.abc import Callable

from gateway.signals.catalogue import Value
from gateway.signals.config import SignalConfig
from gateway.signals.data import Readings
from gateway.signals.energy import battery, energy
from gateway.signals.soil import soil
from gateway.signals.water import water, water_quality
from gateway.signals.weather import weather

Family = Callable[[Readings, SignalConfig, int], list[Value]]

FAMILIES: tuple[tuple[tuple[str, ...], Family], ...] = (
    # soil reads the weather too: the depletion fraction p follows the day's ETc
    (("soil.moisture", "soil.temperature", "air.temperature", "air.humidity",
      "air.dewpoint", "air.wet_bulb", "wind.speed", "solar.radiation"), soil),
    (("water.volume", "water.flow", "water.tank"), water),
    (("pv.power", "load.power"), energy),
    (("air.temperature", "air.humidity", "air.dewpoint", "air.wet_bulb", "wind.speed",
      "solar.radiation", "soil.moisture"), weather),
    (("water.ph", "water.ec", "water.turbidity", "water.nitrate", "water.do"), water_quality),
    (("battery.voltage", "battery.current"), battery),
)
