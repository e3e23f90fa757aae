"""Scopes above the site (docs/federation.md): how long a neighbourhood's roll-up of N sites
takes, and the forwarding lag from a site's run to the neighbourhood's store at steady state.

  1. roll-up: a neighbourhood gateway's store holding the summaries of N sites' runs (R runs
     each, all stored: the roll-up must find each site's newest), timed through what a
     scheduled signals run does for the scope (scope_rollups: the store's latest values,
     decoding, rolling up; the panel then reads its result from scopes.json);
  2. lag: a real Mosquitto and neighbourhood gateway, one site's forwarder (its own process)
     reading a site data directory whose signals.json this bench replaces with a new run every
     1.37 forwarder intervals (unrelated to its polling, as a site's runs are); the lag is
     from the replace until the neighbourhood's store holds that run.

    .venv/bin/python -m bench.federation [--sites 20] [--runs 288] [--samples 30] [--every 0.5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from contract import summaries
from contract.topics import NodeId
from eil.broker import BrokerSetup, LocalBroker, free_port
from eil.site_files import gateway_toml
from gateway.signals.publish import scope_rollups
from gateway.store import DataDir
from gateway.store.rows import StoredReading

SCOPE = "north-end"
SIGNALS = ("water.use", "energy.carbon", "soil.irrigation_need", "tools.co2e_avoided",
           "tools.avoided_purchases", "energy.self_sufficiency")


def run_entries(t: int, k: float) -> list[dict[str, Any]]:
    out = []
    for signal in SIGNALS:
        scope = "library" if signal.startswith("tools.") else "site"
        e: dict[str, Any] = {"signal": signal, "scope": scope, "t": t, "value": 100.0 + k,
                             "unit": "l", "band": "safe", "threshold": {
                                 "lower": None, "upper": 500.0, "source": "plan",
                                 "set_by": "steward"}, "inputs": {"water-1/water.volume": "pass"}}
        if signal == "energy.self_sufficiency":
            e.update(value=0.4, unit="/", numbers={"import_Wh": 600.0, "load_Wh": 1000.0})
        out.append(e)
    return out


def rollup_phase(tmp: Path, sites: int, runs: int) -> None:
    data = DataDir(tmp / "nb")
    data.root.mkdir(parents=True)
    names = [f"site-{i:02d}" for i in range(sites)]
    data.scopes_file.write_text(f"[scopes.{SCOPE}]\nsites = {json.dumps(names)}\n")
    t0 = 1_796_000_000_000
    with data.readings() as store:
        for i, name in enumerate(names):
            node, rows, seq = NodeId(SCOPE, name), [], 0
            for r in range(runs):
                for e in run_entries(t0 + r * 300_000, i + r / runs):
                    seq += 1
                    n, text = summaries.encode(e)
                    rows.append((node, StoredReading(seq, e["t"], n, "event", None, None, text,
                                                     None)))
            store.commit(rows, [], {node: [([r.seq for _, r in rows], None)]}, {})
    now = t0 + runs * 300_000
    times = []
    for _ in range(10):
        started = time.perf_counter()
        rolled = scope_rollups(data, SCOPE, [], now)
        times.append(time.perf_counter() - started)
    water = next(e for e in rolled[SCOPE] if e["signal"] == "water.use")
    assert len(water["sites"]) == sites and not water["missing"], water
    print(f"roll-up of {sites} sites ({runs} runs each stored, {sites * runs * len(SIGNALS)} "
          f"summaries): median {statistics.median(times) * 1000:.1f} ms, "
          f"max {max(times) * 1000:.1f} ms (10 runs)")


def lag_phase(tmp: Path, samples: int, every_s: float) -> None:
    setup = BrokerSetup(tmp / "broker", SCOPE, free_port())
    setup.write(["garden-a"])
    site_data = DataDir(tmp / "garden-a")
    site_data.root.mkdir(parents=True)
    site_cfg = tmp / "garden-a.toml"
    site_cfg.write_text(f'site = "garden-a"\ndata_dir = "{site_data.root}"\n[broker]\n'
                        f'password = "unused"\n[upstream]\nscope = "{SCOPE}"\n'
                        f'host = "127.0.0.1"\nport = {setup.port}\n'
                        f'password_file = "{setup.secret_file("garden-a")}"\nevery_s = {every_s}\n')
    nb_cfg = tmp / "nb.toml"
    nb = DataDir(tmp / "nb-gw")
    nb_cfg.write_text(gateway_toml(setup, nb.root, 0, "[signals]\nevery_s = 0\n"
                                   "[ingest]\nbatch_wait_s = 0.02\n"))
    procs = []
    with LocalBroker(setup):
        try:
            for args, log in ((["gateway", "run", "--config", str(nb_cfg)], "nb.log"),
                              (["gateway", "forward", "--config", str(site_cfg)], "fwd.log")):
                procs.append(subprocess.Popen([sys.executable, "-m", "eil", *args],
                                              stdout=(tmp / log).open("wb"),
                                              stderr=subprocess.STDOUT))
            time.sleep(3)
            lags = []
            t = 1_796_000_000_000
            for i in range(samples + 2):
                t += 300_000
                site_data.save_latest_signals(json.dumps(run_entries(t, i)).encode())
                written = time.perf_counter()
                deadline = written + 30
                while time.perf_counter() < deadline:
                    if nb.has_readings():
                        with nb.readings(readonly=True) as store:
                            got = {r["time_ms"] for r in store.latest()
                                   if r["node"] == "garden-a"}
                        if t in got:
                            break
                    time.sleep(0.01)
                else:
                    raise SystemExit(f"run {t} did not arrive in 30 s")
                if i >= 2:  # the first runs wait for connections
                    lags.append(time.perf_counter() - written)
                # runs at an interval unrelated to the forwarder's, as the site's 5 minutes are
                time.sleep(max(0.0, 1.37 * every_s - (time.perf_counter() - written)))
        finally:
            for p in procs:
                p.terminate()
                p.wait(30)
    lags.sort()
    print(f"forwarding lag site -> neighbourhood, forwarder every_s {every_s:g}, {len(lags)} "
          f"runs: median {statistics.median(lags) * 1000:.0f} ms, p90 "
          f"{lags[int(len(lags) * 0.9)] * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=20)
    ap.add_argument("--runs", type=int, default=288, help="runs stored per site (a day at 5 min)")
    ap.add_argument("--samples", type=int, default=30)
    ap.add_argument("--every", type=float, default=0.5, help="the forwarder's every_s")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rollup_phase(Path(tmp), a.sites, a.runs)
        lag_phase(Path(tmp), a.samples, a.every)


if __name__ == "__main__":
    main()
