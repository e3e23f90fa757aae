"""Capacitive soil probe through Adafruit's ADS1x15 driver, unchanged, on the converter model."""

from __future__ import annotations

import pytest

from edge.errors import SensorError
from edge.fakes.i2c import FakeI2CBus
from edge.sensors.ads1115 import ADCOptions, FakeADS1115, volts
from edge.sensors.ads1115_soil import CapacitiveSoil


def probe(v: float, gain: float = 1, channel: int = 2) -> tuple[CapacitiveSoil, FakeADS1115]:
    adc = FakeADS1115(inputs={channel: lambda: v}, busy_polls=3)
    return CapacitiveSoil(FakeI2CBus({0x48: adc}), ADCOptions(1, 0x48, channel, gain)), adc


def test_voltage_follows_the_datasheet_lsb() -> None:
    sensor, adc = probe(2.2113)
    code = round(2.2113 / 4.096 * 32768)  # 17690 codes of 125 uV at gain 1
    assert sensor.read(0.0)[0].value == round(volts(code, 4.096), 4) == 2.2113
    config = adc.stored[0x01]
    assert (config >> 12) & 0x7 == 0b110  # MUX: AIN2 against GND
    assert (config >> 9) & 0x7 == 0b001  # PGA: +-4.096 V


def test_input_beyond_full_scale_clips_like_the_chip() -> None:
    sensor, _ = probe(3.0, gain=2)  # +-2.048 V range
    assert sensor.read(0.0)[0].value == pytest.approx(2.048, abs=1e-3)


def test_missing_converter_and_nack() -> None:
    with pytest.raises(SensorError, match="ADS1115 at 0x49 channel A0"):
        CapacitiveSoil(FakeI2CBus({0x48: FakeADS1115()}), ADCOptions(1, 0x49, 0, 1))
    sensor, _ = probe(1.5)
    sensor.channel.adc.i2c_device.i2c.nack.add(0x48)
    with pytest.raises(SensorError, match="Remote I/O error"):
        sensor.read(0.0)
