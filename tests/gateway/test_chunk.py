"""The cold store's chunk codec: every column comes back exactly (values bit for bit), whatever
the values; regular sensor series take a few bytes per reading; a corrupt blob is an error."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.store.chunk import ChunkError, Columns, decode, encode

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
