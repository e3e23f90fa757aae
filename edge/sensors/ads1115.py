"""Shared by the drivers that read an analog probe through an ADS1115 16-bit ADC (I2C 0x48-0x4B):
the channel options, the read through Adafruit's ADS1x15 driver, and FakeADS1115, a register
model of the converter (datasheet section 9.6: config register 0x01, conversion register 0x00,
single-shot conversions started by the OS bit, two's-complement codes of FSR / 32768)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edge.driver import Options
from edge.errors import SensorError
from edge.fakes.i2c import RegisterDevice

REG_CONVERSION, REG_CONFIG = 0x00, 0x01
GAIN_FSR = {2 / 3: 6.144, 1: 4.096, 2: 2.048, 4: 1.024, 8: 0.512, 16: 0.256}
PGA_BITS = {0: 6.144, 1: 4.096, 2: 2.048, 3: 1.024, 4: 0.512, 5: 0.256, 6: 0.256, 7: 0.256}


def volts(code: int, fsr: float) -> float:
    """Datasheet: one LSB is FSR / 2^15. Pure."""
    return code * fsr / 32768


@dataclass(frozen=True)
class ADCOptions:
    bus: int
    address: int
    channel: int
    gain: float


def parse_adc(o: Options, default_gain: float = 1) -> ADCOptions:
    gain = o.number("gain", default_gain)
    if gain not in GAIN_FSR:
        raise ValueError(f"gain: {gain} is not an ADS1115 gain ({', '.join(map(str, GAIN_FSR))})")
    return ADCOptions(o.integer("bus", 1, low=0), o.integer("address", 0x48, low=0x48, high=0x4B),
                      o.integer("channel", 0, low=0, high=3), gain)


class ADS1115Channel:
    """One single-ended input: volts, or SensorError."""

    def __init__(self, i2c: Any, opts: ADCOptions) -> None:
        from adafruit_ads1x15 import ADS1115, AnalogIn

        self.where = f"ADS1115 at 0x{opts.address:02x} channel A{opts.channel}"
        try:
            self.adc = ADS1115(i2c, gain=opts.gain, address=opts.address)
            self.input = AnalogIn(self.adc, opts.channel)
        except (OSError, ValueError) as exc:
            raise SensorError(f"{self.where}: {exc}") from exc

    def volts(self) -> float:
        try:
            return float(self.input.voltage)
        except OSError as exc:
            raise SensorError(f"{self.where}: {exc}") from exc


@dataclass
class FakeADS1115(RegisterDevice):
    """Inputs A0..A3 are functions of nothing returning volts; conversions clip at the PGA's
    full scale as the chip's do. `busy_polls` makes the OS bit read 'converting' that many times
    after each start, exercising the driver's polling."""

    inputs: dict[int, Callable[[], float]] = field(default_factory=dict)
    busy_polls: int = 1
    _busy: int = 0

    def written(self, reg: int, value: int) -> None:
        if reg == REG_CONFIG and value & 0x8000:
            mux = (value >> 12) & 0x7
            fsr = PGA_BITS[(value >> 9) & 0x7]
            if mux < 4:
                raise ValueError("differential inputs are not modelled")
            v = self.inputs.get(mux - 4, lambda: 0.0)()
            code = max(-32768, min(32767, round(v / fsr * 32768)))
            self.stored[REG_CONVERSION] = code & 0xFFFF
            self._busy = self.busy_polls
            value &= 0x7FFF
        self.stored[reg] = value

    def register(self, reg: int) -> int:
        value = self.stored.get(reg, 0x8583 if reg == REG_CONFIG else 0)
        if reg == REG_CONFIG:
            if self._busy:
                self._busy -= 1
                return value & 0x7FFF
            return value | 0x8000
        return value


def attach_fake(hw: Any, opts: ADCOptions, source: Callable[[], float]) -> FakeADS1115:
    """Put a FakeADS1115 on the bus (or reuse the one there) and wire `source` to the channel."""
    bus = hw.i2c(opts.bus)
    dev = bus.devices.get(opts.address)
    if not isinstance(dev, FakeADS1115):
        dev = FakeADS1115()
        bus.devices[opts.address] = dev
    dev.inputs[opts.channel] = source
    return dev
