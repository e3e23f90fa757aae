"""What every sensor driver declares and returns.

A driver declares its quantities as data (key, SenML unit, kind) and returns Samples; the agent
turns samples into sequenced readings. Raw decoding and scaling stay separate inside drivers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from contract.senml import Kind


@dataclass(frozen=True, slots=True)
class QuantitySpec:
    key: str  # quantity name on the wire, e.g. "soil.moisture"
    unit: str | None  # SenML symbol; None for events
    kind: Kind
    description: str = ""


@dataclass(frozen=True, slots=True)
class Sample:
    key: str
    value: float | None = None
    text: str | None = None  # events
    ref: str | None = None  # events: the second subject (e.g. member pseudonym)


class Sensor(Protocol):
    @property
    def quantities(self) -> tuple[QuantitySpec, ...]:
        """What this driver measures, declared as data."""
        ...

    def read(self, now: float) -> list[Sample]:
        """Read at clock time `now`; raise SensorError when the sensor cannot be read."""
        ...


@dataclass(frozen=True)
class SensorConfig:
    """One [[sensors]] block of a node config, parsed."""

    type: str
    id: str | None  # optional prefix for quantity names, so two sensors of a type can coexist
    interval_s: float
    options: dict[str, Any]
    source: str  # "file.toml: sensors[2]" for error messages

    def name_for(self, key: str) -> str:
        return f"{self.id}.{key}" if self.id else key
