"""Soil signals of a bed: root-zone water depletion, irrigation need, soil temperature for sowing."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import polars as pl

from gateway.signals import fao56
from gateway.signals.bands import Limits
from gateway.signals.catalogue import DAY_MS, Value, checked, unusable
from gateway.signals.config import SignalConfig, bed_params
from gateway.signals.data import Readings
from gateway.signals.weather import weather


def depletion_fraction(cfg: SignalConfig, bed: dict[str, Any], etc: float | None
                       ) -> tuple[float, str]:
    """The bed's p and where it comes from: its own p if the steward set one, else the crop's
    FAO-56 Table 22 value adjusted for the bed's latest daily ETc."""
    if bed["p"] is not None:
        return float(bed["p"]), f"p = {bed['p']:g} set for this bed in thresholds.toml"
    table = cfg.depletion[bed["crop"]]
    p = fao56.depletion_fraction(table, etc)
    if etc is None:
        return p, (f"p = {p:.2f}: FAO-56 Table 22 for {bed['crop']}, not adjusted (no ETc: "
                   "no weather station measured yesterday)")
    return p, (f"p = {p:.3f} = {table:.2f} (FAO-56 Table 22, {bed['crop']}) + 0.04 (5 − ETc "
               f"{etc:.2f} mm/day), within 0.1-0.8")


def soil(r: Readings, cfg: SignalConfig, now_ms: int) -> list[Value]:
    out = []
    etc = {v.scope: v.value for v in weather(r, cfg, now_ms) if v.signal == "soil.etc"}
    base = cfg.thresholds.get("soil.depletion")
    for s in r.series("soil.moisture"):
        frame, use = checked(s, "soil.moisture", now_ms)
        bed = bed_params(cfg, s.prefix or s.node)
        fc, wp = cfg.soils[bed["soil"]]
        p, p_source = depletion_fraction(cfg, bed, etc.get(s.scope))
        sl = fao56.Soil(fc, wp, bed["root_depth_m"], p)
        val = Value("soil.depletion", s.scope, None, inputs=[use],
                    threshold=None if base is None else replace(
                        base, source=f"{base.source}; RAW with {p_source} ({cfg.depletion_source})"
                        if bed["p"] is None else f"{base.source}; RAW with {p_source}"))
        if (why := unusable(use)) or frame.height == 0:
            val.note = why or f"{use.series}: every recent reading failed quality control"
        else:
            theta = float(frame["v"][-1]) / 100.0
            dr = fao56.depletion_from_moisture(sl, theta)
            litres = fao56.irrigation_need_litres(sl, dr, bed["area_m2"], bed["efficiency"])
            val.value = dr / sl.raw
            val.numbers = {"theta": theta, "theta_fc": fc, "theta_wp": wp,
                           "root_depth_m": bed["root_depth_m"], "p": p, "TAW_mm": sl.taw,
                           "RAW_mm": sl.raw, "D_r_mm": dr, "area_m2": bed["area_m2"],
                           "efficiency": bed["efficiency"], "irrigation_need_l": litres}
        need = Value("soil.irrigation_need", s.scope, None if val.value is None else
                     val.numbers["irrigation_need_l"], dict(val.numbers), [use], val.note)
        out += [val, need]
    for s in r.series("soil.temperature"):
        frame, use = checked(s, "soil.temperature", now_ms)
        bed = bed_params(cfg, s.prefix or s.node)
        minimum = cfg.crops[bed["crop"]]
        day = frame.filter(pl.col("t") > now_ms - DAY_MS)
        val = Value("soil.sowing_temperature", s.scope, None, inputs=[use],
                    limits=Limits(lower=minimum))
        if (why := unusable(use)) or day.height == 0:
            val.note = why or "no valid reading in the last 24 h"
        else:
            val.value = float(day["v"].mean())  # type: ignore[arg-type]
            val.numbers = {"mean_24h_C": val.value, f"minimum_{bed['crop']}_C": minimum,
                           "readings": float(day.height)}
        out.append(val)
    return out


