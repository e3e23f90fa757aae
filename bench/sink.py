"""The InfluxDB sink: ingest with and without it, its own rate, its catch-up, its memory.

Same run, same machine, a real Mosquitto at QoS 1 and a real VictoriaMetrics:
  1. ingest through the gateway without a sink (timed until every reading is acknowledged);
  2. the same with a sink to VictoriaMetrics, then until the sink has written everything:
     the sink's rate in points/s and its process's peak RSS;
  3. a 50-node site's hour of outage (50 nodes x 20 quantities a minute = 60,000 readings
     waiting in the store): time for the sink to catch up.

    .venv/bin/python -m bench.sink [--nodes 4] [--packs 100] [--per-pack 500]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

from bench.ingest_throughput import SITE, gateway_phase, make_packs
from contract.topics import NodeId
from core.clock import SystemClock
from eil.broker import BrokerSetup, LocalBroker, free_port
from gateway.sinks.config import SinkConfig
from gateway.sinks.influx import InfluxOptions
from gateway.sinks.runner import SinkRunner
from gateway.store import DataDir
from gateway.store.rows import StoredReading
from tests.support.victoria import Victoria


def sink_toml(url: str) -> str:
    return (f'[[sinks]]\nname = "vm"\ntype = "influxdb"\nurl = "{url}"\nbucket = "eil"\n'
            'flavor = "victoriametrics"\n[signals]\nevery_s = 0\n')


def sink_process(gw: subprocess.Popen[str]) -> psutil.Process | None:
    found = [p for p in psutil.Process(gw.pid).children() if "spawn_main" in
             " ".join(p.cmdline())]
    return found[0] if found else None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=4)
    ap.add_argument("--packs", type=int, default=100, help="packs per node")
    ap.add_argument("--per-pack", type=int, default=500, help="readings per pack")
    args = ap.parse_args()
    # each phase its own nodes: a gateway's acknowledgements are retained on the broker
    off, on = ([f"{p}{i}" for i in range(args.nodes)] for p in ("off", "on"))
    total, last = args.nodes * args.packs * args.per_pack, args.packs * args.per_pack
    t0 = time.time() - 20 * 86400
    packs = {n: make_packs(NodeId(SITE, n), args.packs, args.per_pack, t0) for n in off + on}
    work = Path(tempfile.mkdtemp(prefix="eil-bench-sink-"))
    setup = BrokerSetup(work / "broker", SITE, free_port())
    setup.write(off + on)
    vm = Victoria(work / "vm").start()
    gw: subprocess.Popen[str] | None = None
    try:
        with LocalBroker(setup):
            (work / "off").mkdir()
            took, cpu, _, gw = gateway_phase(work / "off", setup, off, packs, last)
            gw.terminate()
            gw.wait(20)
            print(f"{total} readings from {args.nodes} nodes")
            print(f"ingest, no sink      : {total / took:9.0f} readings/s, gateway CPU "
                  f"{cpu / total * 1e6:.1f} us/reading")
            (work / "on").mkdir()
            start = time.perf_counter()
            took_on, cpu_on, _, gw = gateway_phase(work / "on", setup, on, packs, last,
                                                   sink_toml(vm.url))
            sink = sink_process(gw)
            print(f"ingest, with the sink: {total / took_on:9.0f} readings/s, gateway CPU "
                  f"{cpu_on / total * 1e6:.1f} us/reading ({took / took_on * 100:.0f} % of the "
                  "rate without)")
            peak = 0
            data = DataDir(work / "on" / "gw")
            while True:
                if sink is not None:
                    peak = max(peak, sink.memory_info().rss)
                with data.readings(readonly=True) as store:
                    status = store.sinks.status(int(time.time() * 1000))
                if status and status[0].behind == 0:
                    break
                time.sleep(0.2)
            sink_s = time.perf_counter() - start
            print(f"sink to VictoriaMetrics: {total / sink_s:9.0f} points/s (all written "
                  f"{sink_s - took_on:.1f} s after the last acknowledgement); sink process RSS "
                  f"peak {peak / 2**20:.0f} MiB")
            gw.terminate()
            gw.wait(20)
        catch_up(work / "outage", vm)
    finally:
        if gw is not None and gw.poll() is None:
            gw.kill()
        vm.stop()
        shutil.rmtree(work, ignore_errors=True)


def catch_up(work: Path, vm: Victoria) -> None:
    """An hour of a 50-node site waiting in the store, then the sink starts."""
    data = DataDir(work)
    store = data.readings()
    t0 = int((time.time() - 3600) * 1000)
    names = [f"q{i}.value" for i in range(20)]
    for n in range(50):
        node = NodeId(SITE, f"site-node-{n}")
        rows = [(node, StoredReading(m * 20 + i + 1, t0 + m * 60_000 + i, names[i], "gauge",
                                     "%", float(m + i), None, None))
                for m in range(60) for i in range(20)]
        store.commit(rows, [], {node: [([r.seq for _, r in rows], None)]}, {})
    cfg = SinkConfig("outage", "influxdb", 5000, False, False, False, 60.0,
                     InfluxOptions(vm.url, "eil", "eil", "", "victoriametrics", None, 10.0, True))
    runner = SinkRunner(cfg, SITE, data, store, SystemClock())
    start = time.perf_counter()
    written = 0
    while not (step := runner.step()).idle:
        written += step.written
    took = time.perf_counter() - start
    runner.close()
    store.close()
    print(f"catch-up after a one-hour outage of a 50-node site: {written} readings in "
          f"{took:.1f} s ({written / took:.0f} points/s)")


if __name__ == "__main__":
    main()
