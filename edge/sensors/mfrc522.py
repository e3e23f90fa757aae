"""MFRC522 13.56 MHz reader (the common RC522 module) on SPI: ISO 14443A cards with 4- or 7-byte
UIDs (MIFARE Classic, Ultralight, NTAG). Used by the tool-library station.

Written here rather than taken from a library: the Python MFRC522 packages drive RPi.GPIO
directly, are unmaintained, and read only the first cascade level (4-byte UIDs), which turns
every 7-byte card into a 4-byte fragment that collides across cards.

Each poll: WUPA (wakes idle and halted cards), anticollision and select per cascade level with
the BCC and CRC_A checked, then HLTA, so a card held in the field answers every poll and a
garbled exchange is a miss, never a wrong UID. Register map and commands: NXP MFRC522 data sheet
rev. 3.9; frames: ISO/IEC 14443-3.
"""

from __future__ import annotations

import time

from crc import Calculator, Configuration

from edge.errors import SensorError
from edge.hardware import Hardware

# registers
COMMAND, COM_IRQ, ERROR, FIFO_DATA, FIFO_LEVEL, CONTROL, BIT_FRAMING = (
    0x01, 0x04, 0x06, 0x09, 0x0A, 0x0C, 0x0D)
MODE, TX_CONTROL, TX_ASK, T_MODE, T_PRESCALER, T_RELOAD_H, T_RELOAD_L, VERSION = (
    0x11, 0x14, 0x15, 0x2A, 0x2B, 0x2C, 0x2D, 0x37)
# commands
IDLE, TRANSCEIVE, SOFT_RESET = 0x00, 0x0C, 0x0F
# ISO 14443-3 type A
WUPA, SEL_CL = 0x52, (0x93, 0x95, 0x97)
CASCADE_TAG = 0x88
CRC_A = Calculator(Configuration(width=16, polynomial=0x1021, init_value=0xC6C6,
                                 final_xor_value=0, reverse_input=True, reverse_output=True))
KNOWN_VERSIONS = {0x91: "1.0", 0x92: "2.0", 0x88: "FM17522 clone", 0xB2: "clone", 0x12: "clone"}


def crc_a(data: bytes) -> bytes:
    return CRC_A.checksum(data).to_bytes(2, "little")


class Miss(Exception):
    """No card answered, or the answer was garbled: no UID this poll."""


class Mfrc522:
    def __init__(self, bus: int, device: int, hw: Hardware) -> None:
        self.spi = hw.spi(bus, device)
        version = self.read(VERSION)
        if version not in KNOWN_VERSIONS:
            raise SensorError(f"MFRC522 on SPI {bus}.{device}: version register reads "
                              f"0x{version:02x}; is the module wired (3.3 V, MISO/MOSI/SCK/SDA)?")
        self.write(COMMAND, SOFT_RESET)
        time.sleep(0.05)
        for reg, value in ((T_MODE, 0x8D), (T_PRESCALER, 0x3E), (T_RELOAD_L, 30),
                           (T_RELOAD_H, 0), (TX_ASK, 0x40), (MODE, 0x3D)):
            self.write(reg, value)
        self.write(TX_CONTROL, self.read(TX_CONTROL) | 0x03)  # antenna on

    # --- registers --------------------------------------------------------------------------
    def write(self, reg: int, value: int) -> None:
        self.spi.xfer2([(reg << 1) & 0x7E, value & 0xFF])

    def read(self, reg: int) -> int:
        return int(self.spi.xfer2([((reg << 1) & 0x7E) | 0x80, 0])[1])

    def transceive(self, data: bytes, bits: int = 0) -> tuple[bytes, int]:
        """Send `data` (`bits` valid bits in its last byte, 0 = all) and return the card's
        answer and the number of valid bits in its last byte; Miss if none or garbled."""
        self.write(COMMAND, IDLE)
        self.write(COM_IRQ, 0x7F)  # clear interrupt flags
        self.write(FIFO_LEVEL, 0x80)  # flush the FIFO
        for b in data:
            self.write(FIFO_DATA, b)
        self.write(BIT_FRAMING, bits & 0x07)
        self.write(COMMAND, TRANSCEIVE)
        self.write(BIT_FRAMING, 0x80 | (bits & 0x07))  # StartSend
        deadline = time.monotonic() + 0.05
        while True:
            irq = self.read(COM_IRQ)
            if irq & 0x30:  # RxIRq or IdleIRq: done
                break
            if irq & 0x01 or time.monotonic() > deadline:  # TimerIRq: nobody answered
                raise Miss("no answer")
        if self.read(ERROR) & 0x1B:  # BufferOvfl, CollErr, ParityErr, ProtocolErr
            raise Miss("reception error")
        n = self.read(FIFO_LEVEL)
        answer = bytes(self.read(FIFO_DATA) for _ in range(n))
        return answer, self.read(CONTROL) & 0x07

    def read_uid(self) -> bytes:
        answer, _ = self.transceive(bytes([WUPA]), bits=7)
        if len(answer) != 2:
            raise Miss("bad ATQA")
        uid = b""
        for sel in SEL_CL:
            part, _ = self.transceive(bytes([sel, 0x20]))
            if len(part) != 5 or part[0] ^ part[1] ^ part[2] ^ part[3] != part[4]:
                raise Miss("bad BCC")
            frame = bytes([sel, 0x70]) + part
            sak, _ = self.transceive(frame + crc_a(frame))
            if len(sak) != 3 or crc_a(sak[:1]) != sak[1:]:
                raise Miss("bad SAK")
            if part[0] == CASCADE_TAG and sak[0] & 0x04:
                uid += part[1:4]
                continue
            uid += part[:4]
            break
        else:
            raise Miss("more than three cascade levels")
        try:
            halt = bytes([0x50, 0x00])
            self.transceive(halt + crc_a(halt))
        except Miss:
            pass  # HLTA has no answer
        return uid

    def poll(self) -> str | None:
        try:
            return self.read_uid().hex().upper()
        except Miss:
            return None
        except OSError as exc:
            raise SensorError(f"MFRC522: {exc}") from exc

    def close(self) -> None:
        self.spi.close()


