"""EIL engine: time to compute every signal for N nodes with D days of 1-minute data.

Builds a gateway store with soil moisture and soil temperature every minute for every node
(bulk-inserted, not through MQTT), then times `gateway.signals.engine.evaluate` and prints the
figures. Target (issue 6): 100 nodes, 30 days, under 2 s.

    .venv/bin/python -m bench.signals [--nodes 100] [--days 30]
"""

from __future__ import annotations

import argparse
import math
import resource
import sqlite3
import tempfile
import time
from pathlib import Path

from contract.topics import NodeId
from gateway.signals.engine import evaluate
from gateway.store import Store
from gateway.store.rows import StoredReading

MINUTE = 60_000


def build(data: Path, nodes: int, days: int, now_ms: int) -> int:
    with Store(data / "eil.db") as store:  # the schema, and one reading per series for its id
        store.commit([(NodeId("bench", f"n{i:03d}"), StoredReading(1, now_ms - days * 86_400_000,
                                                                   name, "gauge", unit, 20.0,
                                                                   None, None))
                      for i in range(nodes) for name, unit in (("soil.moisture", "%"),
                                                                ("soil.temperature", "Cel"))],
                     [], {}, {})
    con = sqlite3.connect(data / "eil.db")
    con.execute("PRAGMA synchronous=OFF")
    series = con.execute("SELECT series_id, node_id, name FROM series").fetchall()
    minutes = days * 1440
    rows = 0
    for sid, nid, name in series:
        base = 25.0 if name == "soil.moisture" else 12.0
        seq0 = 2 if name == "soil.moisture" else 2 + minutes
        batch = [(nid, seq0 + k, sid, now_ms - (minutes - k) * MINUTE,
                  base + 3 * math.sin(k / 720 * math.pi) + (k % 7) * 0.01)
                 for k in range(minutes)]
        con.executemany("INSERT INTO readings (node_id, seq, series_id, t, v) VALUES "
                        "(?,?,?,?,?)", batch)
        rows += len(batch)
    con.execute("UPDATE nodes SET readings = (SELECT count(*) FROM readings "
                "WHERE readings.node_id = nodes.node_id)")  # what Store.commit keeps
    con.commit()
    con.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--days", type=int, default=30)
    args = ap.parse_args()
    now_ms = int(time.time() * 1000) // MINUTE * MINUTE
    with tempfile.TemporaryDirectory(prefix="eil-bench-signals-") as d:
        data = Path(d)
        t0 = time.monotonic()
        rows = build(data, args.nodes, args.days, now_ms)
        print(f"store: {args.nodes} nodes x {args.days} days x 2 quantities at 1 min = "
              f"{rows:,} readings ({time.monotonic() - t0:.0f} s to build)")
        for run in (1, 2):
            t0, cpu0 = time.monotonic(), time.process_time()
            results = evaluate(data, now_ms)
            wall, cpu = time.monotonic() - t0, time.process_time() - cpu0
            print(f"run {run}: {len(results)} signal values in {wall:.2f} s wall, {cpu:.2f} s CPU")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
