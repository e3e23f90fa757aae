"""Decision views: server time of the council panel and of a 30-day 1-minute series, and the
weight of each page.

Builds a gateway data directory with N nodes: soil moisture every minute for the last 30 days
(the series a chart asks for), the latest signals of every node, and one year of signal history
computed every 5 minutes (what the panel's trends and sparklines read). Then times requests
over loopback HTTP to the real app (uvicorn + FastAPI + the store) and prints
percentiles. Targets (issue 7): panel with 50 nodes and a year under 1 s; 30-day 1-minute
series under 100 ms.

    .venv/bin/python -m bench.views [--nodes 50] [--days 365]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import http.client
import json
import re
import statistics
import tempfile
import threading
import time
from pathlib import Path

from bench.signals import MINUTE, build
from eil.broker import free_port
from gateway.signals.engine import evaluate
from gateway.signals.result import result_json
from gateway.store import DataDir
from gateway.store.rows import SignalValue
from gateway.web.app import HERE, PAGES, create_app, render

RUN_MS = 5 * MINUTE  # the gateway's default signals cadence


def history(data: DataDir, ids: list[tuple[str, str, str, str]], days: int, now_ms: int) -> int:
    """One year (by default) of stored signal values: every id at every 5-minute run."""
    runs = days * 86_400_000 // RUN_MS
    with data.signal_history() as store:
        return store.load((now_ms - (runs - k) * RUN_MS, SignalValue(
            sid, signal, scope, 0.5 + 0.4 * ((k % 288) / 288), unit, "safe", False, None))
            for sid, signal, scope, unit in ids for k in range(runs))


STEWARD = ("bench", "a bench steward password")
AUTH = {"Authorization": "Basic " + base64.b64encode(":".join(STEWARD).encode()).decode()}


def get(conn: http.client.HTTPConnection, url: str) -> bytes:
    conn.request("GET", url, headers=AUTH)
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise SystemExit(f"{url}: HTTP {r.status} {body[:200]!r}")
    return body


def timed(conn: http.client.HTTPConnection, url: str, n: int) -> tuple[list[float], int]:
    times, size = [], 0
    for _ in range(n):
        t0 = time.perf_counter()
        size = len(get(conn, url))
        times.append((time.perf_counter() - t0) * 1000)
    return times, size


def pct(ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=20, method="inclusive")
    return f"p50 {statistics.median(ms):.1f} ms, p95 {q[18]:.1f} ms, max {max(ms):.1f} ms"


def page_weights() -> None:
    print("page weight (HTML + scripts + styles it loads; raw / gzip):")
    for path, page in sorted(PAGES.items()):
        html = render(page).encode()
        refs = re.findall(r'(?:src|href)="(/static/[^"]+)"', html.decode())
        files = [html] + [(HERE / r.removeprefix("/")).read_bytes() for r in refs]
        raw = sum(len(f) for f in files)
        packed = sum(len(gzip.compress(f)) for f in files)
        print(f"  {path:10} {raw / 1024:6.1f} KiB / {packed / 1024:5.1f} KiB gzip "
              f"({len(files)} files)")


def main() -> None:
    import uvicorn

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=50)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--requests", type=int, default=20)
    args = ap.parse_args()
    now_ms = int(time.time() * 1000) // MINUTE * MINUTE
    with tempfile.TemporaryDirectory(prefix="eil-bench-views-") as d:
        data = DataDir(Path(d))
        t0 = time.monotonic()
        readings = build(data, args.nodes, 30, now_ms)
        results = evaluate(data, now_ms)
        data.save_latest_signals(json.dumps([result_json(r, now_ms) for r in results],
                                            default=str).encode())
        stored = history(data, [(r.id, r.signal, r.scope, r.unit) for r in results], args.days,
                         now_ms)
        print(f"data: {args.nodes} nodes, {readings:,} readings (30 days at 1 min), "
              f"{len(results)} signals with {stored:,} stored values ({args.days} days every "
              f"5 min); built in {time.monotonic() - t0:.0f} s")
        accounts = data.accounts()  # the fleet is for stewards
        accounts.add(STEWARD[0], "steward", STEWARD[1])
        accounts.close()
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(data, "bench"), host="127.0.0.1",
                                               port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)  # one keep-alive
        for name, url in (
                ("council panel (site scope)", "/api/v1/panel?scope=site"),
                ("panel export CSV", "/api/v1/panel/export?scope=site&format=csv"),
                ("30-day 1-minute series (all points)",
                 "/api/v1/series?node=n000&name=soil.moisture&hours=720"),
                ("30-day series, 1000 points", "/api/v1/series?node=n000&name=soil.moisture"
                                               "&hours=720&points=1000"),
                ("gardener's beds", "/api/v1/garden"),
                ("steward's fleet", "/api/v1/fleet"),
                ("nodes", "/api/v1/nodes"),
                ("latest value of every quantity", "/api/v1/latest"),
                ("a signal's explanation (recomputed)",
                 "/api/v1/signals/soil.depletion@n000/explain")):
            get(conn, url)  # warm: first-use imports and the OS page cache
            ms, size = timed(conn, url, args.requests if "explain" not in url else 5)
            print(f"{name:38} {pct(ms)}; {size / 1024:.0f} KiB")
        panel = json.loads(get(conn, "/api/v1/panel?scope=site"))
        print(f"panel: {len(panel['signals'])} entries "
              f"({sum(1 for e in panel['signals'] if e.get('group'))} groups of per-node "
              f"signals), sparkline points: {len(panel['signals'][0]['history'])}")
        server.should_exit = True
        thread.join(10)
    page_weights()


if __name__ == "__main__":
    main()
