"""Simulated weather station: air temperature, relative humidity, wind speed, global solar
radiation. Seeded and plausible: a diurnal temperature cycle (minimum near dawn), humidity that
falls as the air warms, sunshine from 06:00 to 18:00 scaled by a daily cloudiness."""

from __future__ import annotations

import math
import random

from contract.senml import Kind
from edge.sensors.base import Driver, QuantitySpec, Sample
from edge.sensors.sim_soil import DAY, diurnal

SAMPLE_CONFIG = """
[[sensors]]
type = "sim.weather"
interval_s = 600
seed = 3
"""


class SimWeather:
    quantities = (
        QuantitySpec("air.temperature", "Cel", Kind.GAUGE, "air temperature at 2 m"),
        QuantitySpec("air.humidity", "%RH", Kind.GAUGE, "relative humidity"),
        QuantitySpec("wind.speed", "m/s", Kind.GAUGE, "wind speed at 2 m"),
        QuantitySpec("solar.radiation", "W/m2", Kind.GAUGE, "global horizontal irradiance"),
    )

    def __init__(self, seed: int = 3) -> None:
        self.rng = random.Random(seed)
        self.day: int | None = None
        self.clear = 0.7

    def read(self, now: float) -> list[Sample]:
        day = int(now // DAY)
        if day != self.day:  # a new day, a new sky
            self.day, self.clear = day, self.rng.uniform(0.35, 1.0)
        temp = diurnal(now, 13.0, 6.0, 15.0) + self.rng.gauss(0.0, 0.2)
        rh = min(98.0, max(25.0, 75.0 - 3.0 * (temp - 13.0) + self.rng.gauss(0.0, 2.0)))
        hour = (now % DAY) / 3600.0
        sun = max(0.0, math.sin(math.pi * (hour - 6.0) / 12.0)) if 6.0 <= hour <= 18.0 else 0.0
        solar = 850.0 * self.clear * sun * (1.0 + self.rng.gauss(0.0, 0.03))
        wind = max(0.0, 2.0 + 0.8 * math.sin(2 * math.pi * hour / 24) + self.rng.gauss(0.0, 0.4))
        return [Sample("air.temperature", round(temp, 2)), Sample("air.humidity", round(rh, 1)),
                Sample("wind.speed", round(wind, 2)),
                Sample("solar.radiation", round(max(solar, 0.0), 1))]


DRIVERS = (Driver(
    type="sim.weather", summary="simulated weather station: air temperature, humidity, wind, sun",
    parse=lambda o: {"seed": o.integer("seed", 3)}, open=lambda kw, hw: SimWeather(**kw),
    quantities=lambda kw: SimWeather.quantities, sample_config=SAMPLE_CONFIG),)
