"""The cold store's chunk codec: every column comes back exactly (values bit for bit), whatever
the values; regular sensor series take a few bytes per reading; a corrupt blob is an error."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.store.chunk import ChunkError, Columns, add_buckets, decode, encode

finite = st.floats(allow_nan=False, allow_infinity=False)
decimal = st.integers(-10**7, 10**7).map(lambda i: i / 100)


@st.composite
def columns(draw: st.DrawFn) -> Columns:
    n = draw(st.integers(1, 60))
    seqs = sorted(draw(st.lists(st.integers(1, 2**62), min_size=n, max_size=n, unique=True)))
    times = draw(st.lists(st.integers(946_684_800_000, 2**45), min_size=n, max_size=n))
    values = draw(st.lists(finite | decimal | st.sampled_from([0.0, -0.0, 1e-7, 5e-324]),
                           min_size=n, max_size=n))
    cals = draw(st.lists(st.none() | st.sampled_from(["a:1", "b:2"]), min_size=n, max_size=n))
    qs = draw(st.lists(st.none() | st.sampled_from([3, 4]), min_size=n, max_size=n))
    return Columns(seqs, times, values, cals, qs)


@given(columns())
def test_every_column_round_trips_exactly(c: Columns) -> None:
    back = decode(encode(c))
    assert back.seqs == c.seqs and back.times == c.times
    assert back.cals == c.cals and back.qs == c.qs
    assert [struct.pack("<d", v) for v in back.values] == [struct.pack("<d", v) for v in c.values]


def test_a_regular_sensor_series_takes_a_few_bytes_per_reading() -> None:
    n = 1440  # a day at one minute
    c = Columns(list(range(7, 7 + 20 * n, 20)), [1_764_547_200_000 + 60_000 * i for i in range(n)],
                [round(21.0 + (i % 37) * 0.05 - (i % 11) * 0.02, 2) for i in range(n)],
                [None] * n, [None] * n)
    size = len(encode(c))
    assert size / n < 2.0, size / n


def test_a_corrupt_chunk_is_refused_with_a_reason() -> None:
    good = encode(Columns([1], [1_000], [1.5], [None], [None]))
    for bad in (b"", good[:7], good[:-3] + b"xyz", bytes([9]) + good[1:]):
        with pytest.raises(ChunkError):
            decode(bad)


@st.composite
def sorted_columns(draw: st.DrawFn) -> Columns:
    n = draw(st.integers(1, 80))
    regular = draw(st.booleans())
    start = draw(st.integers(10**12, 2 * 10**12))
    step = draw(st.integers(1, 120_000))
    times = ([start + i * step for i in range(n)] if regular else
             sorted(draw(st.lists(st.integers(start, start + 10**7), min_size=n, max_size=n))))
    values = draw(st.lists(decimal | finite.filter(lambda v: abs(v) < 1e12), min_size=n,
                           max_size=n))
    return Columns(list(range(1, n + 1)), times, values, [None] * n, [None] * n)


@given(sorted_columns(), st.integers(-10**6, 10**7), st.integers(1, 10**7),
       st.integers(1, 10**6))
def test_bucket_sums_match_the_readings_bucket_by_bucket(c: Columns, since_off: int,
                                                         span: int, width: int) -> None:
    since = c.times[0] + since_off
    until = since + span
    got: dict[int, list[float]] = {}
    add_buckets(encode(c), since, until, width, got)
    want: dict[int, list[float]] = {}
    for t, v in zip(c.times, c.values, strict=True):
        if since <= t < until:
            e = want.setdefault((t - since) // width, [t, 0.0, 0])
            e[0], e[1], e[2] = min(e[0], t), e[1] + v, e[2] + 1
    assert got.keys() == want.keys()
    for b, (t, total, count) in want.items():
        assert got[b][0] == t and got[b][2] == count
        assert got[b][1] == pytest.approx(total, rel=1e-9, abs=1e-9 * count * max(
            1.0, max(abs(v) for v in c.values)))
