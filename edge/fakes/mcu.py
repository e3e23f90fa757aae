"""A simulated Pico on a real pseudo-terminal: the firmware's own Firmware and Link code
(hardware/firmware/eilfw) runs against a simulated board, in a thread, and talks to the bridge
through the pty exactly as the Pico talks through its UART.

Fault injection for the link tests: `corrupt` rewrites what the MCU sends (bit flips, cuts,
repeats), `drop_rx` loses what the Pi sends (dropped acks), `noise` writes garbage, `reset`
reboots the MCU (its RAM, ring buffer included, is lost; a frame being sent is cut short).
Every reading the firmware measures is recorded in `generated`, so tests can check that what the
Pi accepted is exactly what was measured.
"""

from __future__ import annotations

import math
import os
import random
import select
import threading
import time
from collections.abc import Callable

from edge.fakes.serial import Pty
from eilfw import proto
from eilfw.firmware import Firmware
from eilfw.link import Link
from eilfw.measure import ADC_BITS_FULL, ADC_FULL, ADC_VREF


class RatePulses:
    """A pulse counter fed at a steady rate (what a PulseTally would count)."""

    def __init__(self, now_ms: Callable[[], int], hz: float) -> None:
        self.now_ms, self.hz = now_ms, hz

    @property
    def count(self) -> int:
        return int(self.now_ms() / 1000 * self.hz)


def _u16(level: float) -> int:
    raw = min(4095, max(0, round(level)))
    return raw << 4 | raw >> 8


class SimBoard:
    """Mains current on the clamp, pulses on the two counters, a soil probe, a die sensor."""

    def __init__(self, now_ms: Callable[[], int], amps: float = 4.0, flow_hz: float = 7.5,
                 meter_hz: float = 0.25, soil_volts: float = 1.4) -> None:
        self.amps, self.soil_volts = amps, soil_volts
        self.flow, self.meter = RatePulses(now_ms, flow_hz), RatePulses(now_ms, meter_hz)

    def ct_samples(self, cycles: int, hz: int, with_voltage: bool) -> tuple[list[int], list[int] | None]:
        """As the RP2040's 12-bit ADC gives them through read_u16 (raw << 4 | raw >> 8)."""
        n = 40 * cycles  # 40 samples per cycle
        counts_per_amp = ADC_BITS_FULL / ADC_VREF / 30.0  # SCT-013-030: 30 A per volt
        peak = self.amps * math.sqrt(2) * counts_per_amp
        cur = [_u16(2048 + peak * math.sin(2 * math.pi * k / 40)) for k in range(n)]
        vol = None
        if with_voltage:  # 230 V through a 1:300 divider, in phase with the current
            vpeak = 230 * math.sqrt(2) / 300 * ADC_BITS_FULL / ADC_VREF
            vol = [_u16(2048 + vpeak * math.sin(2 * math.pi * k / 40)) for k in range(n)]
        return cur, vol

    def soil_raw(self) -> int:
        return int(self.soil_volts / ADC_VREF * ADC_FULL)

    def temperature_raw(self) -> int:
        return int((0.706 - 0.001721 * (24.0 - 27.0)) / ADC_VREF * ADC_FULL)  # 24 C


class SimulatedMcu(Pty):
    def __init__(self, measure_interval_s: float = 1.0, capacity: int = 3000,
                 rto_ms: int = 500) -> None:
        super().__init__()
        self.interval_s, self.capacity, self.rto_ms = measure_interval_s, capacity, rto_ms
        self.lock = threading.Lock()
        self.generated: dict[tuple[int, int], bytes] = {}  # (boot, seq) -> the packed record
        self.boots: list[int] = []
        self.corrupt: Callable[[bytes], bytes] | None = None
        self.drop_rx: Callable[[bytes], bool] | None = None
        self.powered = True
        self.rng = random.Random(4)
        self._boot()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"mcu {self.path}", daemon=True)
        self._thread.start()

    def _boot(self) -> None:
        started = time.monotonic()
        self.now_ms: Callable[[], int] = lambda: int((time.monotonic() - started) * 1000)
        boot = random.getrandbits(32)  # as the firmware does from os.urandom
        self.boots.append(boot)
        self.board = SimBoard(self.now_ms)

        def link(channels: tuple[int, ...], on_config: Callable) -> Link:  # type: ignore[type-arg]
            return RecordingLink(self, self._write, self.now_ms, boot, channels, "eilfw-sim 1.0",
                                 capacity=self.capacity, rto_ms=self.rto_ms, on_config=on_config)

        self.firmware = Firmware(self.board, link, self.now_ms)
        self.firmware.configure({"interval_s": f"{self.interval_s:g}"})

    @property
    def link(self) -> Link:
        return self.firmware.link

    def _write(self, data: bytes) -> None:
        if self.corrupt is not None:
            data = self.corrupt(data)
        if data:
            os.write(self.master, data)

    def _serve(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.005)
            with self.lock:
                if ready:
                    try:
                        data = os.read(self.master, 4096)
                    except OSError:
                        return
                    if self.powered and not (self.drop_rx is not None and self.drop_rx(data)):
                        self.link.receive(data)
                if self.powered:
                    self.firmware.step()

    def reset(self, cut_frame: bool = True) -> None:
        """Reboot: RAM is lost; with `cut_frame`, a frame is cut short as the power goes."""
        with self.lock:
            if cut_frame:
                frame = proto.encode_frame(proto.LOG, 0, b"\x01going down mid-frame")
                os.write(self.master, frame[: len(frame) // 2])
            self._boot()

    def pause(self) -> None:
        """Stop measuring (the link keeps running), so a test can wait for everything."""
        with self.lock:
            self.firmware.next_due = 1 << 62

    def noise(self, count: int) -> None:
        """Garbage, as a receiver at the wrong baud rate sees it (zeros included)."""
        with self.lock:
            os.write(self.master, bytes(self.rng.getrandbits(8) for _ in range(count)))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
        self.close_pty()


class RecordingLink(Link):
    """The firmware's Link, recording each reading it is given (the test's ground truth)."""

    def __init__(self, mcu: SimulatedMcu, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.mcu = mcu

    def add(self, channel, tick_ms, value):  # type: ignore[no-untyped-def]
        self.mcu.generated[(self.boot, self.head)] = proto.pack_record(channel, tick_ms, value)
        super().add(channel, tick_ms, value)
