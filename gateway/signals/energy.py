"""Energy signals: self-sufficiency and the carbon of grid electricity from PV and load power,
and a battery's state of charge."""

from __future__ import annotations

import polars as pl

from gateway.signals.catalogue import DAY_MS, HOUR_MS, Value, checked, unusable
from gateway.signals.config import SignalConfig
from gateway.signals.data import Readings


def trapezoid_h(frame: pl.DataFrame, column: str = "v") -> float:
    """∫ column dt in column-units x hours, by trapezoids between consecutive readings."""
    v, dt_h = pl.col(column), pl.col("t").diff() / HOUR_MS
    return float(frame.select(((v + v.shift(1)) / 2 * dt_h).sum()).item())


def energy(r: Readings, cfg: SignalConfig, now_ms: int) -> list[Value]:
    out = []
    pv_all, load_all = r.series("pv.power"), r.series("load.power")
    for load_s in load_all:
        pv_s = next((p for p in pv_all if p.node == load_s.node), None)
        load_f, load_use = checked(load_s, "load.power", now_ms)
        uses = [load_use]
        suff = Value("energy.self_sufficiency", load_s.node, None, inputs=uses)
        carbon = Value("energy.carbon", load_s.node, None, inputs=uses)
        pv_f = None
        if pv_s is not None:
            pv_f, pv_use = checked(pv_s, "pv.power", now_ms)
            uses.append(pv_use)
        why = next((w for u in uses if (w := unusable(u))), None)
        recent = pl.col("t") > now_ms - DAY_MS
        load_d = load_f.filter(recent)
        if why or load_d.height < 2:
            suff.note = carbon.note = why or "fewer than two load readings in the last 24 h"
            out += [suff, carbon]
            continue
        pv_d = pv_f.filter(recent) if pv_f is not None else pl.DataFrame(
            schema={"t": pl.Int64, "v": pl.Float64})
        # both on the load's timestamps (PV interpolated; no PV meter: no generation)
        grid = load_d.select("t", load=pl.col("v")).join_asof(
            pv_d.select("t", pv=pl.col("v")).sort("t"), on="t", strategy="nearest"
        ).with_columns(pl.col("pv").fill_null(0.0))
        grid = grid.with_columns(net=pl.col("load") - pl.col("pv"))
        load_wh = trapezoid_h(grid, "load")
        pv_wh = trapezoid_h(grid, "pv")
        import_wh = trapezoid_h(grid.with_columns(pl.col("net").clip(lower_bound=0)), "net")
        export_wh = trapezoid_h(grid.with_columns((-pl.col("net")).clip(lower_bound=0)), "net")
        factor = float(cfg.site["grid_gco2e_per_kwh"])
        numbers = {"load_Wh": load_wh, "pv_Wh": pv_wh, "import_Wh": import_wh,
                   "export_Wh": export_wh, "grid_gCO2e_per_kWh": factor,
                   "self_consumption": (1 - export_wh / pv_wh) if pv_wh else 0.0}
        suff.value = 1 - import_wh / load_wh if load_wh else None
        suff.numbers = numbers
        carbon.value = import_wh / 1000 * factor / 1000
        carbon.numbers = numbers
        out += [suff, carbon]
    return out


# Open-circuit voltage per cell -> state of charge (%), at rest and 25 C.
LEAD_ACID = ((1.918, 10), (1.943, 20), (1.968, 30), (1.993, 40), (2.017, 50), (2.040, 60),
             (2.062, 70), (2.083, 80), (2.103, 90), (2.122, 100))  # 12 V: 11.51 ... 12.73 V
LIFEPO4 = ((2.50, 0), (3.00, 9), (3.13, 14), (3.20, 17), (3.23, 20), (3.25, 30), (3.28, 40),
           (3.30, 70), (3.33, 90), (3.35, 99), (3.40, 100))
LIFEPO4_FLAT = (3.23, 3.33)  # per cell: voltage says little about charge here


def ocv_soc(volts_per_cell: float, curve: tuple[tuple[float, float], ...]) -> float:
    if volts_per_cell <= curve[0][0]:
        return float(curve[0][1])
    for (v0, s0), (v1, s1) in zip(curve, curve[1:], strict=False):
        if volts_per_cell <= v1:
            return s0 + (volts_per_cell - v0) / (v1 - v0) * (s1 - s0)
    return float(curve[-1][1])


def battery(r: Readings, cfg: SignalConfig, now_ms: int) -> list[Value]:
    """State of charge from the open-circuit voltage curve; with a battery.current series,
    coulomb counting from the last moment the battery rested outside the flat region."""
    out = []
    chemistry = str(cfg.site["battery_chemistry"])
    cells = int(cfg.site["battery_cells"])
    capacity_ah = float(cfg.site["battery_capacity_ah"])
    curve = LIFEPO4 if chemistry == "lifepo4" else LEAD_ACID
    for s in r.series("battery.voltage"):
        frame, use = checked(s, "battery.voltage", now_ms)
        val = Value("energy.battery_soc", s.node, None, inputs=[use])
        out.append(val)
        if (why := unusable(use)) or frame.height == 0:
            val.note = why or "no valid voltage reading"
            continue
        volts = float(frame["v"][-1])
        per_cell = volts / cells
        soc = ocv_soc(per_cell, curve)
        flat = chemistry == "lifepo4" and LIFEPO4_FLAT[0] < per_cell < LIFEPO4_FLAT[1]
        current = next((x for x in r.series("battery.current") if x.node == s.node), None)
        method, confidence = "open-circuit voltage", "high"
        if current is not None:
            cur, cur_use = checked(current, "battery.current", now_ms)
            val.inputs.append(cur_use)
            merged = frame.select("t", volts=pl.col("v")).join_asof(
                cur.select("t", amps=pl.col("v")), on="t", strategy="nearest")
            rest_amps = 0.01 * capacity_ah
            rested = merged.filter(pl.col("amps").abs() <= rest_amps)
            if chemistry == "lifepo4":
                rested = rested.filter(((pl.col("volts") / cells) <= LIFEPO4_FLAT[0]) |
                                       ((pl.col("volts") / cells) >= LIFEPO4_FLAT[1]))
            if rested.height:
                anchor_t, anchor_v = int(rested["t"][-1]), float(rested["volts"][-1])
                since = cur.filter(pl.col("t") >= anchor_t)
                ah = trapezoid_h(since)
                soc = min(100.0, max(0.0, ocv_soc(anchor_v / cells, curve) + 100 * ah / capacity_ah))
                method = "coulomb counting since the last rest"
                val.numbers["anchor_ms"] = float(anchor_t)
                val.numbers["Ah_since_anchor"] = ah
            elif flat:
                confidence = "low"
        elif flat or chemistry == "lead-acid":
            # voltage under load or charge reads off the rest curve; without a current
            # measurement the station cannot tell rest from load
            confidence = "low"
        val.value = soc
        val.numbers.update({"volts": volts, "volts_per_cell": per_cell, "cells": float(cells),
                            "confidence_high": 1.0 if confidence == "high" else 0.0})
        val.note = f"{method} ({chemistry}); confidence {confidence}" + (
            ": no battery.current measured, so load and charging skew the voltage"
            if current is None and confidence == "low" else "")
    return out
