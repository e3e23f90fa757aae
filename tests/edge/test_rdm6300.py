"""RDM6300: real frames through a pty to the reader, with bad checksums, cut frames, noise and
repeats; the parser under hypothesis."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.fakes.hardware import FakeHardware
from edge.sensors.rdm6300 import FakeRdm6300, FrameError, Parser, Rdm6300, frame

uids = st.binary(min_size=5, max_size=5).map(lambda b: b.hex().upper())


def test_a_known_frame() -> None:
    # 0x0F ^ 0x00 ^ 0xA1 ^ 0xB2 ^ 0xC3 = 0xDF
    assert frame("0f00a1b2c3") == b"\x020F00A1B2C3DF\x03"


@given(uids, st.integers(1, 14))
def test_any_tag_round_trips_in_any_chunking(uid: str, piece: int) -> None:
    parser, out = Parser(), []
    stream = frame(uid) * 3  # the module repeats while the card is held
    for i in range(0, len(stream), piece):
        out += parser.feed(stream[i:i + piece])
    assert out == [uid] * 3


@given(st.binary(max_size=300), uids)
def test_noise_never_raises_and_the_next_good_frame_is_read(noise: bytes, uid: str) -> None:
    parser = Parser()
    out = parser.feed(noise)
    assert all(isinstance(x, str | FrameError) for x in out)
    assert parser.feed(b"\x03" + frame(uid))[-1] == uid  # ETX ends any half-read frame


@pytest.mark.parametrize(("data", "reason"), [
    (b"\x020F00A1B2C3DE\x03", "checksum mismatch"),
    (b"\x020F00A1B2CXDF\x03", "non-hex digits in the frame"),
    (b"\x020F00A1\x020F00A1B2C3DF\x03", "frame without ETX (cut short or noise)"),
])
def test_bad_frames_are_errors_and_a_following_good_one_still_counts(data: bytes,
                                                                     reason: str) -> None:
    out = Parser().feed(data)
    assert FrameError(reason) in out
    if data.count(b"\x02") == 2:
        assert out[-1] == "0F00A1B2C3"  # the good frame inside the cut one


def test_error_reasons_never_carry_the_card_number() -> None:
    out = Parser().feed(b"\x021234567890AB\x03")
    assert out == [FrameError("checksum mismatch")] and "1234567890" not in repr(out)


def test_reader_on_a_pty_sees_a_held_card_and_its_removal() -> None:
    hw = FakeHardware()
    device = FakeRdm6300()
    hw.attach_serial("/dev/serial0", device)
    reader = Rdm6300("/dev/serial0", hw)
    try:
        device.send(b"\x55\xaa\x02ZZ")  # noise and a cut frame first
        device.card = "0F00A1B2C3"
        seen: list[str | None] = []
        deadline = time.monotonic() + 0.6
        while time.monotonic() < deadline:
            seen.append(reader.poll())
            time.sleep(0.03)
        assert "0F00A1B2C3" in seen and reader.bad_frames >= 1
        device.send(b"\x020F00A1B2C3DE\x03")  # a corrupted repeat is not a tag
        device.card = None
        time.sleep(0.3)
        assert [reader.poll() for _ in range(3)].count("0F00A1B2C3") <= 1  # one in flight
        time.sleep(0.2)
        assert reader.poll() is None
    finally:
        reader.close()
        device.close()
        hw.close()
