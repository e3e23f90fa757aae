"""A chunk: readings of one series moved out of the row table into compressed columns (the cold
part of the store, gateway/store/readings.py). Pure: bytes in, columns out.

Columns are fixed-width arrays, delta-encoded, then zlib-compressed, so that decoding runs at C
speed (zlib, array.frombytes, itertools.accumulate): sequence numbers and times as int64 deltas
(a regular series compresses to almost nothing), values as int64 deltas of value × 10^k when
every value is exactly a decimal of k ≤ 6 places (what sensors send), else raw float64. The
encoder checks that every value comes back bit for bit and otherwise stores it raw; `cal` and
`q` (mostly constant) are run-length lists.
"""

from __future__ import annotations

import bisect
import json
import math
import struct
import sys
import zlib
from array import array
from dataclasses import dataclass
from itertools import accumulate, repeat
from operator import eq, truediv

VERSION = 1
RAW = 255  # the values' scale byte when they are stored as float64
_HEADER = struct.Struct("<BBI")  # version, scale, count
_MAX_EXACT = 2**53


@dataclass(frozen=True, slots=True)
class Columns:
    seqs: list[int]
    times: list[int]  # ms
    values: list[float]
    cals: list[str | None]
    qs: list[int | None]


class ChunkError(ValueError):
    """A chunk's bytes do not decode: a corrupt or foreign blob."""


def _bytes(a: array) -> bytes:  # type: ignore[type-arg]
    if sys.byteorder == "big":
        a = array(a.typecode, a)
        a.byteswap()
    return a.tobytes()


def _array(code: str, data: bytes) -> array:  # type: ignore[type-arg]
    a = array(code)
    a.frombytes(data)
    if sys.byteorder == "big":
        a.byteswap()
    return a


def _deltas(xs: list[int]) -> array:  # type: ignore[type-arg]
    return array("q", [xs[0]] + [b - a for a, b in zip(xs, xs[1:], strict=False)])


def _runs(xs: list[object]) -> list[list[object]]:
    first = xs[0]
    if xs.count(first) == len(xs) and len(set(map(type, xs))) == 1:  # the usual: one run
        return [[len(xs), first]]
    out: list[list[object]] = []
    for x in xs:
        if out and out[-1][1] == x and type(out[-1][1]) is type(x):
            out[-1][0] += 1  # type: ignore[operator]
        else:
            out.append([1, x])
    return out


_SAMPLE = 16  # values tried first for each scale: non-decimal data fails them at once


def _exact(values: list[float], k: int) -> list[int] | None:
    m = 10**k
    try:
        ints = [round(v * m) for v in values]
    except (OverflowError, ValueError):
        return None
    if max(map(abs, ints)) < _MAX_EXACT and all(map(eq, map(truediv, ints, repeat(m)),
                                                    values)):
        return ints
    return None


def _scale(values: list[float]) -> tuple[int, list[int]] | None:
    """The smallest k ≤ 6 with every value exactly an integer / 10^k, and those integers. Each
    k is tried on a sample first; the comparisons run at C speed; a negative zero (equal to
    0.0, other bits) is stored raw."""
    if any(v == 0.0 and math.copysign(1.0, v) < 0 for v in values if v == 0.0):
        return None
    sample = values[:_SAMPLE]
    for k in range(7):
        if _exact(sample, k) is None:
            continue
        ints = _exact(values, k) if len(values) > _SAMPLE else _exact(sample, k)
        if ints is not None:
            return k, ints
    return None


def encode(c: Columns) -> bytes:
    n = len(c.seqs)
    if not n or not (len(c.times) == len(c.values) == len(c.cals) == len(c.qs) == n):
        raise ValueError("a chunk needs one or more readings, every column as long")
    scaled = _scale(c.values)
    if scaled is None:
        scale, values = RAW, _bytes(array("d", c.values))
    else:
        scale, values = scaled[0], _bytes(_deltas(scaled[1]))
    parts = [_bytes(_deltas(c.seqs)), _bytes(_deltas(c.times)), values,
             json.dumps([_runs(list(c.cals)), _runs(list(c.qs))],
                        separators=(",", ":")).encode()]
    body = b"".join(struct.pack("<I", len(p)) + p for p in parts)
    return _HEADER.pack(VERSION, scale, n) + zlib.compress(body, 6)


