"""The 13.56 MHz readers through their bus-level fakes: PN532 over I2C (the adafruit library's own
frame code runs against the chip's framing) and MFRC522 over SPI (register model with the card's
ISO 14443-3 answers): 4- and 7-byte UIDs, no card, garbled answers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.errors import SensorError
from edge.fakes.hardware import FakeHardware
from edge.sensors import pn532
from edge.sensors.mfrc522 import FakeMFRC522, Mfrc522, crc_a
from edge.sensors.pn532 import Pn532, information_frame

SEVEN, FOUR = "04A1B2C3D4E5F6", "DEADBEEF"


def test_crc_a_matches_the_standard() -> None:
    assert crc_a(b"123456789") == bytes.fromhex("05BF")  # check value 0xBF05, sent LSB first
    assert crc_a(b"\x50\x00") == bytes.fromhex("57CD")  # HLTA, as every ISO 14443-3 trace shows


def test_pn532_frame_layout() -> None:
    # GetFirmwareVersion response: D5 03 32 01 06 07, LEN 6, LCS FA, DCS = -(sum) & 0xFF
    assert information_frame(bytes.fromhex("D50332010607")).hex() == "0000ff06fad50332010607e800"


@pytest.fixture
def hw() -> FakeHardware:
    return FakeHardware()


def test_pn532_reads_4_and_7_byte_uids_and_survives_a_garbled_frame(hw: FakeHardware) -> None:
    chip = pn532.attach_fake(hw, 1)
    reader = Pn532(1, hw)
    assert reader.poll() is None
    chip.card = SEVEN
    assert reader.poll() == SEVEN
    chip.card = FOUR
    assert reader.poll() == FOUR
    chip.corrupt_next = True
    with pytest.raises(SensorError, match="checksum"):
        reader.poll()  # the library rejects it; the station counts no tap
    assert reader.poll() == FOUR
    hw.i2c(1).nack.add(pn532.ADDRESS)  # power lost: an error, not "no card"
    with pytest.raises(SensorError, match="does not acknowledge"):
        reader.poll()


def test_pn532_absent_is_a_clear_error(hw: FakeHardware) -> None:
    with pytest.raises(SensorError, match="PN532 on I2C bus 1"):
        Pn532(1, hw)


def test_mfrc522_reads_4_and_7_byte_uids_every_poll_while_held(hw: FakeHardware) -> None:
    chip = FakeMFRC522()
    hw.spi_devices[(0, 0)] = chip
    reader = Mfrc522(0, 0, hw)
    assert reader.poll() is None
    chip.card = SEVEN
    assert [reader.poll() for _ in range(3)] == [SEVEN] * 3  # HLTA then WUPA: still answers
    chip.card = FOUR
    assert reader.poll() == FOUR
    chip.garble = True
    assert reader.poll() is None  # a bad BCC is a miss, never a wrong UID
    assert reader.poll() == FOUR


@given(st.binary(min_size=7, max_size=7).filter(lambda b: b[0] != 0x88)
       | st.binary(min_size=4, max_size=4).filter(lambda b: b[0] != 0x88))
def test_mfrc522_any_uid_round_trips(uid: bytes) -> None:
    hw = FakeHardware()
    chip = FakeMFRC522()
    hw.spi_devices[(0, 0)] = chip
    chip.card = uid.hex().upper()
    assert Mfrc522(0, 0, hw).poll() == uid.hex().upper()


def test_mfrc522_unwired_is_a_clear_error(hw: FakeHardware) -> None:
    hw.spi_devices[(0, 0)] = FakeMFRC522(version=0x00)
    with pytest.raises(SensorError, match="version register reads 0x00; is the module wired"):
        Mfrc522(0, 0, hw)
