"""S0 pulse output of a kWh meter (DIN 43864 / EN 62053-31) on a GPIO, counted with gpiozero.

The meter's constant (impulses per kWh, printed on it: 1000, 2000, 800...) is configuration, not
calibration. Energy is a counter in Wh since start; power is the mean over the last interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from contract.senml import Kind
from edge.driver import Driver, Options, QuantitySpec, Sample
from edge.hardware import Hardware
from edge.sensors.pulses import PulseCounter, PulseOptions, RateTracker, parse_pulses

if TYPE_CHECKING:
    from edge.fakes.hardware import FakeHardware

SAMPLE_CONFIG = """
[[sensors]]
type = "s0_pulse"
id = "grid"             # grid.energy, grid.power
pin = 27                # BCM; S0+ to 3.3 V, S0- to the pin, internal pull-down off
pull_up = false         # the S0 transistor pulls the line high on each impulse
impulses_per_kwh = 1000
interval_s = 60
"""


@dataclass(frozen=True)
class S0Options:
    pulses: PulseOptions
    impulses_per_kwh: float


class S0Meter:
    quantities = (
        QuantitySpec("energy", "Wh", Kind.COUNTER, "energy since start"),
        QuantitySpec("power", "W", Kind.GAUGE, "mean power over the interval", (0.0, 50_000.0)),
    )

    def __init__(self, opts: S0Options, hw: Hardware) -> None:
        self.wh_per_pulse = 1000.0 / opts.impulses_per_kwh
        self.counter = PulseCounter(opts.pulses, hw.pin_factory())
        self.rates = RateTracker()

    def read(self, now: float) -> list[Sample]:
        count = self.counter.total()
        out = [Sample("energy", round(count * self.wh_per_pulse, 4))]
        if (rate := self.rates.rate(now, count)) is not None:
            out.append(Sample("power", round(rate * self.wh_per_pulse * 3600.0, 2)))
        return out

    def close(self) -> None:
        self.counter.close()


def parse(o: Options) -> S0Options:
    return S0Options(parse_pulses(o, 10.0), o.number("impulses_per_kwh", low=1.0, high=100_000.0))


def simulate(opts: S0Options, hw: FakeHardware) -> None:
    hw.pulse(opts.pulses.pin, 450.0 * opts.impulses_per_kwh / 3.6e6)  # a 450 W household


DRIVERS = (Driver(
    type="s0_pulse", summary="kWh meter S0 pulse output on a GPIO",
    parse=parse, open=lambda o, hw: S0Meter(o, hw), quantities=lambda o: S0Meter.quantities,
    sample_config=SAMPLE_CONFIG, simulate=simulate),)
