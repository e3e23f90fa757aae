"""The signal catalogue: each signal's definition as data (id, title, unit, inputs, formula,
threshold key) and the computation of its value for each scope from stored readings.

Families compute related signals together (the soil water of a bed, a site's energy balance).
A value that cannot be computed honestly (inputs missing or failed) is None, with a note; it is
never guessed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from gateway.signals import fao56
from gateway.signals.bands import Limits
from gateway.signals.config import SignalConfig, Threshold, bed_params
from gateway.signals.data import Readings, Series
from gateway.signals.quality import (
    FAIL,
    FLAG_NAMES,
    MISSING,
    StreamQuality,
    summarise,
)

HOUR_MS, DAY_MS = 3_600_000, 86_400_000


@dataclass(frozen=True)
class SignalDef:
    id: str
    title: str
    unit: str
    inputs: tuple[tuple[str, str], ...]  # (quantity, unit)
    formula: str
    scope: str = "node"  # bed, node, probe (a sensor id on a node), library; totals: site


@dataclass(frozen=True)
class InputUse:
    quantity: str
    unit: str
    series: str  # node/name
    quality: StreamQuality
    first_seq: int | None
    last_seq: int | None


@dataclass
class Value:
    signal: str
    scope: str
    value: float | None
    numbers: dict[str, float] = field(default_factory=dict)
    inputs: list[InputUse] = field(default_factory=list)
    note: str | None = None
    limits: Limits | None = None  # a scope-specific threshold (a bed's crop), else the signal's
    threshold: Threshold | None = None  # a scope's own threshold (an allocation), else the signal's


DEFS = {d.id: d for d in (
    SignalDef("soil.depletion", "Root-zone water depletion", "/",
              (("soil.moisture", "%"),),
              "D_r / RAW, with D_r = 1000 (θ_FC − θ) Z_r and RAW = p · 1000 (θ_FC − θ_WP) Z_r "
              "(FAO-56 eqs. 82-83, 85); θ the latest volumetric water content; irrigation need "
              "= D_r · area / efficiency litres once D_r > RAW"),
    SignalDef("soil.irrigation_need", "Irrigation need", "l", (("soil.moisture", "%"),),
              "D_r x area / application efficiency once D_r > RAW (FAO-56 eq. 84: before that "
              "the crop is not stressed and the need is 0); the site total is the sum over beds"),
    SignalDef("soil.sowing_temperature", "Soil temperature for sowing", "Cel",
              (("soil.temperature", "Cel"),),
              "mean soil temperature over the last 24 h, against the bed's crop's minimum "
              "germination temperature"),
    SignalDef("water.use", "Water use", "l", (("water.volume", "l"),),
              "sum of the increases of the cumulative volume counter over the last 24 h "
              "(a counter reset counts from zero)"),
    SignalDef("water.night_flow", "Night-time minimum flow (leak)", "l/h",
              (("water.flow", "l/s"),),
              "lowest 15-minute mean flow between 01:00 and 05:00 site time, last night, x 3600"),
    SignalDef("water.tank_autonomy", "Rainwater tank autonomy", "d",
              (("water.tank", "l"), ("water.volume", "l")),
              "latest tank content / mean daily water use over the last 7 days"),
    SignalDef("energy.self_sufficiency", "Energy self-sufficiency", "/",
              (("pv.power", "W"), ("load.power", "W")),
              "1 − grid import / consumption over the last 24 h; import = ∫ max(load − PV, 0) dt "
              "(trapezoids between readings, PV taken at the load's reading times); "
              "self-consumption = 1 − export / PV"),
    SignalDef("energy.carbon", "Carbon of grid electricity", "kg",
              (("pv.power", "W"), ("load.power", "W")),
              "grid import (kWh, last 24 h) x the site's grid factor (g CO2e/kWh) / 1000"),
    SignalDef("weather.et0", "Reference evapotranspiration", "mm",
              (("air.temperature", "Cel"), ("air.humidity", "%RH"), ("wind.speed", "m/s"),
               ("solar.radiation", "W/m2")),
              "FAO-56 Penman-Monteith (eq. 6) for yesterday from Tmin, Tmax, RHmin, RHmax, mean "
              "wind and mean solar radiation x 0.0864 MJ/m2 per W/m2; Hargreaves-Samani "
              "(eq. 52) when only air temperature covers the day"),
    SignalDef("soil.etc", "Crop evapotranspiration", "mm", (),
              "ETc = Kc x ET0, Kc from the crop's growth stage on yesterday's date (FAO-56 "
              "Tables 11-12, eq. 66)"),
    SignalDef("weather.frost", "Frost risk (lowest air temperature)", "Cel",
              (("air.temperature", "Cel"),), "lowest air temperature of the last 12 h"),
    SignalDef("water.ph", "Water pH", "pH", (("water.ph", "pH"),), "latest pH reading"),
    SignalDef("water.ec", "Irrigation water salinity (EC)", "S/m", (("water.ec", "S/m"),),
              "latest electrical conductivity (0.07 S/m = 0.7 dS/m)"),
    SignalDef("water.turbidity", "Turbidity", "NTU", (("water.turbidity", "NTU"),),
              "latest turbidity reading"),
    SignalDef("water.nitrate", "Nitrate", "mg/l", (("water.nitrate", "kg/m3"),),
              "latest nitrate reading x 1000 (kg/m3 to mg/l)"),
    SignalDef("water.do", "Dissolved oxygen", "mg/l", (("water.do", "kg/m3"),),
              "latest dissolved oxygen reading x 1000 (kg/m3 to mg/l)"),
    SignalDef("energy.battery_soc", "Battery state of charge", "%",
              (("battery.voltage", "V"), ("battery.current", "A")),
              "open-circuit voltage per cell on the chemistry's rest curve; with battery.current, "
              "coulomb counting (∫ I dt / capacity) from the last rest outside the flat region"),
    SignalDef("tools.sharing_ratio", "Tool sharing ratio", "/", (),
              "distinct members with a loan in the last 30 days / tools in the catalogue"),
    SignalDef("tools.utilisation", "Tool utilisation", "/", (),
              "tool-days on loan in the last 30 days / (catalogued tools x 30 days)"),
    SignalDef("tools.loans_per_tool", "Loans per tool", "/", (),
              "loans started in the last 30 days / catalogued tools"),
    SignalDef("tools.avoided_purchases", "Purchases avoided", "count", (),
              "Σ over members and tool categories of min(displacement x loans, 1): at most one "
              "avoided purchase per member and kind of tool (30 days)"),
    SignalDef("tools.co2e_avoided", "Embodied CO2e avoided by sharing", "kg", (),
              "Σ over loans in the last 30 days of displacement x the tool's embodied CO2e, "
              "capped at one tool per member and tool category"),
)}

SCOPE_OF = {"soil.depletion": "bed", "soil.irrigation_need": "bed", "soil.etc": "bed",
            "soil.sowing_temperature": "bed", "water.ph": "probe", "water.ec": "probe",
            "water.turbidity": "probe", "water.nitrate": "probe", "water.do": "probe",
            **{sid: "library" for sid in DEFS if sid.startswith("tools.")}}
DEFS = {sid: replace(d, scope=SCOPE_OF.get(sid, "node")) for sid, d in DEFS.items()}

def checked(s: Series, quantity: str, now_ms: int) -> tuple[pl.DataFrame, InputUse]:
    """The series without its failed readings (flags from Readings.series), and its summary."""
    f = s.frame
    median = f["t"].diff().median() if f.height > 1 else None
    interval = float(median) / 1000 if isinstance(median, int | float) and median else 3600.0
    last = float(f["t"][-1]) / 1000 if f.height else None
    q = summarise(f"{s.node}/{s.name}", f["q"], last, now_ms / 1000, interval)
    good = f.filter(pl.col("q") < FAIL)
    use = InputUse(quantity, "", f"{s.node}/{s.name}", q,
                   int(good["seq"][0]) if good.height else None,
                   int(good["seq"][-1]) if good.height else None)
    return good, use


def _unusable(use: InputUse) -> str | None:
    if use.quality.flag == MISSING:
        return f"{use.series}: {FLAG_NAMES[MISSING]} (stale: no reading for over 3 intervals)"
    return None


# --- families --------------------------------------------------------------------------------
def soil(r: Readings, cfg: SignalConfig, now_ms: int) -> list[Value]:
    out = []
    for s in r.series("soil.moisture"):
        frame, use = checked(s, "soil.moisture", now_ms)
        bed = bed_params(cfg, s.prefix or s.node)
        fc, wp = cfg.soils[bed["soil"]]
        sl = fao56.Soil(fc, wp, bed["root_depth_m"], bed["p"])
        val = Value("soil.depletion", s.scope, None, inputs=[use])
        if (why := _unusable(use)) or frame.height == 0:
            val.note = why or f"{use.series}: every recent reading failed quality control"
        else:
            theta = float(frame["v"][-1]) / 100.0
            dr = fao56.depletion_from_moisture(sl, theta)
            litres = fao56.irrigation_need_litres(sl, dr, bed["area_m2"], bed["efficiency"])
            val.value = dr / sl.raw
            val.numbers = {"theta": theta, "theta_fc": fc, "theta_wp": wp,
                           "root_depth_m": bed["root_depth_m"], "p": bed["p"], "TAW_mm": sl.taw,
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
        if (why := _unusable(use)) or day.height == 0:
            val.note = why or "no valid reading in the last 24 h"
        else:
            val.value = float(day["v"].mean())  # type: ignore[arg-type]
            val.numbers = {"mean_24h_C": val.value, f"minimum_{bed['crop']}_C": minimum,
                           "readings": float(day.height)}
        out.append(val)
    return out


def _counter_increase(frame: pl.DataFrame) -> float:
    """What a cumulative counter counted: its increases, and after a reset (the value fell)
    the new value, counted from zero."""
    d = pl.col("v").diff()
    inc = pl.when(d >= 0).then(d).when(d < 0).then(pl.col("v")).otherwise(0.0)
    return float(frame.select(inc.sum()).item())


def trapezoid_h(frame: pl.DataFrame, column: str = "v") -> float:
    """∫ column dt in column-units x hours, by trapezoids between consecutive readings."""
    v, dt_h = pl.col(column), pl.col("t").diff() / HOUR_MS
    return float(frame.select(((v + v.shift(1)) / 2 * dt_h).sum()).item())


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
        if (why := _unusable(use)) or day.height < 2:
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
        if (why := _unusable(use)) or night.height == 0:
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
        if (why := _unusable(use)) or frame.height == 0:
            val.note = why or "no valid tank reading"
        elif not per_day:
            val.note = "no water use measured at this node in the last 7 days: autonomy unbounded"
        else:
            litres = float(frame["v"][-1])
            val.value = litres / per_day
            val.numbers = {"tank_l": litres, "mean_daily_use_l": per_day}
        out.append(val)
    return out


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
        why = next((w for u in uses if (w := _unusable(u))), None)
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


Family = Callable[[Readings, SignalConfig, int], list[Value]]


def families() -> tuple[tuple[tuple[str, ...], Family], ...]:
    """(quantities read, family) for every family of the catalogue."""
    from gateway.signals.more import battery, water_quality, weather

    return (
        (("soil.moisture", "soil.temperature"), soil),
        (("water.volume", "water.flow", "water.tank"), water),
        (("pv.power", "load.power"), energy),
        (("air.temperature", "air.humidity", "wind.speed", "solar.radiation",
          "soil.moisture"), weather),
        (("water.ph", "water.ec", "water.turbidity", "water.nitrate", "water.do"), water_quality),
        (("battery.voltage", "battery.current"), battery),
    )
