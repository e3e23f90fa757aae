"""Small shared helpers for driver tests."""

from __future__ import annotations

from edge.driver import Sample


class StepClock:
    """A clock for drivers that wait: sleeping advances it instantly."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


def values(samples: list[Sample]) -> dict[str, float | None]:
    return {s.key: s.value for s in samples}
