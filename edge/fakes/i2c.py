"""A register-level fake I2C bus with the busio.I2C interface CircuitPython drivers use.

Devices are attached by address. A transfer to an absent address, or to a device told to NACK,
raises OSError(errno 121, "Remote I/O error"), as Linux i2c-dev does, so drivers meet the same
failure they would on a Pi. Every transfer is logged for tests.
"""

from __future__ import annotations

import errno
import threading
from dataclasses import dataclass, field
from typing import Protocol


class FakeI2CDevice(Protocol):
    def write(self, data: bytes) -> None:
        """An I2C write transaction (typically: register pointer, then data)."""
        ...

    def read(self, length: int) -> bytes:
        """An I2C read transaction of `length` bytes."""
        ...


@dataclass
class RegisterDevice:
    """A device with a register pointer and fixed-width big-endian registers (INA2xx, ADS1x15,
    ...). Subclasses compute register contents from physical state in `register(reg)` and react
    to writes in `written(reg, value)`."""

    width: int = 2
    pointer: int = 0
    stored: dict[int, int] = field(default_factory=dict)

    def register(self, reg: int) -> int:
        return self.stored.get(reg, 0)

    def written(self, reg: int, value: int) -> None:
        self.stored[reg] = value

    def write(self, data: bytes) -> None:
        if not data:
            return  # a probe
        self.pointer = data[0]
        if len(data) > 1:
            self.written(self.pointer, int.from_bytes(data[1:1 + self.width], "big"))

    def read(self, length: int) -> bytes:
        raw = (self.register(self.pointer) & ((1 << (8 * self.width)) - 1)).to_bytes(
            self.width, "big")
        return (raw * (length // self.width + 1))[:length]


class FakeI2CBus:
    def __init__(self, devices: dict[int, FakeI2CDevice] | None = None) -> None:
        self.devices: dict[int, FakeI2CDevice] = dict(devices or {})
        self.nack: set[int] = set()  # addresses that answer nothing right now
        self.log: list[tuple[str, int, bytes]] = []
        self._lock = threading.Lock()

    # --- busio.I2C interface ---------------------------------------------------------------------
    def try_lock(self) -> bool:
        return self._lock.acquire(blocking=False)

    def unlock(self) -> None:
        self._lock.release()

    def scan(self) -> list[int]:
        return sorted(a for a in self.devices if a not in self.nack)

    def writeto(self, address: int, buffer: bytes, *, start: int = 0, end: int | None = None
                ) -> None:
        data = bytes(buffer[start:len(buffer) if end is None else end])
        self._device(address).write(data)
        self.log.append(("write", address, data))

    def readfrom_into(self, address: int, buffer: bytearray, *, start: int = 0,
                      end: int | None = None) -> None:
        end = len(buffer) if end is None else end
        data = self._device(address).read(end - start)
        buffer[start:end] = data
        self.log.append(("read", address, data))

    def writeto_then_readfrom(self, address: int, buffer_out: bytes, buffer_in: bytearray, *,
                              out_start: int = 0, out_end: int | None = None, in_start: int = 0,
                              in_end: int | None = None) -> None:
        self.writeto(address, buffer_out, start=out_start, end=out_end)
        self.readfrom_into(address, buffer_in, start=in_start, end=in_end)

    def deinit(self) -> None:
        pass

    def _device(self, address: int) -> FakeI2CDevice:
        device = self.devices.get(address)
        if device is None or address in self.nack:
            raise OSError(errno.EREMOTEIO, f"Remote I/O error (no ACK from 0x{address:02x})")
        return device


@dataclass
class ByteRegisterDevice:
    """A device with a byte-addressed register map and an auto-incrementing pointer (BME280 and
    most Bosch / ST sensors): a write sets the pointer and stores any following bytes; a read
    returns consecutive registers."""

    memory: dict[int, int] = field(default_factory=dict)
    pointer: int = 0

    def byte(self, reg: int) -> int:
        return self.memory.get(reg, 0)

    def written(self, reg: int, value: int) -> None:
        self.memory[reg] = value

    def write(self, data: bytes) -> None:
        if not data:
            return
        self.pointer = data[0]
        for i, value in enumerate(data[1:]):
            self.written(self.pointer + i, value)

    def read(self, length: int) -> bytes:
        return bytes(self.byte((self.pointer + i) & 0xFF) for i in range(length))
