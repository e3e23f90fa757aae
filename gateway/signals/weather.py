"""Weather signals: yesterday's reference evapotranspiration (FAO-56), crop evapotranspiration
per bed, frost risk."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from gateway.signals import fao56
from gateway.signals.catalogue import HOUR_MS, Value, checked, unusable
from gateway.signals.config import SignalConfig, bed_params
from gateway.signals.data import Readings

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
        for quantity in ("air.humidity", "wind.speed", "solar.radiation"):
            found = next((x for x in r.series(quantity) if x.node == s.node), None)
            if found is None:
                continue
            f, use = checked(found, quantity, now_ms)
            et0.inputs.append(use)
            fd = _day(f, start, end)
            if _hours(fd) >= MIN_HOURS and use.quality.flag != 9:
                others[quantity] = fd
        if len(others) == 3:
            rh, wind, sun = others["air.humidity"], others["wind.speed"], others["solar.radiation"]
            w = fao56.DailyWeather(tmin, tmax, float(rh["v"].min()), float(rh["v"].max()),  # type: ignore[arg-type]
                                   float(wind["v"].mean()), float(sun["v"].mean()) * 0.0864)  # type: ignore[arg-type]
            terms = fao56.et0_penman_monteith(w, float(lat), float(alt), doy)
            et0.value = terms.et0
            et0.numbers = {**numbers, "method_penman_monteith": 1.0, "RHmin": w.rh_min,
                           "RHmax": w.rh_max, "u2_m_s": terms.u2, "Rs_MJ": w.solar,
                           "Ra_MJ": terms.ra, "Rn_MJ": terms.rn, "es_kPa": terms.es,
                           "ea_kPa": terms.ea}
        else:
            et0.value = fao56.et0_hargreaves(tmin, tmax, float(lat), doy)
            et0.numbers = {**numbers, "method_hargreaves": 1.0}
            et0.note = ("Hargreaves-Samani: humidity, wind or sun not measured for the whole "
                        "day, so only temperature is used")
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


