"""Which quality tests each quantity gets, with its thresholds (docs/signals.md)."""

from __future__ import annotations

import polars as pl

from gateway.signals.quality import PASS, flat_line, gross_range, rate_of_change, spike, worst

PLAUSIBLE: dict[str, tuple[tuple[float, float], tuple[float, float] | None]] = {
    "soil.moisture": ((0.0, 100.0), (1.0, 70.0)),
    "soil.temperature": ((-40.0, 80.0), (-20.0, 50.0)),
    "water.flow": ((0.0, 10.0), (0.0, 2.0)),
    "water.tank": ((0.0, 1e7), None),
    "water.volume": ((0.0, 1e12), None),
    "pv.power": ((0.0, 1e6), None),
    "load.power": ((0.0, 1e6), None),
    "air.temperature": ((-60.0, 60.0), (-30.0, 45.0)),
    "air.humidity": ((0.0, 100.0), None),
    "wind.speed": ((0.0, 75.0), (0.0, 40.0)),
    "solar.radiation": ((0.0, 1500.0), (0.0, 1300.0)),
    "water.ph": ((0.0, 14.0), (4.0, 10.0)),
    "water.ec": ((0.0, 20.0), (0.0, 1.0)),
    "water.nitrate": ((0.0, 1.0), (0.0, 0.5)),
    "water.turbidity": ((0.0, 4000.0), (0.0, 1000.0)),
    "water.do": ((0.0, 0.05), (0.0, 0.02)),
    "battery.voltage": ((0.0, 100.0), None),
    "battery.current": ((-1000.0, 1000.0), None),
}
GAUGES_STUCK = {"soil.moisture", "soil.temperature"}  # a stuck probe repeats itself
# spike (suspect, fail) in the quantity's unit, and the fastest plausible change per second;
# flows, powers and counters jump legitimately and get neither
SPIKES = {"soil.moisture": (5.0, 15.0), "soil.temperature": (3.0, 8.0),
          "air.temperature": (4.0, 10.0), "air.humidity": (15.0, 40.0),
          "water.ph": (0.5, 1.5), "water.ec": (0.02, 0.1), "water.nitrate": (0.01, 0.05),
          "water.do": (0.003, 0.008), "battery.voltage": (1.0, 3.0)}
RATES = {"soil.moisture": 30.0 / 3600, "soil.temperature": 5.0 / 3600,
         "air.temperature": 10.0 / 3600, "water.ph": 1.0 / 3600}


def flags(quantity: str) -> pl.Expr:
    """The worst QARTOD flag of each reading of `quantity` (evaluate per series: `.over`)."""
    if quantity not in PLAUSIBLE:
        return pl.lit(PASS, dtype=pl.Int8)
    sensor, plausible = PLAUSIBLE[quantity]
    v = pl.col("v")
    tests = [gross_range(v, sensor, plausible)]
    if quantity in GAUGES_STUCK:
        tests.append(flat_line(v, 1e-9, 12, 48))
    if quantity in SPIKES:
        tests.append(spike(v, *SPIKES[quantity]))
    if quantity in RATES:  # changes smaller than the spike threshold are noise, not a rate
        tests.append(rate_of_change(v, pl.col("t") / 1000, RATES[quantity], SPIKES[quantity][0]))
    return worst(*tests)
