"""`eil demo`: a whole site on this machine from embedded defaults.

A local Mosquitto with generated credentials and ACL, the gateway (store + web views), and
simulated nodes of every kind (soil, water, energy, tool library), each as its own process, all
sharing one simulated timeline that runs `speed` times faster than real time. Energy nodes also
read a simulated Raspberry Pi Pico through the real firmware bridge (EIL_HW=fake: the Pico's
firmware code runs on a pseudo-terminal); it measures in real time, so its readings are spaced
`measure_interval_s` real seconds apart on the simulated timeline.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from edge.sensors.sim_tool_station import DEMO_KEY, member_uid
from edge.station import pseudonym
from eil.broker import BrokerSetup, LocalBroker, free_port
from eil.hardware import HW_ENV
from eil.site_files import gateway_toml, node_toml
from gateway.library.catalogue import Tool
from gateway.library.library import Library
from gateway.store import DataDir

KINDS = ("soil", "water", "energy", "tools")
SENSORS = {
    "soil": '[[sensors]]\ntype = "sim.soil"\ninterval_s = 300\nseed = {seed}\n'
            '[[sensors]]\ntype = "sim.weather"\ninterval_s = 600\nseed = {seed}\n'
            'latitude = 50.85\nlongitude = 4.35\n',  # the site's, as in its thresholds.toml
    # 5-minute intervals: at --speed 600 a shorter one is older than "3 intervals" (stale)
    # by the time its batch has crossed the broker
    "water": '[[sensors]]\ntype = "sim.water"\ninterval_s = 300\nseed = {seed}\n'
             '[[sensors]]\ntype = "sim.water_quality"\nid = "tank"\ninterval_s = 600\n'
             'seed = {seed}\n',
    "energy": '[[sensors]]\ntype = "sim.energy"\ninterval_s = 300\nseed = {seed}\n'
              # a simulated Pico on a pty (EIL_HW=fake), through the real firmware bridge
              '[[sensors]]\ntype = "pico_bridge"\nid = "mains"\nport = "/dev/ttyAMA0"\n'
              'interval_s = 30\nmeasure_interval_s = 2\nchannels = ["ct", "meter", "temp"]\n',
    "tools": '[[sensors]]\ntype = "sim.tool_station"\ninterval_s = 60\nseed = {seed}\n'
             'taps_per_open_hour = 12.0\n',
}


def node_ids(count: int) -> list[tuple[str, str]]:
    """(node id, kind): soil-1, water-1, energy-1, tools-1, soil-2, ..."""
    return [(f"{KINDS[i % 4]}-{i // 4 + 1}", KINDS[i % 4]) for i in range(count)]


@dataclass
class DemoPlan:
    data: Path
    site: str
    nodes: int
    speed: float
    duration: float | None
    http_port: int
    accounts: list[tuple[str, str, str]] = field(default_factory=list)  # made by write()

    def write(self) -> tuple[BrokerSetup, Path, list[Path]]:
        self.data.mkdir(parents=True, exist_ok=True)
        ids = node_ids(self.nodes)
        broker = BrokerSetup(self.data / "broker", self.site, free_port())
        broker.write([n for n, _ in ids])
        gw = self.data / "gateway.toml"
        now = time.time()
        start = now - self.duration * self.speed if self.duration else now
        # signals every 20 real seconds: the views change as the simulated days go by
        gw.write_text(gateway_toml(broker, self.data, self.http_port, "[signals]\nevery_s = 20\n",
                                   clock=(self.speed, start, now)))
        configs = []
        for i, (node, kind) in enumerate(ids):
            d = self.data / "nodes" / node
            d.mkdir(parents=True, exist_ok=True)
            cfg = d / "node.toml"
            cfg.write_text(node_toml(broker, node, d, SENSORS[kind].format(seed=i + 1),
                                     clock=(self.speed, start, now), publish="ack_timeout_s = 10\n"))
            configs.append(cfg)
        (self.data / "scopes" / "neighbourhood").mkdir(parents=True, exist_ok=True)
        site = DataDir(self.data)  # the demo writes what a steward would
        site.scopes_file.write_text(DEMO_SCOPES)
        self.accounts[:] = demo_accounts(self.data)
        soil_nodes = [node for node, kind in ids if kind == "soil"]
        site.thresholds_file.write_text(demo_site(soil_nodes, start))
        tool_seeds = [i + 1 for i, (_, kind) in enumerate(ids) if kind == "tools"]
        if tool_seeds:
            demo_library(self.data, tool_seeds)
        return broker, gw, configs


def demo_site(soil_nodes: list[str], start: float) -> str:
    """The demo site's own signal parameters: where it is, and what grows in its beds."""
    sown = time.strftime("%Y-%m-%d", time.gmtime(start - 50 * 86400))
    beds = "".join(f'[beds.{n}]\nname = "Bed {i} (tomatoes)"\nsoil = "silt_loam"\n'
                   f'crop = "tomato"\nroot_depth_m = 0.4\narea_m2 = 6.0\nefficiency = 0.9\n'
                   f'sown = {sown}\n' for i, n in enumerate(soil_nodes, 1))
    return ("# written by eil demo: this site's parameters for the impact signals\n"
            "[site]\nlatitude = 50.85\naltitude_m = 60.0\ntimezone = \"Europe/Brussels\"\n"
            + beds)


