"""Choosing the embedded store: SQLite (the EIL Store) vs DuckDB, 1 million readings each.

Both get the same rows in the same commits (10,000 readings per durable commit, as the gateway
batches), both with (node, seq) as primary key and duplicates ignored on insert, and both with a
time index per series for range queries. Prints readings/s, bytes per reading on disk, and the
time of a typical query (one series over one day).

    .venv/bin/python -m bench.store_choice [--readings 1000000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from contract.topics import NodeId
from gateway.store import DataDir
from gateway.store.rows import StoredReading

NODES = [NodeId("bench", f"node-{i}") for i in range(10)]
SERIES = [("soil.moisture", "%"), ("soil.temperature", "Cel"), ("pv.power", "W"),
          ("battery.voltage", "V"), ("water.tank", "l")]
T0_MS = 1_790_000_000_000


def rows(n: int) -> list[tuple[NodeId, StoredReading]]:
    out = []
    per_node = n // len(NODES)
    for node in NODES:
        for seq in range(1, per_node + 1):
            name, unit = SERIES[seq % len(SERIES)]
            out.append((node, StoredReading(seq, T0_MS + seq * 12_000, name, "gauge", unit,
                                            round(20 + (seq % 311) / 13, 2), None, None)))
    out.sort(key=lambda r: (r[1].t_ms, r[0].node))  # arrival order: nodes interleaved in time
    return out


def bench_sqlite(data: list, work: Path, batch: int) -> tuple[float, float, float]:
    store = DataDir(work).readings()
    start = time.perf_counter()
    for i in range(0, len(data), batch):
        chunk = data[i:i + batch]
        store.commit(chunk, [], {}, {})
    elapsed = time.perf_counter() - start
    store.close()  # closing checkpoints the write-ahead log into the database file
    store = DataDir(work).readings(readonly=True)
    size = store.bytes_on_disk()
    q = time.perf_counter()  # one day of one series, as a chart asks for it
    _, times, _ = store.series(NODES[0].node, SERIES[1][0], T0_MS, T0_MS + 86_400_000)
    n = len(times)
    query = time.perf_counter() - q
    assert n > 0
    store.close()
    return len(data) / elapsed, size / len(data), query


def bench_duckdb(data: list, work: Path, batch: int) -> tuple[float, float, float]:
    import duckdb
    import polars as pl

    db = duckdb.connect(str(work / "eil.duckdb"))
    db.execute("CREATE TABLE series (series_id INTEGER PRIMARY KEY, node_id INTEGER, name TEXT,"
               " unit TEXT)")
    db.execute("CREATE TABLE readings (node_id INTEGER, seq BIGINT, series_id INTEGER, t BIGINT,"
               " v DOUBLE, vs TEXT, ref TEXT, PRIMARY KEY (node_id, seq))")
    db.execute("CREATE INDEX readings_series_t ON readings (series_id, t)")
    series: dict[tuple[int, str], int] = {}
    node_ids = {n: i for i, n in enumerate(NODES)}
    start = time.perf_counter()
    for i in range(0, len(data), batch):
        chunk = []
        for node, r in data[i:i + batch]:
            nid = node_ids[node]
            sid = series.setdefault((nid, r.name), len(series) + 1)
            chunk.append((nid, r.seq, sid, r.t_ms, r.value, r.text, r.ref))
        # DuckDB's row-by-row executemany manages ~1k rows/s; its fast path is a bulk scan, so
        # each commit goes through a Parquet file (polars writes it; no pyarrow needed).
        pl.DataFrame(chunk, orient="row", schema=["node_id", "seq", "series_id", "t", "v", "vs",
                                                  "ref"]).write_parquet(work / "chunk.parquet")
        db.execute("BEGIN")
        db.execute("INSERT OR IGNORE INTO readings SELECT * FROM read_parquet(?)",
                   [str(work / "chunk.parquet")])
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.execute("CHECKPOINT")
    q = time.perf_counter()
    n = len(db.execute("SELECT t, v FROM readings WHERE series_id = 1 AND t >= ? AND t < ?",
                       (T0_MS, T0_MS + 86_400_000)).fetchall())
    query = time.perf_counter() - q
    assert n > 0
    db.close()
    size = sum(f.stat().st_size for f in work.iterdir() if f.name.startswith("eil.duckdb"))
    return len(data) / elapsed, size / len(data), query


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--readings", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--skip-duckdb", action="store_true")
    args = ap.parse_args()
    data = rows(args.readings)
    print(f"{len(data)} readings, {len(NODES)} nodes x {len(SERIES)} series, "
          f"{args.batch} per durable commit")
    engines = [("sqlite (chosen)", bench_sqlite)]
    if not args.skip_duckdb:
        engines.append(("duckdb", bench_duckdb))
    for name, fn in engines:
        work = Path(tempfile.mkdtemp(prefix="eil-store-"))
        try:
            rate, per, query = fn(data, work, args.batch)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(f"{name:16} {rate:10.0f} readings/s  {per:6.1f} bytes/reading  "
              f"one-day series query {query * 1000:.1f} ms")
    print(f"(pid {os.getpid()})")


if __name__ == "__main__":
    main()
