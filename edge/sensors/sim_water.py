"""Simulated water kit: a hall-effect flow meter on the irrigation line and a rain-fed tank.

Irrigation runs in the morning and evening windows; the flow meter's pulses (450 per litre, like
a YF-S201) accumulate into a volume counter; the tank loses what is drawn and gains seeded rain.
"""

from __future__ import annotations

import random

from contract.senml import Kind
from edge.driver import Driver, Options, QuantitySpec, Sample

SAMPLE_CONFIG = """
[[sensors]]
type = "sim.water"
interval_s = 60
seed = 2
tank_capacity_l = 1000.0
pulses_per_litre = 450.0
"""

DAY = 86_400.0
IRRIGATION_WINDOWS_H = ((6.0, 6.5), (19.0, 19.5))


class SimWater:
    quantities = (
        QuantitySpec("water.flow", "l/s", Kind.GAUGE, "irrigation flow rate"),
        QuantitySpec("water.volume", "l", Kind.COUNTER, "irrigation volume since install"),
        QuantitySpec("water.tank", "l", Kind.GAUGE, "rain tank content"),
    )

    def __init__(self, seed: int = 2, tank_capacity_l: float = 1000.0,
                 pulses_per_litre: float = 450.0) -> None:
        self.rng = random.Random(seed)
        self.capacity = tank_capacity_l
        self.k = pulses_per_litre
        self.tank = 0.6 * tank_capacity_l
        self.pulses = 0
        self.last: float | None = None

    @staticmethod
    def irrigating(now: float) -> bool:
        hour = (now % DAY) / 3600.0
        return any(a <= hour < b for a, b in IRRIGATION_WINDOWS_H)

    def read(self, now: float) -> list[Sample]:
        dt = 0.0 if self.last is None else max(0.0, now - self.last)
        self.last = now
        flow = 0.0
        if self.irrigating(now) and self.tank > 5.0:
            flow = max(0.0, self.rng.gauss(0.12, 0.01))  # l/s, a drip line
        drawn = min(flow * dt, self.tank)
        self.pulses += round(drawn * self.k)  # whole pulses, as the meter counts them
        self.tank -= drawn
        if self.rng.random() < dt / (3 * DAY):  # a rain shower fills the tank
            self.tank = min(self.capacity, self.tank + self.rng.uniform(50.0, 300.0))
        return [Sample("water.flow", round(flow, 4)),
                Sample("water.volume", round(self.pulses / self.k, 3)),
                Sample("water.tank", round(self.tank, 1))]


def parse(o: Options) -> dict[str, float]:
    return {"seed": o.integer("seed", 2),
                "tank_capacity_l": o.number("tank_capacity_l", 1000.0),
                "pulses_per_litre": o.number("pulses_per_litre", 450.0)}


DRIVERS = (Driver(
    type="sim.water", summary="simulated flow meter and rainwater tank",
    parse=parse, open=lambda kw, hw: SimWater(**kw), quantities=lambda kw: SimWater.quantities,
    sample_config=SAMPLE_CONFIG),)