def decode_points(blob: bytes) -> tuple[list[int], list[float]]:
    """Only the times and values of a chunk (a chart needs no more)."""
    scale, parts = _parts(blob, 3)
    times = list(accumulate(_array("q", parts[1])))
    return times, _values(scale, parts[2])


# per time bucket: [its first reading's time, sum of values, count]
Buckets = dict[int, list[float]]


def add_buckets(blob: bytes, since: int, until: int, width: int, into: Buckets) -> None:
    """Add the chunk's readings in [since, until) to time buckets of `width` ms counted from
    `since`, summing slices at C speed; a regular series' times are never materialised."""
    scale, parts = _parts(blob, 3)
    dt = _array("q", parts[1])
    n, start = len(dt), dt[0]
    step = dt[1] if n > 1 else 1
    values: list[int] | list[float] = (list(_array("d", parts[2])) if scale == RAW
                                       else list(accumulate(_array("q", parts[2]))))
    m = 1 if scale == RAW else 10**scale
    if step > 0 and (n == 1 or dt[1:].count(step) == n - 1):  # t_i = start + i * step
        def at(t: int) -> int:  # the first index with time >= t
            return min(n, max(0, -(-(t - start) // step)))
        time_of = lambda i: start + i * step  # noqa: E731
    else:
        times = list(accumulate(dt))
        at = lambda t: bisect.bisect_left(times, t)  # noqa: E731
        time_of = times.__getitem__
    i, end = at(since), at(until)
    while i < end:
        t = time_of(i)
        b = (t - since) // width
        j = min(end, at(since + (b + 1) * width))
        total = sum(values[i:j]) / m
        entry = into.get(b)
        if entry is None:
            into[b] = [t, total, j - i]
        else:
            entry[0], entry[1], entry[2] = min(entry[0], t), entry[1] + total, entry[2] + j - i
        i = j


def _parts(blob: bytes, count: int) -> tuple[int, list[bytes]]:
    try:
        version, scale, _ = _HEADER.unpack_from(blob)
        if version != VERSION:
            raise ChunkError(f"chunk version {version}, this gateway reads {VERSION}")
        body = zlib.decompress(blob[_HEADER.size:])
        parts, at = [], 0
        for _ in range(count):
            (size,) = struct.unpack_from("<I", body, at)
            parts.append(body[at + 4:at + 4 + size])
            at += 4 + size
    except (struct.error, zlib.error) as exc:
        raise ChunkError(f"a chunk does not decode: {exc}") from exc
    return scale, parts


def _values(scale: int, data: bytes) -> list[float]:
    if scale == RAW:
        return list(_array("d", data))
    return list(map(truediv, accumulate(_array("q", data)), repeat(10**scale)))  # at C speed


def decode(blob: bytes) -> Columns:
    scale, parts = _parts(blob, 4)
    n = _HEADER.unpack_from(blob)[2]
    try:
        seqs = list(accumulate(_array("q", parts[0])))
        times = list(accumulate(_array("q", parts[1])))
        values = _values(scale, parts[2])
        cal_runs, q_runs = json.loads(parts[3])
        cals = [v for count, v in cal_runs for _ in range(count)]
        qs = [v for count, v in q_runs for _ in range(count)]
    except (ValueError, TypeError) as exc:
        raise ChunkError(f"a chunk does not decode: {exc}") from exc
    if not (len(seqs) == len(times) == len(values) == len(cals) == len(qs) == n):
        raise ChunkError(f"a chunk's columns disagree with its count {n}")
    return Columns(seqs, times, values, cals, qs)
