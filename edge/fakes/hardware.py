"""Simulated hardware for tests and for `EIL_HW=fake`: fake I2C buses, gpiozero's MockFactory,
pty serial devices, a fixture 1-Wire tree, and a pulse generator for flow and energy meters.

Drivers attach their device models with their module's `simulate(options, hw)`; the driver code
that then talks to them is the production code, unchanged.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from edge.errors import SensorError
from edge.fakes.i2c import FakeI2CBus
from edge.fakes.serial import Pty
from edge.hardware import Hardware
from edge.station import new_site_key


class FakeHardware(Hardware):
    fake = True

    def __init__(self, *, data_dir: Path | None = None, w1_root: Path | None = None,
                 sleep: Any = time.sleep) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="eil-fake-hw-")
        super().__init__(w1_root=w1_root or Path(self._tmp.name) / "w1",
                         data_dir=data_dir or Path(self._tmp.name), sleep=sleep)
        self.w1_root.mkdir(parents=True, exist_ok=True)
        self.buses: dict[int, FakeI2CBus] = {}
        self.ports: dict[str, Pty] = {}
        self.spi_devices: dict[tuple[int, int], Any] = {}  # (bus, chip select) -> xfer2 model
        from gpiozero.pins.mock import MockFactory

        self.factory = MockFactory()
        self.pulse_rates: dict[int, float] = {}  # GPIO -> pulses per second
        self._pulse_stop = threading.Event()
        self._pulse_thread: threading.Thread | None = None

    def i2c(self, bus: int) -> FakeI2CBus:
        return self.buses.setdefault(bus, FakeI2CBus())

    def attach_serial(self, port: str, device: Pty) -> None:
        self.ports[port] = device

    def serial_path(self, port: str) -> str:
        device = self.ports.get(port)
        if device is None:
            raise SensorError(f"serial port {port}: no such (simulated) device")
        return device.path

    def spi(self, bus: int, device: int) -> Any:
        chip = self.spi_devices.get((bus, device))
        if chip is None:
            raise SensorError(f"SPI {bus}.{device}: no such (simulated) device")
        return chip

    def secret_path(self, path: Path) -> Path:
        """The configured key if it exists, else a simulated station's own, made on first use
        outside the data directory."""
        if path.exists():
            return path
        if not hasattr(self, "_secrets"):
            self._secrets = tempfile.TemporaryDirectory(prefix="eil-fake-secrets-")
        fake = Path(self._secrets.name) / path.name
        new_site_key(fake)
        return fake

    def pin_factory(self) -> Any:
        return self.factory

    def i2c_buses(self) -> list[int]:
        return sorted(self.buses)

    def serial_ports(self) -> list[str]:
        return sorted(self.ports)

    def pulse(self, pin: int, per_second: float) -> None:
        """Drive `pin` with square pulses at `per_second` (a flow or kWh meter output)."""
        self.pulse_rates[pin] = per_second
        if self._pulse_thread is None:
            self._pulse_thread = threading.Thread(target=self._pulses, name="fake pulses",
                                                  daemon=True)
            self._pulse_thread.start()

    def _pulses(self) -> None:
        carry: dict[int, float] = {}
        while not self._pulse_stop.wait(0.1):
            for number, rate in list(self.pulse_rates.items()):
                due = carry.get(number, 0.0) + rate * 0.1
                count = int(due)
                carry[number] = due - count
                pin = self.factory.pin(number)
                for _ in range(count):
                    pin.drive_low()  # the meters pull the line low for each pulse
                    pin.drive_high()

    def close(self) -> None:
        self._pulse_stop.set()
        if self._pulse_thread is not None:
            self._pulse_thread.join(1.0)
        for device in self.ports.values():
            device.close()
        self.factory.reset()
        self._tmp.cleanup()
