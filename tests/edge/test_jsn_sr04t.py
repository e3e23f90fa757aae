"""JSN-SR04T over a real pty through pyserial: frames, corrupt frames, noise, silence."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.errors import SensorError
from edge.fakes.hardware import FakeHardware
from edge.sensors.jsn_sr04t import FakeJSNSR04T, TankLevel, TankOptions, find_frame, frame

TANK = TankOptions("/dev/serial0", True, math.pi * 0.55**2, 1.35, 1.15)


@pytest.fixture
def tank() -> tuple[TankLevel, FakeJSNSR04T, FakeHardware]:
    hw = FakeHardware()
    device = FakeJSNSR04T(mm=700)
    hw.attach_serial("/dev/serial0", device)
    sensor = TankLevel(TANK, hw, timeout_s=0.5)
    yield sensor, device, hw
    sensor.close()
    hw.close()


def test_distance_becomes_depth_and_litres(tank) -> None:  # type: ignore[no-untyped-def]
    sensor, device, _ = tank
    got = {s.key: s.value for s in sensor.read(0.0)}
    assert got["distance"] == 0.7 and got["level"] == pytest.approx(0.65)
    assert got["volume"] == pytest.approx(round(math.pi * 0.55**2 * 0.65 * 1000, 1))
    assert bytes(device.received) == b"\x55"  # triggered mode: one trigger byte per reading


def test_corrupt_frames_are_skipped_noise_is_resynchronised(tank) -> None:  # type: ignore[no-untyped-def]
    sensor, device, _ = tank
    device.corrupt, device.noise = 1, b"\x00\xff\x13"
    assert sensor.read(0.0)[0].value == 0.7
    assert bytes(device.received) == b"\x55\x55"  # the corrupt answer was re-triggered


def test_only_corrupt_frames_or_silence_are_errors(tank) -> None:  # type: ignore[no-untyped-def]
    sensor, device, _ = tank
    device.corrupt = 1000
    with pytest.raises(SensorError, match="checksum mismatch"):
        sensor.read(0.0)
    device.corrupt, device.silent = 0, True
    with pytest.raises(SensorError, match="no frame within 0.5 s"):
        sensor.read(0.0)
    device.silent, device.mm = False, 0
    with pytest.raises(SensorError, match="no echo"):
        sensor.read(0.0)


def test_frames_are_what_the_datasheet_says() -> None:
    assert frame(0x0123) == bytes([0xFF, 0x01, 0x23, (0xFF + 0x01 + 0x23) & 0xFF])
    # the stray 0xFF before the frame fails its checksum: counted, skipped
    assert find_frame(b"\x01\xff" + frame(1500) + frame(900)) == (1500, 6, 1)


@given(st.binary(max_size=64), st.integers(0, 0xFFFF), st.binary(max_size=8))
def test_finder_always_finds_a_good_frame_after_any_garbage(noise: bytes, mm: int,
                                                            tail: bytes) -> None:
    found, used, _ = find_frame(noise + frame(mm) + tail)
    if found is not None and found != mm:  # garbage may itself hold a valid frame, earlier
        assert used <= len(noise) + 3
    else:
        assert found == mm
