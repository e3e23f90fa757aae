"""The firmware's own code, run on the Pi: its measurement arithmetic against hand-computed
vectors, its settings parser, and its Link against the Pi's Session over an in-memory loopback
(the pty tests in test_link_faults.py add a real serial line)."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest

from edge.firmware_bridge.codec import Decoder
from edge.firmware_bridge.session import ACK_REPEAT_S, Session
from eilfw import firmware, measure, proto
from eilfw.link import Link

FIRMWARE = Path(__file__).parents[2] / "hardware" / "firmware"
MICROPYTHON_MODULES = {"array", "struct", "math", "time", "os", "machine", "micropython", "eilfw"}


@pytest.mark.parametrize("path", sorted(FIRMWARE.rglob("*.py")), ids=lambda p: p.name)
def test_firmware_stays_in_the_micropython_subset(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [] if node.level else [(node.module or "").split(".")[0]]
        else:
            names = []
        assert set(names) <= MICROPYTHON_MODULES, f"{path.name}:{node.lineno} imports {names}"
        assert not isinstance(node, ast.AnnAssign | ast.JoinedStr), f"{path.name}:{node.lineno}"
        if isinstance(node, ast.FunctionDef):
            assert node.returns is None and all(a.annotation is None for a in node.args.args), \
                f"{path.name}:{node.lineno}: annotations"


def u16(raw: int) -> int:
    """What the Pico's read_u16() gives for a 12-bit ADC count."""
    return raw << 4 | raw >> 8


def test_irms_and_power_of_sampled_sines() -> None:
    a = 62  # 12-bit counts of peak: four samples per cycle at 0, 90, 180, 270 degrees
    i = [u16(x) for x in [2048, 2048 + a, 2048, 2048 - a] * 10]
    # Irms = 62 / sqrt 2 counts x (30 A/V x 3.3 V / 4095) = 1.059883 A; x 230 V = 243.773 W
    irms, real, apparent, vrms = measure.ct_power(i, None, 30.0, 0.0, 230.0, 0.05)
    assert irms == pytest.approx(1.059883, abs=1e-6)
    assert (real, apparent, vrms) == (pytest.approx(243.773, abs=1e-3),) * 2 + (None,)
    v_in_phase = [u16(x) for x in [2048, 2048 + 124, 2048, 2048 - 124] * 10]  # x 300 divider
    irms, real, apparent, vrms = measure.ct_power(i, v_in_phase, 30.0, 300.0, 230.0, 0.05)
    assert vrms == pytest.approx(124 / math.sqrt(2) * 300 * 3.3 / 4095, rel=1e-9)  # 21.198 V
    assert real == pytest.approx(vrms * irms, rel=1e-9) and apparent == pytest.approx(real)
    v_quadrature = [u16(x) for x in [2048 + 124, 2048, 2048 - 124, 2048] * 10]  # 90 degrees
    _, real, apparent, _ = measure.ct_power(i, v_quadrature, 30.0, 300.0, 230.0, 0.05)
    assert real == pytest.approx(0.0, abs=1e-9) and apparent > 20
    idle = [u16(x) for x in [2048, 2049, 2048, 2047] * 10]  # ADC noise on an idle clamp
    assert measure.ct_power(idle, None, 30.0, 0.0, 230.0, 0.05)[:2] == (0.0, 0.0)
    many = [u16(2048 + (k % 7) * 300 - 900) for k in range(600)]  # more than one chunk
    mean = sum(x >> 4 for x in many) / 600
    want = math.sqrt(sum(((x >> 4) - mean) ** 2 for x in many) / 600) * 30 * 3.3 / 4095
    assert measure.ct_power(many, None, 30.0, 0.0, 230.0, 0.05)[0] == pytest.approx(want,
                                                                                     rel=1e-12)


