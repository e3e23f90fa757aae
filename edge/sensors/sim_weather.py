"""Simulated weather station: air temperature, relative humidity, wind speed, global solar
radiation. Seeded and plausible for the site's latitude and the date: the sun follows its real
elevation (solar declination, hour angle, the Earth-Sun distance), so a November day at 50° N
gets about a quarter of a June day's radiation and never more than a clear sky lets through;
air temperature follows the season and the day's sunshine (minimum near dawn), humidity falls
as the air warms, and each day has its own cloudiness."""

from __future__ import annotations

import math
import random
import time

from contract.senml import Kind
from edge.driver import Driver, Options, QuantitySpec, Sample
from edge.sensors.sim_soil import DAY, diurnal

SAMPLE_CONFIG = """
[[sensors]]
type = "sim.weather"
interval_s = 600
seed = 3
latitude = 50.85      # degrees north (south negative): the sun follows this latitude
longitude = 4.35      # degrees east: solar noon is at 12:00 - longitude / 15 UTC
"""

SOLAR_CONSTANT_W = 1367.0  # W m-2 (FAO-56's 0.0820 MJ m-2 min-1)
CLEAR_SKY = 0.75  # share of the top-of-atmosphere radiation a clear sky passes (FAO-56 eq. 37)


def solar_elevation_sin(lat_deg: float, lon_deg: float, now: float) -> tuple[float, float]:
    """(sin of the sun's elevation, Earth-Sun distance factor d_r) at UNIX time `now`: the
    declination and d_r of FAO-56 eqs. 23-24, the hour angle from the UTC time and longitude
    (the equation of time, under 17 minutes, is left out)."""
    doy = day_of_year(now)
    dr = 1.0 + 0.033 * math.cos(2.0 * math.pi * doy / 365.0)
    decl = 0.409 * math.sin(2.0 * math.pi * doy / 365.0 - 1.39)
    solar_hour = ((now % DAY) / 3600.0 + lon_deg / 15.0) % 24.0
    omega = math.radians(15.0 * (solar_hour - 12.0))
    phi = math.radians(lat_deg)
    return (math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(omega),
            dr)


def day_of_year(now: float) -> int:
    """1-366 for UNIX time `now` (UTC)."""
    return time.gmtime(now).tm_yday


class SimWeather:
    quantities = (
        QuantitySpec("air.temperature", "Cel", Kind.GAUGE, "air temperature at 2 m"),
        QuantitySpec("air.humidity", "%RH", Kind.GAUGE, "relative humidity"),
        QuantitySpec("wind.speed", "m/s", Kind.GAUGE, "wind speed at 2 m"),
        QuantitySpec("solar.radiation", "W/m2", Kind.GAUGE, "global horizontal irradiance"),
    )

    def __init__(self, seed: int = 3, latitude: float = 50.85, longitude: float = 4.35) -> None:
        self.rng = random.Random(seed)
        self.lat, self.lon = latitude, longitude
        self.day: int | None = None
        self.clear = 0.7

    def read(self, now: float) -> list[Sample]:
        day = int(now // DAY)
        if day != self.day:  # a new day, a new sky
            self.day, self.clear = day, self.rng.uniform(0.35, 1.0)
        sin_h, dr = solar_elevation_sin(self.lat, self.lon, now)
        # clear-sky beam at the ground, times the day's cloudiness (noise kept under the
        # clear sky, as a real pyranometer's daily total is)
        solar = SOLAR_CONSTANT_W * dr * max(sin_h, 0.0) * CLEAR_SKY * self.clear * (
            1.0 - abs(self.rng.gauss(0.0, 0.02)))
        doy = day_of_year(now)
        # the season: coolest about 20 January in the north (mirrored in the south), a
        # 7 degree swing around 10; sunny days have the wider daily range
        season = math.cos(2.0 * math.pi * (doy - 200) / 365.0) * (1 if self.lat >= 0 else -1)
        mean = 10.0 + 7.0 * season
        local_peak = (15.0 - self.lon / 15.0) % 24.0  # mid-afternoon, local solar time
        temp = diurnal(now, mean, 2.0 + 4.0 * self.clear, local_peak) + self.rng.gauss(0.0, 0.2)
        rh = min(98.0, max(25.0, 75.0 - 3.0 * (temp - mean) + self.rng.gauss(0.0, 2.0)))
        hour = (now % DAY) / 3600.0
        wind = max(0.0, 2.0 + 0.8 * math.sin(2 * math.pi * hour / 24) + self.rng.gauss(0.0, 0.4))
        return [Sample("air.temperature", round(temp, 2)), Sample("air.humidity", round(rh, 1)),
                Sample("wind.speed", round(wind, 2)), Sample("solar.radiation", round(solar, 1))]


def _parse(o: Options) -> dict[str, object]:
    return {"seed": o.integer("seed", 3),
            "latitude": o.number("latitude", 50.85, low=-90.0, high=90.0),
            "longitude": o.number("longitude", 4.35, low=-180.0, high=180.0)}


DRIVERS = (Driver(
    type="sim.weather", summary="simulated weather station: air temperature, humidity, wind, sun",
    parse=_parse, open=lambda kw, hw: SimWeather(**kw),  # type: ignore[arg-type]
    quantities=lambda kw: SimWeather.quantities, sample_config=SAMPLE_CONFIG),)
