"""The arithmetic every impact signal shares: where a value sits against its thresholds
(Doughnut-style shortfall / safe / overshoot), how far past a threshold it is, where it is
heading, and an alert that does not flap."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

SHORTFALL, SAFE, OVERSHOOT = "shortfall", "safe", "overshoot"
MIN_POINTS_FOR_TREND = 6
MIN_R2_FOR_FORECAST = 0.6


@dataclass(frozen=True)
class Limits:
    """A safe operating space: `lower` is a floor (a minimum to stay above: the shortfall side),
    `upper` a ceiling (a limit not to exceed: the overshoot side). Either may be absent."""

    lower: float | None = None
    upper: float | None = None

    def __post_init__(self) -> None:
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ValueError(f"lower threshold {self.lower} is above upper {self.upper}")


def band(value: float, limits: Limits) -> str:
    if limits.upper is not None and value > limits.upper:
        return OVERSHOOT
    if limits.lower is not None and value < limits.lower:
        return SHORTFALL
    return SAFE


def distance(value: float, limits: Limits) -> float:
    """How far past the nearest threshold, as a fraction of it: > 0 overshoot or shortfall,
    0 inside (a threshold of 0 uses the absolute difference)."""
    def frac(excess: float, threshold: float) -> float:
        return excess / abs(threshold) if threshold else excess

    if limits.upper is not None and value > limits.upper:
        return frac(value - limits.upper, limits.upper)
    if limits.lower is not None and value < limits.lower:
        return frac(limits.lower - value, limits.lower)
    return 0.0


@dataclass(frozen=True)
class Trend:
    slope_per_s: float
    r2: float
    points: int
    time_to_threshold_s: float | None  # only when the fit is good enough to say so


def trend(times_s: Sequence[float], values: Sequence[float], limits: Limits) -> Trend | None:
    """Least-squares line through the recent values, and when it would cross the threshold it
    is heading for: only with enough points and R^2 >= 0.6, otherwise no forecast."""
    n = len(values)
    if n < 2 or n != len(times_s):
        return None
    mt, mv = sum(times_s) / n, sum(values) / n
    stt = sum((t - mt) ** 2 for t in times_s)
    if stt == 0:
        return None
    slope = sum((t - mt) * (v - mv) for t, v in zip(times_s, values, strict=True)) / stt
    svv = sum((v - mv) ** 2 for v in values)
    r2 = 1.0 if svv == 0 else (slope ** 2 * stt) / svv
    eta = None
    now_fit = mv + slope * (times_s[-1] - mt)
    target = limits.upper if slope > 0 else limits.lower if slope < 0 else None
    if (target is not None and n >= MIN_POINTS_FOR_TREND and r2 >= MIN_R2_FOR_FORECAST
            and band(now_fit, limits) == SAFE):
        eta = (target - now_fit) / slope
        if not math.isfinite(eta) or eta < 0:
            eta = None
    return Trend(slope, r2, n, eta)


@dataclass
class Alert:
    """An alert that goes on after the value has been past a threshold for `on_delay_s`, and
    off after it has been back inside by a margin of `hysteresis` (fraction of the threshold)
    for `off_delay_s`, so noise around a threshold does not make it flap."""

    limits: Limits
    hysteresis: float = 0.05
    on_delay_s: float = 0.0
    off_delay_s: float = 0.0
    active: bool = False
    pending_since: float | None = None

    def _clear(self, value: float) -> bool:
        """Inside, with the margin."""
        lo, hi = self.limits.lower, self.limits.upper
        if hi is not None and value > hi - self.hysteresis * abs(hi):
            return False
        return lo is None or value >= lo + self.hysteresis * abs(lo)

    def update(self, t_s: float, value: float) -> bool:
        """Feed one value; returns whether the alert is on."""
        wants_change = (band(value, self.limits) != SAFE) if not self.active else \
            self._clear(value)
        if not wants_change:
            self.pending_since = None
            return self.active
        if self.pending_since is None:
            self.pending_since = t_s
        delay = self.off_delay_s if self.active else self.on_delay_s
        if t_s - self.pending_since >= delay:
            self.active, self.pending_since = not self.active, None
        return self.active
