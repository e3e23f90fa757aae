"""What the engine returns for one signal of one scope: its value against its threshold, with
everything an explanation needs (inputs and their quality, numbers, formula). Shared by the
engine, its history store and the publisher."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def result_json(r: Result, t_ms: int, *, detail: bool = False) -> dict[str, Any]:
    """A result as the gateway publishes it (signals.json, MQTT, the panel, the CSV export) or,
    with `detail`, as an explanation shows it: the threshold's whole provenance, each input's
    quality counts and stored sequence numbers, and the trend."""
    th = r.threshold
    out: dict[str, Any] = {
        "id": r.id, "signal": r.signal, "title": r.title, "scope": r.scope, "t": t_ms,
        "value": r.value, "unit": r.unit, "band": r.band, "alert": r.alert,
        "distance": r.distance,
        "threshold": None if r.limits is None else {
            "lower": r.limits.lower, "upper": r.limits.upper,
            "source": th.source if th else None, "set_by": th.set_by if th else None},
        "time_to_threshold_s": r.trend.time_to_threshold_s if r.trend else None,
        "inputs": {i.series: i.quality.label for i in r.inputs}, "note": r.note,
        "numbers": r.numbers}
    if not detail:
        return out
    if out["threshold"] is not None and th is not None:
        out["threshold"] |= {
            "rationale": th.rationale, "set_at": th.set_at, "reason": th.reason,
            "replaces": None if th.replaces is None else {
                "lower": th.replaces.limits.lower, "upper": th.replaces.limits.upper,
                "source": th.replaces.source}}
    out |= {
        "formula": r.formula,
        "inputs": [{"series": i.series, "quality": i.quality.label,
                    "readings": i.quality.readings, "suspect": i.quality.suspect,
                    "failed": i.quality.failed, "first_seq": i.first_seq,
                    "last_seq": i.last_seq} for i in r.inputs],
        "trend": None if r.trend is None else {
            "slope_per_s": r.trend.slope_per_s, "r2": r.trend.r2,
            "time_to_threshold_s": r.trend.time_to_threshold_s}}
    return out
