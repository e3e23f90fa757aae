"""Simulated water-quality probes in a rain tank or pond: pH, electrical conductivity, turbidity,
nitrate and dissolved oxygen (seeded, slowly drifting, dissolved oxygen following the day's
warmth, turbidity rising after a stir-up and settling)."""

from __future__ import annotations

import random

from contract.senml import Kind
from edge.driver import Driver, QuantitySpec, Sample
from edge.sensors.sim_soil import diurnal

SAMPLE_CONFIG = """
[[sensors]]
type = "sim.water_quality"
id = "tank"          # tank.water.ph, .ec, .turbidity, .nitrate, .do
interval_s = 600
seed = 5
"""


class SimWaterQuality:
    quantities = (
        QuantitySpec("water.ph", "pH", Kind.GAUGE, "pH", (0.0, 14.0)),
        QuantitySpec("water.ec", "S/m", Kind.GAUGE, "electrical conductivity at 25 C"),
        QuantitySpec("water.turbidity", "NTU", Kind.GAUGE, "turbidity", (0.0, 4000.0)),
        QuantitySpec("water.nitrate", "kg/m3", Kind.GAUGE, "nitrate (as NO3-)"),
        QuantitySpec("water.do", "kg/m3", Kind.GAUGE, "dissolved oxygen"),
    )

    def __init__(self, seed: int = 5) -> None:
        self.rng = random.Random(seed)
        self.ph, self.ec, self.nitrate = 6.8, 0.012, 0.008  # rainwater: soft, slightly acid
        self.turbidity = 1.5

    def read(self, now: float) -> list[Sample]:
        self.ph = min(8.0, max(5.8, self.ph + self.rng.gauss(0.0, 0.01)))
        self.ec = min(0.05, max(0.002, self.ec + self.rng.gauss(0.0, 0.0002)))
        self.nitrate = min(0.03, max(0.001, self.nitrate + self.rng.gauss(0.0, 0.0002)))
        do = diurnal(now, 0.0085, 0.0015, 16.0) + self.rng.gauss(0.0, 0.0001)
        if self.rng.random() < 0.01:  # a storm stirs the sediment up
            self.turbidity += self.rng.uniform(5.0, 20.0)
        self.turbidity = max(0.3, self.turbidity * 0.97 + self.rng.gauss(0.0, 0.05))
        return [Sample("water.ph", round(self.ph, 2)), Sample("water.ec", round(self.ec, 5)),
                Sample("water.turbidity", round(self.turbidity, 2)),
                Sample("water.nitrate", round(self.nitrate, 5)), Sample("water.do", round(do, 5))]


DRIVERS = (Driver(
    type="sim.water_quality",
    summary="simulated water quality: pH, EC, turbidity, nitrate, dissolved oxygen",
    parse=lambda o: {"seed": o.integer("seed", 5)}, open=lambda kw, hw: SimWaterQuality(**kw),
    quantities=lambda kw: SimWaterQuality.quantities, sample_config=SAMPLE_CONFIG),)
