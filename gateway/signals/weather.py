"""Weather signals: yesterday's reference evapotranspiration (FAO-56), crop evapotranspiration
per bed, frost risk."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from gateway.signals import fao56
from gateway.signals.catalogue import HOUR_MS, InputUse, Value, checked, unusable
from gateway.signals.config import SignalConfig, bed_params
from gateway.signals.data import Readings
from gateway.signals.quality import FAIL, SUSPECT

MIN_HOURS = 18  # of a day's 24 with readings, for a daily value


def _yesterday(cfg: SignalConfig, now_ms: int) -> tuple[int, int, date]:
    tz = ZoneInfo(str(cfg.site.get("timezone", "UTC")))
    today = datetime.fromtimestamp(now_ms / 1000, UTC).astimezone(tz).replace(
        hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=1)
    return int(start.timestamp() * 1000), int(today.timestamp() * 1000), start.date()


def _day(frame: pl.DataFrame, start: int, end: int) -> pl.DataFrame:
    return frame.filter((pl.col("t") >= start) & (pl.col("t") < end))


def _hours(frame: pl.DataFrame) -> int:
    return frame.select((pl.col("t") // HOUR_MS).n_unique()).item() if frame.height else 0


def solar_bounds(rs: float, ra: float, rso: float, tolerance: float
                 ) -> tuple[int, str] | None:
    """A day's measured solar radiation against physics: above the extraterrestrial Ra it is
    impossible (fail); above the clear-sky Rso by more than the pyranometer's tolerance it is
    suspect (a dirty, tilted or misread sensor; a very clear day stays within it). None when
    plausible. All in MJ m-2 day-1."""
    if rs > ra:
        return FAIL, (f"solar radiation Rs {rs:.1f} MJ/m2 exceeds the extraterrestrial Ra "
                      f"{ra:.1f}: impossible, so not used (check the pyranometer's level, "
                      "cleanliness and unit)")
    if rs > rso * (1.0 + tolerance):
        return SUSPECT, (f"solar radiation Rs {rs:.1f} MJ/m2 is above the clear-sky Rso "
                         f"{rso:.1f} by more than the pyranometer tolerance "
                         f"({tolerance:.0%}, site.pyranometer_tolerance): suspect")
    return None


def _flagged(use: InputUse, flag: int) -> InputUse:
    q = use.quality
    return replace(use, quality=replace(q, flag=max(q.flag, flag) if q.flag != 9 else q.flag))


def _vapour_pressure(others: dict[str, pl.DataFrame], temps: pl.DataFrame, alt: float
                     ) -> tuple[float | None, str | None]:
    """e_a by FAO-56's order of preference: the dew point (eq. 14), a psychrometer's wet bulb
    with the air temperature (eqs. 15-16), relative humidity (eq. 17, inside Penman-Monteith).
    Returns (e_a or None for eq. 17, how), or (None, None) when nothing measures humidity."""
    if "air.dewpoint" in others:
        t_dew = float(others["air.dewpoint"]["v"].mean())  # type: ignore[arg-type]
        return fao56.actual_vp_from_dewpoint(t_dew), "dewpoint"
    if "air.wet_bulb" in others:
        pressure = fao56.atmospheric_pressure(alt)
        return fao56.actual_vp_psychrometric(float(temps["v"].mean()),  # type: ignore[arg-type]
                                             float(others["air.wet_bulb"]["v"].mean()),  # type: ignore[arg-type]
                                             pressure), "psychrometer"
    if "air.humidity" in others:
        return None, "rh"
    return None, None


def weather(r: Readings, cfg: SignalConfig, now_ms: int) -> list[Value]:
    out: list[Value] = []
    start, end, day = _yesterday(cfg, now_ms)
    temps = r.series("air.temperature")
    et0_by_node: dict[str, float] = {}
    for s in temps:
        t_frame, t_use = checked(s, "air.temperature", now_ms)
        frost = Value("weather.frost", s.node, None, inputs=[t_use])
        recent = t_frame.filter(pl.col("t") > now_ms - 12 * HOUR_MS)
        if (why := unusable(t_use)) or recent.height == 0:
            frost.note = why or "no air temperature in the last 12 h"
        else:
            frost.value = float(recent["v"].min())  # type: ignore[arg-type]
            frost.numbers = {"min_12h_C": frost.value, "readings": float(recent.height)}
        out.append(frost)

        et0 = Value("weather.et0", s.node, None, inputs=[t_use])
        out.append(et0)
        td = _day(t_frame, start, end)
        if _hours(td) < MIN_HOURS:
            et0.note = f"air temperature covers {_hours(td)} of yesterday's 24 h (need {MIN_HOURS})"
            continue
        lat, alt = cfg.site.get("latitude"), cfg.site.get("altitude_m")
        if not isinstance(lat, int | float) or not isinstance(alt, int | float):
            et0.note = "set site.latitude and site.altitude_m in thresholds.toml"
            continue
        tmin, tmax = float(td["v"].min()), float(td["v"].max())  # type: ignore[arg-type]
        doy = day.timetuple().tm_yday
        numbers = {"Tmin_C": tmin, "Tmax_C": tmax, "latitude": float(lat), "altitude_m":
                   float(alt), "day_of_year": float(doy)}
        others = {}
        for quantity in ("air.humidity", "air.dewpoint", "air.wet_bulb", "wind.speed",
                         "solar.radiation"):
            found = next((x for x in r.series(quantity) if x.node == s.node), None)
            if found is None:
                continue
            f, use = checked(found, quantity, now_ms)
            et0.inputs.append(use)
            fd = _day(f, start, end)
            if _hours(fd) >= MIN_HOURS and use.quality.flag != 9:
                others[quantity] = fd
        ra, _ = fao56.extraterrestrial_radiation(float(lat), doy)
        rso = fao56.clear_sky_radiation(ra, float(alt))
        if "solar.radiation" in others:
            rs = float(others["solar.radiation"]["v"].mean()) * 0.0864  # type: ignore[arg-type]
            tolerance = float(cfg.site.get("pyranometer_tolerance", 0.1))
            verdict = solar_bounds(rs, ra, rso, tolerance)
            if verdict is not None:
                flag, why = verdict
                et0.inputs = [_flagged(u, flag) if u.quantity == "solar.radiation" else u
                              for u in et0.inputs]
                et0.note = why
                if flag == FAIL:
                    del others["solar.radiation"]
        ea, ea_how = _vapour_pressure(others, td, float(alt))
        if ea_how is not None and "wind.speed" in others and "solar.radiation" in others:
            wind, sun = others["wind.speed"], others["solar.radiation"]
            rh = others.get("air.humidity")
            w = fao56.DailyWeather(
                tmin, tmax, float(rh["v"].min()) if rh is not None else None,  # type: ignore[arg-type]
                float(rh["v"].max()) if rh is not None else None,  # type: ignore[arg-type]
                float(wind["v"].mean()), float(sun["v"].mean()) * 0.0864, ea=ea)  # type: ignore[arg-type]
            terms = fao56.et0_penman_monteith(w, float(lat), float(alt), doy)
            et0.value = terms.et0
            et0.numbers = {**numbers, "method_penman_monteith": 1.0, f"ea_from_{ea_how}": 1.0,
                           "u2_m_s": terms.u2, "Rs_MJ": w.solar, "Ra_MJ": terms.ra,
                           "Rso_MJ": terms.rso, "Rn_MJ": terms.rn, "G_MJ": terms.g,
                           "es_kPa": terms.es, "ea_kPa": terms.ea}
            if w.rh_min is not None and w.rh_max is not None:
                et0.numbers |= {"RHmin": w.rh_min, "RHmax": w.rh_max}
        else:
            et0.value = fao56.et0_hargreaves(tmin, tmax, float(lat), doy)
            et0.numbers = {**numbers, "method_hargreaves": 1.0, "Ra_MJ": ra}
            et0.note = "; ".join(x for x in (et0.note, (
                "Hargreaves-Samani: humidity, wind or sun not measured (or not usable) for the "
                "whole day, so only temperature is used")) if x)
        et0_by_node[s.node] = et0.value
    out += crop_et(r, cfg, now_ms, et0_by_node, day)
    return out


def crop_et(r: Readings, cfg: SignalConfig, now_ms: int, et0_by_node: dict[str, float],
            day: date) -> list[Value]:
    """ETc = Kc x ET0 for every bed (a soil.moisture series) on a node with an ET0."""
    out = []
    for s in r.series("soil.moisture"):
        bed = bed_params(cfg, s.prefix or s.node)
        val = Value("soil.etc", s.scope, None)
        et0 = et0_by_node.get(s.node, next(iter(et0_by_node.values()), None))
        if et0 is None:
            continue  # no weather at this site
        if bed["sown"] is None:
            val.note = f"set beds.{s.prefix or s.node}.sown (the sowing date) in thresholds.toml"
        elif bed["crop"] not in cfg.stages:
            val.note = f"no growth stages tabulated for {bed['crop']}"
        else:
            lengths, kc = cfg.stages[bed["crop"]]
            stages = fao56.CropStages(*lengths, *kc)
            age = (day - bed["sown"]).days
            k = fao56.crop_coefficient(stages, max(age, 0))
            val.value = k * et0
            val.numbers = {"ET0_mm": et0, "Kc": k, "days_since_sowing": float(age)}
        out.append(val)
    return out


