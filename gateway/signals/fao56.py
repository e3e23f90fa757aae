"""Crop water: FAO Irrigation and Drainage Paper 56 (Allen, Pereira, Raes, Smith 1998).

Equation numbers refer to FAO-56. Units as there: temperatures in degC, pressures in kPa,
radiation in MJ m-2 day-1, wind in m/s, evapotranspiration and water depths in mm/day or mm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SOLAR_CONSTANT = 0.0820  # MJ m-2 min-1
STEFAN_BOLTZMANN = 4.903e-9  # MJ K-4 m-2 day-1
ALBEDO = 0.23  # the grass reference crop


def atmospheric_pressure(z_m: float) -> float:
    """Eq. 7."""
    return 101.3 * ((293.0 - 0.0065 * z_m) / 293.0) ** 5.26


def psychrometric_constant(pressure_kpa: float) -> float:
    """Eq. 8."""
    return 0.665e-3 * pressure_kpa


def saturation_vp(t: float) -> float:
    """e°(T), eq. 11."""
    return 0.6108 * math.exp(17.27 * t / (t + 237.3))


def slope_svp(t: float) -> float:
    """Δ, eq. 13."""
    return 4098.0 * saturation_vp(t) / (t + 237.3) ** 2


def actual_vp_from_rh(tmin: float, tmax: float, rh_min: float, rh_max: float) -> float:
    """e_a from RHmax and RHmin, eq. 17."""
    return (saturation_vp(tmin) * rh_max / 100.0 + saturation_vp(tmax) * rh_min / 100.0) / 2.0


def actual_vp_from_dewpoint(t_dew: float) -> float:
    """e_a from the dew point temperature, eq. 14 (FAO-56's preferred humidity input)."""
    return saturation_vp(t_dew)


# eq. 16: a_psy for the psychrometer's ventilation, degC-1
PSYCHROMETER_VENTILATED = 0.000662  # Asmann type, air movement about 5 m/s
PSYCHROMETER_NATURAL = 0.000800  # natural ventilation, about 1 m/s
PSYCHROMETER_INDOOR = 0.001200  # non-ventilated, installed indoors


def actual_vp_psychrometric(t_dry: float, t_wet: float, pressure_kpa: float,
                            a_psy: float = PSYCHROMETER_VENTILATED) -> float:
    """e_a from dry and wet bulb temperatures, eqs. 15-16."""
    return saturation_vp(t_wet) - a_psy * pressure_kpa * (t_dry - t_wet)


def soil_heat_flux_monthly(t_month: float, t_prev: float, t_next: float | None = None) -> float:
    """G for a monthly step, MJ m-2 day-1: eq. 43 from the mean air temperatures of the months
    before and after, or eq. 44 when the next month is not known yet. (A daily step takes
    G = 0, eq. 42.)"""
    if t_next is not None:
        return 0.07 * (t_next - t_prev)
    return 0.14 * (t_month - t_prev)


def wind_at_2m(u_z: float, z_m: float) -> float:
    """Eq. 47: wind measured at height z to 2 m above grass."""
    return u_z * 4.87 / math.log(67.8 * z_m - 5.42)


def extraterrestrial_radiation(lat_deg: float, doy: int) -> tuple[float, float]:
    """(R_a, daylight hours N) for a day of the year, eqs. 21-25 and 34."""
    phi = math.radians(lat_deg)
    dr = 1.0 + 0.033 * math.cos(2.0 * math.pi * doy / 365.0)
    delta = 0.409 * math.sin(2.0 * math.pi * doy / 365.0 - 1.39)
    ws = math.acos(max(-1.0, min(1.0, -math.tan(phi) * math.tan(delta))))
    ra = 24.0 * 60.0 / math.pi * SOLAR_CONSTANT * dr * (
        ws * math.sin(phi) * math.sin(delta) + math.cos(phi) * math.cos(delta) * math.sin(ws))
    return ra, 24.0 / math.pi * ws


def solar_from_sunshine(ra: float, n_hours: float, daylight_hours: float) -> float:
    """Ångström, eq. 35 with a_s = 0.25, b_s = 0.50."""
    return (0.25 + 0.50 * n_hours / daylight_hours) * ra


@dataclass(frozen=True)
class DailyWeather:
    """The weather of one step (a day, or a month of daily means)."""

    tmin: float
    tmax: float
    rh_min: float | None  # needed unless `ea` is measured
    rh_max: float | None
    wind: float  # m/s at `wind_height_m`
    solar: float  # R_s, MJ m-2 day-1 (a pyranometer, or solar_from_sunshine)
    wind_height_m: float = 2.0
    ea: float | None = None  # measured actual vapour pressure, kPa (eq. 14 or 15); else eq. 17
    g: float = 0.0  # soil heat flux, MJ m-2 day-1: 0 for a day (eq. 42), eq. 43/44 for a month


@dataclass(frozen=True)
class Et0Terms:
    """Every intermediate of eq. 6, so an explanation can show how ET0 came about."""

    et0: float
    delta: float
    gamma: float
    es: float
    ea: float
    u2: float
    ra: float
    rso: float
    rns: float
    rnl: float
    rn: float
    g: float = 0.0


def et0_penman_monteith(w: DailyWeather, lat_deg: float, z_m: float, doy: int) -> Et0Terms:
    """Reference evapotranspiration, FAO-56 Penman-Monteith, eq. 6, for a day (G = 0) or for a
    month of daily means (G from soil_heat_flux_monthly, doy of the month's middle day)."""
    tmean = (w.tmax + w.tmin) / 2.0
    gamma = psychrometric_constant(atmospheric_pressure(z_m))
    es = (saturation_vp(w.tmax) + saturation_vp(w.tmin)) / 2.0
    if w.ea is not None:
        ea = w.ea
    elif w.rh_min is not None and w.rh_max is not None:
        ea = actual_vp_from_rh(w.tmin, w.tmax, w.rh_min, w.rh_max)
    else:
        raise ValueError("Penman-Monteith needs the actual vapour pressure or RHmin and RHmax")
    delta = slope_svp(tmean)
    u2 = w.wind if w.wind_height_m == 2.0 else wind_at_2m(w.wind, w.wind_height_m)
    ra, _ = extraterrestrial_radiation(lat_deg, doy)
    rso = clear_sky_radiation(ra, z_m)
    rns = (1.0 - ALBEDO) * w.solar  # eq. 38
    tk4 = ((w.tmax + 273.16) ** 4 + (w.tmin + 273.16) ** 4) / 2.0
    rnl = STEFAN_BOLTZMANN * tk4 * (0.34 - 0.14 * math.sqrt(ea)) * (
        1.35 * min(w.solar / rso, 1.0) - 0.35)  # eq. 39
    rn = rns - rnl  # eq. 40
    et0 = (0.408 * delta * (rn - w.g) + gamma * 900.0 / (tmean + 273.0) * u2 * (es - ea)) / (
        delta + gamma * (1.0 + 0.34 * u2))
    return Et0Terms(max(et0, 0.0), delta, gamma, es, ea, u2, ra, rso, rns, rnl, rn, w.g)


def clear_sky_radiation(ra: float, z_m: float) -> float:
    """R_so, eq. 37."""
    return (0.75 + 2e-5 * z_m) * ra


def depletion_fraction(p_table: float, etc_mm_day: float | None) -> float:
    """p, the fraction of TAW a crop can use before stress: Table 22's value (for ETc about
    5 mm/day) adjusted for the day's ETc, p = p_table + 0.04 (5 − ETc), within 0.1-0.8
    (Table 22 footnote). Without an ETc, the table's value."""
    if etc_mm_day is None:
        return p_table
    return min(0.8, max(0.1, p_table + 0.04 * (5.0 - etc_mm_day)))


def et0_hargreaves(tmin: float, tmax: float, lat_deg: float, doy: int) -> float:
    """Hargreaves-Samani, eq. 52: when only air temperature is measured (R_a as mm/day)."""
    ra, _ = extraterrestrial_radiation(lat_deg, doy)
    tmean = (tmax + tmin) / 2.0
    return max(0.0, 0.0023 * (tmean + 17.8) * math.sqrt(max(tmax - tmin, 0.0)) * 0.408 * ra)


@dataclass(frozen=True)
class CropStages:
    """Lengths of the four growth stages (days) and the three tabulated Kc values (Table 12)."""

    initial: int
    development: int
    mid: int
    late: int
    kc_ini: float
    kc_mid: float
    kc_end: float


def crop_coefficient(c: CropStages, day: int) -> float:
    """Kc on `day` (0 = sowing): flat in the initial and mid-season stages, linear in between
    (eq. 66)."""
    if day < c.initial:
        return c.kc_ini
    day -= c.initial
    if day < c.development:
        return c.kc_ini + day / c.development * (c.kc_mid - c.kc_ini)
    day -= c.development
    if day < c.mid:
        return c.kc_mid
    day -= c.mid
    if day < c.late:
        return c.kc_mid + day / c.late * (c.kc_end - c.kc_mid)
    return c.kc_end


@dataclass(frozen=True)
class Soil:
    """Water held by a soil, volumetric fractions (Table 19), and the crop's rooting."""

    theta_fc: float  # field capacity
    theta_wp: float  # wilting point
    root_depth_m: float
    p: float = 0.5  # fraction of TAW usable before stress (Table 22)

    @property
    def taw(self) -> float:
        """Total available water, mm (eq. 82)."""
        return 1000.0 * (self.theta_fc - self.theta_wp) * self.root_depth_m

    @property
    def raw(self) -> float:
        """Readily available water, mm (eq. 83)."""
        return self.p * self.taw


def depletion_from_moisture(soil: Soil, theta: float) -> float:
    """Root-zone depletion D_r (mm below field capacity) from a measured volumetric water
    content, bounded to 0..TAW."""
    return min(max(1000.0 * (soil.theta_fc - theta) * soil.root_depth_m, 0.0), soil.taw)


def water_balance_step(soil: Soil, depletion: float, etc: float, rain: float,
                       irrigation: float) -> float:
    """One day of the root-zone balance, eq. 85 (runoff and capillary rise ignored; water
    beyond field capacity percolates)."""
    return min(max(depletion - rain - irrigation + etc, 0.0), soil.taw)


def water_stress(soil: Soil, depletion: float) -> float:
    """K_s, eq. 84: 1 until RAW is used, then falling linearly to 0 at TAW."""
    if depletion <= soil.raw:
        return 1.0
    return max(0.0, (soil.taw - depletion) / ((1.0 - soil.p) * soil.taw))


def irrigation_need_litres(soil: Soil, depletion: float, area_m2: float,
                           efficiency: float) -> float:
    """Litres to bring the root zone back to field capacity once RAW is used up (0 before):
    the net depth in mm is litres per m2, divided by the application efficiency."""
    if depletion <= soil.raw:
        return 0.0
    return depletion * area_m2 / efficiency
