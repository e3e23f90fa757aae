"""The firmware bridge wire format, shared by the Pico firmware (MicroPython) and the Pi (CPython).

This module is written in the subset of Python both run: only `struct`, no typing, no dataclasses,
ValueError for every malformed input. The Pi frames with the `cobs` and `crc` packages
(edge/firmware_bridge/codec.py); the Pico cannot install them, so the small COBS and CRC
functions here are its own, and the tests check that both sides produce the same bytes.

A frame on the wire is COBS(header + payload + CRC) between two 0x00 delimiters (the leading one
ends whatever a sender reset cut off, so a truncated frame never swallows the next one). The header is
version, type, sequence number (per sender, wrapping at 2^16) and payload length, little-endian;
the CRC is CRC-16/IBM-3740 (poly 0x1021, init 0xFFFF, not reflected, xorout 0; "CCITT-FALSE")
over header and payload, sent big-endian. docs/firmware-bridge.md is the full specification.
"""

import struct

VERSION = 1
HEADER = "<BBHH"  # version, type, seq, payload length
HEADER_SIZE = 6
CRC_SIZE = 2
MAX_PAYLOAD = 480
MAX_BODY = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE
MAX_ENCODED = MAX_BODY + MAX_BODY // 254 + 1  # COBS adds one byte per 254 and one at the start
MAX_FRAME = MAX_ENCODED + 2  # with both delimiters

# Message types. MCU -> Pi: HELLO, READINGS, TIME_REPLY, CONFIG_ACK, LOG.
# Pi -> MCU: WELCOME, ACK, NACK, TIME_REQ, CONFIG, RESYNC.
HELLO = 0x01
WELCOME = 0x02
READINGS = 0x03
ACK = 0x04
NACK = 0x05
TIME_REQ = 0x06
TIME_REPLY = 0x07
CONFIG = 0x08
CONFIG_ACK = 0x09
LOG = 0x0A
RESYNC = 0x0B
TYPE_NAMES = {HELLO: "hello", WELCOME: "welcome", READINGS: "readings", ACK: "ack", NACK: "nack",
              TIME_REQ: "time_req", TIME_REPLY: "time_reply", CONFIG: "config",
              CONFIG_ACK: "config_ack", LOG: "log", RESYNC: "resync"}

# The channel catalogue: what a reading's channel byte means. Gauges travel as float32,
# counters as uint32 (a float32 counter would stop counting at 2^24 pulses).
GAUGE = "g"
COUNTER = "c"
CH_IRMS = 1  # A, RMS current through the CT clamp
CH_REAL_POWER = 2  # W, mean of instantaneous v*i (or Irms x assumed volts x power factor 1)
CH_APPARENT_POWER = 3  # VA, Vrms x Irms
CH_VRMS = 4  # V, only with a mains voltage reference (AC-AC adapter)
CH_FLOW_PULSES = 5  # pulses from a flow sensor since the MCU booted
CH_METER_PULSES = 6  # pulses from a kWh meter's S0 / LED output since the MCU booted
CH_SOIL_VOLTS = 7  # V, analog soil probe output
CH_MCU_TEMP = 8  # Cel, the RP2040's internal sensor
CHANNELS = {CH_IRMS: GAUGE, CH_REAL_POWER: GAUGE, CH_APPARENT_POWER: GAUGE, CH_VRMS: GAUGE,
            CH_FLOW_PULSES: COUNTER, CH_METER_PULSES: COUNTER, CH_SOIL_VOLTS: GAUGE,
            CH_MCU_TEMP: GAUGE}

RECORD_SIZE = 9  # channel u8, tick u32 (ms since MCU boot), value f32 or u32
BATCH_HEAD = "<IIIB"  # boot id, oldest seq still held, first seq in this batch, count
BATCH_HEAD_SIZE = 13
MAX_BATCH = (MAX_PAYLOAD - BATCH_HEAD_SIZE) // RECORD_SIZE
LOG_LEVELS = ("debug", "info", "warning", "error")


def _crc_table():
    table = []
    for i in range(256):
        c = i << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x1021) if c & 0x8000 else (c << 1)
        table.append(c & 0xFFFF)
    return table


