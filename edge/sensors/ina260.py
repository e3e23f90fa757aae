"""INA260 DC current / voltage / power monitor with its integrated 2 mOhm shunt (I2C 0x40-0x4F,
up to 15 A), through Adafruit's CircuitPython driver. Datasheet LSBs: current 1.25 mA, bus
voltage 1.25 mV, power 10 mW; manufacturer id 0x5449, die id 0x227.

FakeINA260 is a register model of the chip for tests and simulated hardware.
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
type = "ina260"
id = "battery"       # battery.dc.voltage, battery.dc.current, battery.dc.power
bus = 1
address = 0x40
interval_s = 10
"""

TI_ID, DIE_ID = 0x5449, 0x227
REG_CONFIG, REG_CURRENT, REG_BUS, REG_POWER, REG_MASK = 0x00, 0x01, 0x02, 0x03, 0x06


def scale(raw_current: int, raw_bus: int, raw_power: int) -> tuple[float, float, float]:
    """Register codes to V, A, W (datasheet 8.6). Pure."""
    return raw_bus * 0.00125, raw_current * 0.00125, raw_power * 0.010


class INA260:
    quantities = (
        QuantitySpec("dc.voltage", "V", Kind.GAUGE, "bus voltage", (0.0, 36.0)),
        QuantitySpec("dc.current", "A", Kind.GAUGE, "current", (-15.0, 15.0)),
        QuantitySpec("dc.power", "W", Kind.GAUGE, "power", (0.0, 540.0)),
    )

    def __init__(self, i2c: Any, address: int = 0x40) -> None:
        import adafruit_ina260

        self.where = f"INA260 at 0x{address:02x}"
        try:
            self.chip = adafruit_ina260.INA260(i2c, address)
        except (OSError, RuntimeError, ValueError) as exc:
            raise SensorError(f"{self.where}: {exc}") from exc

    def read(self, now: float) -> list[Sample]:
        try:
            volts, amps, watts = scale(self.chip._raw_current, self.chip._raw_voltage,
                                       self.chip._raw_power)
        except OSError as exc:
            raise SensorError(f"{self.where}: {exc}") from exc
        return [Sample("dc.voltage", round(volts, 5)), Sample("dc.current", round(amps, 5)),
                Sample("dc.power", round(watts, 3))]


@dataclass
class FakeINA260(RegisterDevice):
    volts: float = 13.2
    amps: float = 2.5

    def register(self, reg: int) -> int:
        current = round(self.amps / 0.00125)
        bus = round(self.volts / 0.00125)
        return {REG_CONFIG: self.stored.get(REG_CONFIG, 0x6127), REG_CURRENT: current & 0xFFFF,
                REG_BUS: bus, REG_POWER: round(abs(self.amps * self.volts) / 0.010),
                REG_MASK: 0x0008, 0xFE: TI_ID, 0xFF: DIE_ID << 4}.get(reg, 0)


def parse(o: Options) -> I2CAddress:
    return parse_i2c(o, 0x40, tuple(range(0x40, 0x50)))


def simulate(opts: I2CAddress, hw: FakeHardware) -> None:
    hw.i2c(opts.bus).devices[opts.address] = FakeINA260()


DRIVERS = (Driver(
    type="ina260", summary="INA260 DC voltage / current / power monitor, 15 A (I2C 0x40-0x4F)",
    parse=parse, open=lambda o, hw: INA260(hw.i2c(o.bus), o.address),
    quantities=lambda o: INA260.quantities, sample_config=SAMPLE_CONFIG, simulate=simulate,
    i2c_addresses=tuple(range(0x40, 0x50)),
    identify=lambda i2c, a: ti_ids(i2c, a) == (TI_ID, DIE_ID << 4)),)