def test_rp2040_temperature_and_pulse_dead_time() -> None:
    assert measure.rp2040_temperature(round(0.706 / 3.3 * 65535)) == pytest.approx(27.0, abs=0.05)
    tally = measure.PulseTally(50)
    for t in (0, 1, 2, 49, 50, 120, 121):
        tally.hit(t)
    assert tally.count == 3  # 0, 50, 120: the rest is contact bounce


@pytest.mark.parametrize(("settings", "error"), [
    ({"mains_hz": "55"}, "mains_hz: '55' is not 50 or 60"),
    ({"interval_s": "fast"}, "interval_s: 'fast' is not a number"),
    ({"voltage": "measured"}, "vt_volts_per_volt: a measured voltage needs the divider's ratio"),
    ({"channels": "ct,rain"}, "channels: unknown group 'rain'"),
    ({"colour": "red"}, "unknown setting 'colour'"),
    ({"cycles": "30"}, "cycles: 30 is outside 1..12"),
    ({"cycles": "ten"}, "cycles: 'ten' is not a whole number"),
])
def test_settings_errors_name_the_setting(settings: dict[str, str], error: str) -> None:
    with pytest.raises(ValueError, match="^" + error.replace("(", r"\(").replace(")", r"\)")):
        firmware.parse_settings(settings)


