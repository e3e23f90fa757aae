"""DFRobot TDS probe: polynomial, temperature compensation from another quantity, k-factor."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.calibration import CalibratedSensor, Calibration, CalibrationBook
from edge.fakes.hardware import FakeHardware
from edge.sensors.ads1115 import ADCOptions, attach_fake
from edge.sensors.dfrobot_tds import CALIBRATION, TDSOptions, TDSProbe, ec25_us_cm


def test_polynomial_and_compensation_by_hand() -> None:
    # v = 1.0 V at 25 degC: 133.42 - 255.86 + 857.39 = 734.95 uS/cm
    assert ec25_us_cm(1.0, 25.0) == pytest.approx(734.95)
    assert ec25_us_cm(1.0, 15.0) == pytest.approx(734.95 / 0.8)  # 1 + 0.02 * (15 - 25)


def test_nominal_then_calibrated_k_with_temperature_from_the_node(tmp_path: Path) -> None:
    hw = FakeHardware()
    opts = TDSOptions(ADCOptions(1, 0x48, 1, 1), "tank.temperature", 25.0)
    attach_fake(hw, opts.adc, lambda: 1.0)
    book = CalibrationBook(tmp_path / "cal.json")
    sensor = CalibratedSensor(TDSProbe(hw, opts), CALIBRATION, book, "tank", "dfrobot_tds")
    out = {s.key: s for s in sensor.read(0.0)}
    assert out["water.ec_raw"].value == pytest.approx(0.073495, rel=1e-4)  # no temperature yet
    assert out["water.ec"].cal == "nominal:dfrobot_tds"
    assert out["water.tds"].value == pytest.approx(367.5, rel=1e-3)  # 0.5 x 734.95 ppm
    hw.latest["tank.temperature"] = 15.0
    book.add(Calibration("tank", "dfrobot_tds", "k_factor", ((0.0918688, 0.1413),),
                         0.1413 / 0.0918688, 0.0, at=1.0, note="1413 uS/cm standard"))
    book._checked = 0.0
    out = {s.key: s for s in sensor.read(1.0)}
    assert out["water.ec_raw"].value == pytest.approx(0.0918688, rel=1e-4)
    assert out["water.ec"].value == pytest.approx(0.1413, rel=1e-4)
    assert out["water.ec"].cal == out["water.tds"].cal == book.records[0].id
    hw.close()
