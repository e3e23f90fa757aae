"""YF-S201-style hall-effect water flow sensor on a GPIO (pulses counted with gpiozero).

Datasheet: F [Hz] = 7.5 x Q [l/min], i.e. about 450 pulses per litre; individual sensors differ
by +-10 %, so the K-factor is calibrated (k_factor: pulses counted while a known volume flows).
Raw: `water.pulses` (count since start) and `water.pulse_rate` (Hz); calibrated: `water.volume`
(l, counter) and `water.flow` (l/s).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contract.senml import Kind
from edge.driver import CalibrationSpec, Driver, Output, QuantitySpec, Sample
from edge.hardware import Hardware
from edge.sensors.pulses import PulseCounter, PulseOptions, RateTracker, parse_pulses

if TYPE_CHECKING:
    from edge.fakes.hardware import FakeHardware

SAMPLE_CONFIG = """
[[sensors]]
type = "yf_s201"
id = "irrigation"     # irrigation.water.volume, irrigation.water.flow (+ raw pulses)
pin = 17              # BCM numbering; the signal through a 5 V -> 3.3 V divider
interval_s = 60
"""

NOMINAL_PULSES_PER_LITRE = 450.0


class FlowMeter:
    quantities = (
        QuantitySpec("water.pulses", "count", Kind.COUNTER, "pulses since start"),
        QuantitySpec("water.pulse_rate", "Hz", Kind.GAUGE, "pulse frequency", (0.0, 250.0)),
    )

    def __init__(self, opts: PulseOptions, hw: Hardware) -> None:
        self.counter = PulseCounter(opts, hw.pin_factory())
        self.rates = RateTracker()

    def read(self, now: float) -> list[Sample]:
        count = self.counter.total()
        out = [Sample("water.pulses", float(count))]
        if (rate := self.rates.rate(now, count)) is not None:
            out.append(Sample("water.pulse_rate", round(rate, 4)))
        return out

    def close(self) -> None:
        self.counter.close()


def simulate(opts: PulseOptions, hw: FakeHardware) -> None:
    hw.pulse(opts.pin, 30.0)  # 4 l/min: a drip line running


CALIBRATION = CalibrationSpec(
    methods=("k_factor",), raw="water.pulses",
    reference="litres that flowed through the sensor (a bucket of known volume)",
    outputs=(Output("water.pulses", QuantitySpec("water.volume", "l", Kind.COUNTER,
                                                 "litres since start")),
             Output("water.pulse_rate", QuantitySpec("water.flow", "l/s", Kind.GAUGE,
                                                     "flow rate", (0.0, 0.5)))),
    nominal=(1.0 / NOMINAL_PULSES_PER_LITRE, 0.0))

DRIVERS = (Driver(
    type="yf_s201", summary="YF-S201 hall-effect flow sensor on a GPIO (pulses, ~450/l)",
    parse=lambda o: parse_pulses(o, None), open=lambda o, hw: FlowMeter(o, hw),
    quantities=lambda o: FlowMeter.quantities, sample_config=SAMPLE_CONFIG, simulate=simulate,
    calibration=CALIBRATION),)
