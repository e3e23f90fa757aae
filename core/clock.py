"""Injected clocks. Sampling and timestamps use a Clock so schedules are testable without sleeping
and the demo can run simulated time faster than real time."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Current (possibly simulated) UNIX time in seconds."""
        ...

    def wait_until(self, when: float, stop: threading.Event, max_real_s: float) -> None:
        """Block until `when` (clock time), `stop` is set, or `max_real_s` real seconds pass."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def wait_until(self, when: float, stop: threading.Event, max_real_s: float) -> None:
        stop.wait(min(max(0.0, when - self.now()), max_real_s))


@dataclass(frozen=True)
class ScaledClock:
    """Simulated time: `start` at real time `anchor`, running `speed` times faster than real time.
    Processes sharing (start, anchor, speed) share one simulated timeline."""

    start: float
    anchor: float
    speed: float

    def now(self) -> float:
        return self.start + (time.time() - self.anchor) * self.speed

    def wait_until(self, when: float, stop: threading.Event, max_real_s: float) -> None:
        stop.wait(min(max(0.0, (when - self.now()) / self.speed), max_real_s))


def clock_from(speed: float = 1.0, start: float | None = None,
               anchor: float | None = None) -> Clock:
    """The clock a config's [clock] table asks for: real time, or a simulated timeline."""
    if speed == 1.0 and start is None:
        return SystemClock()
    now = time.time()
    return ScaledClock(start=start if start is not None else now,
                       anchor=anchor if anchor is not None else now, speed=speed)


def clock_ms(clock: Clock) -> int:
    return int(clock.now() * 1000)


def site_time(clock: Clock, real_s: float) -> float:
    """The site's time at real UNIX time `real_s`. What a process stamps with time.time() (the
    gateway's receive times) is real; ages shown beside the readings' own (site) times must be
    judged on the site's clock, which in the demo runs faster than real time."""
    if isinstance(clock, ScaledClock):
        return clock.start + (real_s - clock.anchor) * clock.speed
    return real_s


class ManualClock:
    """Test clock: time moves only when told; waiting jumps straight to the target time."""

    def __init__(self, start: float) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds

    def wait_until(self, when: float, stop: threading.Event, max_real_s: float) -> None:
        self.t = max(self.t, when)
