"""Simulated soil probe: volumetric water content and soil temperature.

Physically plausible and seeded: temperature follows a damped, lagged diurnal cycle; moisture
dries by evapotranspiration (strongest in the afternoon), jumps on seeded rain events and on
irrigation when it falls near the refill point, and drains slowly towards field capacity.
"""

from __future__ import annotations

import math
import random

from contract.senml import Kind
from edge.driver import Driver, Options, QuantitySpec, Sample

SAMPLE_CONFIG = """
[[sensors]]
type = "sim.soil"
id = "bed-1"          # quantity names become bed-1.soil.moisture, bed-1.soil.temperature
interval_s = 300
seed = 1
field_capacity = 34.0 # % VWC
refill_point = 18.0   # % VWC: irrigate below this
"""

DAY = 86_400.0


def diurnal(now: float, mean: float, amplitude: float, peak_hour: float) -> float:
    hour = (now % DAY) / 3600.0
    return mean + amplitude * math.cos(2 * math.pi * (hour - peak_hour) / 24.0)


class SimSoil:
    quantities = (
        QuantitySpec("soil.moisture", "%", Kind.GAUGE, "volumetric water content"),
        QuantitySpec("soil.temperature", "Cel", Kind.GAUGE, "soil temperature at 10 cm"),
    )

    def __init__(self, seed: int = 1, field_capacity: float = 34.0, refill_point: float = 18.0):
        self.rng = random.Random(seed)
        self.field_capacity = field_capacity
        self.refill_point = refill_point
        self.moisture = field_capacity - 4.0 * self.rng.random()
        self.last: float | None = None

    def _step(self, now: float) -> None:
        dt = 0.0 if self.last is None else max(0.0, now - self.last)
        self.last = now
        hours = dt / 3600.0
        # evapotranspiration: ~0.15 %VWC/h at the afternoon peak, near zero at night
        et = max(0.0, diurnal(now, 0.05, 0.10, 14.0)) * hours
        drainage = 0.02 * max(0.0, self.moisture - self.field_capacity) * hours
        self.moisture -= et + drainage
        # rain: on average one event per 3 days, scaled by elapsed time
        if self.rng.random() < hours / 72.0:
            self.moisture += self.rng.uniform(3.0, 10.0)
        if self.moisture < self.refill_point:  # irrigation
            self.moisture += self.rng.uniform(10.0, 14.0)
        self.moisture = min(max(self.moisture, 5.0), 48.0)

    def read(self, now: float) -> list[Sample]:
        self._step(now)
        temp = diurnal(now, 14.0, 4.0, 16.0) + self.rng.gauss(0.0, 0.1)
        moisture = self.moisture + self.rng.gauss(0.0, 0.15)
        return [Sample("soil.moisture", round(moisture, 2)),
                Sample("soil.temperature", round(temp, 2))]


def parse(o: Options) -> dict[str, float]:
    return {"seed": o.integer("seed", 1),
                "field_capacity": o.number("field_capacity", 34.0),
                "refill_point": o.number("refill_point", 18.0)}


DRIVERS = (Driver(
    type="sim.soil", summary="simulated soil probe: moisture and temperature (diurnal, drying, rain)",
    parse=parse, open=lambda kw, hw: SimSoil(**kw), quantities=lambda kw: SimSoil.quantities,
    sample_config=SAMPLE_CONFIG),)
