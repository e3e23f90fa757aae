"""The tool-library station: pseudonyms and the site key, debouncing, the two-tap state machine,
LED/buzzer feedback on gpiozero's mock pins, and the whole station reading real RDM6300 frames
from a pty, with the raw card numbers nowhere in what it emits or logs."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ConfigError
from edge.config import NodeConfig, load_node_config
from edge.errors import SensorError
from edge.fakes.hardware import FakeHardware
from edge.registry import parse_options
from edge.sensors.rdm6300 import FakeRdm6300
from edge.sensors.tool_station import ToolStation
from edge.station import (
    Debouncer,
    LibraryView,
    Outcome,
    TwoTap,
    load_site_key,
    new_site_key,
    pseudonym,
)

KEY = b"k" * 32
MEMBER_UID, OTHER_UID, STRANGER_UID = "0A1B2C3D4E", "0A1B2C3D4F", "0F0F0F0F0F"
DRILL, SAW, LADDER = "5500AA0001", "5500AA0002", "5500AA0003"


def test_pseudonym_is_keyed_hmac_sha256() -> None:
    # HMAC-SHA256(b"k"*32, b"0A1B2C3D4E"), first 16 hex digits (checked with openssl dgst -hmac)
    assert pseudonym(KEY, MEMBER_UID) == "m-5c37a81b637d6f41"
    assert pseudonym(KEY, MEMBER_UID.lower()) == pseudonym(KEY, MEMBER_UID)
    assert pseudonym(b"another key 123456", MEMBER_UID) != pseudonym(KEY, MEMBER_UID)


def test_site_key_rules(tmp_path: Path) -> None:
    data = tmp_path / "data"
    key = tmp_path / "etc" / "station.key"
    with pytest.raises(SensorError, match="does not exist; create it with `eil node station-key"):
        load_site_key(key, data)
    assert new_site_key(key) and not new_site_key(key)  # never overwritten
    assert oct(key.stat().st_mode & 0o777) == "0o600" and len(key.read_bytes()) == 32
    assert load_site_key(key, data) == key.read_bytes()
    key.chmod(0o644)
    with pytest.raises(SensorError, match="readable by others .*chmod 600"):
        load_site_key(key, data)
    inside = data / "station.key"
    new_site_key(inside)
    with pytest.raises(SensorError, match="is inside the data directory"):
        load_site_key(inside, data)


def test_debouncer_makes_one_tap_of_a_held_card_and_a_new_one_after_removal() -> None:
    d = Debouncer(removal_s=0.5)
    polls = [(0.0, "A"), (0.1, "A"), (0.2, None), (0.3, "A"), (0.4, None), (0.7, None),
             (1.0, None), (1.1, "A"), (1.2, "B")]
    taps = [(t, d.update("r", uid, t)) for t, uid in polls]
    assert [(t, u) for t, u in taps if u] == [(0.0, "A"), (1.1, "A"), (1.2, "B")]


def view() -> LibraryView:
    return LibraryView({DRILL: "available", SAW: "out", LADDER: "maintenance"},
                       {"m-alice": False, "m-bob": True})


def test_two_taps_in_either_order_check_out_and_in() -> None:
    v, taps = view(), TwoTap(timeout_s=20)
    assert taps.tap("member", "m-alice", 0, v) == Outcome("waiting", member="m-alice")
    assert taps.tap("tool", DRILL, 1, v) == Outcome("checkout", DRILL, "m-alice")
    assert v.tools[DRILL] == "out"
    assert taps.tap("tool", DRILL, 5, v) == Outcome("waiting", tool=DRILL)
    assert taps.tap("member", "m-bob", 6, v) == Outcome("checkin", DRILL, "m-bob")  # anyone returns


def test_refusals_cancel_timeout_and_unknown() -> None:
    v, taps = view(), TwoTap(timeout_s=20)
    taps.tap("member", "m-alice", 0, v)
    assert taps.tap("tool", LADDER, 1, v) == Outcome("refused", LADDER, "m-alice",
                                                     "tool is in maintenance")
    taps.tap("member", "m-bob", 2, v)
    assert taps.tap("tool", DRILL, 3, v) == Outcome("overdue", DRILL, "m-bob",
                                                    "member has an overdue loan")
    assert v.tools[DRILL] == "available"
    taps.tap("tool", DRILL, 4, v)
    assert taps.tap("tool", DRILL, 5, v) == Outcome("cancelled", tool=DRILL)
    taps.tap("member", "m-alice", 10, v)
    assert taps.tick(29) is None and taps.tick(31) == Outcome("timeout", member="m-alice")
    assert taps.tap("unknown", "m-x", 40, v) == Outcome("unknown", member="m-x",
                                                        reason="card not enrolled")
    assert TwoTap(overdue_blocks_checkout=False).tap("member", "m-bob", 0, v).kind == "waiting"


@given(st.lists(st.one_of(
    st.tuples(st.just("tool"), st.sampled_from([DRILL, SAW, LADDER]), st.floats(0, 30)),
    st.tuples(st.sampled_from(["member", "unknown"]), st.sampled_from(["m-alice", "m-bob"]),
              st.floats(0, 30))), max_size=40))
def test_no_tap_sequence_lends_a_tool_out_twice_or_against_the_rules(
        seq: list[tuple[str, str, float]]) -> None:
    v, taps, t = view(), TwoTap(timeout_s=20), 0.0
    out = {DRILL: False, SAW: True, LADDER: False}
    for kind, ident, dt in seq:
        t += dt
        taps.tick(t)
        o = taps.tap(kind, ident, t, v)
        if o.kind == "checkout":
            assert o.tool is not None and not out[o.tool]
            assert o.tool != LADDER and o.member == "m-alice"  # not in maintenance, not overdue
            out[o.tool] = True
        elif o.kind == "checkin":
            assert o.tool is not None and out[o.tool]
            out[o.tool] = False


def test_library_view_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="v.json: tool X: state 'lost' is not one of"):
        LibraryView.parse('{"tools": {"X": "lost"}, "members": {}}', "v.json")
    with pytest.raises(ValueError, match="v.json: not a library view"):
        LibraryView.parse('{"tools": []}', "v.json")


STATION = """
site = "s"
node = "library"
data_dir = "state"
[broker]
password = "x"
[[sensors]]
type = "tool_station"
interval_s = 0.05
readers = [{{ type = "rdm6300", port = "/dev/serial0" }}]
key_file = "{key}"
led_ok = 23
led_error = 24
buzzer = 25
timeout_s = 5
"""


def test_station_options_errors(tmp_path: Path) -> None:
    bad = STATION.format(key="/k").replace('type = "rdm6300", port = "/dev/serial0"',
                                             'type = "rdm6300", baud = 9600')
    (tmp_path / "node.toml").write_text(bad)
    with pytest.raises(ConfigError, match=r"sensors\[0\]: readers\[0\]: unknown option\(s\) baud"):
        load_node_config(tmp_path / "node.toml")


def test_station_on_a_pty_checks_out_and_in_and_keeps_card_numbers_private(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    key = tmp_path / "etc" / "station.key"
    new_site_key(key)
    (tmp_path / "node.toml").write_text(STATION.format(key=key))
    cfg = load_node_config(tmp_path / "node.toml")
    opts = parse_options(cfg.sensors[0])
    hw = FakeHardware(data_dir=cfg.data_dir)
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    alice = pseudonym(key.read_bytes(), MEMBER_UID)
    (cfg.data_dir / "library_view.json").write_text(json.dumps(
        {"tools": {DRILL: "available", LADDER: "maintenance"}, "members": {alice: {}}}))
    reader = FakeRdm6300()
    hw.attach_serial("/dev/serial0", reader)
    station = ToolStation(opts, hw)  # type: ignore[arg-type]
    events: list[tuple[str, str | None, str | None]] = []

    def hold(card: str | None, seconds: float) -> None:
        reader.card = card
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            events.extend((s.key, s.text, s.ref) for s in station.read(time.monotonic()))
            time.sleep(0.05)

    try:
        led_ok = hw.factory.pin(23)
        for card in (MEMBER_UID, None, DRILL, None, STRANGER_UID, None, DRILL, None,
                     MEMBER_UID, None, MEMBER_UID, None, LADDER, None):
            hold(card, 0.45 if card else 0.8)
            if card == DRILL and len(events) == 1:
                assert led_ok.state  # the check-out's green light is on
        assert events == [
            ("loan.checkout", DRILL, alice),
            ("card.unknown", "card not enrolled", pseudonym(key.read_bytes(), STRANGER_UID)),
            ("loan.checkin", DRILL, alice),
            ("loan.refused", f"{LADDER}: tool is in maintenance", alice)]
        for uid in (MEMBER_UID, STRANGER_UID):
            assert uid not in repr(events) and uid not in caplog.text
    finally:
        station.close()
        reader.close()
        hw.close()


def nfc_station(tmp_path: Path, readers: str) -> tuple[NodeConfig, FakeHardware, bytes]:
    """A station config with these readers, its hardware and its site key."""
    key = tmp_path / "etc" / "station.key"
    new_site_key(key)
    (tmp_path / "node.toml").write_text(STATION.format(key=key).replace(
        'readers = [{ type = "rdm6300", port = "/dev/serial0" }]', readers))
    cfg = load_node_config(tmp_path / "node.toml")
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    return cfg, FakeHardware(data_dir=cfg.data_dir), key.read_bytes()


def test_a_station_with_two_nfc_readers_pairs_taps_across_them(tmp_path: Path) -> None:
    cfg, hw, key = nfc_station(
        tmp_path, 'readers = [{ type = "pn532" }, { type = "mfrc522", bus = 0, device = 1 }]')
    member = pseudonym(key, "04A1B2C3D4E5F6")
    tag = "5500AA01"  # a 4-byte NFC sticker on the drill
    (cfg.data_dir / "library_view.json").write_text(json.dumps(
        {"tools": {tag: "available"}, "members": {member: {"overdue": False}}}))
    from edge.sensors import pn532
    from edge.sensors.mfrc522 import FakeMFRC522

    desk, shelf = pn532.attach_fake(hw, 1), FakeMFRC522()
    hw.spi_devices[(0, 1)] = shelf
    station = ToolStation(parse_options(cfg.sensors[0]), hw)  # type: ignore[arg-type]
    try:
        desk.card = "04A1B2C3D4E5F6"  # a 7-byte member card on the PN532 ...
        first = station.read(0.0)
        desk.card, shelf.card = None, tag  # ... then the drill's tag on the RC522
        second = station.read(1.0)
        assert first == [] and [(s.key, s.text, s.ref) for s in second] == [
            ("loan.checkout", tag, member)]
    finally:
        station.close()
        hw.close()


@pytest.mark.parametrize(("outcome", "led", "beeps"), [
    ("checkout", 23, 1), ("checkin", 23, 2), ("refused", 24, 3), ("overdue", 24, 2),
    ("unknown", 24, 1)])
def test_feedback_patterns_on_mock_pins(outcome: str, led: int, beeps: int) -> None:
    from edge.sensors.tool_station import Feedback, StationOptions

    hw = FakeHardware()
    opts = StationOptions((), Path("/k"), 20.0, 0.6, True, led_ok=23, led_error=24, buzzer=25)
    feedback = Feedback(opts, hw)
    try:
        buzzer = hw.factory.pin(25)
        buzzer.clear_states()
        feedback.show(outcome)
        time.sleep(0.05)
        assert hw.factory.pin(led).state and not hw.factory.pin(47 - led).state  # 23 <-> 24
        time.sleep(1.3)  # every beep pattern is over by now
        assert [s.state for s in buzzer.states] == [False] + [True, False] * beeps
    finally:
        feedback.close()
        hw.close()


def test_a_failing_reader_does_not_stop_the_other(tmp_path: Path) -> None:
    from edge.sensors import tool_station

    cfg, hw, _ = nfc_station(tmp_path, 'readers = [{ type = "pn532" }, { type = "mfrc522" }]')
    from edge.sensors import pn532
    from edge.sensors.mfrc522 import FakeMFRC522

    pn532.attach_fake(hw, 1)
    shelf = FakeMFRC522()
    hw.spi_devices[(0, 0)] = shelf
    station = ToolStation(parse_options(cfg.sensors[0]), hw)  # type: ignore[arg-type]
    try:
        hw.i2c(1).nack.add(pn532.ADDRESS)  # the PN532 lost power
        shelf.card = "DEADBEEF"
        events = station.read(0.0)  # the RC522 still reads: an unknown card
        assert [e.key for e in events] == ["card.unknown"]
        shelf.card = None
        station.readers["mfrc522-1"].spi = _Broken()  # and now the RC522's SPI fails too
        with pytest.raises(SensorError, match="every reader is failing"):
            for _ in range(tool_station.FAILING_POLLS):
                station.read(1.0)
    finally:
        station.close()
        hw.close()


class _Broken:
    def xfer2(self, data: list[int]) -> list[int]:
        raise OSError(5, "Input/output error")

    def close(self) -> None:
        pass
