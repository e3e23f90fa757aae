"""Computes every signal of the catalogue for every scope from the store, with its band against
its threshold, the distance past it, a trend over the last 48 hours with a time to threshold
when the fit allows, and an alert state replayed with hysteresis over that history."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateway.signals.bands import Alert, Limits, Trend, band, distance, trend
from gateway.signals.catalogue import DAY_MS, DEFS, HOUR_MS, InputUse, Value, families
from gateway.signals.config import SignalConfig, Threshold, load_config
from gateway.signals.data import Readings
from gateway.signals.tools import tools

HISTORY_HOURS = 48
ALERT_DELAY_S = 2 * 3600.0


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


def _result(v: Value, cfg: SignalConfig, history: list[tuple[float, float]]) -> Result:
    d = DEFS[v.signal]
    th = cfg.thresholds.get(v.signal)
    limits = v.limits or (th.limits if th else None)
    has = v.value is not None and limits is not None
    tr, alert = None, False
    if limits is not None and history:
        tr = trend([t for t, _ in history], [x for _, x in history], limits)
        a = Alert(limits, on_delay_s=ALERT_DELAY_S, off_delay_s=ALERT_DELAY_S)
        for t, x in history:
            alert = a.update(t, x)
    return Result(f"{v.signal}@{v.scope}", v.signal, d.title, v.scope, v.value, d.unit,
                  band(v.value, limits) if has else None,  # type: ignore[arg-type]
                  distance(v.value, limits) if has else None,  # type: ignore[arg-type]
                  th, limits, tr, alert, v.inputs, v.numbers, d.formula, v.note)


def evaluate(data_dir: Path, now_ms: int, cfg: SignalConfig | None = None) -> list[Result]:
    cfg = cfg or load_config(data_dir)
    fams = families()
    quantities = sorted({q for names, _ in fams for q in names})
    readings = Readings.from_store(data_dir / "eil.db", quantities,
                                   now_ms - 8 * DAY_MS - HISTORY_HOURS * HOUR_MS)
    current: list[Value] = []
    history: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _, family in fams:
        for h in range(HISTORY_HOURS, -1, -1):  # hourly, oldest first, ending now
            at = now_ms - h * HOUR_MS
            for v in family(readings.until(at), cfg, at):
                if v.value is not None:
                    history.setdefault((v.signal, v.scope), []).append((at / 1000, v.value))
                if h == 0:
                    current.append(v)
    current += tools(data_dir, cfg, now_ms)
    return [_result(v, cfg, history.get((v.signal, v.scope), [])) for v in current]
