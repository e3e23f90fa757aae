"""Bosch BME280 air temperature, humidity and pressure (I2C 0x76/0x77), through Adafruit's
CircuitPython driver; the inputs of the evapotranspiration signals.

`compensate` is the datasheet's floating-point compensation (BME280 datasheet section 8.1,
BMP280 section 8.1 for T and P): FakeBME280 inverts it to produce the raw ADC codes for a given
air state, and the tests check the driver's output against it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from contract.senml import Kind
from edge.driver import Driver, I2CAddress, Options, QuantitySpec, Sample, i2c_read, parse_i2c
from edge.errors import SensorError
from edge.fakes.i2c import ByteRegisterDevice

if TYPE_CHECKING:
    from edge.fakes.hardware import FakeHardware

SAMPLE_CONFIG = """
[[sensors]]
type = "bme280"
id = "air"           # air.temperature, air.humidity, air.pressure
bus = 1
address = 0x77       # 0x76 with SDO to ground
interval_s = 300
"""

CHIP_ID = 0x60


@dataclass(frozen=True)
class Trim:
    """Factory trimming parameters (registers 0x88-0xA1, 0xE1-0xE7)."""

    t: tuple[int, int, int] = (27504, 26435, -1000)  # the datasheet's worked example
    p: tuple[int, ...] = (36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000)
    h: tuple[int, ...] = (75, 362, 0, 313, 50, 30)  # H1..H6 of a production part

    def registers(self) -> dict[int, int]:
        block = struct.pack("<HhhHhhhhhhhh", *self.t, *self.p)
        h1, h2, h3, h4, h5, h6 = self.h
        hum = struct.pack("<hB", h2, h3) + bytes([(h4 >> 4) & 0xFF, (h4 & 0xF) | ((h5 & 0xF) << 4),
                                                   (h5 >> 4) & 0xFF]) + struct.pack("<b", h6)
        regs = {0x88 + i: b for i, b in enumerate(block)}
        regs[0xA1] = h1
        regs.update({0xE1 + i: b for i, b in enumerate(hum)})
        return regs


def compensate(adc_t: int, adc_p: int, adc_h: int, trim: Trim = Trim()) -> tuple[float, float, float]:
    """(degC, Pa, %RH) from raw ADC codes: the datasheet's double-precision formulas. Pure."""
    t1, t2, t3 = trim.t
    v1 = (adc_t / 16384.0 - t1 / 1024.0) * t2
    v2 = (adc_t / 131072.0 - t1 / 8192.0) ** 2 * t3
    t_fine = v1 + v2
    celsius = t_fine / 5120.0
    p1, p2, p3, p4, p5, p6, p7, p8, p9 = trim.p
    v1 = t_fine / 2.0 - 64000.0
    v2 = v1 * v1 * p6 / 32768.0 + v1 * p5 * 2.0
    v2 = v2 / 4.0 + p4 * 65536.0
    v1 = (p3 * v1 * v1 / 524288.0 + p2 * v1) / 524288.0
    v1 = (1.0 + v1 / 32768.0) * p1
    pa = 0.0
    if v1:
        pa = 1048576.0 - adc_p
        pa = (pa - v2 / 4096.0) * 6250.0 / v1
        pa += (p9 * pa * pa / 2147483648.0 + pa * p8 / 32768.0 + p7) / 16.0
    h1, h2, h3, h4, h5, h6 = trim.h
    h = t_fine - 76800.0
    h = (adc_h - (h4 * 64.0 + h5 / 16384.0 * h)) * (
        h2 / 65536.0 * (1.0 + h6 / 67108864.0 * h * (1.0 + h3 / 67108864.0 * h)))
    h *= 1.0 - h1 * h / 524288.0
    return celsius, pa, min(100.0, max(0.0, h))


def _invert(f: Any, target: float, increasing: bool) -> int:
    lo, hi = 0, (1 << 20) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if (f(mid) < target) == increasing:
            lo = mid + 1
        else:
            hi = mid
    return lo


@dataclass
class FakeBME280(ByteRegisterDevice):
    celsius: float = 17.5
    pascal: float = 101_200.0
    rh: float = 62.0
    trim: Trim = field(default_factory=Trim)

    def __post_init__(self) -> None:
        self.memory.update(self.trim.registers())
        self.memory[0xD0] = CHIP_ID

    def raw(self) -> tuple[int, int, int]:
        adc_t = _invert(lambda a: compensate(a, 0, 0, self.trim)[0], self.celsius, True)
        adc_p = _invert(lambda a: compensate(adc_t, a, 0, self.trim)[1], self.pascal, False)
        adc_h = _invert(lambda a: compensate(adc_t, 0, a, self.trim)[2], self.rh, True) & 0xFFFF
        return adc_t, adc_p, adc_h

    def byte(self, reg: int) -> int:
        if 0xF7 <= reg <= 0xFE:
            adc_t, adc_p, adc_h = self.raw()
            data = ((adc_p << 4).to_bytes(3, "big") + (adc_t << 4).to_bytes(3, "big")
                    + adc_h.to_bytes(2, "big"))
            return data[reg - 0xF7]
        if reg == 0xF3:
            return 0  # status: not measuring
        return self.memory.get(reg, 0)


class BME280:
    quantities = (
        QuantitySpec("temperature", "Cel", Kind.GAUGE, "air temperature", (-40.0, 85.0)),
        QuantitySpec("humidity", "%RH", Kind.GAUGE, "relative humidity", (0.0, 100.0)),
        QuantitySpec("pressure", "Pa", Kind.GAUGE, "air pressure", (30_000.0, 110_000.0)),
    )

    def __init__(self, i2c: Any, address: int = 0x77) -> None:
        from adafruit_bme280.basic import Adafruit_BME280_I2C

        self.where = f"BME280 at 0x{address:02x}"
        try:
            self.chip = Adafruit_BME280_I2C(i2c, address)
        except (OSError, RuntimeError, ValueError) as exc:
            raise SensorError(f"{self.where}: {exc}") from exc

    def read(self, now: float) -> list[Sample]:
        try:
            celsius, hpa, rh = (self.chip.temperature, self.chip.pressure,
                                self.chip.relative_humidity)
        except OSError as exc:
            raise SensorError(f"{self.where}: {exc}") from exc
        if hpa is None or rh is None:
            raise SensorError(f"{self.where}: no pressure / humidity (measurement skipped)")
        return [Sample("temperature", round(celsius, 2)), Sample("humidity", round(rh, 2)),
                Sample("pressure", round(hpa * 100.0, 1))]


def parse(o: Options) -> I2CAddress:
    return parse_i2c(o, 0x77, (0x76, 0x77))


def simulate(opts: I2CAddress, hw: FakeHardware) -> None:
    hw.i2c(opts.bus).devices[opts.address] = FakeBME280()


DRIVERS = (Driver(
    type="bme280", summary="BME280 air temperature, humidity and pressure (I2C 0x76/0x77)",
    parse=parse, open=lambda o, hw: BME280(hw.i2c(o.bus), o.address),
    quantities=lambda o: BME280.quantities, sample_config=SAMPLE_CONFIG, simulate=simulate,
    i2c_addresses=(0x76, 0x77), identify=lambda i2c, a: i2c_read(i2c, a, 0xD0, 1)[0] == CHIP_ID),)
