"""INA3221 three-channel DC voltage / current monitor (I2C 0x40-0x43): PV panel, battery and load
on one chip. Through Adafruit's CircuitPython driver; power is computed here (V x I), the chip
has no power register. Datasheet LSBs: shunt 40 uV, bus 8 mV, both left-aligned by 3 bits;
manufacturer id 0x5449, die id 0x3220.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from contract.senml import Kind
from edge.driver import Driver, Options, QuantitySpec, Sample, ti_ids
from edge.errors import SensorError
from edge.fakes.i2c import RegisterDevice

if TYPE_CHECKING:
    from edge.fakes.hardware import FakeHardware

SAMPLE_CONFIG = """
[[sensors]]
type = "ina3221"
bus = 1
address = 0x40
channels = ["pv", "battery", "load"]   # names of channels 1..3; "" leaves a channel off
shunt_ohms = 0.1                       # the breakout's shunts
interval_s = 10
"""

TI_ID, DIE_ID = 0x5449, 0x3220
SHUNT_LSB, BUS_LSB = 40e-6, 8e-3


def shunt_code(volts: float) -> int:
    """Register content for a shunt voltage: two's complement, 3 bits left. Pure."""
    return (round(volts / SHUNT_LSB) << 3) & 0xFFFF


@dataclass(frozen=True)
class INA3221Options:
    bus: int
    address: int
    channels: tuple[str, ...]
    shunt_ohms: float


def quantities(o: INA3221Options) -> tuple[QuantitySpec, ...]:
    out: list[QuantitySpec] = []
    max_a = 0.1638 / o.shunt_ohms
    for name in o.channels:
        if name:
            out += [QuantitySpec(f"{name}.dc.voltage", "V", Kind.GAUGE, "bus voltage", (0.0, 26.0)),
                    QuantitySpec(f"{name}.dc.current", "A", Kind.GAUGE, "current", (-max_a, max_a)),
                    QuantitySpec(f"{name}.dc.power", "W", Kind.GAUGE, "V x I",
                                 (-26.0 * max_a, 26.0 * max_a))]
    return tuple(out)


class INA3221:
    def __init__(self, i2c: Any, opts: INA3221Options) -> None:
        import adafruit_ina3221

        self.opts = opts
        self.where = f"INA3221 at 0x{opts.address:02x}"
        self.quantities = quantities(opts)
        try:
            self.chip = adafruit_ina3221.INA3221(
                i2c, opts.address, enable=[i for i, n in enumerate(opts.channels) if n])
            if self.chip.manufacturer_id != TI_ID or self.chip.die_id != DIE_ID:
                raise SensorError(f"{self.where}: not an INA3221 (ids 0x{self.chip.manufacturer_id:04x}"
                                  f"/0x{self.chip.die_id:04x})")
            for ch in self.chip.channels:
                ch.shunt_resistance = opts.shunt_ohms
        except (OSError, TypeError, ValueError) as exc:  # the library returns None on I2C
            raise SensorError(f"{self.where}: no answer ({exc})") from exc  # errors: TypeError

    def read(self, now: float) -> list[Sample]:
        out = []
        try:
            for i, name in enumerate(self.opts.channels):
                if not name:
                    continue
                ch = self.chip[i]
                volts, amps = ch.bus_voltage, ch.current / 1000.0
                out += [Sample(f"{name}.dc.voltage", round(volts, 3)),
                        Sample(f"{name}.dc.current", round(amps, 5)),
                        Sample(f"{name}.dc.power", round(volts * amps, 4))]
        except (OSError, TypeError) as exc:
            raise SensorError(f"{self.where}: no answer ({exc})") from exc
        return out


@dataclass
class FakeINA3221(RegisterDevice):
    """channels: (bus volts, shunt volts) per channel 1..3."""

    channels: list[tuple[float, float]] = field(
        default_factory=lambda: [(18.2, 0.045), (13.1, -0.012), (13.0, 0.030)])

    def register(self, reg: int) -> int:
        if 1 <= reg <= 6:
            bus_v, shunt_v = self.channels[(reg - 1) // 2]
            return shunt_code(shunt_v) if reg % 2 else (round(bus_v / BUS_LSB) << 3) & 0xFFFF
        return {0x00: self.stored.get(0, 0x7127), 0xFE: TI_ID, 0xFF: DIE_ID}.get(reg, 0)


def parse(o: Options) -> INA3221Options:
    channels = o.get("channels", list, ["ch1", "ch2", "ch3"])
    if len(channels) != 3 or not all(isinstance(c, str) for c in channels):
        raise ValueError("channels: three names (use \"\" for an unused channel)")
    return INA3221Options(o.integer("bus", 1, low=0),
                          o.integer("address", 0x40, low=0x40, high=0x43), tuple(channels),
                          o.number("shunt_ohms", 0.1, low=0.0001, high=100.0))


def simulate(opts: INA3221Options, hw: FakeHardware) -> None:
    hw.i2c(opts.bus).devices[opts.address] = FakeINA3221()


DRIVERS = (Driver(
    type="ina3221", summary="INA3221 three-channel DC voltage / current monitor (I2C 0x40-0x43)",
    parse=parse, open=lambda o, hw: INA3221(hw.i2c(o.bus), o), quantities=quantities,
    sample_config=SAMPLE_CONFIG, simulate=simulate, i2c_addresses=(0x40, 0x41, 0x42, 0x43),
    identify=lambda i2c, a: ti_ids(i2c, a) == (TI_ID, DIE_ID)),)
