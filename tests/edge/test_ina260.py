"""INA260 and INA3221 through Adafruit's drivers, unchanged, on register models."""

from __future__ import annotations

import pytest

from edge.errors import SensorError
from edge.fakes.i2c import FakeI2CBus
from edge.sensors import ina3221
from edge.sensors.ina260 import INA260, FakeINA260, scale
from tests.edge.helpers import values


def test_ina260_datasheet_lsbs() -> None:
    assert scale(2000, 10560, 3300) == pytest.approx((13.2, 2.5, 33.0))  # 1.25 mA, 1.25 mV, 10 mW
    chip = FakeINA260(volts=13.2, amps=-1.25)
    got = values(INA260(FakeI2CBus({0x40: chip})).read(0.0))
    assert got == {"dc.voltage": 13.2, "dc.current": -1.25, "dc.power": 16.5}


def test_ina260_wrong_ids_and_missing() -> None:
    with pytest.raises(SensorError, match="INA260 at 0x40: Failed to find Texas Instrument ID"):
        INA260(FakeI2CBus({0x40: _NotTI()}))
    with pytest.raises(SensorError, match="INA260 at 0x44"):
        INA260(FakeI2CBus({0x40: FakeINA260()}), 0x44)


class _NotTI(FakeINA260):
    def register(self, reg: int) -> int:
        return 0x1234 if reg == 0xFE else super().register(reg)


def test_ina3221_three_channels_and_an_unused_one() -> None:
    assert ina3221.shunt_code(0.045) == 1125 << 3  # 40 uV LSB, 3 bits left
    chip = ina3221.FakeINA3221(channels=[(18.2, 0.045), (13.1, 0.0), (12.0, 0.030)])
    opts = ina3221.INA3221Options(1, 0x41, ("pv", "", "load"), 0.1)
    sensor = ina3221.INA3221(FakeI2CBus({0x41: chip}), opts)
    assert [q.key for q in sensor.quantities][:3] == ["pv.dc.voltage", "pv.dc.current",
                                                      "pv.dc.power"]
    got = values(sensor.read(0.0))
    assert got == {"pv.dc.voltage": 18.2, "pv.dc.current": 0.45, "pv.dc.power": 8.19,
                   "load.dc.voltage": 12.0, "load.dc.current": 0.3, "load.dc.power": 3.6}


def test_ina3221_negative_current_within_one_lsb_and_nack() -> None:
    chip = ina3221.FakeINA3221(channels=[(13.1, -0.012), (0, 0), (0, 0)])
    bus = FakeI2CBus({0x40: chip})
    sensor = ina3221.INA3221(bus, ina3221.INA3221Options(1, 0x40, ("battery", "", ""), 0.1))
    # Adafruit's decoding reads negative codes one LSB (40 uV = 0.4 mA here) towards zero
    assert values(sensor.read(0.0))["battery.dc.current"] == pytest.approx(-0.12, abs=0.0004)
    bus.nack.add(0x40)
    with pytest.raises(SensorError, match="INA3221 at 0x40: no answer"):
        sensor.read(0.0)
