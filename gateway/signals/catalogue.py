"""The signal catalogue: each signal's definition as data (id, title, unit, inputs, formula,
scope), what a computation returns, and the quality check every input goes through.

Families (soil.py, water.py, energy.py, weather.py, tools.py) compute related signals together.
A value that cannot be computed honestly (inputs missing or failed) is None, with a note; it is
never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import polars as pl

from gateway.signals.bands import Limits
from gateway.signals.config import Threshold
from gateway.signals.data import Series
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
              "(FAO-56 eqs. 82-83, 85); θ the latest volumetric water content; p the crop's "
              "FAO-56 Table 22 value + 0.04 (5 − ETc), within 0.1-0.8 (or the bed's own p); "
              "irrigation need = D_r · area / efficiency litres once D_r > RAW"),
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
              (("air.temperature", "Cel"), ("air.humidity", "%RH"), ("air.dewpoint", "Cel"),
               ("air.wet_bulb", "Cel"), ("wind.speed", "m/s"), ("solar.radiation", "W/m2")),
              "FAO-56 Penman-Monteith (eq. 6, G = 0 for a day) for yesterday from Tmin, Tmax, "
              "the actual vapour pressure (dew point eq. 14, else psychrometer eqs. 15-16, else "
              "RHmin and RHmax eq. 17), mean wind and mean solar radiation x 0.0864 MJ/m2 per "
              "W/m2, once Rs passes the physical bounds (fail above Ra, suspect above Rso by "
              "more than the pyranometer tolerance); Hargreaves-Samani (eq. 52) when only air "
              "temperature covers the day"),
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
    # ratios that are not shares of a whole get units of their own, not "/" (shown as a %)
    SignalDef("tools.sharing_ratio", "Tool sharing ratio", "members/tool", (),
              "distinct members with a loan in the last 30 days / tools in the catalogue"),
    SignalDef("tools.utilisation", "Tool utilisation", "/", (),
              "tool-days on loan in the last 30 days / (catalogued tools x 30 days)"),
    SignalDef("tools.loans_per_tool", "Loans per tool", "loans/tool", (),
              "loans started in the last 30 days / catalogued tools"),
    SignalDef("tools.avoided_purchases", "Purchases avoided", "purchases", (),
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
    use = InputUse(quantity, f"{s.node}/{s.name}", q,
                   int(good["seq"][0]) if good.height else None,
                   int(good["seq"][-1]) if good.height else None)
    return good, use


def unusable(use: InputUse) -> str | None:
    if use.quality.flag == MISSING:
        return f"{use.series}: {FLAG_NAMES[MISSING]} (stale: no reading for over 3 intervals)"
    return None
