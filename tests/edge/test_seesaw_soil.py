"""STEMMA soil sensor: Adafruit's seesaw driver, unchanged, against the firmware's register model;
and the two-point calibration round trip that turns its count into % VWC."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.calibration import CalibratedSensor, Calibration, CalibrationBook, fit
from edge.errors import SensorError
from edge.fakes.i2c import FakeI2CBus
from edge.sensors.seesaw_soil import CALIBRATION, FakeSeesaw, SeesawSoil, identify, temperature_c
from tests.edge.helpers import values


def test_count_and_fixed_point_temperature() -> None:
    chip = FakeSeesaw(count=731, celsius=18.75)
    sensor = SeesawSoil(FakeI2CBus({0x36: chip}), 0x36)
    assert chip.resets == 1  # the driver soft-reset the chip
    assert values(sensor.read(0.0)) == {"soil.moisture_raw": 731.0, "soil.temperature": 18.75}
    assert temperature_c(0x0012C000) == 18.75  # 16.16 fixed point: 0x12 = 18, 0xC000 = .75
    assert temperature_c(0xC012C000) == 18.75  # the two top bits are not part of the value


def test_missing_wrong_chip_nack_and_garbage() -> None:
    with pytest.raises(SensorError, match="seesaw soil sensor at 0x37: No I2C device"):
        SeesawSoil(FakeI2CBus({0x36: FakeSeesaw()}), 0x37)
    with pytest.raises(SensorError, match="hardware ID returned 0x12"):
        SeesawSoil(FakeI2CBus({0x36: FakeSeesaw(hw_id=0x12)}), 0x36)
    chip = FakeSeesaw()
    bus = FakeI2CBus({0x36: chip})
    sensor = SeesawSoil(bus, 0x36)
    bus.nack.add(0x36)
    with pytest.raises(SensorError, match="Remote I/O error"):
        sensor.read(0.0)
    bus.nack.clear()
    chip.count = 0xFFFF  # the firmware's "bad reading": the driver retries, then gives up
    with pytest.raises(SensorError, match="Could not get a valid moisture reading"):
        sensor.read(0.0)
    assert identify(bus, 0x36) is True


def test_two_point_calibration_round_trip_and_recalibration_affects_later_readings_only(
        tmp_path: Path) -> None:
    chip = FakeSeesaw(count=400)
    book = CalibrationBook(tmp_path / "calibrations.json")
    sensor = CalibratedSensor(SeesawSoil(FakeI2CBus({0x36: chip}), 0x36), CALIBRATION, book,
                              "bed-1", "seesaw_soil")
    assert values(sensor.read(0.0)) == {"soil.moisture_raw": 400.0, "soil.temperature": 14.5}
    # dry soil of 8 % VWC read 400, wet soil of 40 % read 1200: 0.04 %/count, -8 %
    gain, offset = fit("two_point", [(400.0, 8.0), (1200.0, 40.0)])
    first = Calibration("bed-1", "seesaw_soil", "two_point", ((400.0, 8.0), (1200.0, 40.0)),
                        gain, offset, at=1.0, note="bed 1 loam")
    book.add(first)
    book._checked = 0.0  # the agent re-reads at most once a second; the test need not wait
    chip.count = 800
    out = sensor.read(10.0)
    event, *readings = out
    assert event.key == "calibration" and event.ref == first.id and '"two_point"' in (event.text or "")
    moisture = next(s for s in readings if s.key == "soil.moisture")
    assert moisture.value == pytest.approx(24.0) and moisture.cal == first.id
    second = Calibration("bed-1", "seesaw_soil", "two_point", ((400.0, 10.0), (1200.0, 42.0)),
                         *fit("two_point", [(400.0, 10.0), (1200.0, 42.0)]), at=2.0)
    book.add(second)
    book._checked = 0.0
    later = {s.key: s for s in sensor.read(20.0)}
    assert later["soil.moisture"].value == pytest.approx(26.0)
    assert later["soil.moisture"].cal == second.id != first.id
    # the book survives a restart and pins work
    reopened = CalibrationBook(tmp_path / "calibrations.json")
    assert [c.id for c in reopened.history("bed-1")] == [first.id, second.id]
    assert reopened.active("bed-1", pinned=first.id) == first
