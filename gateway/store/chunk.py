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

import json
import struct
import sys
import zlib
from array import array
from dataclasses import dataclass
from itertools import accumulate

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
    out: list[list[object]] = []
    for x in xs:
        if out and out[-1][1] == x and type(out[-1][1]) is type(x):
            out[-1][0] += 1  # type: ignore[operator]
        else:
            out.append([1, x])
    return out


def _same_bits(a: float, b: float) -> bool:
    return struct.pack("<d", a) == struct.pack("<d", b)


def _scale(values: list[float]) -> tuple[int, list[int]] | None:
    """The smallest k ≤ 6 with every value exactly an integer / 10^k, and those integers."""
    for k in range(7):
        m = 10**k
        try:
            ints = [round(v * m) for v in values]
        except (OverflowError, ValueError):
            return None
        if all(abs(i) < _MAX_EXACT for i in ints) and all(
                _same_bits(i / m, v) for i, v in zip(ints, values, strict=True)):
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


def decode(blob: bytes) -> Columns:
    try:
        version, scale, n = _HEADER.unpack_from(blob)
        if version != VERSION:
            raise ChunkError(f"chunk version {version}, this gateway reads {VERSION}")
        body = zlib.decompress(blob[_HEADER.size:])
        parts, at = [], 0
        for _ in range(4):
            (size,) = struct.unpack_from("<I", body, at)
            parts.append(body[at + 4:at + 4 + size])
            at += 4 + size
        seqs = list(accumulate(_array("q", parts[0])))
        times = list(accumulate(_array("q", parts[1])))
        if scale == RAW:
            values = list(_array("d", parts[2]))
        else:
            m = 10**scale
            values = [i / m for i in accumulate(_array("q", parts[2]))]
        cal_runs, q_runs = json.loads(parts[3])
    except (struct.error, zlib.error, ValueError, TypeError) as exc:
        raise ChunkError(f"a chunk does not decode: {exc}") from exc
    cals = [v for count, v in cal_runs for _ in range(count)]
    qs = [v for count, v in q_runs for _ in range(count)]
    if not (len(seqs) == len(times) == len(values) == len(cals) == len(qs) == n):
        raise ChunkError(f"a chunk's columns disagree with its count {n}")
    return Columns(seqs, times, values, cals, qs)
