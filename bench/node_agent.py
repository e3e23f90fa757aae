"""Node agent footprint: RSS, CPU time per reading and bytes written per reading.

Runs a real Mosquitto, the gateway and one node agent process with N simulated sensors at a
fixed interval in real time, then reads the agent's RSS (peak of samples), CPU time and the bytes
it wrote to storage (/proc/<pid>/io write_bytes, i.e. what would reach the SD card).

    .venv/bin/python -m bench.node_agent [--sensors 10] [--interval 1] [--duration 60]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from edge.outbox import read_state
from eil.broker import BrokerSetup, LocalBroker, free_port
from eil.site_files import gateway_toml, node_toml

KINDS = ["sim.soil", "sim.water", "sim.energy"]


def io_written(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensors", type=int, default=10)
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--duration", type=float, default=60.0)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="eil-node-bench-"))
    setup = BrokerSetup(work / "broker", "bench", free_port())
    setup.write(["node-1"])
    try:
        with LocalBroker(setup):
            gw_cfg = work / "gateway.toml"
            gw_cfg.write_text(gateway_toml(setup, work / "gw", 0))
            sensors = "".join(
                f'[[sensors]]\ntype = "{KINDS[i % 3]}"\nid = "s{i}"\ninterval_s = '
                f'{args.interval}\nseed = {i}\n' for i in range(args.sensors))
            node_cfg = work / "node.toml"
            node_cfg.write_text(node_toml(setup, "node-1", work / "node", sensors))
            gw = subprocess.Popen([sys.executable, "-m", "eil", "gateway", "run", "--config",
                                   str(gw_cfg)], stderr=subprocess.DEVNULL)
            node = subprocess.Popen([sys.executable, "-m", "eil", "node", "run", "--config",
                                     str(node_cfg)], stderr=subprocess.DEVNULL)
            proc = psutil.Process(node.pid)
            time.sleep(3)  # start-up (imports) is not steady state

            def last_seq() -> int:
                return read_state(work / "node" / "outbox").last_seq

            seq0, cpu0, io0 = last_seq(), proc.cpu_times(), io_written(node.pid)
            peak = 0
            end = time.monotonic() + args.duration
            while time.monotonic() < end:
                peak = max(peak, proc.memory_info().rss)
                time.sleep(1)
            seq1, cpu1, io1 = last_seq(), proc.cpu_times(), io_written(node.pid)
            uss = proc.memory_full_info().uss
            node.terminate()
            node.wait(20)
            gw.terminate()
            gw.wait(20)
        n = seq1 - seq0
        cpu = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
        print(f"{args.sensors} simulated sensors every {args.interval:g} s for "
              f"{args.duration:g} s: {n} readings ({n / args.duration:.1f}/s)")
        print(f"node agent RSS peak {peak / 2**20:.1f} MiB (USS {uss / 2**20:.1f} MiB)")
        print(f"node agent CPU {cpu * 1000 / max(n, 1):.3f} ms per reading "
              f"({cpu / args.duration * 100:.1f} % of one core)")
        if io0 is not None and io1 is not None:
            print(f"outbox + agent bytes written to storage: {(io1 - io0) / max(n, 1):.0f} "
                  f"bytes per reading")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