_CRC_TABLE = _crc_table()


def crc16(data):
    """CRC-16/IBM-3740 of `data` (check value for b"123456789": 0x29B1)."""
    c = 0xFFFF
    t = _CRC_TABLE
    for b in data:
        c = ((c << 8) & 0xFFFF) ^ t[(c >> 8) ^ b]
    return c


def cobs_encode(data):
    """Consistent Overhead Byte Stuffing: the result holds no zero byte."""
    out = bytearray(1)
    code_at = 0
    code = 1
    n = len(data)
    for i in range(n):
        b = data[i]
        if b:
            out.append(b)
            code += 1
        if not b or (code == 0xFF and i + 1 < n):
            out[code_at] = code
            code_at = len(out)
            out.append(0)
            code = 1
    out[code_at] = code
    return bytes(out)


def cobs_decode(data):
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        if code == 0:
            raise ValueError("COBS: zero byte inside a frame")
        end = i + code
        if end > n:
            raise ValueError("COBS: block runs past the end of the frame")
        block = data[i + 1:end]
        if 0 in block:
            raise ValueError("COBS: zero byte inside a frame")
        out += block
        i = end
        if code < 0xFF and i < n:
            out.append(0)
    return bytes(out)


def header(typ, seq, length):
    return struct.pack(HEADER, VERSION, typ, seq & 0xFFFF, length)


def split_body(body):
    """(type, seq, payload) of a de-stuffed frame whose CRC the caller has checked."""
    if len(body) < HEADER_SIZE + CRC_SIZE:
        raise ValueError("frame too short: %d bytes" % len(body))
    version, typ, seq, length = struct.unpack_from(HEADER, body, 0)
    if version != VERSION:
        raise ValueError("protocol version %d, this side speaks %d" % (version, VERSION))
    if length > MAX_PAYLOAD:
        raise ValueError("payload length %d exceeds %d" % (length, MAX_PAYLOAD))
    if length != len(body) - HEADER_SIZE - CRC_SIZE:
        raise ValueError("length field says %d bytes, frame holds %d"
                         % (length, len(body) - HEADER_SIZE - CRC_SIZE))
    if typ not in TYPE_NAMES:
        raise ValueError("unknown message type 0x%02x" % typ)
    return typ, seq, bytes(body[HEADER_SIZE:HEADER_SIZE + length])


