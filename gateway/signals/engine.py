"""Computes every signal of the catalogue for every scope from the store, with its band against
its threshold, the distance past it, a trend over the last 48 hours with a time to threshold
when the fit allows, and an alert state replayed with hysteresis over that history."""

from __future__ import annotations

from gateway.signals.bands import Alert, band, distance, trend
from gateway.signals.catalogue import DAY_MS, DEFS, HOUR_MS, Value
from gateway.signals.config import SignalConfig, load_config
from gateway.signals.data import Readings
from gateway.signals.families import FAMILIES
from gateway.signals.quality import MISSING
from gateway.signals.result import Result
from gateway.signals.tools import tools
from gateway.store.data_dir import DataDir

HISTORY_HOURS = 48
ALERT_DELAY_S = 2 * 3600.0
ALERT_HYSTERESIS = 0.05  # share of the threshold a value must be back inside by, to clear
# the alert rule as the views explain it (an alert on beside a "safe" band is clearing)
ALERT_RULE = {"on_delay_s": ALERT_DELAY_S, "off_delay_s": ALERT_DELAY_S,
              "hysteresis": ALERT_HYSTERESIS}


SITE = "site"


def site_totals(values: list[Value], cfg: SignalConfig) -> list[Value]:
    """Node and bed signals aggregated to the site: water use, carbon and irrigation need add
    up; self-sufficiency is
    recomputed from the summed energy. A node without a value makes the total say so."""
    out = []
    for signal in ("water.use", "energy.carbon", "energy.self_sufficiency",
                   "soil.irrigation_need"):
        parts = [v for v in values if v.signal == signal]
        if not parts:
            continue
        site = Value(signal, SITE, None, inputs=[i for v in parts for i in v.inputs],
                     threshold=cfg.allocations.get(signal))
        missing = [v.scope for v in parts if v.value is None]
        if missing:
            site.note = f"no value from {', '.join(missing)}: no site total"
        elif signal == "energy.self_sufficiency":
            imported = sum(v.numbers["import_Wh"] for v in parts)
            load = sum(v.numbers["load_Wh"] for v in parts)
            site.value = 1 - imported / load if load else None
            site.numbers = {"import_Wh": imported, "load_Wh": load}
        else:
            site.value = sum(v.value for v in parts if v.value is not None)
            site.numbers = {v.scope: v.value for v in parts if v.value is not None}
        out.append(site)
    return out


def _result(v: Value, cfg: SignalConfig, history: list[tuple[float, float]]) -> Result:
    d = DEFS[v.signal]
    th = v.threshold or cfg.thresholds.get(v.signal)
    limits = v.limits or (th.limits if th else None)
    has = v.value is not None and limits is not None
    tr, alert = None, False
    if limits is not None and history:
        tr = trend([t for t, _ in history], [x for _, x in history], limits)
        a = Alert(limits, ALERT_HYSTERESIS, on_delay_s=ALERT_DELAY_S, off_delay_s=ALERT_DELAY_S)
        for t, x in history:
            alert = a.update(t, x)
    flagged = [f"{i.series}: {i.quality.suspect} suspect, {i.quality.failed} failed (left out)"
               for i in v.inputs if i.quality.flag != MISSING and
               (i.quality.suspect or i.quality.failed)]
    note = "; ".join(x for x in (v.note, *flagged) if x) or None
    return Result(f"{v.signal}@{v.scope}", v.signal, d.title, v.scope, v.value, d.unit,
                  band(v.value, limits) if has else None,  # type: ignore[arg-type]
                  distance(v.value, limits) if has else None,  # type: ignore[arg-type]
                  th, limits, tr, alert, v.inputs, v.numbers, d.formula, note)


# How far back each quantity is read: the last 24 h (plus a margin for the quality tests) by
# default; yesterday whole for the daily weather; a week of water use for the tank's autonomy.
LOOKBACK_MS = {"water.volume": 8 * DAY_MS, "air.temperature": 2 * DAY_MS,
               "air.humidity": 2 * DAY_MS, "wind.speed": 2 * DAY_MS,
               "solar.radiation": 2 * DAY_MS}
DEFAULT_LOOKBACK_MS = 26 * HOUR_MS


def evaluate(data: DataDir, now_ms: int, cfg: SignalConfig | None = None,
             node: str | None = None) -> list[Result]:
    """Current values only: each family reads the recent readings it needs once; trends and
    alerts come from the signals' stored history (signals.db), so no run recomputes the past.
    With `node`, only that node's own signals (no site totals, no tool library): what an
    explanation of one of them needs, without reading the whole site."""
    cfg = cfg or load_config(data)
    fams = FAMILIES
    since = {q: now_ms - LOOKBACK_MS.get(q, DEFAULT_LOOKBACK_MS)
             for names, _ in fams for q in names}
    readings = Readings.from_store(data, since, now_ms, None if node is None else [node])
    current: list[Value] = []
    for _, family in fams:
        current += family(readings, cfg, now_ms)
    if node is None:
        current += site_totals(current, cfg)
        current += tools(data, cfg, now_ms)
    past: dict[str, list[tuple[float, float]]] = {}
    if data.has_signal_history():
        with data.signal_history() as store:
            past = store.recent(now_ms - HISTORY_HOURS * HOUR_MS,
                                {f"{v.signal}@{v.scope}" for v in current})
    out = []
    for v in current:
        series = [p for p in past.get(f"{v.signal}@{v.scope}", []) if p[0] < now_ms / 1000]
        if v.value is not None:
            series.append((now_ms / 1000, v.value))
        out.append(_result(v, cfg, series))
    return out
