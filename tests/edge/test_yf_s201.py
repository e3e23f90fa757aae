"""Flow meter and S0 meter pulses through gpiozero's MockFactory; K-factor calibration."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.calibration import CalibratedSensor, Calibration, CalibrationBook, fit
from edge.fakes.hardware import FakeHardware
from edge.sensors.pulses import PulseOptions
from edge.sensors.s0_pulse import S0Meter, S0Options
from edge.sensors.yf_s201 import CALIBRATION, FlowMeter


def pulse(hw: FakeHardware, pin: int, n: int) -> None:
    p = hw.factory.pin(pin)
    for _ in range(n):
        p.drive_low()
        p.drive_high()


def test_nominal_k_then_a_bucket_calibration(tmp_path: Path) -> None:
    hw = FakeHardware()
    book = CalibrationBook(tmp_path / "cal.json")
    meter = CalibratedSensor(FlowMeter(PulseOptions(17, True, None), hw), CALIBRATION, book,
                             "irrigation", "yf_s201")
    first = {s.key: s for s in meter.read(0.0)}
    assert first["water.pulses"].value == 0.0 and "water.flow" not in first
    pulse(hw, 17, 900)  # 900 pulses in 60 s at the datasheet's 450 / l
    out = {s.key: s for s in meter.read(60.0)}
    assert out["water.pulses"].value == 900.0 and out["water.pulse_rate"].value == 15.0
    assert out["water.volume"].value == pytest.approx(2.0)
    assert out["water.flow"].value == pytest.approx(2.0 / 60)
    assert out["water.volume"].cal == "nominal:yf_s201"
    # a 10 l bucket took 4,725 pulses: K = 472.5 / l
    book.add(Calibration("irrigation", "yf_s201", "k_factor", ((4725.0, 10.0),),
                         *fit("k_factor", [(4725.0, 10.0)]), at=1.0, note="10 l bucket"))
    book._checked = 0.0
    pulse(hw, 17, 45)
    out = {s.key: s for s in meter.read(120.0)}
    assert out["water.volume"].value == pytest.approx(945 / 472.5)
    assert out["water.volume"].cal == book.records[0].id
    hw.close()


def test_s0_energy_and_power() -> None:
    hw = FakeHardware()
    meter = S0Meter(S0Options(PulseOptions(27, False, None), 1000.0), hw)
    meter.read(0.0)
    p = hw.factory.pin(27)
    for _ in range(25):  # 25 impulses at 1000 / kWh = 25 Wh in 3 minutes = 500 W
        p.drive_high()
        p.drive_low()
    got = {s.key: s.value for s in meter.read(180.0)}
    assert got == {"energy": 25.0, "power": 500.0}
    meter.close()
    hw.close()


def test_closing_the_calibrated_sensor_releases_its_gpio(tmp_path: Path) -> None:
    from gpiozero import DigitalInputDevice
    from gpiozero.exc import GPIOPinInUse

    from edge.driver import SensorConfig
    from edge.registry import attach

    hw = FakeHardware()
    cfg = SensorConfig("yf_s201", "drip", 60.0, {"pin": 17}, "test: sensors[0]")
    sensor = attach(cfg, hw, CalibrationBook(tmp_path / "cal.json"))
    sensor.read(0.0)  # opens the pin
    with pytest.raises(GPIOPinInUse):
        DigitalInputDevice(17, pin_factory=hw.factory)
    sensor.close()  # type: ignore[attr-defined]  # what the agent calls at shutdown
    DigitalInputDevice(17, pin_factory=hw.factory).close()
    hw.close()
