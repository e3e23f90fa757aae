"""Adafruit STEMMA soil sensor (I2C, 0x36-0x39): a seesaw microcontroller measuring capacitive
moisture as a count (about 200 in dry air to 2000 in water) and its own temperature. Read
through Adafruit's seesaw driver.

The moisture count is not water content: it depends on the soil. It is published raw
(`soil.moisture_raw`), and as volumetric water content (`soil.moisture`, % VWC) only once the
probe has been calibrated in this soil (two_point: dry and wet of known water content).

FakeSeesaw models the firmware's register interface (status and touch modules).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contract.senml import Kind
from edge.driver import (
    Driver,
    I2CAddress,
    Options,
    QuantitySpec,
    Sample,
    i2c_read,
    parse_i2c,
    vwc_calibration,
)
from edge.errors import SensorError

if TYPE_CHECKING:
    from edge.fakes.hardware import FakeHardware

SAMPLE_CONFIG = """
[[sensors]]
type = "seesaw_soil"
id = "bed-1"          # bed-1.soil.moisture_raw, bed-1.soil.moisture, bed-1.soil.temperature
bus = 1
address = 0x36        # 0x36-0x39 with the address jumpers
interval_s = 300
"""

STATUS_BASE, TOUCH_BASE = 0x00, 0x0F
STATUS_HW_ID, STATUS_VERSION, STATUS_TEMP, STATUS_SWRST = 0x01, 0x02, 0x04, 0x7F
TOUCH_CHANNEL_OFFSET = 0x10
SAMD09_HW_ID = 0x55
PRODUCT_ID = 4026  # Adafruit STEMMA soil sensor


def temperature_c(raw32: int) -> float:
    """The status module's temperature: 16.16 fixed point, top two bits unused. Pure."""
    return (raw32 & 0x3FFFFFFF) / 65536.0


class SeesawSoil:
    quantities = (
        QuantitySpec("soil.moisture_raw", "count", Kind.GAUGE, "capacitive count", (0, 4095)),
        QuantitySpec("soil.temperature", "Cel", Kind.GAUGE, "chip temperature", (-40.0, 85.0)),
    )

    def __init__(self, i2c: Any, address: int = 0x36) -> None:
        from adafruit_seesaw.seesaw import Seesaw

        self.address = address
        try:
            self.chip = Seesaw(i2c, addr=address)
        except (OSError, RuntimeError, ValueError) as exc:
            raise SensorError(f"seesaw soil sensor at 0x{address:02x}: {exc}") from exc

    def read(self, now: float) -> list[Sample]:
        try:
            count = self.chip.moisture_read()
            celsius = self.chip.get_temp()
        except (OSError, RuntimeError) as exc:
            raise SensorError(f"seesaw soil sensor at 0x{self.address:02x}: {exc}") from exc
        return [Sample("soil.moisture_raw", float(count)),
                Sample("soil.temperature", round(celsius, 2))]


@dataclass
class FakeSeesaw:
    """The seesaw firmware's register protocol: write [module, register], then read."""

    count: int = 620
    celsius: float = 14.5
    hw_id: int = SAMD09_HW_ID
    reg: tuple[int, int] = (0, 0)
    resets: int = 0

    def write(self, data: bytes) -> None:
        if len(data) >= 2:
            self.reg = (data[0], data[1])
            if self.reg == (STATUS_BASE, STATUS_SWRST):
                self.resets += 1

    def read(self, length: int) -> bytes:
        if self.reg == (STATUS_BASE, STATUS_HW_ID):
            out = bytes([self.hw_id])
        elif self.reg == (STATUS_BASE, STATUS_VERSION):
            out = struct.pack(">I", (PRODUCT_ID << 16) | 0x1234)
        elif self.reg == (STATUS_BASE, STATUS_TEMP):
            out = struct.pack(">I", round(self.celsius * 65536) & 0x3FFFFFFF)
        elif self.reg == (TOUCH_BASE, TOUCH_CHANNEL_OFFSET):
            out = struct.pack(">H", self.count & 0xFFFF)
        else:
            out = b""
        return (out + bytes(length))[:length]


def parse(o: Options) -> I2CAddress:
    return parse_i2c(o, 0x36, (0x36, 0x37, 0x38, 0x39))


def simulate(opts: I2CAddress, hw: FakeHardware) -> None:
    hw.i2c(opts.bus).devices[opts.address] = FakeSeesaw()


def identify(i2c: Any, address: int) -> bool:
    version = i2c_read(i2c, address, bytes([STATUS_BASE, STATUS_VERSION]), 4)
    return struct.unpack(">I", version)[0] >> 16 == PRODUCT_ID


CALIBRATION = vwc_calibration("soil.moisture_raw")

DRIVERS = (Driver(
    type="seesaw_soil", summary="Adafruit STEMMA capacitive soil sensor (seesaw, I2C 0x36)",
    parse=parse, open=lambda o, hw: SeesawSoil(hw.i2c(o.bus), o.address),
    quantities=lambda o: SeesawSoil.quantities, sample_config=SAMPLE_CONFIG, simulate=simulate,
    calibration=CALIBRATION, i2c_addresses=(0x36, 0x37, 0x38, 0x39), identify=identify),)
