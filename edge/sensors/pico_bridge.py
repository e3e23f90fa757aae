"""Raspberry Pi Pico on the Pi's UART running the EIL firmware (hardware/firmware/): an SCT-013
current clamp (current, real and apparent power, optionally mains voltage), flow and kWh-meter
pulse counters, an analog soil probe and the RP2040's temperature, buffered on the Pico while the
Pi is away. The protocol and the machinery live in edge/firmware_bridge/.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edge.driver import Driver, vwc_calibration
from edge.firmware_bridge.adapter import BridgeOptions, BridgeSensor, bridge_quantities, parse_bridge

if TYPE_CHECKING:
    from edge.fakes.hardware import FakeHardware

SAMPLE_CONFIG = """
[[sensors]]
type = "pico_bridge"
id = "pico"                 # pico.ac.current, pico.ac.power, pico.water.volume, pico.energy, ...
port = "/dev/ttyAMA0"       # Pi GPIO14/15 <-> Pico GP1/GP0 (see hardware/firmware/README.md)
interval_s = 5              # how often the agent collects what the Pico has sent
measure_interval_s = 10     # how often the Pico measures
channels = ["ct", "flow", "meter", "soil", "temp"]
mains_hz = 50
volts = 230                 # assumed mains voltage (voltage = "measured" with an AC-AC adapter)
ct_amps_per_volt = 30       # SCT-013-030
flow_pulses_per_litre = 450 # YF-S201 nominal; measure yours with a bucket
meter_pulses_per_kwh = 1000 # printed on the meter next to its LED or S0 terminals
"""


def simulate(opts: BridgeOptions, hw: FakeHardware) -> None:
    from edge.fakes.mcu import SimulatedMcu

    if opts.port not in hw.ports:  # a test may have attached its own, with faults
        hw.attach_serial(opts.port, SimulatedMcu(float(opts.mcu["interval_s"])))


DRIVERS = (Driver(
    type="pico_bridge", summary="Raspberry Pi Pico with the EIL firmware on a UART (CT clamp, "
    "pulses, soil, buffered)", parse=parse_bridge, open=BridgeSensor,
    quantities=bridge_quantities, sample_config=SAMPLE_CONFIG, simulate=simulate,
    calibration=vwc_calibration("soil.moisture_voltage")),)
