"""INA219 DC current / power monitor (I2C, default address 0x40), through Adafruit's
CircuitPython driver. Used on a PV panel, a battery or a load with the breakout's 0.1 ohm shunt
(calibration "32 V, 2 A": current LSB 0.1 mA, power LSB 2 mW).

Also holds FakeINA219, a register-level model of the chip (datasheet section 8.6) that drives the
real driver code in tests and with simulated hardware.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contract.senml import Kind
from edge.driver import Driver, I2CAddress, Options, QuantitySpec, Sample, parse_i2c, ti_ids
from edge.errors import SensorError
from edge.fakes.i2c import RegisterDevice

if TYPE_CHECKING:
    from edge.fakes.hardware import FakeHardware

SAMPLE_CONFIG = """
[[sensors]]
type = "ina219"
id = "pv"            # quantity names: pv.dc.voltage, pv.dc.current, pv.dc.power
bus = 1              # /dev/i2c-1
address = 0x40
interval_s = 10
"""

REG_CONFIG, REG_SHUNT, REG_BUS, REG_POWER, REG_CURRENT, REG_CALIBRATION = range(6)


def scale(bus_voltage_v: float, current_ma: float, power_w: float) -> tuple[float, float, float]:
    """Driver units to SenML units (V, A, W). Pure."""
    return bus_voltage_v, current_ma / 1000.0, power_w


class INA219:
    quantities = (
        QuantitySpec("dc.voltage", "V", Kind.GAUGE, "bus voltage", (0.0, 26.0)),
        QuantitySpec("dc.current", "A", Kind.GAUGE, "current through the shunt", (-3.2, 3.2)),
        QuantitySpec("dc.power", "W", Kind.GAUGE, "power", (0.0, 83.2)),
    )

    def __init__(self, i2c_bus: Any, address: int = 0x40) -> None:
        import adafruit_ina219

        self.address = address
        try:
            self.chip = adafruit_ina219.INA219(i2c_bus, address)
        except (OSError, ValueError) as exc:
            raise SensorError(f"INA219 at 0x{address:02x}: {exc}") from exc

    def read(self, now: float) -> list[Sample]:
        try:
            if self.chip.overflow:
                raise SensorError(f"INA219 at 0x{self.address:02x}: math overflow (current beyond "
                                  "the shunt's range); no value rather than a wrong one")
            volts, amps, watts = scale(self.chip.bus_voltage, self.chip.current, self.chip.power)
        except OSError as exc:
            raise SensorError(f"INA219 at 0x{self.address:02x}: {exc}") from exc
        return [Sample("dc.voltage", round(volts, 3)), Sample("dc.current", round(amps, 5)),
                Sample("dc.power", round(watts, 4))]


@dataclass
class FakeINA219(RegisterDevice):
    """Registers computed from physical state as the datasheet defines them."""

    volts: float = 12.0
    amps: float = 0.5
    shunt_ohms: float = 0.1

    def register(self, reg: int) -> int:
        shunt = round(self.amps * self.shunt_ohms / 10e-6)  # LSB 10 uV, two's complement
        bus = round(self.volts / 0.004)  # LSB 4 mV, bits 15..3
        overflow = abs(shunt) > 32000  # the PGA's 320 mV range
        cal = self.stored.get(REG_CALIBRATION, 0)
        current = shunt * cal // 4096
        values = {
            REG_CONFIG: self.stored.get(REG_CONFIG, 0x399F),
            REG_SHUNT: shunt & 0xFFFF,
            REG_BUS: (bus << 3) | 0b10 | int(overflow),  # CNVR set, OVF
            REG_POWER: abs(current) * bus // 5000,
            REG_CURRENT: current & 0xFFFF,
            REG_CALIBRATION: cal,
        }
        return values.get(reg, 0)


def parse(o: Options) -> I2CAddress:
    return parse_i2c(o, 0x40, tuple(range(0x40, 0x50)))


def simulate(opts: I2CAddress, hw: FakeHardware) -> None:
    hw.i2c(opts.bus).devices[opts.address] = FakeINA219(volts=13.1, amps=0.8)


def identify(i2c: Any, address: int) -> bool:
    # no id register: TI's INA260/INA3221 answer 0x5449 at 0xFE, the INA219 does not
    return ti_ids(i2c, address)[0] != 0x5449


DRIVERS = (Driver(
    type="ina219", summary="INA219 DC voltage / current / power monitor (I2C 0x40-0x4F)",
    parse=parse, open=lambda o, hw: INA219(hw.i2c(o.bus), o.address),
    quantities=lambda o: INA219.quantities, sample_config=SAMPLE_CONFIG, simulate=simulate,
    i2c_addresses=tuple(range(0x40, 0x50)), identify=identify),)
