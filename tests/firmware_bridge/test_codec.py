"""The frame codec: the Pi's (cobs + crc packages) and the firmware's own must agree byte for
byte, round-trip any payload, and turn any byte stream into frames or clean errors."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.firmware_bridge.codec import Decoder, Frame, FrameError, decode_chunk, encode
from eilfw import proto

payloads = st.binary(max_size=proto.MAX_PAYLOAD)
types = st.sampled_from(sorted(proto.TYPE_NAMES))
seqs = st.integers(0, 0xFFFF)


def test_crc_is_ibm_3740_with_its_check_value() -> None:
    assert proto.crc16(b"123456789") == 0x29B1


def test_a_known_frame_byte_for_byte() -> None:
    # ACK of boot 0x01020304, received 7, durable 5 (docs/firmware-bridge.md shows this frame)
    frame = encode(proto.ACK, 0x0102, proto.pack_u32s(0x01020304, 7, 5))
    # body 01 04 02 01 0c 00 | 04 03 02 01 07 00 00 00 05 00 00 00 | CRC 35 93, stuffed
    assert frame.hex(" ") == ("00 06 01 04 02 01 0c 06 04 03 02 01 07 01 01 02 05 01 01 03 "
                              "35 93 00")


@given(types, seqs, payloads)
def test_any_payload_round_trips_and_both_sides_frame_identically(typ: int, seq: int,
                                                                  payload: bytes) -> None:
    wire = encode(typ, seq, payload)
    assert wire == proto.encode_frame(typ, seq, payload)
    assert wire[0] == 0 and wire[-1] == 0 and 0 not in wire[1:-1]
    assert len(wire) <= proto.MAX_FRAME
    assert Decoder().feed(wire) == [Frame(typ, seq, payload)]
    assert proto.decode_frame(wire[1:-1]) == (typ, seq, payload)


@given(st.binary(max_size=3000))
@settings(max_examples=300)
def test_any_byte_string_yields_frames_or_errors_never_an_exception(data: bytes) -> None:
    out = Decoder().feed(data)
    assert all(isinstance(f, Frame | FrameError) for f in out)
    for chunk in proto.Splitter().feed(data):  # the firmware's decoder: ValueError only
        try:
            proto.decode_frame(chunk)
        except ValueError:
            pass


@given(st.binary(max_size=1500), types, seqs, payloads, st.integers(1, 64))
@settings(max_examples=200)
def test_a_good_frame_after_garbage_is_read_whole(garbage: bytes, typ: int, seq: int,
                                                  payload: bytes, piece: int) -> None:
    decoder, out = Decoder(), []
    stream = garbage + encode(typ, seq, payload)
    for i in range(0, len(stream), piece):  # as the serial port delivers it, in pieces
        out += decoder.feed(stream[i:i + piece])
    assert out and out[-1] == Frame(typ, seq, payload)


@given(types, seqs, st.binary(min_size=1, max_size=200), st.data())
def test_a_flipped_bit_or_cut_is_an_error_not_a_frame(typ: int, seq: int, payload: bytes,
                                                      data: st.DataObject) -> None:
    wire = bytearray(encode(typ, seq, payload))
    bit = data.draw(st.integers(8, 8 * (len(wire) - 1) - 1))  # inside the stuffed frame
    wire[bit // 8] ^= 1 << (bit % 8)
    out = Decoder().feed(bytes(wire))
    assert Frame(typ, seq, payload) not in out
    cut = data.draw(st.integers(2, len(wire) - 2))
    clean = encode(typ, seq, payload)
    assert [f for f in Decoder().feed(clean[:cut] + clean) if isinstance(f, Frame)] == \
        [Frame(typ, seq, payload)]  # the cut frame is lost, the next one is not


def test_a_run_without_delimiter_is_skipped_and_memory_stays_bounded() -> None:
    decoder = Decoder()
    out = decoder.feed(b"\x55" * 5000)
    assert [f.reason for f in out if isinstance(f, FrameError)] == [
        f"no delimiter within {proto.MAX_ENCODED} bytes: skipped to the next one"]
    assert len(decoder.splitter.buf) == 0
    frame = encode(proto.LOG, 1, b"\x01ok")
    assert decoder.feed(b"\x55" * 100 + frame) == [Frame(proto.LOG, 1, b"\x01ok")]


@pytest.mark.parametrize(("body", "reason"), [
    (b"\x02\x01\x00\x00\x00\x00", "protocol version 2, this side speaks 1"),
    (b"\x01\x01\x00\x00\x05\x00", "length field says 5 bytes, frame holds 0"),
    (b"\x01\x7f\x00\x00\x00\x00", "unknown message type 0x7f"),
    (b"\x01", "frame too short: 3 bytes"),
])
def test_header_errors_name_what_is_wrong(body: bytes, reason: str) -> None:
    from cobs import cobs

    chunk = cobs.encode(body + struct.pack(">H", proto.crc16(body)))
    assert decode_chunk(chunk) == FrameError(reason, len(chunk))


def record(channel: int) -> st.SearchStrategy[tuple[int, int, float]]:
    values = (st.integers(0, 2**32 - 1) if proto.CHANNELS[channel] == proto.COUNTER
              else st.floats(width=32, allow_nan=False))
    return st.tuples(st.just(channel), st.integers(0, 2**32 - 1), values)


records = st.lists(st.sampled_from(sorted(proto.CHANNELS)).flatmap(record), max_size=proto.MAX_BATCH)


@given(st.integers(0, 2**32 - 1), st.integers(0, 1000), st.integers(0, 1000), records)
def test_reading_batches_round_trip(boot: int, oldest: int, extra: int,
                                    recs: list[tuple[int, int, float]]) -> None:
    packed = b"".join(proto.pack_record(c, t, v) for c, t, v in recs)
    payload = proto.pack_readings(boot, oldest, oldest + extra, packed)
    assert len(payload) <= proto.MAX_PAYLOAD
    assert proto.unpack_readings(payload) == (boot, oldest, oldest + extra, recs)


@given(st.binary(max_size=600))
def test_payload_parsers_raise_only_value_error(p: bytes) -> None:
    for parse in (proto.unpack_hello, proto.unpack_readings, proto.unpack_config, proto.unpack_text,
                  lambda b: proto.unpack_u32s(b, 3, "ack")):
        try:
            parse(p)
        except ValueError:
            pass
