"""Stored readings as polars frames, by quantity name (whatever a sensor's id prefix)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import polars as pl

from gateway.signals.qc import flags
from gateway.store.data_dir import DataDir

SCHEMA = {"node": pl.Utf8, "name": pl.Utf8, "seq": pl.Int64, "t": pl.Int64, "v": pl.Float64}


@dataclass(frozen=True)
class Series:
    node: str
    name: str  # full stored name, e.g. "bed-1.soil.moisture"
    prefix: str  # the sensor id part ("bed-1"), or "" without one
    frame: pl.DataFrame  # seq, t (ms), v, q (its QARTOD flag); sorted by t

    @property
    def scope(self) -> str:
        return f"{self.node}/{self.prefix}" if self.prefix else self.node


class Readings:
    def __init__(self, frame: pl.DataFrame, quiet: list[tuple[str, str]] | None = None) -> None:
        self.frame = frame  # sorted per series when a quantity is first asked for
        self.quiet = quiet or []  # (node, name) of series with no reading in the window
        self.cache: dict[str, list[Series]] = {}  # several families read the same quantity

    @classmethod
    def from_store(cls, data: DataDir, since: dict[str, int], max_ms: int = 2**62,
                   nodes: Collection[str] | None = None) -> Readings:
        """The readings of each quantity (by name suffix) from its own start time up to `max_ms`
        (both ms); of every node, or only of `nodes`."""
        if not data.has_readings():
            return cls(pl.DataFrame(schema=SCHEMA))
        with data.readings(readonly=True) as store:
            found = store.gauge_series(since, max_ms, nodes)
        frames = [pl.DataFrame(rows, schema={"seq": pl.Int64, "t": pl.Int64, "v": pl.Float64},
                               orient="row").with_columns(node=pl.lit(node), name=pl.lit(name))
                  for node, name, rows in found if rows]
        quiet = [(node, name) for node, name, rows in found if not rows]  # still streams: their
        if not frames:  # signals say they are stale
            return cls(pl.DataFrame(schema=SCHEMA), quiet)
        return cls(pl.concat(frames).select(list(SCHEMA)), quiet)

    def series(self, quantity: str) -> list[Series]:
        """Every stored series of `quantity`, on any node, with or without a sensor id."""
        if quantity not in self.cache:
            self.cache[quantity] = self._series(quantity)
        return self.cache[quantity]

    def _series(self, quantity: str) -> list[Series]:
        f = self.frame.filter((pl.col("name") == quantity) |
                              pl.col("name").str.ends_with("." + quantity))
        # quality flags for every series of the quantity in one pass
        f = f.sort(["node", "name", "t"]).with_columns(q=flags(quantity).over(["node", "name"]))
        parts = {(str(node), str(name)): part.select("seq", "t", "v", "q")
                 for (node, name), part in f.group_by(["node", "name"], maintain_order=True)}
        empty = pl.DataFrame(schema={"seq": pl.Int64, "t": pl.Int64, "v": pl.Float64,
                                     "q": pl.Int8})
        for node, name in self.quiet:
            if name == quantity or name.endswith("." + quantity):
                parts[(node, name)] = empty
        return sorted((Series(node, name, name[: -len(quantity) - 1] if name != quantity else "",
                              part) for (node, name), part in parts.items()),
                      key=lambda s: (s.node, s.name))
