"""Data quality before any signal uses a stream: QARTOD-style tests (US IOOS, "Manual for Real-
Time Quality Control", 2020 edition) on polars series, with the standard flags.

Flags: 1 pass, 2 not evaluated, 3 suspect, 4 fail, 9 missing. A reading's overall flag is the
worst of its tests (2 counts only when nothing was evaluated); a stream with no reading for more
than three sampling intervals is stale: missing (9).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

PASS, NOT_EVALUATED, SUSPECT, FAIL, MISSING = 1, 2, 3, 4, 9
FLAG_NAMES = {PASS: "pass", NOT_EVALUATED: "not evaluated", SUSPECT: "suspect", FAIL: "fail",
              MISSING: "missing"}
STALE_INTERVALS = 3


def _flag(fail: pl.Expr, suspect: pl.Expr, evaluated: pl.Expr, value: pl.Expr) -> pl.Expr:
    return (pl.when(value.is_null()).then(MISSING)
            .when(~evaluated).then(NOT_EVALUATED)
            .when(fail).then(FAIL)
            .when(suspect).then(SUSPECT)
            .otherwise(PASS)).cast(pl.Int8)


def gross_range(v: pl.Expr, sensor: tuple[float, float],
                suspect: tuple[float, float] | None = None) -> pl.Expr:
    """Fail outside what the sensor can report; suspect outside what is plausible here."""
    fail = (v < sensor[0]) | (v > sensor[1])
    sus = (v < suspect[0]) | (v > suspect[1]) if suspect else pl.lit(False)
    return _flag(fail, sus, pl.lit(True), v)


def spike(v: pl.Expr, suspect: float, fail: float) -> pl.Expr:
    """|v_i - mean(v_i-1, v_i+1)| against two thresholds; the ends are not evaluated."""
    prev, nxt = v.shift(1), v.shift(-1)
    size = (v - (prev + nxt) / 2).abs()
    return _flag(size >= fail, size >= suspect, prev.is_not_null() & nxt.is_not_null(), v)


def rate_of_change(v: pl.Expr, t_s: pl.Expr, max_per_s: float,
                   min_change: float = 0.0) -> pl.Expr:
    """Suspect when the change since the previous reading is faster than `max_per_s` and at
    least `min_change` (so sensor noise between closely spaced readings is not a rate)."""
    step = (v - v.shift(1)).abs()
    rate = step / (t_s - t_s.shift(1))
    return _flag(pl.lit(False), (rate > max_per_s) & (step >= min_change),
                 v.shift(1).is_not_null(), v)


def flat_line(v: pl.Expr, eps: float, suspect_n: int, fail_n: int) -> pl.Expr:
    """A stuck sensor: the reading is the n-th in a row within `eps` of the one before."""
    same = ((v - v.shift(1)).abs() <= eps).fill_null(False)
    index = pl.int_range(pl.len())
    run_start = pl.when(~same).then(index).otherwise(None).forward_fill()
    repeats = index - run_start  # readings equal to the previous one, so far (no window group)
    return _flag(repeats >= fail_n - 1, repeats >= suspect_n - 1, pl.lit(True), v)


def worst(*flags: pl.Expr) -> pl.Expr:
    """The reading's overall flag: missing over fail over suspect over pass; 2 only if no test
    was evaluated."""
    evaluated = [pl.when(f == NOT_EVALUATED).then(None).otherwise(f) for f in flags]
    return pl.max_horizontal(*evaluated).fill_null(NOT_EVALUATED).cast(pl.Int8)


def stale(last_t_s: float | None, now_s: float, interval_s: float) -> bool:
    """No reading for more than three sampling intervals."""
    return last_t_s is None or now_s - last_t_s > STALE_INTERVALS * interval_s


@dataclass(frozen=True)
class StreamQuality:
    """What a signal says about one of its inputs."""

    name: str
    flag: int  # the worst flag among the readings used, or MISSING when stale
    readings: int
    suspect: int
    failed: int

    @property
    def label(self) -> str:
        return FLAG_NAMES[self.flag]


def summarise(name: str, flags: pl.Series, last_t_s: float | None, now_s: float,
              interval_s: float) -> StreamQuality:
    if stale(last_t_s, now_s, interval_s) or flags.len() == 0:
        return StreamQuality(name, MISSING, flags.len(), 0, 0)
    counts = flags.value_counts()
    n = dict(zip(counts[flags.name].to_list(), counts["count"].to_list(), strict=True))
    worst_flag = max((f for f in n if f != NOT_EVALUATED), default=NOT_EVALUATED)
    return StreamQuality(name, int(worst_flag), flags.len(), n.get(SUSPECT, 0), n.get(FAIL, 0))
