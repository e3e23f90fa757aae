"""Stored readings as polars frames, by quantity name (whatever a sensor's id prefix)."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from gateway.signals.qc import flags

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
    def from_store(cls, db: Path, since: dict[str, int], max_ms: int = 2**62,
                   nodes: Collection[str] | None = None) -> Readings:
        """The readings of each quantity (by name suffix) from its own start time up to `max_ms`
        (both ms); of every node, or only of `nodes`."""
        if not db.exists():
            return cls(pl.DataFrame(schema=SCHEMA))
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            like = " OR ".join("s.name = ? OR s.name LIKE ?" for _ in since)
            args: list[object] = [a for q in since for a in (q, f"%.{q}")]
            only = ""
            if nodes is not None:
                only = f" AND n.node IN ({','.join('?' * len(nodes))})"
                args += list(nodes)
            series = con.execute(
                f"SELECT s.series_id, n.node, s.name FROM series s JOIN nodes n USING (node_id) "
                f"WHERE s.kind != 'event' AND ({like}){only}", args).fetchall()
            frames, quiet = [], []
            for sid, node, name in series:  # one indexed range scan per series
                start = min(t for q, t in since.items() if name == q or name.endswith("." + q))
                rows = con.execute("SELECT seq, t, v FROM readings WHERE series_id = ? AND "
                                   "t >= ? AND t <= ? AND v IS NOT NULL",
                                   (sid, start, max_ms)).fetchall()
                if rows:
                    f = pl.DataFrame(rows, schema={"seq": pl.Int64, "t": pl.Int64,
                                                   "v": pl.Float64}, orient="row")
                    frames.append(f.with_columns(node=pl.lit(node), name=pl.lit(name)))
                else:
                    quiet.append((node, name))  # still a stream: its signals say it is stale
        finally:
            con.close()
        if not frames:
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
