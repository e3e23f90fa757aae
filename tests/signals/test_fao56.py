"""FAO-56 against its published worked example and hand-computed vectors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.signals.fao56 import (
    CropStages,
    DailyWeather,
    Soil,
    actual_vp_from_dewpoint,
    actual_vp_psychrometric,
    atmospheric_pressure,
    clear_sky_radiation,
    crop_coefficient,
    depletion_fraction,
    depletion_from_moisture,
    et0_hargreaves,
    et0_penman_monteith,
    extraterrestrial_radiation,
    irrigation_need_litres,
    soil_heat_flux_monthly,
    solar_from_sunshine,
    water_balance_step,
    water_stress,
)


def test_example_18_brussels_6_july_reproduces_to_published_precision() -> None:
    # FAO-56 Example 18: 50°48'N, 100 m, 6 July (day 187), Tmax 21.5, Tmin 12.3, RHmax 84,
    # RHmin 63, wind 10 km/h at 10 m, 9.25 h of sunshine -> ET0 = 3.9 mm/day
    ra, daylight = extraterrestrial_radiation(50 + 48 / 60, 187)
    assert round(ra, 2) == 41.09 and round(daylight, 1) == 16.1
    rs = solar_from_sunshine(ra, 9.25, daylight)
    assert round(rs, 2) == 22.07
    t = et0_penman_monteith(DailyWeather(12.3, 21.5, 63, 84, 10 / 3.6, rs, 10), 50 + 48 / 60,
                            100, 187)
    assert (round(t.es, 3), round(t.ea, 3), round(t.delta, 3), round(t.gamma, 4)) == (
        1.997, 1.409, 0.122, 0.0666)
    assert round(t.u2, 3) == 2.078
    assert (round(t.rns, 2), round(t.rnl, 2), round(t.rn, 2)) == (17.00, 3.71, 13.28)
    assert round(t.et0, 1) == 3.9


def test_example_17_bangkok_april_monthly_reproduces_to_published_precision() -> None:
    """FAO-56 Example 17 (monthly step): 13°44'N, 2 m, April (15 April, day 105): Tmax 34.8,
    Tmin 25.6, measured e_a 2.85 kPa, u2 2 m/s, 8.5 h of sunshine; mean air temperature 30.2 in
    April and 29.2 in March -> G = 0.14, Rn = 14.33, ET0 = 5.72 mm/day."""
    lat = 13 + 44 / 60
    ra, daylight = extraterrestrial_radiation(lat, 105)
    assert (round(ra, 2), round(daylight, 1)) == (38.06, 12.3)
    rs = solar_from_sunshine(ra, 8.5, daylight)
    assert round(rs, 2) == 22.65 and round(clear_sky_radiation(ra, 2), 2) == 28.54
    g = soil_heat_flux_monthly(30.2, 29.2)  # eq. 44: May's mean not known yet
    assert round(g, 2) == 0.14
    t = et0_penman_monteith(DailyWeather(25.6, 34.8, None, None, 2.0, rs, ea=2.85, g=g), lat,
                            2, 105)
    assert (round(t.es, 2), round(t.ea, 2), round(t.delta, 3), round(t.gamma, 3)) == (
        4.42, 2.85, 0.246, 0.067)
    assert (round(t.rns, 2), round(t.rnl, 2), round(t.rn, 2), t.g) == (17.44, 3.11, 14.33, g)
    assert round(t.et0, 2) == 5.72
    # the same month with G taken as 0 is off in the published precision: G matters monthly
    no_g = et0_penman_monteith(DailyWeather(25.6, 34.8, None, None, 2.0, rs, ea=2.85), lat, 2,
                               105)
    assert round(no_g.et0, 2) == 5.76


def test_soil_heat_flux_uses_eq_43_when_the_next_month_is_known() -> None:
    assert soil_heat_flux_monthly(30.2, 29.2, 31.2) == pytest.approx(0.07 * 2.0)


def test_measured_vapour_pressure_equations() -> None:
    # eq. 14 (e°(17.0) = 1.938 kPa, FAO-56 Table 2.3) and Example 5, eqs. 15-16
    p = atmospheric_pressure(1200)  # Example 5 of FAO-56: 87.9 kPa at 1200 m
    assert round(p, 1) == 87.9
    assert round(actual_vp_psychrometric(20.0, 19.5, p), 2) == 2.24
    assert round(actual_vp_from_dewpoint(17.0), 3) == 1.938
    with pytest.raises(ValueError, match="needs the actual vapour pressure"):
        et0_penman_monteith(DailyWeather(10, 20, None, None, 2.0, 15.0), 50.0, 100, 180)


@pytest.mark.parametrize("p_table, etc, expected", [
    (0.40, 5.0, 0.40),  # the table is for ETc about 5 mm/day
    (0.40, 2.0, 0.52),  # a cool day: the crop can use more before stress
    (0.40, 8.0, 0.28),
    (0.20, 15.0, 0.10),  # bounded below
    (0.75, 0.0, 0.80),  # and above
    (0.35, None, 0.35),  # no ETc measured: the table's value
])
def test_depletion_fraction_follows_table_22_and_its_etc_adjustment(
        p_table: float, etc: float | None, expected: float) -> None:
    assert depletion_fraction(p_table, etc) == pytest.approx(expected)


def test_hargreaves_hand_vector() -> None:
    # 0.0023 x (16.9 + 17.8) x sqrt(9.2) x 0.408 x 41.0884 = 4.058 mm/day
    assert et0_hargreaves(12.3, 21.5, 50.8, 187) == pytest.approx(4.0582, abs=1e-4)
    assert et0_hargreaves(10.0, 8.0, 50.8, 187) == 0.0  # an inverted range gives no water use


def test_kc_curve_interpolates_linearly_between_stages() -> None:
    # tomato-like: 30 / 40 / 45 / 30 days, Kc 0.6 / 1.15 / 0.8
    c = CropStages(30, 40, 45, 30, 0.6, 1.15, 0.8)
    assert crop_coefficient(c, 0) == 0.6 and crop_coefficient(c, 29) == 0.6
    assert crop_coefficient(c, 50) == pytest.approx(0.6 + 20 / 40 * 0.55)  # 0.875
    assert crop_coefficient(c, 70) == 1.15 and crop_coefficient(c, 114) == 1.15
    assert crop_coefficient(c, 130) == pytest.approx(1.15 - 15 / 30 * 0.35)  # 0.975
    assert crop_coefficient(c, 400) == 0.8


LOAM = Soil(theta_fc=0.30, theta_wp=0.15, root_depth_m=0.4, p=0.5)


def test_soil_water_balance_vectors() -> None:
    assert LOAM.taw == pytest.approx(60.0) and LOAM.raw == pytest.approx(30.0)  # mm
    assert depletion_from_moisture(LOAM, 0.20) == pytest.approx(40.0)
    assert depletion_from_moisture(LOAM, 0.35) == 0.0 and depletion_from_moisture(LOAM, 0.1) == 60
    assert water_balance_step(LOAM, 25.0, etc=4.0, rain=10.0, irrigation=0.0) == 19.0
    assert water_balance_step(LOAM, 5.0, etc=4.0, rain=30.0, irrigation=0.0) == 0.0  # percolates
    assert water_stress(LOAM, 30.0) == 1.0 and water_stress(LOAM, 45.0) == pytest.approx(0.5)
    # 40 mm below field capacity on a 2 m2 bed at 80 % efficiency: 40 x 2 / 0.8 = 100 l
    assert irrigation_need_litres(LOAM, 40.0, 2.0, 0.8) == pytest.approx(100.0)
    assert irrigation_need_litres(LOAM, 29.0, 2.0, 0.8) == 0.0  # RAW not used up yet


@given(st.floats(0.0, 0.5), st.floats(0.0, 0.5), st.floats(0.1, 50), st.floats(0.3, 1.0))
def test_more_water_in_the_soil_never_raises_irrigation_need(a: float, b: float, area: float,
                                                             eff: float) -> None:
    wetter, drier = max(a, b), min(a, b)
    need_wet = irrigation_need_litres(LOAM, depletion_from_moisture(LOAM, wetter), area, eff)
    need_dry = irrigation_need_litres(LOAM, depletion_from_moisture(LOAM, drier), area, eff)
    assert need_wet <= need_dry