class FakeMFRC522:
    """The chip at register level over SPI (xfer2), with a card model behind its antenna:
    `card` is the UID (hex) in the field; `garble` makes the next answer's BCC wrong."""

    def __init__(self, version: int = 0x92) -> None:
        self.regs = {VERSION: version, COM_IRQ: 0, ERROR: 0, CONTROL: 0}
        self.fifo: list[int] = []
        self.card: str | None = None
        self.garble = False
        self.closed = False

    def xfer2(self, data: list[int]) -> list[int]:
        addr = data[0]
        reg = (addr >> 1) & 0x3F
        if addr & 0x80:  # read: one register per following byte
            out = [0]
            for _ in data[1:]:
                out.append(self.fifo.pop(0) if reg == FIFO_DATA and self.fifo else
                           len(self.fifo) if reg == FIFO_LEVEL else self.regs.get(reg, 0))
            return out
        for value in data[1:]:
            self._write(reg, value)
        return [0] * len(data)

    def _write(self, reg: int, value: int) -> None:
        if reg == FIFO_DATA:
            self.fifo.append(value)
        elif reg == FIFO_LEVEL and value & 0x80:
            self.fifo.clear()
        elif reg == COM_IRQ:
            self.regs[COM_IRQ] = 0 if value == 0x7F else value
        elif reg == BIT_FRAMING and value & 0x80 and self.regs.get(COMMAND) == TRANSCEIVE:
            self.regs[BIT_FRAMING] = value & 0x7F
            self._exchange(bytes(self.fifo), value & 0x07)
        else:
            self.regs[reg] = value

    def _exchange(self, frame: bytes, bits: int) -> None:
        self.fifo.clear()
        answer = self._card_answer(frame, bits)
        self.regs[ERROR] = 0
        if answer is None:
            self.regs[COM_IRQ] = 0x01  # timer: no answer
            return
        self.fifo = list(answer)
        self.regs[COM_IRQ] = 0x30

    def _card_answer(self, frame: bytes, bits: int) -> bytes | None:
        if self.card is None:
            return None
        uid = bytes.fromhex(self.card)
        if bits == 7 and frame in (b"\x52", b"\x26"):
            return b"\x44\x00" if len(uid) == 7 else b"\x04\x00"
        if len(frame) == 2 and frame[0] in SEL_CL and frame[1] == 0x20:
            level = SEL_CL.index(frame[0])
            part = (bytes([CASCADE_TAG]) + uid[:3]) if len(uid) == 7 and level == 0 else \
                uid[3:7] if len(uid) == 7 else uid[:4]
            bcc = part[0] ^ part[1] ^ part[2] ^ part[3]
            if self.garble:
                self.garble = False
                bcc ^= 0x01
            return part + bytes([bcc])
        if len(frame) == 9 and frame[0] in SEL_CL and frame[1] == 0x70:
            if crc_a(frame[:7]) != frame[7:]:
                return None
            more = len(uid) == 7 and frame[0] == SEL_CL[0]
            sak = bytes([0x04 if more else (0x00 if len(uid) == 7 else 0x08)])
            return sak + crc_a(sak)
        return None  # HLTA and anything else: silence

    def close(self) -> None:
        self.closed = True
