"""BME280: Adafruit's driver, unchanged, against a register model built on the datasheet's
compensation formulas; the datasheet's worked example anchors those formulas."""

from __future__ import annotations

import pytest

from edge.errors import SensorError
from edge.fakes.i2c import FakeI2CBus
from edge.sensors.bme280 import BME280, FakeBME280, compensate
from tests.edge.helpers import values


def test_datasheet_worked_example() -> None:
    celsius, pa, _ = compensate(519888, 415148, 0)  # BMP280 datasheet section 8.1 / 3.12
    assert round(celsius, 2) == 25.08 and round(pa, 2) == 100653.27


@pytest.mark.parametrize(("t", "p", "rh"), [(17.5, 101_200.0, 62.0), (-8.25, 98_000.0, 91.0),
                                            (34.0, 95_500.0, 18.5)])
def test_driver_output_matches_the_datasheet_conversion(t: float, p: float, rh: float) -> None:
    chip = FakeBME280(celsius=t, pascal=p, rh=rh)
    got = values(BME280(FakeI2CBus({0x77: chip})).read(0.0))
    adc_t, adc_p, adc_h = chip.raw()
    want_t, want_p, want_h = compensate(adc_t, adc_p, adc_h)
    assert got["temperature"] == pytest.approx(round(want_t, 2), abs=0.011)
    assert got["pressure"] == pytest.approx(want_p, abs=0.2)
    assert got["humidity"] == pytest.approx(want_h, abs=0.02)
    assert (got["temperature"], got["pressure"], got["humidity"]) == pytest.approx(
        (t, p, rh), abs=0.3)  # and the model is close to the physical state it encodes


def test_wrong_chip_missing_chip_and_nack() -> None:
    other = FakeBME280()
    other.memory[0xD0] = 0x58  # a BMP280 has no humidity sensor
    with pytest.raises(SensorError, match="BME280 at 0x77: .*0x58|BME280 at 0x77"):
        BME280(FakeI2CBus({0x77: other}))
    with pytest.raises(SensorError, match="BME280 at 0x76"):
        BME280(FakeI2CBus({0x77: FakeBME280()}), 0x76)
    bus = FakeI2CBus({0x77: FakeBME280()})
    sensor = BME280(bus)
    bus.nack.add(0x77)
    with pytest.raises(SensorError, match="Remote I/O error"):
        sensor.read(0.0)
