"""RDM6300 125 kHz RFID reader (EM4100 cards and tags) on a UART, 9600 8N1, read-only.

While a card is in the field the module sends the same 14-byte frame over and over:
    STX 0x02 | 10 ASCII hex digits (version byte + 32-bit card number) | 2 ASCII hex digits,
    the XOR of the five data bytes | ETX 0x03
The parser resynchronises on STX after noise and cut frames, and rejects a frame whose digits are
not hex or whose checksum does not match. poll() reports the tag of the latest valid frame; the
station's debouncer turns the repeats into one tap and notices when they stop (card removed).
Used by the tool-library station (edge/sensors/tool_station.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from edge.errors import SensorError
from edge.fakes.serial import PtyDevice
from edge.hardware import Hardware

STX, ETX = 0x02, 0x03
FRAME_LEN = 14
HEX = b"0123456789ABCDEFabcdef"


def frame(uid: str) -> bytes:
    """The frame an RDM6300 sends for a 10-hex-digit tag id (for fakes and tests)."""
    data = bytes.fromhex(uid)
    if len(data) != 5:
        raise ValueError(f"an EM4100 id has 5 bytes, got {uid!r}")
    checksum = 0
    for b in data:
        checksum ^= b
    return bytes([STX]) + uid.upper().encode() + f"{checksum:02X}".encode() + bytes([ETX])


@dataclass(frozen=True, slots=True)
class FrameError:
    reason: str  # never the digits: they may be a member's card number


class Parser:
    """Bytes from the UART in; tag ids (10 upper-case hex digits) and frame errors out."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[str | FrameError]:
        self.buf += data
        out: list[str | FrameError] = []
        while True:
            start = self.buf.find(STX)
            if start < 0:
                self.buf.clear()  # noise: nothing to keep
                return out
            del self.buf[:start]
            if len(self.buf) < FRAME_LEN:
                return out
            candidate = bytes(self.buf[:FRAME_LEN])
            if candidate[-1] != ETX:
                out.append(FrameError("frame without ETX (cut short or noise)"))
                del self.buf[:1]  # look for the next STX, which may lie inside this one
                continue
            del self.buf[:FRAME_LEN]
            out.append(check(candidate))


def check(candidate: bytes) -> str | FrameError:
    digits = candidate[1:13]
    if any(c not in HEX for c in digits):
        return FrameError("non-hex digits in the frame")
    data = bytes.fromhex(digits[:10].decode())
    checksum = 0
    for b in data:
        checksum ^= b
    if checksum != int(digits[10:].decode(), 16):
        return FrameError("checksum mismatch")
    return digits[:10].decode().upper()


class Rdm6300:
    """poll() -> the tag id of the newest valid frame since the last poll, or None."""

    def __init__(self, port: str, hw: Hardware) -> None:
        self.serial = hw.serial(port, baudrate=9600, timeout=0)
        self.parser = Parser()
        self.bad_frames = 0

    def poll(self) -> str | None:
        try:
            data = self.serial.read(self.serial.in_waiting or 1)
        except Exception as exc:  # SerialException, OSError: unplugged
            raise SensorError(f"RDM6300: {exc}") from exc
        seen = None
        for item in self.parser.feed(data):
            if isinstance(item, FrameError):
                self.bad_frames += 1
            else:
                seen = item
        return seen

    def close(self) -> None:
        self.serial.close()


class FakeRdm6300(PtyDevice):
    """Sends the frames of the card held to it, as the module does; tests write noise with
    send()."""

    def __init__(self) -> None:
        super().__init__()
        self.card: str | None = None
        self.repeat_s = 0.1
        self._repeat = threading.Thread(target=self._emit, daemon=True)
        self._repeat.start()

    def respond(self, data: bytes) -> bytes:
        return b""  # the module only talks

    def _emit(self) -> None:
        while not self._stop.is_set():
            if self.card is not None and not self.silent:
                try:
                    self.send(frame(self.card))
                except OSError:
                    return
            self._stop.wait(self.repeat_s)
