"""PZEM-004T through pymodbus over a real pty, against a Modbus RTU slave model."""

from __future__ import annotations

import pytest

from edge.errors import SensorError
from edge.fakes.hardware import FakeHardware
from edge.sensors.pzem004t import PZEM004T, FakePZEM, PZEMOptions, crc16, decode


@pytest.fixture
def meter():  # type: ignore[no-untyped-def]
    hw = FakeHardware()
    slave = FakePZEM(slave=1)
    hw.attach_serial("/dev/ttyUSB0", slave)
    sensor = PZEM004T(PZEMOptions("/dev/ttyUSB0", 1, 0.3), hw)
    yield sensor, slave
    sensor.close()
    hw.close()


def test_registers_decode_as_the_manual_says() -> None:
    # 231.4 V, 0x0001_2345 mA = 74.565 A, 0x0000_1068 = 420.0 W, 1,234,567 Wh, 50.0 Hz, 0.94
    regs = [2314, 0x2345, 0x0001, 0x1068, 0, 1_234_567 & 0xFFFF, 1_234_567 >> 16, 500, 94, 0]
    assert decode(regs) == {"ac.voltage": 231.4, "ac.current": 74.565, "ac.power": 420.0,
                            "ac.energy": 1_234_567.0, "ac.frequency": 50.0,
                            "ac.power_factor": 0.94}
    assert crc16(bytes([1, 4, 0, 0, 0, 10])) == bytes([0x70, 0x0D])  # CRC-16/MODBUS, low first


def test_reading_over_modbus_rtu(meter) -> None:  # type: ignore[no-untyped-def]
    sensor, slave = meter
    got = {s.key: s.value for s in sensor.read(0.0)}
    assert got == {"ac.voltage": 231.4, "ac.current": 1.942, "ac.power": 420.6,
                   "ac.energy": 1_234_567.0, "ac.frequency": 50.0, "ac.power_factor": 0.94}
    assert bytes(slave.received[:8]) == bytes([1, 4, 0, 0, 0, 10, 0x70, 0x0D])


def test_modbus_exception_timeout_and_bad_crc_are_errors_then_it_recovers(meter) -> None:  # type: ignore[no-untyped-def]
    sensor, slave = meter
    slave.exception = 0x04  # slave device failure
    with pytest.raises(SensorError, match="Modbus exception 4"):
        sensor.read(0.0)
    slave.exception, slave.silent = None, True
    with pytest.raises(SensorError, match="PZEM-004T 1 on /dev/ttyUSB0"):
        sensor.read(0.0)
    slave.silent, slave.bad_crc = False, True
    with pytest.raises(SensorError, match="PZEM-004T 1 on /dev/ttyUSB0"):
        sensor.read(0.0)
    slave.bad_crc = False
    assert {s.key: s.value for s in sensor.read(0.0)}["ac.voltage"] == 231.4