class Loop:
    """A Link and a Session wired back to back in memory, on one fake clock."""

    def __init__(self, capacity: int = 100, resume: tuple[int, int] | None = None) -> None:
        self.ms = 0
        self.up = True  # the Pi is listening
        self.drop_next_batch = False
        self.decoder = Decoder()
        self.link = Link(self._to_pi, lambda: self.ms, 0xB007, (1, 5), capacity=capacity,
                         rto_ms=500)
        self.to_mcu: list[bytes] = []  # delivered on the next tick, as a UART would
        self.session = Session(lambda t, p: self.to_mcu.append(proto.encode_frame(t, 0, p)),
                               resume, monotonic=lambda: self.ms / 1000)

    def _to_pi(self, data: bytes) -> None:
        frames = self.decoder.feed(data)
        if not self.up or (self.drop_next_batch and frames[0].type == proto.READINGS):
            self.drop_next_batch = False
            return
        for f in frames:
            self.session.on_frame(f)

    def run(self, ms: int) -> None:
        for _ in range(ms // 10):
            self.ms += 10
            for data in self.to_mcu:
                self.link.receive(data)
            self.to_mcu = []
            self.link.poll()
            self.session.poll()

    def commit(self) -> list[int]:
        return commit(self.session)


def commit(session: Session) -> list[int]:
    """What the Pi takes from its session, committed as the agent would: their seqs."""
    items, mark = session.take()
    if mark:
        session.committed(*mark)
    return [r.seq for r, _ in items]


def test_readings_flow_and_the_ring_frees_only_what_is_committed() -> None:
    loop = Loop()
    for k in range(10):
        loop.link.add(1, k, float(k))
    loop.run(100)
    assert loop.link.rx_next == 10 and loop.link.oldest == 0  # received, not yet durable
    assert loop.commit() == list(range(10))
    loop.run(20)
    assert loop.link.oldest == 10 and loop.link.held == 0


def test_a_lost_batch_is_recovered_by_nack_in_order() -> None:
    loop = Loop()
    loop.run(50)
    loop.drop_next_batch = True
    for k in range(3):
        loop.link.add(1, k, 1.0)
    loop.link.poll()
    for k in range(3, 6):
        loop.link.add(1, k, 1.0)
    loop.run(100)
    assert loop.session.stats.nacks == 1
    assert loop.commit() == list(range(6))


def test_a_lost_last_ack_on_an_idle_link_is_repeated_until_the_ring_is_freed() -> None:
    loop = Loop()
    for k in range(10):
        loop.link.add(1, k, float(k))
    loop.run(100)
    loop.commit()
    loop.to_mcu = []  # the ACK that made seq 0..9 durable is lost, and nothing more is measured
    loop.run(int(ACK_REPEAT_S * 1000) - 200)
    assert loop.link.oldest == 0 and loop.link.held == 10
    loop.run(300)  # the repeat frees them
    assert loop.link.oldest == 10 and loop.link.held == 0


def test_a_restarted_pi_resumes_after_its_committed_mark() -> None:
    loop = Loop(resume=(0xB007, 6))  # the outbox already holds seq 0..5 of this boot
    for k in range(10):
        loop.link.add(1, k, float(k))
    loop.run(100)
    assert loop.commit() == [6, 7, 8, 9]
    loop.run(20)
    assert loop.link.oldest == 10


def test_a_full_ring_while_the_pi_is_away_is_reported_as_a_gap() -> None:
    loop = Loop(capacity=5)
    loop.run(50)
    loop.up = False
    for k in range(8):
        loop.link.add(5, k, k)
    loop.run(100)
    loop.up = True
    loop.run(2000)  # the retransmission timer brings the link back
    assert loop.commit() == [3, 4, 5, 6, 7]
    assert loop.session.stats.lost_at_mcu == 3
    ((key, text, ref, at),) = loop.session.events
    assert (key, ref) == ("mcu.gap", "0000b007")
    assert text == "3 readings lost in the MCU buffer (seq 0..2), measured before this event"
    assert at == loop.session.sync.mono(3)  # timed at the first reading kept (tick 3)


class BrokenBoard:
    flow = meter = measure.PulseTally(2)

    def ct_samples(self, cycles: int, hz: int, with_voltage: bool) -> tuple[list[int], None]:
        return [32768, 33768, 32768, 31768], None

    def soil_raw(self) -> int:
        raise OSError("ADC2 stuck")

    def temperature_raw(self) -> int:
        return 14000


def test_a_failing_measurement_is_logged_to_the_pi_and_the_rest_kept() -> None:
    sent: list[bytes] = []
    fw = firmware.Firmware(BrokenBoard(), lambda ch, cfg: Link(sent.append, lambda: 0, 1, ch,
                                                                on_config=cfg), lambda: 0)
    fw.step()
    frames = [f for data in sent for f in Decoder().feed(data)]
    logs = [proto.unpack_text(f.payload) for f in frames if f.type == proto.LOG]
    assert logs == [(3, "measurement failed: OSError('ADC2 stuck')")]
    assert fw.link.head == 5  # Irms, real, apparent power, flow and meter counts came first


def test_a_gap_after_readings_already_taken_says_how_long_it_lasted() -> None:
    loop = Loop(capacity=5)
    loop.link.add(1, 1000, 1.0)
    loop.run(100)
    assert loop.commit() == [0]
    loop.up = False
    for k in range(1, 9):  # 8 more, one a second, into a ring of 5: seq 1..3 overwritten
        loop.link.add(1, 1000 + 1000 * k, 1.0)
    loop.run(100)
    loop.up = True
    loop.run(2000)
    assert loop.commit() == [4, 5, 6, 7, 8]
    (event,) = loop.session.events
    assert event[1] == ("3 readings lost in the MCU buffer (seq 1..3), measured within the 4 s "
                        "before this event")  # between seq 0 (tick 1000) and seq 4 (tick 5000)
    assert loop.session.stats.lost_at_mcu == 3


def test_a_gap_of_a_boot_that_ended_before_anything_after_it_arrived_is_still_reported() -> None:
    loop = Loop(capacity=2)
    loop.run(50)
    loop.up = False
    for k in range(5):
        loop.link.add(1, k, 1.0)
    loop.up = True
    loop.session._readings(0xB007, 3, 3, [])  # the MCU says it holds 3..4 now: 0..2 are gone
    assert loop.session.events == [] and loop.session.stats.lost_at_mcu == 3
    loop.session._hello(0xD00D, 5, 0, 0, (1,), "eilfw")  # it rebooted before sending them
    assert [e[:2] for e in loop.session.events] == [
        ("mcu.gap", "3 readings lost in the MCU buffer (seq 0..2)"),
        ("mcu.boot", "eilfw boot 0000d00d after 0.0 s up")]