DEMO_SCOPES = """# written by eil demo: the scopes above this site that its impact panel shows.
# Other sites' published summaries (eil/v1/<site>/_gateway/signals, saved as <site>.json)
# go into the folder; this site's own summary is always included.
[scopes.neighbourhood]
title = "Demo neighbourhood"
level = "neighbourhood"
summaries = ["scopes/neighbourhood/*.json"]
[scopes.neighbourhood.thresholds."water.use"]
upper = 20000
source = "demo allocation: the neighbourhood's share of the catchment's dry-season abstraction"
"""


def demo_accounts(data: Path) -> list[tuple[str, str, str]]:
    """A steward and a volunteer with fresh random passwords, so the signed-in views can be
    tried (there is still no default password). Kept in demo-accounts.txt, mode 600."""

    accounts = DataDir(data).accounts()
    made = []
    try:
        known = {name for name, _, _ in accounts.list()}
        for name, role in (("steward", "steward"), ("volunteer", "volunteer")):
            if name not in known:
                password = secrets.token_urlsafe(12)
                accounts.add(name, role, password)
                made.append((name, role, password))
    finally:
        accounts.close()
    if made:
        path = data / "demo-accounts.txt"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as f:
            f.writelines(f"{role}: {name} / {password}\n" for name, role, password in made)
    return made


def demo_library(data: Path, seeds: list[int]) -> None:
    """A catalogue for the simulated stations' tools and their members enrolled, so the ledger
    (eil library loans --data DIR) has names to show."""
    kinds = [("power-tools", "Cordless drill", 129.0, 24.5), ("garden", "Hedge trimmer", 99.0, 18.0),
             ("access", "Ladder 3 m", 89.0, 41.0), ("kitchen", "Food dehydrator", 59.0, 12.0)]
    library = Library(DataDir(data))
    try:
        library.db.import_catalogue([
            Tool(f"T{i:03d}", f"{kinds[i % 4][1]} {i}", kinds[i % 4][0], kinds[i % 4][2], "EUR",
                 kinds[i % 4][3], "demo values (not a real footprint)") for i in range(1, 41)])
        members = library.db.members()
        for seed in seeds:
            for j in range(25):
                p = pseudonym(DEMO_KEY, member_uid(j, seed))
                if p not in members:
                    library.db.enrol(p, f"{seed}{j:03d}", None, None)
    finally:
        library.close()


def _spawn(args: list[str], log_path: Path, env: dict[str, str] | None = None
           ) -> subprocess.Popen[bytes]:
    log = log_path.open("ab")
    # Own session: Ctrl-C reaches only the demo, which then stops nodes before the gateway and
    # the gateway before the broker, so the nodes can drain their outboxes first.
    # -P: the working directory must not shadow the package (a folder called "eil", say)
    return subprocess.Popen([sys.executable, "-P", "-m", "eil", *args], stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, **(env or {})})


def run_demo(plan: DemoPlan, stop: threading.Event) -> int:
    broker_setup, gw_cfg, node_cfgs = plan.write()
    with LocalBroker(broker_setup):
        gateway = _spawn(["gateway", "run", "--config", str(gw_cfg)], plan.data / "gateway.log")
        nodes = [_spawn(["node", "run", "--config", str(c), "--drain", "5"],
                        c.parent / "agent.log", {HW_ENV: "fake"} if kind == "energy" else None)
                 for c, (_, kind) in zip(node_cfgs, node_ids(plan.nodes), strict=True)]
        print(f"EIL demo: site {plan.site}, {len(nodes)} simulated nodes "
              f"({', '.join(n for n, _ in node_ids(plan.nodes))}), time x{plan.speed:g}")
        print(f"web views: http://127.0.0.1:{plan.http_port}/")
        for name, role, password in plan.accounts:
            print(f"  {role} sign-in: {name} / {password}")
        if not plan.accounts:
            print(f"  sign-ins: see {plan.data / 'demo-accounts.txt'}")
        print(f"data: {plan.data}  (try: eil status --data {plan.data})", flush=True)
        deadline = time.monotonic() + plan.duration if plan.duration else None
        code = 0
        while not stop.is_set():
            if deadline and time.monotonic() >= deadline:
                break
            dead = [p for p in [gateway, *nodes] if p.poll() is not None]
            if dead:
                print(f"a demo process exited unexpectedly (code {dead[0].returncode}); "
                      f"see the logs in {plan.data}", file=sys.stderr)
                code = 1
                break
            stop.wait(0.5)
        for p in nodes:  # nodes first: they drain their outboxes while the gateway still acks
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in nodes:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        gateway.send_signal(signal.SIGTERM)
        try:
            gateway.wait(20)
        except subprocess.TimeoutExpired:
            gateway.kill()
            code = 1
    print(f"demo stopped; data kept in {plan.data}")
    return code


def default_data_dir() -> Path:
    return Path(os.environ.get("EIL_DEMO_DIR", "eil-demo-data")).resolve()
