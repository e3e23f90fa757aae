"""The firmware's protocol code on a simulated Pico talks to the bridge over a real pty through
pyserial, while faults are injected on the line. Whatever happens, every reading the Pi accepts
is bit-for-bit what the firmware measured, none is accepted twice, and none that the MCU still
held is lost; the session recovers by itself."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import serial

from edge.fakes.mcu import SimulatedMcu
from edge.firmware_bridge.transport import READ_TIMEOUT_S, Bridge
from edge.handoff import Mark
from eilfw import proto
from tests.support.site import wait_until


@dataclass
class Committed:
    """What the agent's outbox would hold: readings and their mark, committed together."""

    records: dict[tuple[int, int], bytes] = field(default_factory=dict)
    duplicates: int = 0
    mark: Mark | None = None


class Pi:
    def __init__(self, mcu: SimulatedMcu, committed: Committed) -> None:
        port = serial.Serial(mcu.path, 115200, timeout=READ_TIMEOUT_S)
        self.bridge = Bridge(port, resume=committed.mark, config={"interval_s": "0.5"})
        self.committed = committed

    def collect(self) -> None:
        items, mark = self.bridge.take()
        for r, _ in items:
            key = (r.boot, r.seq)
            self.committed.duplicates += key in self.committed.records
            self.committed.records[key] = proto.pack_record(r.channel, r.tick_ms, r.value)
        if mark is not None:
            self.committed.mark = mark
            self.bridge.committed(mark)


@pytest.fixture
def mcu() -> Iterator[SimulatedMcu]:
    device = SimulatedMcu(measure_interval_s=0.5, rto_ms=300)
    yield device
    device.close()


def run(mcu: SimulatedMcu, fault: Callable[[float, Pi], Pi | None], seconds: float = 3.0) -> Committed:
    """Run the link for `seconds` with `fault(elapsed, pi)` called every 50 ms (it may return a
    new Pi: a restart), then heal the line, stop measuring and wait for everything."""
    committed = Committed()
    pi = Pi(mcu, committed)
    start = time.monotonic()
    try:
        while (elapsed := time.monotonic() - start) < seconds:
            pi = fault(elapsed, pi) or pi
            pi.collect()
            time.sleep(0.05)
        mcu.corrupt = mcu.drop_rx = None
        mcu.pause()
        boot = mcu.boots[-1]

        def complete() -> bool:
            pi.collect()
            return mcu.link.held == 0 and all(
                key in committed.records for key in mcu.generated if key[0] == boot)

        wait_until(complete, 20, "every reading of the current MCU boot committed")
    finally:
        pi.bridge.close()
    return committed


def check(mcu: SimulatedMcu, committed: Committed) -> None:
    assert committed.duplicates == 0
    for key, record in committed.records.items():
        assert record == mcu.generated[key], f"reading {key} corrupted"
    for boot in mcu.boots:
        seqs = sorted(s for b, s in committed.records if b == boot)
        assert seqs == list(range(len(seqs))), f"boot {boot:08x}: a hole in {seqs}"
    final = [k for k in mcu.generated if k[0] == mcu.boots[-1]]
    assert set(final) <= set(committed.records) and len(final) >= 14  # two measurements


def every(period: float, action: Callable[[], None]) -> Callable[[float, Pi], None]:
    state = {"next": period}

    def fault(elapsed: float, _pi: Pi) -> None:
        if elapsed >= state["next"]:
            state["next"] += period
            action()
    return fault


def test_a_clean_line_delivers_everything_in_order(mcu: SimulatedMcu) -> None:
    committed = run(mcu, lambda t, pi: None, seconds=2.0)
    check(mcu, committed)
    assert len(committed.records) == len(mcu.generated)
    assert mcu.link.retransmits == 0


def test_flipped_bits_are_rejected_and_resent(mcu: SimulatedMcu) -> None:
    rng = random.Random(1)

    def flip(data: bytes) -> bytes:
        if rng.random() < 0.3:
            b = bytearray(data)
            bit = rng.randrange(8, 8 * (len(b) - 1))
            b[bit // 8] ^= 1 << bit % 8
            return bytes(b)
        return data
    mcu.corrupt = flip
    seen: list[int] = []
    committed = run(mcu, lambda t, pi: seen.append(pi.bridge.stats.bad_frames) or None)
    check(mcu, committed)
    assert len(committed.records) == len(mcu.generated)
    assert seen[-1] > 0  # the flips were seen and rejected, not missed


def test_truncated_frames_are_rejected_and_resent(mcu: SimulatedMcu) -> None:
    rng = random.Random(2)
    mcu.corrupt = lambda d: d[:rng.randrange(1, len(d))] if rng.random() < 0.3 else d
    committed = run(mcu, lambda t, pi: None)
    check(mcu, committed)
    assert len(committed.records) == len(mcu.generated)


def test_duplicated_frames_never_duplicate_a_reading(mcu: SimulatedMcu) -> None:
    mcu.corrupt = lambda d: d + d
    committed = run(mcu, lambda t, pi: None)
    check(mcu, committed)
    assert len(committed.records) == len(mcu.generated)


def test_dropped_acks_and_commands_are_survived(mcu: SimulatedMcu) -> None:
    rng = random.Random(3)
    mcu.drop_rx = lambda d: rng.random() < 0.5  # half of what the Pi sends is lost
    committed = run(mcu, lambda t, pi: None)
    check(mcu, committed)
    assert len(committed.records) == len(mcu.generated)


def test_garbage_at_the_wrong_baud_is_skipped(mcu: SimulatedMcu) -> None:
    committed = run(mcu, every(0.2, lambda: mcu.noise(700)))
    check(mcu, committed)
    assert len(committed.records) == len(mcu.generated)


def test_an_mcu_reset_mid_stream_starts_a_new_boot_cleanly(mcu: SimulatedMcu) -> None:
    done: list[bool] = []

    def reset(elapsed: float, _pi: Pi) -> None:
        if elapsed > 1.5 and not done:
            mcu.reset(cut_frame=True)
            done.append(True)
    committed = run(mcu, reset)
    check(mcu, committed)
    assert len(mcu.boots) == 2
    first_boot = [s for b, s in committed.records if b == mcu.boots[0]]
    assert len(first_boot) >= 15  # what was committed before the reset stays committed


def test_a_pi_restart_resumes_where_its_committed_data_ends(mcu: SimulatedMcu) -> None:
    restarted: list[bool] = []

    def restart(elapsed: float, pi: Pi) -> Pi | None:
        if elapsed > 1.5 and not restarted:
            restarted.append(True)
            time.sleep(1.2)  # the bridge receives (and acknowledges receipt) but nothing is
            pi.bridge.close()  # committed before the crash: those readings exist only on the MCU
            time.sleep(1.0)  # ... and the MCU keeps measuring while the Pi is down
            return Pi(mcu, pi.committed)  # ... so the MCU must send them again
        return None
    committed = run(mcu, restart)
    assert committed.mark is not None and restarted
    check(mcu, committed)
    assert len(committed.records) == len(mcu.generated)
