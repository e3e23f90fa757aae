"""DFRobot-style analog TDS probe (Gravity TDS meter) read through an ADS1115 ADC.

Conversion as in DFRobot's GravityTDS library: with v the probe voltage and T the water
temperature,
    EC25 [uS/cm] = k * (133.42 v^3 - 255.86 v^2 + 857.39 v) / (1 + 0.02 (T - 25))
    TDS  [ppm]   = 0.5 * EC25
The compensated, uncalibrated EC is published raw (`water.ec_raw`, S/m); `water.ec` and
`water.tds` apply the calibration's k (k_factor against a standard solution; nominal k = 1).
The temperature comes from another quantity of this node (`temperature_from`), else the fixed
`temperature`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from contract.senml import Kind
from edge.driver import CalibrationSpec, Driver, Options, Output, QuantitySpec, Sample
from edge.hardware import Hardware
from edge.sensors.ads1115 import ADCOptions, ADS1115Channel, attach_fake, parse_adc

if TYPE_CHECKING:
    from edge.fakes.hardware import FakeHardware

SAMPLE_CONFIG = """
[[sensors]]
type = "dfrobot_tds"
id = "tank"                         # tank.water.ec_raw, tank.water.ec, tank.water.tds
bus = 1
address = 0x48
channel = 1
temperature_from = "tank.temperature"   # a DS18B20 in the same water; else `temperature`
temperature = 20.0                  # degC, used until / unless temperature_from has a value
interval_s = 600
"""

US_PER_CM = 1e-4  # S/m


def ec25_us_cm(v: float, celsius: float) -> float:
    """Temperature-compensated EC of the probe voltage, k = 1 (DFRobot's polynomial). Pure."""
    return (133.42 * v**3 - 255.86 * v**2 + 857.39 * v) / (1.0 + 0.02 * (celsius - 25.0))


@dataclass(frozen=True)
class TDSOptions:
    adc: ADCOptions
    temperature_from: str | None
    temperature: float


class TDSProbe:
    quantities = (QuantitySpec("water.ec_raw", "S/m", Kind.GAUGE,
                               "compensated EC before calibration", (0.0, 0.5)),)

    def __init__(self, hw: Hardware, opts: TDSOptions) -> None:
        self.hw, self.opts = hw, opts
        self.channel = ADS1115Channel(hw.i2c(opts.adc.bus), opts.adc)

    def read(self, now: float) -> list[Sample]:
        v = self.channel.volts()
        t = self.opts.temperature
        if self.opts.temperature_from is not None:
            t = self.hw.latest.get(self.opts.temperature_from, t)
        return [Sample("water.ec_raw", round(max(0.0, ec25_us_cm(v, t)) * US_PER_CM, 7))]


def parse(o: Options) -> TDSOptions:
    return TDSOptions(parse_adc(o), o.get("temperature_from", str, None),
                      o.number("temperature", 25.0, low=-5.0, high=60.0))


def simulate(opts: TDSOptions, hw: FakeHardware) -> None:
    attach_fake(hw, opts.adc, lambda: 0.62)  # about 470 uS/cm: typical rainwater-tap mix


CALIBRATION = CalibrationSpec(
    methods=("k_factor",), raw="water.ec_raw",
    reference="EC of the standard solution the probe is in, S/m (1413 uS/cm = 0.1413 S/m)",
    outputs=(
        Output("water.ec_raw", QuantitySpec("water.ec", "S/m", Kind.GAUGE,
                                            "electrical conductivity at 25 degC", (0.0, 0.5))),
        Output("water.ec_raw", QuantitySpec("water.tds", "ppm", Kind.GAUGE,
                                            "total dissolved solids (0.5 x EC25 in uS/cm)",
                                            (0.0, 2500.0)), factor=0.5 / US_PER_CM)),
    nominal=(1.0, 0.0))

DRIVERS = (Driver(
    type="dfrobot_tds", summary="DFRobot-style analog TDS / EC probe through an ADS1115 ADC",
    parse=parse, open=lambda o, hw: TDSProbe(hw, o), quantities=lambda o: TDSProbe.quantities,
    sample_config=SAMPLE_CONFIG, simulate=simulate, calibration=CALIBRATION),)
