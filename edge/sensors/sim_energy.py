"""Simulated off-grid energy kit: PV panel, load and a 12 V lead-acid battery.

PV power is a bell curve over daylight scaled by a seeded cloud random walk; load has a base and
noise; battery state of charge integrates PV minus load, and its voltage follows the state of
charge (about 11.9 V empty to 12.8 V full at rest, higher while charging).
"""

from __future__ import annotations

import math
import random

from contract.senml import Kind
from edge.driver import Driver, Options, QuantitySpec, Sample

SAMPLE_CONFIG = """
[[sensors]]
type = "sim.energy"
interval_s = 60
seed = 3
pv_peak_w = 200.0
battery_wh = 1200.0
"""

DAY = 86_400.0
SUNRISE_H, SUNSET_H = 6.0, 20.0


class SimEnergy:
    quantities = (
        QuantitySpec("pv.power", "W", Kind.GAUGE, "PV panel output"),
        QuantitySpec("load.power", "W", Kind.GAUGE, "consumption"),
        QuantitySpec("battery.voltage", "V", Kind.GAUGE, "battery terminal voltage"),
        QuantitySpec("pv.energy", "Wh", Kind.COUNTER, "PV energy since install"),
    )

    def __init__(self, seed: int = 3, pv_peak_w: float = 200.0, battery_wh: float = 1200.0):
        self.rng = random.Random(seed)
        self.peak = pv_peak_w
        self.capacity = battery_wh
        self.soc = 0.7
        self.cloud = 0.8
        self.energy_wh = 0.0
        self.last: float | None = None

    def pv(self, now: float) -> float:
        hour = (now % DAY) / 3600.0
        if not SUNRISE_H < hour < SUNSET_H:
            return 0.0
        sun = math.sin(math.pi * (hour - SUNRISE_H) / (SUNSET_H - SUNRISE_H)) ** 2
        return self.peak * sun * self.cloud

    def read(self, now: float) -> list[Sample]:
        dt = 0.0 if self.last is None else max(0.0, now - self.last)
        self.last = now
        drift = self.rng.gauss(0.0, 0.05 * math.sqrt(dt / 600.0 + 1e-9))
        self.cloud = min(1.0, max(0.15, self.cloud + drift))
        pv = self.pv(now)
        load = max(0.0, 35.0 + self.rng.gauss(0.0, 4.0))
        self.energy_wh += pv * dt / 3600.0
        self.soc = min(1.0, max(0.0, self.soc + (pv - load) * dt / 3600.0 / self.capacity))
        volts = 11.9 + 0.9 * self.soc + (0.6 if pv > load else 0.0)
        return [Sample("pv.power", round(pv, 1)), Sample("load.power", round(load, 1)),
                Sample("battery.voltage", round(volts, 3)),
                Sample("pv.energy", round(self.energy_wh, 3))]


def parse(o: Options) -> dict[str, float]:
    return {"seed": o.integer("seed", 3),
                "pv_peak_w": o.number("pv_peak_w", 200.0),
                "battery_wh": o.number("battery_wh", 1200.0)}


DRIVERS = (Driver(
    type="sim.energy", summary="simulated PV panel, load and battery",
    parse=parse, open=lambda kw, hw: SimEnergy(**kw), quantities=lambda kw: SimEnergy.quantities,
    sample_config=SAMPLE_CONFIG),)
