"""What the agent keeps of a sensor's read: the samples it declared, named and flagged. Pure.

A sample of a quantity the driver did not declare, or an event without a text, is dropped with
the reason (a driver bug must not reach the wire). A gauge or counter outside what the sensor
can physically report (its declared `valid` range) is kept and flagged QARTOD 4 (fail): the
gateway's quality tests and the steward see it, and it is never passed on as the latest value
for compensating other sensors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from contract.senml import Kind
from edge.driver import QuantitySpec, Sample
from edge.outbox import Sampled

QARTOD_FAIL = 4


@dataclass
class Checked:
    readings: list[Sampled] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # why each dropped sample was dropped
    latest: dict[str, float] = field(default_factory=dict)  # name -> plausible gauge value


def check_samples(samples: Sequence[Sample], specs: Mapping[str, QuantitySpec],
                  name_for: Callable[[str], str], now: float) -> Checked:
    out = Checked()
    for s in samples:
        spec = specs.get(s.key)
        if spec is None:
            out.dropped.append(f"undeclared quantity {s.key!r}")
            continue
        if spec.kind is Kind.EVENT and s.text is None:
            out.dropped.append(f"event {s.key} without a text")
            continue
        name, flag = name_for(s.key), s.q
        if s.value is not None and spec.kind is not Kind.EVENT:
            if spec.valid is not None and not spec.valid[0] <= s.value <= spec.valid[1]:
                flag = QARTOD_FAIL  # the sensor cannot report this: kept, flagged
            elif flag is None:
                out.latest[name] = s.value
        out.readings.append(Sampled(now if s.time is None else s.time, name, spec.kind, s.value,
                                    spec.unit, s.text, s.ref, s.cal, flag))
    return out


def unavailable(now: float, sensor: str, reason: str) -> Sampled:
    """The event a sensor's failure becomes (reported once, never a 0)."""
    return Sampled(now, "sensor.unavailable", Kind.EVENT, text=sensor, ref=reason[:200])


def available(now: float, sensor: str) -> Sampled:
    return Sampled(now, "sensor.available", Kind.EVENT, text=sensor)
