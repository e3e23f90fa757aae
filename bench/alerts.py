"""Alerts: how long a message takes, how many messages a week of the demo site makes, what the
sender costs and whether ingest notices it.

    .venv/bin/python -m bench.alerts latency   # signals run -> message at the receiver
    .venv/bin/python -m bench.alerts week      # the demo site for a simulated week
    .venv/bin/python -m bench.alerts ingest    # ingest rate with the sender busy vs without

latency: the alerts thread (in this process) and the sender (its own process, as in the
gateway) with recipients on a local JSON webhook; each recipient follows one signal, whose
alert is switched on in signals.json (what a signals run writes) at a random instant. Timed
from that write to the message's arrival, at the default evaluation and grouping (evaluate
every 10 s, group_wait 30 s) and at the fastest (0.2 s, 0.1 s). From the reading that crosses
the threshold add the wait for the next signals run ([signals] every_s, 300 s by default)
and the alert's own on-delay (2 h for the engine's signals: it is the alert's definition).

week: `eil demo`'s site (soil with weather, water, energy, tools) at 1800x for a simulated
week, its signals every 15 simulated minutes, a gardener following the signals and a steward
following everything; counts the transitions recorded and the messages each received.

ingest: bench.ingest_throughput's gateway phase twice, the second with an alert storm (200
sources toggling) being delivered to 20 recipients the whole time.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import psutil

from core.clock import SystemClock
from gateway.alerts.config import load_alerts_config
from gateway.alerts.evaluator import AlertEvaluator
from gateway.store import DataDir
from gateway.store.alert_rows import WARNING, Condition
from tests.support.receivers import HttpReceiver


def _sender(root: str, config: str) -> None:
    from gateway.alerts.sender import Sender

    cfg = load_alerts_config(Path(config))
    sender = Sender(DataDir(Path(root)), cfg, "bench", SystemClock(), ZoneInfo("UTC"))
    sender.run(threading.Event())


def _signals(on: set[int], n: int, t_ms: int) -> bytes:
    return json.dumps([{"id": f"test.s{i}@site", "signal": f"test.s{i}", "title": f"Signal {i}",
                        "scope": "site", "t": t_ms, "value": 2.0 if i in on else 0.5,
                        "unit": "d", "band": "overshoot" if i in on else "safe",
                        "alert": i in on, "threshold": {"upper": 1.0, "source": "bench"},
                        "inputs": {}} for i in range(n)]).encode()


def latency(evaluate: str, group_wait: str, samples: int) -> list[float]:
    work = Path(tempfile.mkdtemp(prefix="eil-bench-alerts-"))
    data = DataDir(work / "gw")
    data.root.mkdir(parents=True)
    arrived: dict[str, float] = {}
    with HttpReceiver() as hook:
        lines = [f'[timing]\nevaluate_every = "{evaluate}"\ngroup_wait = "{group_wait}"\n']
        for i in range(samples):
            lines.append(f'[recipients.r{i}]\nfollow = ["signal/test.s{i}@site"]\n'
                         f'channels = ["json://127.0.0.1:{hook.port}/r{i}"]\n')
        config = work / "alerts.toml"
        config.write_text("".join(lines))
        cfg = load_alerts_config(config)
        evaluator = AlertEvaluator(data, cfg, SystemClock())
        stop = threading.Event()
        threading.Thread(target=evaluator.run, args=(stop,), daemon=True).start()
        sender = multiprocessing.get_context("spawn").Process(
            target=_sender, args=(str(data.root), str(config)), daemon=True)
        sender.start()
        on: set[int] = set()
        fired: dict[int, float] = {}
        rng = random.Random(26)
        data.save_latest_signals(_signals(on, samples, int(time.time() * 1000)))
        time.sleep(2)  # the sender is up
        for i in range(samples):
            time.sleep(rng.uniform(0.5, 3.0))
            on.add(i)
            data.save_latest_signals(_signals(on, samples, int(time.time() * 1000)))
            fired[i] = time.time()
        deadline = time.time() + 120
        while len(hook.received) < samples and time.time() < deadline:
            time.sleep(0.05)
        with hook.lock:
            for (path, _), t in zip(hook.received, hook.arrived, strict=True):
                arrived.setdefault(path, t)
        stop.set()
        sender.terminate()
        sender.join(10)
    shutil.rmtree(work, ignore_errors=True)
    return [arrived[f"/r{i}"] - fired[i] for i in range(samples) if f"/r{i}" in arrived]


def pct(xs: list[float]) -> str:
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]
    return f"p50 {statistics.median(xs):.2f} s, p95 {p95:.2f} s (n={len(xs)})"


def cmd_latency(args: argparse.Namespace) -> None:
    fast = latency("0.2s", "0.1s", args.samples)
    print(f"fastest (evaluate every 0.2 s, group_wait 0.1 s): {pct(fast)}")
    default = latency("10s", "30s", min(args.samples, 10))
    print(f"default (evaluate every 10 s, group_wait 30 s):  {pct(default)}")
    print("from the crossing reading add the wait for the next signals run (every_s, 300 s by "
          "default: 150 s on average) and the alert's on-delay (2 h for the engine's signals)")


def cmd_week(args: argparse.Namespace) -> None:
    import os
    import subprocess

    from eil.demo import DemoPlan
    from eil.hardware import HW_ENV

    speed = args.speed
    work = Path(tempfile.mkdtemp(prefix="eil-bench-week-"))
    with HttpReceiver() as hook:
        plan = DemoPlan(work, "demo-site", 4, speed, None, 0)
        broker, gw, nodes = plan.write()
        text = gw.read_text().replace("[signals]\nevery_s = 20\n",
                                      f"[signals]\nevery_s = {900 / speed}\n")
        gw.write_text(text)
        (work / "alerts.toml").write_text(
            f'[timing]\nevaluate_every = "{max(0.1, 300 / speed)}s"\n'
            f'[recipients.gardener]\nfollow = ["signal/*", "scope/*"]\n'
            f'channels = ["json://127.0.0.1:{hook.port}/gardener"]\n'
            f'[recipients.steward]\nmin_severity = "info"\n'
            f'channels = ["json://127.0.0.1:{hook.port}/steward"]\n')
        from eil.broker import LocalBroker

        env = {**os.environ, HW_ENV: "fake"}
        procs = []
        with LocalBroker(broker):
            procs.append(subprocess.Popen([sys.executable, "-m", "eil", "gateway", "run",
                                           "--config", str(gw)], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            time.sleep(2)
            for cfg in nodes:
                procs.append(subprocess.Popen([sys.executable, "-m", "eil", "node", "run",
                                               "--config", str(cfg)], env=env,
                                              stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL))
            real = 7 * 86400 / speed
            print(f"running the demo site for a simulated week at {speed:g}x ({real:.0f} s)")
            time.sleep(real)
            data = DataDir(work)
            with data.alerts() as book:
                beat = book.heartbeat("sender")
                events = book.history(limit=1_000_000)
            sender = psutil.Process(beat[0]) if beat else None
            rss = sender.memory_info().rss if sender else 0
            cpu = sum(sender.cpu_times()[:2]) if sender else 0.0
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(30)
        transitions = [e for e in events if e["kind"] in ("fire", "resolve")]
        for r, follows in (("gardener", ("signal/", "scope/")), ("steward", ("",))):
            mine = [e for e in transitions if e["alert"].startswith(follows)]
            bodies = [m["message"] for m in hook.messages(f"/{r}")]
            reminders = sum(all(ln.startswith("- STILL FIRING") for ln in b.splitlines()
                                if ln.startswith("- ")) for b in bodies)
            print(f"{r}: {len(bodies)} messages in the week ({len(bodies) - reminders} with "
                  f"changes, {reminders} reminders of unacknowledged alerts only), against "
                  f"{len(mine)} with one message per transition and no reminders")
        kinds: dict[str, int] = {}
        for e in transitions:
            kinds[e["alert"].split("/")[0]] = kinds.get(e["alert"].split("/")[0], 0) + 1
        print(f"transitions by source: {kinds}")
        print(f"sender: RSS {rss / 1e6:.1f} MB, CPU {cpu:.2f} s over {real:.0f} s")
    shutil.rmtree(work, ignore_errors=True)


def _storm(data: DataDir, stop: threading.Event, routes: list[str]) -> None:
    """200 alert sources toggling as fast as the store takes them."""
    from gateway.alerts import lifecycle

    book = data.alerts()
    on = False
    t = int(time.time() * 1000)
    fast = lifecycle.Timing(flap_count=10**9, chatter_count=10**9)
    while not stop.is_set():
        on = not on
        t += 1000
        conds = {f"node.silent/n{i}": Condition(f"node.silent/n{i}", "node.silent",
                                                 "node.silent", WARNING, f"n{i}", "Node silent",
                                                 f"n{i} silent") for i in range(200)} if on else {}
        book.record(lambda stored, t=t, conds=conds: lifecycle.step(
            stored, conds, t, lambda _a: False, fast), lambda _e: routes)
        time.sleep(0.5)
    book.close()


def cmd_ingest(args: argparse.Namespace) -> None:
    from bench.ingest_throughput import SITE, gateway_phase, make_packs
    from contract.topics import NodeId
    from eil.broker import BrokerSetup, LocalBroker, free_port

    nodes = [f"n{i}" for i in range(args.nodes)]
    t0 = time.time() - 30 * 86400
    packs = {n: make_packs(NodeId(SITE, n), args.packs, args.per_pack, t0) for n in nodes}
    total = args.nodes * args.packs * args.per_pack
    root = Path(tempfile.mkdtemp(prefix="eil-bench-ingest-alerts-"))
    rates = {}
    with HttpReceiver() as hook:
        for phase in ("without", "with"):
            work = root / phase
            setup = BrokerSetup(work / "broker", SITE, free_port())  # a broker each: no
            setup.write(nodes)  # retained acknowledgement of the first run ends the second
            stop = threading.Event()
            recipients = [f"r{i}" for i in range(20)]
            if phase == "with":
                # the gateway's own evaluator waits a day: the storm is this process's
                (work / "alerts.toml").write_text(
                    '[timing]\nevaluate_every = "1d"\ngroup_wait = "0.1s"\n'
                    'group_interval = "0.1s"\nflood_count = 1000000\n' + "".join(
                        f'[recipients.{r}]\nchannels = ["json://127.0.0.1:{hook.port}/{r}"]\n'
                        for r in recipients))
                data = DataDir(work / "gw")
                data.root.mkdir(parents=True)
                threading.Thread(target=_storm, args=(data, stop, recipients),
                                 daemon=True).start()
            with LocalBroker(setup):
                before = len(hook.messages())
                took, cpu, rss, gw = gateway_phase(work, setup, nodes, packs,
                                                   args.packs * args.per_pack)
                sent = len(hook.messages()) - before
                stop.set()
                sender_cpu = sum(sum(c.cpu_times()[:2]) for c in psutil.Process(gw.pid).children())
                gw.terminate()
                gw.wait(30)
            rates[phase] = total / took
            print(f"ingest {phase} a busy sender: {rates[phase]:10.0f} readings/s "
                  f"({took:.2f} s; gateway CPU {cpu:.1f} s, RSS {rss / 1e6:.0f} MB"
                  + (f"; {sent} messages delivered meanwhile, the sender's CPU since its "
                     f"start {sender_cpu:.1f} s)" if phase == "with" else ")"))
    print(f"with the sender busy, ingest keeps {rates['with'] / rates['without'] * 100:.1f} % "
          "of its rate (target: at least 95 %)")
    shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    la = sub.add_parser("latency")
    la.add_argument("--samples", type=int, default=20)
    la.set_defaults(func=cmd_latency)
    wk = sub.add_parser("week")
    wk.add_argument("--speed", type=float, default=1800.0)
    wk.set_defaults(func=cmd_week)
    ing = sub.add_parser("ingest")
    ing.add_argument("--nodes", type=int, default=4)
    ing.add_argument("--packs", type=int, default=1000)
    ing.add_argument("--per-pack", type=int, default=500)
    ing.set_defaults(func=cmd_ingest)
    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
