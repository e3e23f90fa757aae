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
import tempfile
import time
from pathlib import Path

from contract.topics import NodeId
from gateway.signals.engine import evaluate
from gateway.store import DataDir

MINUTE = 60_000


def build(data: DataDir, nodes: int, days: int, now_ms: int) -> int:
    """`nodes` soil nodes with a reading a minute of moisture and temperature for `days`."""
    minutes = days * 1440
    rows = 0
    with data.readings() as store:
        for i in range(nodes):
            node = NodeId("bench", f"n{i:03d}")
            for name, unit, base, seq0 in (("soil.moisture", "%", 25.0, 1),
                                           ("soil.temperature", "Cel", 12.0, 1 + minutes)):
                rows += store.load_series(node, name, "gauge", unit, (
                    (seq0 + k, now_ms - (minutes - k) * MINUTE,
                     base + 3 * math.sin(k / 720 * math.pi) + (k % 7) * 0.01)
                    for k in range(minutes)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--days", type=int, default=30)
    args = ap.parse_args()
    now_ms = int(time.time() * 1000) // MINUTE * MINUTE
    with tempfile.TemporaryDirectory(prefix="eil-bench-signals-") as d:
        data = DataDir(Path(d))
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
