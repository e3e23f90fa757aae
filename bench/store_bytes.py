"""Bytes per reading in the gateway's store with cold storage, and reading a year back.

1. A 50-node site, 20 quantities a node, one reading a minute each, committed in time order in
   ingest-sized batches, the cold mover running every simulated 10 minutes (hot window 2 h) as the
   gateway runs it: bytes on disk per reading after N readings (default 10 M), with the hot rows
   alone for comparison, and the year of such a site extrapolated from the cold bytes per
   reading.
2. One quantity at one-minute resolution for a year, all cold: the series as 1,000 time-bucket
   means (what a chart of a year asks), timed.

    .venv/bin/python -m bench.store_bytes [--readings 10000000] [--nodes 50] [--quantities 20]
"""

from __future__ import annotations

import argparse
import math
import random
import tempfile
import time
from pathlib import Path

from contract.topics import NodeId
from gateway.store import Store
from gateway.store.cold import PERIOD_MS
from gateway.store.mover import cutoff_ms
from gateway.store.rows import StoredReading

T0 = 1_735_689_600_000  # 2025-01-01 UTC
MINUTE, HOT_S = 60_000, 2 * 3600
QUANTITIES = [("soil.moisture", "%", 2), ("soil.temperature", "Cel", 2), ("air.humidity", "%", 1),
              ("air.pressure", "Pa", 0), ("pv.power", "W", 1), ("battery.voltage", "V", 3)]


def quantity(i: int) -> tuple[str, str, int]:
    name, unit, places = QUANTITIES[i % len(QUANTITIES)]
    return f"s{i}.{name}", unit, places


def value(rng: random.Random, minute: int, q: int, places: int) -> float:
    """A diurnal curve plus sensor noise, at the sensor's resolution."""
    day = math.sin(2 * math.pi * (minute % 1440) / 1440)
    return round(20 + 5 * day + q + rng.gauss(0, 0.2), places)


def site(args: argparse.Namespace, tmp: Path) -> None:
    store = Store(tmp / "site.db")
    rng = random.Random(1)
    nodes = [NodeId("bench", f"node-{i:02d}") for i in range(args.nodes)]
    seqs = dict.fromkeys(nodes, 0)
    per_minute = args.nodes * args.quantities
    minutes = args.readings // per_minute
    batch: list[tuple[NodeId, StoredReading]] = []
    started, cpu0 = time.monotonic(), time.process_time()
    next_move = T0 + 600_000
    for m in range(minutes):
        t = T0 + m * MINUTE
        for node in nodes:
            for q in range(args.quantities):
                name, unit, places = quantity(q)
                seqs[node] += 1
                batch.append((node, StoredReading(seqs[node], t + q * 10, name, "gauge", unit,
                                                  value(rng, m, q, places), None, None)))
        if len(batch) >= 5000:
            handled = {n: [([r.seq for nn, r in batch if nn == n], None)] for n in nodes}
            store.commit(batch, [], handled, {})  # type: ignore[arg-type]
            batch = []
        if t >= next_move:  # the gateway's mover, every 10 minutes of node time
            while store.move_cold(cutoff_ms(t, HOT_S), 50_000):
                pass
            next_move += 600_000
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    n = minutes * per_minute
    s = store.storage()
    _, _, chunk_bytes = store.cold_totals()
    db_bytes = store.bytes_on_disk()
    print(f"site: {args.nodes} nodes x {args.quantities} quantities a minute, {n:,} readings "
          f"({minutes / 1440:.1f} days) in {time.monotonic() - started:.0f} s "
          f"({(time.process_time() - cpu0) / n * 1e6:.1f} µs CPU per reading, commits + moves)")
    print(f"  on disk: {db_bytes / n:.2f} bytes per reading ({db_bytes / 2**20:.1f} MiB): "
          f"{s.cold:,} cold, {s.hot:,} hot")
    print(f"  cold chunk data: {chunk_bytes / max(s.cold, 1):.2f} bytes per cold reading")
    year = args.nodes * args.quantities * 525_600
    hot_bytes = db_bytes - chunk_bytes
    print(f"  a year of this site ({year:,} readings), extrapolated: "
          f"{(chunk_bytes / max(s.cold, 1) * year + hot_bytes) / 2**30:.2f} GiB "
          f"(cold bytes per reading x a year + today's hot rows and tables)")
    parquet(store, tmp)
    store.close()


def parquet(store: Store, tmp: Path) -> None:
    """The alternative the issue names: one node's readings as Parquet (zstd, polars), sorted
    by series and time, plain and with delta-encoded columns, against the chunks' bytes."""
    import polars as pl

    rows = [(r.name, r.seq, r.t_ms, r.value) for r in store.export(node="node-00")]
    df = pl.DataFrame(rows, schema=["name", "seq", "t", "v"], orient="row").sort("name", "t")
    plain, deltas = tmp / "plain.parquet", tmp / "deltas.parquet"
    df.write_parquet(plain, compression="zstd", compression_level=9)
    df.with_columns(pl.col("seq").diff().over("name"), pl.col("t").diff().over("name"),
                    (pl.col("v") * 1000).round().cast(pl.Int64).diff().over("name")
                    ).write_parquet(deltas, compression="zstd", compression_level=9)
    n = len(rows)
    print(f"  the same node as Parquet (zstd 9, polars): {plain.stat().st_size / n:.2f} bytes "
          f"per reading plain, {deltas.stat().st_size / n:.2f} with delta columns")


def year_series(tmp: Path) -> None:
    store = Store(tmp / "year.db")
    node = NodeId("bench", "node-00")
    rng = random.Random(2)
    minutes = 525_600
    rows = ((m + 1, T0 + m * MINUTE, value(rng, m, 0, 2)) for m in range(minutes))
    store.load_series(node, "soil.moisture", "gauge", "%", rows)
    end = T0 + minutes * MINUTE
    while store.move_cold(end + PERIOD_MS, 200_000):
        pass
    since, until = T0, end
    timings = []
    for _ in range(5):
        t0 = time.perf_counter()
        unit, times, means = store.series("node-00", "soil.moisture", since, until, points=1000)
        timings.append(time.perf_counter() - t0)
    print(f"year series: {minutes:,} readings, all cold, as {len(times)} bucket means: "
          f"{min(timings) * 1000:.0f} ms (best of 5; median {sorted(timings)[2] * 1000:.0f} ms)")
    t0 = time.perf_counter()
    _, raw_t, _ = store.series("node-00", "soil.moisture", since, until)
    print(f"  the raw year ({len(raw_t):,} points): {(time.perf_counter() - t0) * 1000:.0f} ms")
    store.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--readings", type=int, default=10_000_000)
    ap.add_argument("--nodes", type=int, default=50)
    ap.add_argument("--quantities", type=int, default=20)
    ap.add_argument("--skip-site", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        year_series(Path(tmp))
        if not args.skip_site:
            site(args, Path(tmp))


if __name__ == "__main__":
    main()
