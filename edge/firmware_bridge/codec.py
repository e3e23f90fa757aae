"""Pi-side framing of the firmware bridge protocol: COBS from the `cobs` package, CRC-16/IBM-3740
from the `crc` package, header and payload layouts from the firmware's own `eilfw.proto` (one
definition of the wire format for both ends). Pure: bytes in, frames or errors out."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from cobs import cobs
from crc import Calculator, Crc16

from eilfw import proto

_CRC = Calculator(Crc16.IBM_3740.value, optimized=True)


@dataclass(frozen=True, slots=True)
class Frame:
    type: int
    seq: int
    payload: bytes

    @property
    def name(self) -> str:
        return proto.TYPE_NAMES.get(self.type, f"0x{self.type:02x}")


@dataclass(frozen=True, slots=True)
class FrameError:
    """A chunk between delimiters that is not a valid frame (noise, a flipped bit, a cut)."""

    reason: str
    size: int


def encode(typ: int, seq: int, payload: bytes = b"") -> bytes:
    if len(payload) > proto.MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {proto.MAX_PAYLOAD}")
    body = proto.header(typ, seq, len(payload)) + payload
    return b"\x00" + cobs.encode(body + struct.pack(">H", _CRC.checksum(body))) + b"\x00"


def decode_chunk(chunk: bytes) -> Frame | FrameError:
    try:
        body = cobs.decode(chunk)
    except cobs.DecodeError as exc:
        return FrameError(f"COBS: {exc}", len(chunk))
    if len(body) < proto.CRC_SIZE or \
            _CRC.checksum(body[:-proto.CRC_SIZE]) != int.from_bytes(body[-proto.CRC_SIZE:], "big"):
        return FrameError("CRC mismatch", len(chunk))
    try:
        return Frame(*proto.split_body(body))
    except ValueError as exc:
        return FrameError(str(exc), len(chunk))


class Decoder:
    """Bytes from the serial port in, frames and frame errors out, never an exception."""

    def __init__(self) -> None:
        self.splitter = proto.Splitter()

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        before = self.splitter.overflows
        out = [decode_chunk(c) for c in self.splitter.feed(data)]
        if self.splitter.overflows > before:
            out.append(FrameError(f"no delimiter within {proto.MAX_ENCODED} bytes: skipped to "
                                  "the next one", proto.MAX_ENCODED))
        return out
