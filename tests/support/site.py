"""A whole site for end-to-end tests: a real Mosquitto on a free loopback port with the generated
secure config, a gateway process and node agent processes, each killable with SIGKILL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from edge.outbox import read_state
from eil.broker import BrokerSetup, LocalBroker, free_port
from eil.site_files import gateway_toml, node_toml
from gateway.errors import StoreError
from gateway.store import DataDir, Store

SENSORS = {
    "soil": '[[sensors]]\ntype = "sim.soil"\ninterval_s = {interval}\nseed = {seed}\n',
    "weather": '[[sensors]]\ntype = "sim.weather"\ninterval_s = {interval}\nseed = {seed}\n',
    "water": '[[sensors]]\ntype = "sim.water"\ninterval_s = {interval}\nseed = {seed}\n',
    "energy": '[[sensors]]\ntype = "sim.energy"\ninterval_s = {interval}\nseed = {seed}\n',
    "tools": '[[sensors]]\ntype = "sim.tool_station"\ninterval_s = {interval}\nseed = {seed}\n'
             'taps_per_open_hour = 60.0\n',
}


def listening(port: int, host: str = "127.0.0.1") -> bool:
    try:
        socket.create_connection((host, port), timeout=0.2).close()
        return True
    except OSError:
        return False


def wait_until(pred: Callable[[], bool], timeout: float, what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def outbox_state(node_data: Path) -> tuple[int, int, int]:
    """(last seq assigned, acked, readings held unacknowledged) of the outbox in a node's data
    directory, as on the card."""
    return tuple(read_state(node_data / "outbox"))  # type: ignore[return-value]


class Site:
    def __init__(self, root: Path, nodes: dict[str, str], *, site: str = "test-site",
                 speed: float = 3600.0, interval: float = 60.0, http_port: int = 0,
                 sim_start: float | None = None, ack_timeout_s: float = 5.0,
                 gateway_extra: str = "", devices: tuple[str, ...] = (),
                 homeassistant: bool = False) -> None:
        self.root, self.site, self.nodes = root, site, nodes
        self.setup = BrokerSetup(root / "broker", site, free_port(), workers=2,
                                 homeassistant=homeassistant)
        # "observer": a node identity no process uses, for tests that listen as a node would
        # (a credential has one session: listening with a running node's would close its own)
        self.setup.write([*nodes, "observer", *devices])  # devices: third-party SenML
        self.broker = LocalBroker(self.setup)
        self.http_port = http_port
        self.gateway_cfg = root / "gateway.toml"
        now = time.time()
        self.anchor, self.speed = now, speed
        self.sim_start = sim_start if sim_start is not None else now
        for cfg, user in ((self.gateway_cfg, "_gateway"), (root / "gateway-2.toml", "_gateway-2")):
            # a second ingest worker has its own broker identity
            cfg.write_text(gateway_toml(self.setup, root / "gw", http_port if user == "_gateway"
                                        else 0, "[ingest]\nbatch_wait_s = 0.02\n" + gateway_extra,
                                        clock=(speed, self.sim_start, now), user=user))
        self.node_cfgs: dict[str, Path] = {}
        for i, (node, kind) in enumerate(nodes.items()):
            d = root / "nodes" / node
            d.mkdir(parents=True, exist_ok=True)
            cfg = d / "node.toml"
            cfg.write_text(node_toml(
                self.setup, node, d, SENSORS[kind].format(interval=interval, seed=i + 1),
                clock=(speed, self.sim_start, now),
                publish=f"ack_timeout_s = {ack_timeout_s}\ncommit_interval_s = 0.2\n"
                        "status_interval_s = 2\n"))
            self.node_cfgs[node] = cfg
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def sim_now(self) -> float:
        return self.sim_start + (time.time() - self.anchor) * self.speed

    # --- processes -------------------------------------------------------------------------------
    def _spawn(self, key: str, args: list[str]) -> None:
        log = (self.root / f"{key}.log").open("ab")
        self.procs[key] = subprocess.Popen([sys.executable, "-m", "eil", *args], stdout=log,
                                           stderr=subprocess.STDOUT, env={**os.environ})

    def start_gateway(self, key: str = "gateway", worker: int = 1) -> None:
        cfg = self.gateway_cfg if worker == 1 else self.root / f"gateway-{worker}.toml"
        self._spawn(key, ["gateway", "run", "--config", str(cfg)])

    def start_node(self, node: str) -> None:
        self._spawn(node, ["node", "run", "--config", str(self.node_cfgs[node]), "--drain", "20"])

    def kill(self, key: str) -> None:
        p = self.procs.pop(key)
        p.send_signal(signal.SIGKILL)
        p.wait()

    def stop(self, key: str, timeout: float = 40) -> int:
        p = self.procs.pop(key)
        p.send_signal(signal.SIGTERM)
        return p.wait(timeout)

    def alive(self, key: str) -> bool:
        return key in self.procs and self.procs[key].poll() is None

    def close(self) -> None:
        for key in list(self.procs):
            self.kill(key)
        self.broker.stop()

    def log(self, key: str) -> str:
        path = self.root / f"{key}.log"
        return path.read_text() if path.exists() else ""

    # --- inspection ------------------------------------------------------------------------------
    def db_path(self) -> Path:
        return DataDir(self.root / "gw").readings_path

    def stored(self, node: str) -> tuple[int, int | None, int | None]:
        """(count, min seq, max seq) of the node's readings in the gateway store, hot rows and
        cold chunks alike, counted from the store's export row by row (not from its counters);
        a seq exported twice fails here."""
        if not self.db_path().exists():
            return (0, None, None)
        try:
            with self.open_store() as store:
                seqs = [r.seq for r in store.export(node=node)]
        except StoreError:  # the gateway is creating the file
            return (0, None, None)
        assert len(seqs) == len(set(seqs)), f"{node}: a seq is stored twice"
        return (len(seqs), min(seqs, default=None), max(seqs, default=None))

    def outbox(self, node: str) -> tuple[int, int, int]:
        """(last seq assigned, acked, rows held) of the node's outbox."""
        return outbox_state(self.root / "nodes" / node)

    def open_store(self) -> Store:
        return Store(self.db_path(), readonly=True)

    def assert_exactly_once(self, node: str) -> int:
        """Every reading the node produced is stored exactly once: the store holds the whole
        range 1..last seq with no gap and no seq twice."""
        last, acked, held = self.outbox(node)
        count, lo, hi = self.stored(node)
        assert held == 0 and acked == last, f"{node}: outbox still holds {held} (acked {acked}/{last})"
        assert (count, lo, hi) == (last, 1, last), f"{node}: store has {count} readings " \
            f"seq {lo}..{hi}, node produced 1..{last}"
        return last
