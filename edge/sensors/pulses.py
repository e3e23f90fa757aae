"""Counting meter pulses on a GPIO with gpiozero (flow meters, kWh meter S0 outputs).

gpiozero calls back on each falling edge from its own thread; the count is read under a lock.
The count restarts at 0 when the node starts: the published quantity is a counter (SenML sum),
and consumers treat a decrease as a restart, as they do for any cumulative counter.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from edge.driver import Options
from edge.errors import SensorError


@dataclass(frozen=True)
class PulseOptions:
    pin: int
    pull_up: bool
    bounce_ms: float | None


def parse_pulses(o: Options, bounce_ms: float | None) -> PulseOptions:
    bounce = o.get("bounce_ms", (int, float), bounce_ms)
    return PulseOptions(o.integer("pin", low=0, high=53), o.get("pull_up", bool, True),
                        None if bounce in (None, 0) else float(bounce))


class PulseCounter:
    def __init__(self, opts: PulseOptions, pin_factory: Any) -> None:
        from gpiozero import DigitalInputDevice
        from gpiozero.exc import GPIOZeroError

        self.lock = threading.Lock()
        self.count = 0
        try:
            self.device = DigitalInputDevice(
                opts.pin, pull_up=opts.pull_up, pin_factory=pin_factory,
                bounce_time=None if opts.bounce_ms is None else opts.bounce_ms / 1000.0)
        except (GPIOZeroError, OSError) as exc:
            raise SensorError(f"GPIO{opts.pin}: {exc}") from exc
        # With the pull-up the meter pulls the line low: "active" is the pulse itself.
        self.device.when_activated = self._pulse

    def _pulse(self) -> None:
        with self.lock:
            self.count += 1

    def total(self) -> int:
        with self.lock:
            return self.count

    def close(self) -> None:
        self.device.close()


class RateTracker:
    """Pulses per second between consecutive reads."""

    def __init__(self) -> None:
        self.last: tuple[float, int] | None = None

    def rate(self, now: float, count: int) -> float | None:
        last, self.last = self.last, (now, count)
        if last is None or now <= last[0]:
            return None
        return (count - last[1]) / (now - last[0])
