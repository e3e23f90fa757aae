"""Capacitive soil moisture probe (the common v1.2/v2.0 boards, analog out about 2.8 V in dry
air to 1.3 V in water) read through an ADS1115 ADC.

The voltage is published raw (`soil.moisture_voltage`); volumetric water content
(`soil.moisture`, % VWC) once the probe is calibrated in its soil (two_point: dry and wet).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from contract.senml import Kind
from edge.driver import Driver, Options, QuantitySpec, Sample, vwc_calibration
from edge.sensors.ads1115 import ADCOptions, ADS1115Channel, attach_fake, parse_adc

if TYPE_CHECKING:
    from edge.fakes.hardware import FakeHardware

SAMPLE_CONFIG = """
[[sensors]]
type = "ads1115_soil"
id = "bed-2"          # bed-2.soil.moisture_voltage, bed-2.soil.moisture
bus = 1
address = 0x48        # 0x48-0x4B (ADDR pin)
channel = 0           # A0-A3
gain = 1              # +-4.096 V full scale: the probe swings 1.2..3.0 V
interval_s = 300
"""


class CapacitiveSoil:
    quantities = (QuantitySpec("soil.moisture_voltage", "V", Kind.GAUGE, "probe output",
                               (0.0, 3.6)),)

    def __init__(self, i2c: Any, opts: ADCOptions) -> None:
        self.channel = ADS1115Channel(i2c, opts)

    def read(self, now: float) -> list[Sample]:
        return [Sample("soil.moisture_voltage", round(self.channel.volts(), 4))]


def simulate(opts: ADCOptions, hw: FakeHardware) -> None:
    attach_fake(hw, opts, lambda: 2.05)


def parse(o: Options) -> ADCOptions:
    return parse_adc(o)


CALIBRATION = vwc_calibration("soil.moisture_voltage")

DRIVERS = (Driver(
    type="ads1115_soil", summary="capacitive soil moisture probe through an ADS1115 ADC",
    parse=parse, open=lambda o, hw: CapacitiveSoil(hw.i2c(o.bus), o),
    quantities=lambda o: CapacitiveSoil.quantities, sample_config=SAMPLE_CONFIG,
    simulate=simulate, calibration=CALIBRATION, i2c_addresses=(0x48, 0x49, 0x4A, 0x4B)),)
