"""PN532 13.56 MHz NFC reader (ISO 14443A cards: MIFARE, NTAG; 4- or 7-byte UIDs) on I2C 0x24,
through adafruit-circuitpython-pn532. Used by the tool-library station
(edge/sensors/tool_station.py); poll() returns the UID of the card in the field, or None.

FakePN532 speaks the chip's I2C framing (status byte, ACK frame, normal information frames with
length and data checksums) for the commands the driver uses, so the library's own frame code runs.
"""

from __future__ import annotations

from typing import Any

from edge.errors import SensorError
from edge.hardware import Hardware

ADDRESS = 0x24
POLL_TIMEOUT_S = 0.05  # how long one poll waits for a card


class Pn532:
    def __init__(self, bus: int, hw: Hardware) -> None:
        from adafruit_pn532.i2c import PN532_I2C

        try:
            self.chip = PN532_I2C(hw.i2c(bus), ADDRESS)
            self.chip.SAM_configuration()
        except (OSError, RuntimeError, ValueError) as exc:
            raise SensorError(f"PN532 on I2C bus {bus}: {exc}") from exc

    def poll(self) -> str | None:
        try:
            # Two steps, not read_passive_target: that one also says "no card" when the chip
            # does not answer at all (the library swallows the bus error).
            if not self.chip.listen_for_passive_target(timeout=POLL_TIMEOUT_S):
                raise SensorError("PN532 does not acknowledge commands (power, wiring?)")
            uid = self.chip.get_passive_target(timeout=POLL_TIMEOUT_S)
        except (OSError, RuntimeError) as exc:  # a garbled frame: no card this time
            raise SensorError(f"PN532: {exc}") from exc
        return bytes(uid).hex().upper() if uid else None

    def close(self) -> None:
        pass


ACK = b"\x00\x00\xff\x00\xff\x00"


def information_frame(data: bytes) -> bytes:
    n = len(data)
    return (bytes([0x00, 0x00, 0xFF, n, (-n) & 0xFF]) + data
            + bytes([(-sum(data)) & 0xFF, 0x00]))


class FakePN532:
    """The chip at the I2C level. `card` is the UID (hex) in the field, or None."""

    def __init__(self) -> None:
        self.card: str | None = None
        self.outputs: list[bytes] = []  # what the host reads next: ACK, then the response
        self.waiting_for_card = False
        self.corrupt_next = False  # the next response frame gets a bad data checksum

    def write(self, data: bytes) -> None:
        if len(data) < 8 or data[:3] != b"\x00\x00\xff":
            return
        n = data[3]
        if (n + data[4]) & 0xFF or sum(data[5:5 + n + 1]) & 0xFF or data[5] != 0xD4:
            return  # a frame the chip would not accept: it stays silent
        command = data[6]
        self.outputs = [ACK]
        self.waiting_for_card = False
        if command == 0x02:  # GetFirmwareVersion: PN532, v1.6
            self._respond(command, bytes([0x32, 0x01, 0x06, 0x07]))
        elif command == 0x14:  # SAMConfiguration
            self._respond(command, b"")
        elif command == 0x4A:  # InListPassiveTarget: answers once a card is in the field
            self.waiting_for_card = True

    def _respond(self, command: int, payload: bytes) -> None:
        frame = bytearray(information_frame(bytes([0xD5, command + 1]) + payload))
        if self.corrupt_next:
            frame[-2] ^= 0x55
            self.corrupt_next = False
        self.outputs.append(bytes(frame))

    def _target(self) -> None:
        if self.waiting_for_card and self.card is not None and len(self.outputs) <= 1:
            uid = bytes.fromhex(self.card)
            sens_res = b"\x00\x44" if len(uid) == 7 else b"\x00\x04"
            self._respond(0x4A, bytes([1, 1]) + sens_res + bytes([0x08 if len(uid) == 4 else 0x00,
                                                                  len(uid)]) + uid)
            self.waiting_for_card = False

    def read(self, length: int) -> bytes:
        self._target()
        if not self.outputs:
            return b"\x00" * length  # busy: nothing to read yet
        out = (b"\x01" + self.outputs[0]).ljust(length, b"\x00")[:length]
        if length > 1:  # a status poll does not consume the output
            self.outputs.pop(0)
        return out


def attach_fake(hw: Any, bus: int) -> FakePN532:
    chip = FakePN532()
    hw.i2c(bus).devices[ADDRESS] = chip
    return chip
