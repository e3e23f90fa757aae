"""INA219 driver (Adafruit's, unchanged) against the register-level fake bus."""

from __future__ import annotations

import pytest

from edge.errors import SensorError
from edge.fakes.i2c import FakeI2CBus
from edge.sensors.ina219 import INA219, REG_CALIBRATION, FakeINA219


def values(sensor: INA219) -> dict[str, float | None]:
    return {s.key: s.value for s in sensor.read(0.0)}


def test_values_follow_the_datasheet_conversion() -> None:
    chip = FakeINA219(volts=13.2, amps=1.5)
    bus = FakeI2CBus({0x40: chip})
    sensor = INA219(bus, 0x40)
    assert chip.stored[REG_CALIBRATION] == 4096  # the driver calibrated the chip
    # shunt 150 mV -> 15000 x 10 uV; current = 15000 * 4096 / 4096 = 15000 x 0.1 mA = 1.5 A;
    # bus 13.2 V -> 3300 x 4 mV; power = 15000 * 3300 / 5000 = 9900 x 2 mW = 19.8 W
    assert values(sensor) == {"dc.voltage": 13.2, "dc.current": 1.5, "dc.power": 19.8}
    chip.amps = -0.25  # battery discharging: current is signed
    assert values(sensor)["dc.current"] == -0.25


def test_missing_device_is_a_sensor_error_naming_the_address() -> None:
    with pytest.raises(SensorError, match="INA219 at 0x41: No I2C device at address: 0x41"):
        INA219(FakeI2CBus({0x40: FakeINA219()}), 0x41)


def test_nack_during_a_read_is_a_sensor_error_and_it_recovers() -> None:
    bus = FakeI2CBus({0x40: FakeINA219(volts=5.0, amps=0.1)})
    sensor = INA219(bus, 0x40)
    bus.nack.add(0x40)
    with pytest.raises(SensorError, match="Remote I/O error"):
        sensor.read(0.0)
    bus.nack.clear()
    assert values(sensor)["dc.voltage"] == 5.0


def test_overflow_gives_no_value_rather_than_a_wrong_one() -> None:
    sensor = INA219(FakeI2CBus({0x40: FakeINA219(amps=4.0)}), 0x40)  # 400 mV across 0.1 ohm
    with pytest.raises(SensorError, match="overflow"):
        sensor.read(0.0)


def test_bus_is_locked_and_unlocked_around_each_transfer() -> None:
    bus = FakeI2CBus({0x40: FakeINA219()})
    INA219(bus, 0x40).read(0.0)
    assert bus.try_lock()  # left unlocked by the driver
    bus.unlock()
    assert ("write", 0x40, bytes([REG_CALIBRATION, 0x10, 0x00])) in bus.log
