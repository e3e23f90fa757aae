"""Where drivers get their buses, pins and ports: the real ones of a Pi, or simulated ones.

A driver never opens /dev/i2c-1 or /dev/ttyAMA0 itself; it asks the Hardware it is given. The
node agent uses the real one unless its caller gives another: the `eil` command passes
edge.fakes.hardware.FakeHardware when `EIL_HW=fake` (eil/hardware.py), and so do the tests,
whose buses carry register-level models of the chips, so the same driver code runs either way.
The node also shares two facts with drivers through it: the latest value of each quantity (for
temperature compensation) and its outbox depth (for node health).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge.errors import SensorError
from edge.handoff import Handoff

W1_ROOT = Path("/sys/bus/w1/devices")


class Hardware:
    """The real buses. Each hardware library (Blinka's I2C, pyserial, spidev) is imported when
    its bus is first asked for, never at import: a node without SPI needs no spidev, and nothing
    touches hardware at import time."""

    fake = False

    def __init__(self, *, w1_root: Path = W1_ROOT, data_dir: Path = Path("/var/lib/eil/node"),
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.w1_root = w1_root
        self.data_dir = data_dir
        self.sleep = sleep  # drivers wait for conversions through this (tests pass a fake)
        self.latest: dict[str, float] = {}  # quantity name -> latest gauge value on this node
        self.outbox_depth: Callable[[], int] = lambda: 0
        self.handoff = Handoff()  # the agent replaces it with one holding the outbox's marks
        self._i2c: dict[int, Any] = {}

    def i2c(self, bus: int) -> Any:
        """The busio.I2C-compatible object for /dev/i2c-<bus> (shared by the drivers on it)."""
        if bus not in self._i2c:
            from adafruit_extended_bus import ExtendedI2C

            try:
                self._i2c[bus] = ExtendedI2C(bus)
            except (OSError, ValueError) as exc:
                raise SensorError(f"I2C bus {bus}: {exc} (enable I2C: dtparam=i2c_arm=on)") from exc
        return self._i2c[bus]

    def serial_path(self, port: str) -> str:
        return port

    def serial(self, port: str, *, baudrate: int, timeout: float) -> Any:
        import serial

        try:
            return serial.Serial(self.serial_path(port), baudrate=baudrate, timeout=timeout)
        except (serial.SerialException, OSError) as exc:
            raise SensorError(f"serial port {port}: {exc}") from exc

    def spi(self, bus: int, device: int) -> Any:
        """/dev/spidev<bus>.<device> (spidev: xfer2, close)."""
        try:
            import spidev
        except ImportError as exc:  # no wheel for ARM: Raspberry Pi OS's python3-spidev
            raise SensorError("the spidev module is missing: install python3-spidev (Raspberry "
                              "Pi OS; the agent's virtualenv sees the system's packages) or "
                              "eil-stack[spi]") from exc

        spi = spidev.SpiDev()
        try:
            spi.open(bus, device)
        except OSError as exc:
            raise SensorError(f"SPI /dev/spidev{bus}.{device}: {exc} (is SPI enabled: "
                              "dtparam=spi=on?)") from exc
        spi.max_speed_hz = 1_000_000
        spi.mode = 0
        return spi

    def secret_path(self, path: Path) -> Path:
        """Where a secret the config names lives (simulated hardware keeps its own)."""
        return path

    def pin_factory(self) -> Any | None:
        return None  # gpiozero's default (lgpio on a Pi)

    def i2c_buses(self) -> list[int]:
        return sorted(int(p.name[4:]) for p in Path("/dev").glob("i2c-*") if p.name[4:].isdigit())

    def serial_ports(self) -> list[str]:
        from serial.tools.list_ports import comports

        return sorted(p.device for p in comports())

    def close(self) -> None:
        for bus in self._i2c.values():
            bus.deinit()
        self._i2c.clear()
