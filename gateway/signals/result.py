"""What the engine returns for one signal of one scope: its value against its threshold, with
everything an explanation needs (inputs and their quality, numbers, formula). Shared by the
engine, its history store and the publisher."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.signals.bands import Limits, Trend
from gateway.signals.catalogue import InputUse
from gateway.signals.config import Threshold


@dataclass(frozen=True)
class Result:
    id: str  # signal@scope
    signal: str
    title: str
    scope: str
    value: float | None
    unit: str
    band: str | None
    distance: float | None
    threshold: Threshold | None
    limits: Limits | None
    trend: Trend | None
    alert: bool
    inputs: list[InputUse]
    numbers: dict[str, float]
    formula: str
    note: str | None