def encode_frame(typ, seq, payload):
    """The frame as the firmware sends it (the Pi's codec produces the same bytes)."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError("payload of %d bytes exceeds %d" % (len(payload), MAX_PAYLOAD))
    body = header(typ, seq, len(payload)) + bytes(payload)
    return b"\x00" + cobs_encode(body + struct.pack(">H", crc16(body))) + b"\x00"


def decode_frame(chunk):
    """(type, seq, payload) of one frame without its delimiter, or ValueError."""
    body = cobs_decode(chunk)
    if len(body) < CRC_SIZE or crc16(body[:-CRC_SIZE]) != struct.unpack(">H", body[-CRC_SIZE:])[0]:
        raise ValueError("CRC mismatch")
    return split_body(body)


class Splitter:
    """Cuts a byte stream into frames at 0x00 delimiters. A run longer than MAX_ENCODED without
    a delimiter is garbage (noise, a wrong baud rate): it is dropped up to the next delimiter,
    so memory stays bounded and the next good frame is read whole."""

    def __init__(self, limit=MAX_ENCODED):
        self.limit = limit
        self.buf = bytearray()
        self.skipping = False
        self.overflows = 0

    def feed(self, data):
        chunks = []
        start = 0
        while True:
            end = data.find(b"\x00", start)
            self._add(data[start:] if end < 0 else data[start:end])
            if end < 0:
                return chunks
            if self.buf and not self.skipping:
                chunks.append(bytes(self.buf))
            self.buf = bytearray()
            self.skipping = False
            start = end + 1

    def _add(self, part):
        if self.skipping or not part:
            return
        if len(self.buf) + len(part) > self.limit:
            self.buf = bytearray()
            self.skipping = True
            self.overflows += 1
        else:
            self.buf += part


def _need(payload, size, what):
    if len(payload) < size:
        raise ValueError("%s payload of %d bytes, need %d" % (what, len(payload), size))


# --- payloads -------------------------------------------------------------------------------

def pack_hello(boot, uptime_ms, oldest, next_seq, channels, firmware):
    return (struct.pack("<IIIIB", boot, uptime_ms & 0xFFFFFFFF, oldest, next_seq, len(channels))
            + bytes(channels) + firmware.encode())


def unpack_hello(p):
    """(boot, uptime_ms, oldest, next_seq, channels, firmware)."""
    _need(p, 17, "hello")
    boot, uptime, oldest, next_seq, n = struct.unpack_from("<IIIIB", p, 0)
    _need(p, 17 + n, "hello")
    channels = tuple(p[17:17 + n])
    for ch in channels:
        if ch not in CHANNELS:
            raise ValueError("hello announces unknown channel %d" % ch)
    if oldest > next_seq:
        raise ValueError("hello: oldest seq %d is after next seq %d" % (oldest, next_seq))
    return boot, uptime, oldest, next_seq, channels, bytes(p[17 + n:]).decode()


def pack_readings(boot, oldest, first, records):
    """`records` is the concatenation of packed records (see pack_record)."""
    count = len(records) // RECORD_SIZE
    return struct.pack(BATCH_HEAD, boot, oldest, first, count) + bytes(records)


def pack_record(channel, tick_ms, value):
    if CHANNELS[channel] == COUNTER:
        return struct.pack("<BII", channel, tick_ms & 0xFFFFFFFF, int(value) & 0xFFFFFFFF)
    return struct.pack("<BIf", channel, tick_ms & 0xFFFFFFFF, value)


def unpack_readings(p):
    """(boot, oldest, first, [(channel, tick_ms, value), ...])."""
    _need(p, BATCH_HEAD_SIZE, "readings")
    boot, oldest, first, count = struct.unpack_from(BATCH_HEAD, p, 0)
    if len(p) != BATCH_HEAD_SIZE + count * RECORD_SIZE:
        raise ValueError("readings: %d records need %d bytes, payload has %d"
                         % (count, BATCH_HEAD_SIZE + count * RECORD_SIZE, len(p)))
    if oldest > first:
        raise ValueError("readings: oldest seq %d is after first seq %d" % (oldest, first))
    records = []
    at = BATCH_HEAD_SIZE
    for _ in range(count):
        channel = p[at]
        kind = CHANNELS.get(channel)
        if kind is None:
            raise ValueError("readings: unknown channel %d" % channel)
        fmt = "<BII" if kind == COUNTER else "<BIf"
        _, tick, value = struct.unpack_from(fmt, p, at)
        records.append((channel, tick, value))
        at += RECORD_SIZE
    return boot, oldest, first, records


def pack_u32s(*values):
    return struct.pack("<" + "I" * len(values), *values)


def unpack_u32s(p, n, what):
    if len(p) != 4 * n:
        raise ValueError("%s payload of %d bytes, need %d" % (what, len(p), 4 * n))
    return struct.unpack("<" + "I" * n, p)


def pack_config(settings):
    """Configuration as `key=value` lines (readable in a capture, easy to parse on the MCU)."""
    return "\n".join("%s=%s" % (k, settings[k]) for k in sorted(settings)).encode()


def unpack_config(p):
    try:
        text = bytes(p).decode()
    except UnicodeError:  # (MicroPython's carries no message of its own)
        raise ValueError("config is not UTF-8 text")
    settings = {}
    for line in text.split("\n"):
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep or not key:
            raise ValueError("config line %r is not key=value" % line)
        settings[key] = value
    return settings


def pack_text(level, text):
    """LOG and CONFIG_ACK: a status byte and UTF-8 text, cut to fit one frame."""
    return bytes([level]) + text.encode()[:MAX_PAYLOAD - 1]


def unpack_text(p):
    _need(p, 1, "text")
    return p[0], bytes(p[1:]).decode("utf-8", "replace")
