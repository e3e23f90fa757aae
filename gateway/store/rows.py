"""The rows the store keeps: a validated reading in canonical units, and a dead letter (what was
refused, and why). Ingest makes them (gateway/ingest/validate.py); the store owns their shape."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from contract.topics import NodeId


@dataclass(frozen=True, slots=True)
class StoredReading:
    seq: int
    t_ms: int
    name: str
    kind: str
    unit: str | None  # canonical SenML symbol
    value: float | None
    text: str | None
    ref: str | None
    cal: str | None = None
    q: int | None = None


@dataclass(slots=True)
class StoredSeries:
    """One quantity's readings of one message in canonical units, column by column: the bulk
    path (contract/senml.py SeriesColumns), which the store may write as a chunk at once."""

    name: str
    kind: str
    unit: str  # canonical SenML symbol
    seqs: list[int]
    t_ms: list[int]
    values: list[float]
    cals: list[str | None]
    qs: list[int | None]

    def readings(self) -> list[StoredReading]:
        return [StoredReading(seq, t, self.name, self.kind, self.unit, v, None, None, c, q)
                for seq, t, v, c, q in zip(self.seqs, self.t_ms, self.values, self.cals,
                                           self.qs, strict=True)]


@dataclass(frozen=True, slots=True)
class ExportRow:
    """A stored reading as readers get it (export, the sinks): its node, identity and content.
    `ref` (an event's second subject, a member pseudonym for a loan) is None for the sinks:
    it never leaves the gateway that way."""

    site: str
    node: str
    seq: int
    t_ms: int
    name: str
    kind: str
    unit: str | None
    value: float | None
    text: str | None
    ref: str | None
    cal: str | None = None
    q: int | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    topic: str
    node: NodeId | None
    seq: int | None  # set when one record of a pack failed; None when the whole message did
    reason: str
    payload: bytes

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.topic.encode() + b"\0" + self.payload).hexdigest()


@dataclass(frozen=True, slots=True)
class SignalValue:
    """What one signals run computed for one signal of one scope (signals.db)."""

    id: str  # signal@scope
    signal: str
    scope: str
    value: float | None
    unit: str
    band: str | None
    alert: bool
    note: str | None
    lower: float | None = None  # the threshold's limits at that run (None: no such side)
    upper: float | None = None
    series: str | None = None  # "node/name": the input series `lines` refer to
    lines: tuple[tuple[str, float], ...] = ()  # reference levels of that series for charts


# the library's records (library.db)
@dataclass(frozen=True)
class Tool:
    tag: str  # the id its RFID tag reports, upper-case hex (or a simulated station's T001)
    name: str
    category: str
    purchase_price: float
    currency: str  # ISO 4217
    co2e_kg: float  # embodied emissions of making one
    co2e_source: str  # where that figure comes from


@dataclass(frozen=True)
class ToolInfo:
    name: str
    category: str
    status: str  # available, maintenance, missing (the library's own marking)
