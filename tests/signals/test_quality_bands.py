"""QARTOD-style flags on hand-made series, and the threshold arithmetic: bands, distance,
trend and time to threshold, and an alert that does not flap."""

from __future__ import annotations

import random

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.signals.bands import OVERSHOOT, SAFE, SHORTFALL, Alert, Limits, band, distance, trend
from gateway.signals.quality import (
    FAIL,
    MISSING,
    NOT_EVALUATED,
    PASS,
    SUSPECT,
    flat_line,
    gross_range,
    rate_of_change,
    spike,
    stale,
    summarise,
    worst,
)

SERIES = pl.DataFrame({"t": [0, 60, 120, 180, 240, 300, 360, 420],
                       "v": [20.0, 20.1, 35.0, 20.2, 20.2, 20.2, 20.2, None]})


def flags() -> pl.DataFrame:
    v = pl.col("v")
    return SERIES.with_columns(
        gr=gross_range(v, (-40, 85), (0, 30)), sp=spike(v, 3, 10),
        roc=rate_of_change(v, pl.col("t"), 0.1), fl=flat_line(v, 0.01, 3, 4),
    ).with_columns(all=worst(pl.col("gr"), pl.col("sp"), pl.col("roc"), pl.col("fl")))


def test_qartod_flags_by_hand() -> None:
    f = flags()
    assert f["gr"].to_list() == [1, 1, 3, 1, 1, 1, 1, 9]  # 35 > plausible 30; null missing
    # |20.1 - (20 + 35)/2| = 7.4 >= 3: the spike's neighbours are suspect, the spike fails
    assert f["sp"].to_list() == [2, 3, 4, 3, 1, 1, 2, 9]
    assert f["roc"].to_list() == [2, 1, 3, 3, 1, 1, 1, 9]  # 14.9 / 60 s > 0.1 per s
    assert f["fl"].to_list() == [1, 1, 1, 1, 1, 3, 4, 9]  # 3rd equal reading suspect, 4th fail
    assert f["all"].to_list() == [1, 3, 4, 3, 1, 3, 4, 9]


def test_stale_and_summary() -> None:
    assert stale(None, 1000, 60) and stale(800, 1000, 60) and not stale(850, 1000, 60)
    q = summarise("air.temperature", flags()["all"].head(7), last_t_s=360, now_s=400,
                  interval_s=60)
    assert (q.flag, q.readings, q.suspect, q.failed, q.label) == (FAIL, 7, 3, 2, "fail")
    gone = summarise("air.temperature", flags()["all"], last_t_s=360, now_s=2000, interval_s=60)
    assert gone.flag == MISSING and gone.label == "missing"


@given(st.lists(st.one_of(st.none(), st.floats(-100, 100)), min_size=1, max_size=50))
def test_flags_are_always_standard_values(values: list[float | None]) -> None:
    df = pl.DataFrame({"t": list(range(0, 60 * len(values), 60)), "v": values},
                      schema={"t": pl.Int64, "v": pl.Float64})
    v = pl.col("v")
    out = df.select(worst(gross_range(v, (-40, 85)), spike(v, 3, 10),
                          rate_of_change(v, pl.col("t"), 0.1), flat_line(v, 0.01, 3, 5)))
    allowed = {PASS, NOT_EVALUATED, SUSPECT, FAIL, MISSING}
    assert set(out.to_series().to_list()) <= allowed
    nulls = [i for i, x in enumerate(values) if x is None]
    assert all(out.to_series()[i] == MISSING for i in nulls)


def test_bands_and_distance() -> None:
    space = Limits(lower=10.0, upper=50.0)
    assert [band(x, space) for x in (5, 10, 30, 50, 60)] == [SHORTFALL, SAFE, SAFE, SAFE,
                                                             OVERSHOOT]
    assert distance(60, space) == pytest.approx(0.2) and distance(5, space) == pytest.approx(0.5)
    assert distance(30, space) == 0.0
    with pytest.raises(ValueError, match="lower threshold 5 is above upper 1"):
        Limits(5, 1)


def test_trend_forecasts_only_a_good_fit() -> None:
    limit = Limits(upper=100.0)
    rising = trend([0, 10, 20, 30, 40, 50], [40, 50, 60, 70, 80, 90], limit)
    assert rising is not None and rising.slope_per_s == pytest.approx(1.0)
    assert rising.r2 == pytest.approx(1.0) and rising.time_to_threshold_s == pytest.approx(10.0)
    noisy = trend([0, 10, 20, 30, 40, 50], [40, 90, 45, 85, 50, 80], limit)
    assert noisy is not None and noisy.r2 < 0.6 and noisy.time_to_threshold_s is None
    short = trend([0, 10, 20], [40, 50, 60], limit)
    assert short is not None and short.time_to_threshold_s is None  # too few points


def test_alert_delays_on_and_off() -> None:
    a = Alert(Limits(upper=100.0), hysteresis=0.05, on_delay_s=60, off_delay_s=120)
    assert [a.update(t, v) for t, v in [(0, 101), (30, 102), (60, 103)]] == [False, False, True]
    assert a.update(90, 97) is True  # inside, but not by the 5 % margin (95)
    assert [a.update(t, 90) for t in (100, 180, 219)] == [True, True, True]
    assert a.update(220, 90) is False  # clear since 100 s: the 120 s off delay has passed


@given(st.integers(0, 2**32 - 1))
def test_hysteresis_never_flaps_on_noise_around_the_threshold(seed: int) -> None:
    rng = random.Random(seed)
    a = Alert(Limits(upper=100.0), hysteresis=0.05)  # margin 5, noise +-4
    states = [a.update(t, 100.0 + rng.uniform(-4, 4)) for t in range(500)]
    changes = sum(1 for x, y in zip(states, states[1:], strict=False) if x != y)
    assert changes <= 1
