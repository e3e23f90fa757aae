"""Atlas EZO pH / EC: the ASCII I2C protocol with status bytes and delays, temperature
compensation, and calibration inside the circuit recorded with its identity."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.calibration import CalibratedSensor, Calibration, CalibrationBook
from edge.errors import SensorError
from edge.fakes.hardware import FakeHardware
from edge.sensors.atlas_ezo import DRIVERS, EC, PH, EZOCircuit, EZOOptions, FakeEZO, parse_response
from tests.edge.helpers import StepClock

PH_DRIVER = DRIVERS[0]


def circuit(kit, true_value: float, **opts):  # type: ignore[no-untyped-def]
    clock = StepClock()
    hw = FakeHardware(sleep=clock.sleep)
    chip = FakeEZO(kit, true_value, clock=clock.now)
    hw.i2c(1).devices[kit.address] = chip
    o = EZOOptions(kit, 1, kit.address, opts.get("temperature_from"), opts.get("temperature"))
    return EZOCircuit(o, hw), chip, hw, clock


def test_ph_reading_waits_the_read_delay_and_compensates_temperature() -> None:
    ezo, chip, hw, clock = circuit(PH, 6.5, temperature_from="pond.temperature", temperature=20.0)
    sample = ezo.read(0.0)[0]
    assert (sample.key, sample.value, sample.cal) == ("water.ph", 6.75, "device:uncalibrated")
    assert chip.last_temperature == 20.0 and clock.slept[-1] == 0.9
    hw.latest["pond.temperature"] = 12.34
    ezo.read(0.0)
    assert chip.last_temperature == 12.34


def test_still_processing_is_polled_syntax_error_and_no_data_are_errors() -> None:
    ezo, chip, _, clock = circuit(PH, 7.0)
    chip.extra_delay = 0.25  # answers 254 for a while after the documented 900 ms
    assert ezo.read(0.0)[0].value == 7.25
    assert clock.slept[-4:] == [0.9, 0.1, 0.1, 0.1]
    chip.extra_delay = 5.0
    with pytest.raises(SensorError, match="still processing 'R' after 5 polls \\(timeout\\)"):
        ezo.read(0.0)
    chip.extra_delay = 0.0
    with pytest.raises(SensorError, match="refused 'Frobnicate' \\(syntax error\\)"):
        ezo.command("Frobnicate", 0.3)
    assert parse_response(bytes([255]) + bytes(3)) == (255, "")


def test_missing_circuit_and_wrong_circuit() -> None:
    clock = StepClock()
    hw = FakeHardware(sleep=clock.sleep)
    with pytest.raises(SensorError, match="EZO pH at 0x63: .*Remote I/O error"):
        EZOCircuit(EZOOptions(PH, 1, 0x63, None, None), hw)
    hw.i2c(1).devices[0x63] = FakeEZO(EC, 500.0, clock=clock.now)
    with pytest.raises(SensorError, match="answers '\\?i,EC,2.16', not an EZO pH"):
        EZOCircuit(EZOOptions(PH, 1, 0x63, None, None), hw)


def test_three_point_calibration_in_the_circuit_is_recorded_and_tags_readings(
        tmp_path: Path) -> None:
    ezo, chip, hw, _ = circuit(PH, 7.0)
    book = CalibrationBook(tmp_path / "cal.json")
    sensor = CalibratedSensor(ezo, PH_DRIVER.calibration, book, "pond", "ezo_ph")
    assert sensor.read(0.0)[0].cal == "device:uncalibrated"
    refs, points = [7.0, 4.0, 10.0], []
    for i, ref in enumerate(refs):
        chip.true_value = ref  # the probe moves to the next buffer
        points.append((ezo.calibrate_point(ref, i, refs), ref))
    # what it read before each step: 0.25 high at first; after "mid" the offset is gone
    assert [p[0] for p in points] == [7.25, pytest.approx(4.0), pytest.approx(10.0)]
    assert ezo.calibration_report() == "?CAL,3"
    book.add(Calibration("pond", "ezo_ph", "multi_point", tuple(points), 1.0, 0.0, at=1.0,
                         device="?CAL,3"))
    book._checked = 0.0
    chip.true_value = 5.5
    event, reading = sensor.read(1.0)
    assert event.key == "calibration" and event.ref == book.records[0].id
    assert reading.value == pytest.approx(5.5) and reading.cal == book.records[0].id


def test_ec_reads_microsiemens_as_siemens_per_metre() -> None:
    ezo, chip, _, _ = circuit(EC, 1413.0)  # in the 1413 uS/cm standard; reads 5 % high
    assert ezo.read(0.0)[0].value == pytest.approx(0.1413 * 1.05, rel=1e-4)
    for i, ref in enumerate([0.0, 0.1413]):
        ezo.calibrate_point(ref, i, [0.0, 0.1413])
    chip.true_value = 800.0
    assert ezo.read(0.0)[0].value == pytest.approx(0.08, rel=1e-3)
