"""Water signals: use from the volume counter, the night-time minimum flow (leaks), the rain
tank's autonomy, and water-quality readings against their guidelines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from gateway.signals.catalogue import DAY_MS, InputUse, Value, checked, unusable
from gateway.signals.config import SignalConfig
from gateway.signals.data import Readings


def _counter_increase(frame: pl.DataFrame) -> float:
    """What a cumulative counter counted: its increases, and after a reset (the value fell)
    the new value, counted from zero."""
    d = pl.col("v").diff()
    inc = pl.when(d >= 0).then(d).when(d < 0).then(pl.col("v")).otherwise(0.0)
    return float(frame.select(inc.sum()).item())


def water(r: Readings, cfg: SignalConfig, now_ms: int) -> list[Value]:
    out = []
    tz = ZoneInfo(str(cfg.site.get("timezone", "UTC")))
    daily_use: dict[str, float] = {}
    volume_use: dict[str, InputUse] = {}
    for s in r.series("water.volume"):
        frame, use = checked(s, "water.volume", now_ms)
        volume_use[s.node] = use
        day = frame.filter(pl.col("t") > now_ms - DAY_MS)
        val = Value("water.use", s.node, None, inputs=[use])
        if (why := unusable(use)) or day.height < 2:
            val.note = why or "fewer than two readings in the last 24 h"
        else:
            val.value = _counter_increase(day)
            week = frame.filter(pl.col("t") > now_ms - 7 * DAY_MS)
            span_days = max((float(week["t"][-1]) - float(week["t"][0])) / DAY_MS, 1 / 24)
            daily_use[s.node] = _counter_increase(week) / span_days
            val.numbers = {"litres_24h": val.value, "readings": float(day.height),
                           "mean_daily_use_7d_l": daily_use[s.node]}
        out.append(val)
    now = datetime.fromtimestamp(now_ms / 1000, UTC).astimezone(tz)
    night_end = now.replace(hour=5, minute=0, second=0, microsecond=0)
    if night_end > now:
        night_end -= timedelta(days=1)
    start_ms = int((night_end - timedelta(hours=4)).timestamp() * 1000)
    end_ms = int(night_end.timestamp() * 1000)
    for s in r.series("water.flow"):
        frame, use = checked(s, "water.flow", now_ms)
        night = frame.filter((pl.col("t") >= start_ms) & (pl.col("t") < end_ms))
        val = Value("water.night_flow", s.node, None, inputs=[use])
        if (why := unusable(use)) or night.height == 0:
            val.note = why or "no flow reading last night (01:00-05:00)"
        else:
            windows = night.group_by((pl.col("t") - start_ms) // (15 * 60_000)).agg(
                pl.col("v").mean())
            val.value = float(windows["v"].min()) * 3600  # type: ignore[arg-type]
            val.numbers = {"min_15min_mean_l_s": val.value / 3600, "night_readings":
                           float(night.height), "night_start_ms": float(start_ms)}
        out.append(val)
    for s in r.series("water.tank"):
        frame, use = checked(s, "water.tank", now_ms)
        val = Value("water.tank_autonomy", s.node, None,
                    inputs=[use] + ([volume_use[s.node]] if s.node in volume_use else []))
        per_day = daily_use.get(s.node)
        if (why := unusable(use)) or frame.height == 0:
            val.note = why or "no valid tank reading"
        elif not per_day:
            val.note = "no water use measured at this node in the last 7 days: autonomy unbounded"
        else:
            litres = float(frame["v"][-1])
            val.value = litres / per_day
            val.numbers = {"tank_l": litres, "mean_daily_use_l": per_day}
        out.append(val)
    return out


WATER_QUALITY = (("water.ph", "water.ph", 1.0), ("water.ec", "water.ec", 1.0),
                 ("water.turbidity", "water.turbidity", 1.0),
                 ("water.nitrate", "water.nitrate", 1000.0), ("water.do", "water.do", 1000.0))


def water_quality(r: Readings, cfg: SignalConfig, now_ms: int) -> list[Value]:
    """Latest reading of each probe, in the guideline's unit (kg/m3 -> mg/l x 1000)."""
    out = []
    for signal, quantity, scale in WATER_QUALITY:
        for s in r.series(quantity):
            frame, use = checked(s, quantity, now_ms)
            val = Value(signal, s.scope, None, inputs=[use])
            if (why := unusable(use)) or frame.height == 0:
                val.note = why or "no valid reading"
            else:
                val.value = float(frame["v"][-1]) * scale
                val.numbers = {"latest": val.value, "stored_value": float(frame["v"][-1])}
            out.append(val)
    return out


