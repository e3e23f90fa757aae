"""What TLS with client certificates costs a node: CPU per connection (handshake included) against
a plain loopback connection with a password, and the agent's resident memory with TLS on.

A site made by `eil site init` and `add-node` in a temporary directory; its generated Mosquitto
config on free loopback ports. Prints figures; asserts nothing.

    .venv/bin/python -m bench.tls_connect [--connects 200]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from core.mqtt import make_client
from eil.broker import find_binary, free_port
from eil.cli import main as eil


def connect_cpu(n: int, port: int, **client: object) -> float:
    """CPU seconds of this process per connect + CONNACK + disconnect, over `n` connections."""
    cpu0 = time.process_time()
    for i in range(n):
        done = threading.Event()
        c = make_client(f"bench-{i}", **client)  # type: ignore[arg-type]
        c.on_connect = lambda *_, done=done: done.set()
        c.connect("127.0.0.1", port, keepalive=30)
        c.loop_start()
        if not done.wait(10):
            raise SystemExit("no CONNACK")
        c.disconnect()
        c.loop_stop()
    return (time.process_time() - cpu0) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connects", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="eil-bench-tls-") as d:
        site = Path(d) / "site"
        tls, local = free_port(), free_port()
        with open(os.devnull, "w") as quiet:
            sys.stdout = quiet
            eil(["site", "init", str(site), "--site", "bench", "--gateway-host", "127.0.0.1",
                 "--tls-port", str(tls), "--local-port", str(local), "--bind", "127.0.0.1",
                 "--install-dir", str(site)])
            eil(["site", "add-node", "bed-1", "--kind", "soil", "--dir", str(site)])
            sys.stdout = sys.__stdout__
        conf = Path(d) / "mosquitto.conf"
        conf.write_text((site / "broker" / "mosquitto.conf").read_text()
                        .replace("log_dest syslog", "log_dest none") + "\nuser root\n")
        broker = subprocess.Popen([find_binary("mosquitto"), "-c", str(conf)])
        time.sleep(0.5)
        try:
            node = site / "nodes" / "bed-1"
            secret = (site / "gateway" / "gateway.secret").read_text().strip()
            plain = tls_cpu = 0.0
            for _ in range(2):  # alternate, so neither runs on a warmer machine
                plain = connect_cpu(args.connects, local, username="_gateway", password=secret)
                tls_cpu = connect_cpu(args.connects, tls, username="bed-1", password=None,
                                      tls=True,
                                      ca_file=str(node / "ca.crt"),
                                      cert_file=str(node / "node.crt"),
                                      key_file=str(node / "node.key"))
            print(f"plain MQTT, password     : {plain * 1e3:6.2f} ms CPU per connection")
            print(f"TLS, client certificate  : {tls_cpu * 1e3:6.2f} ms CPU per connection "
                  f"(ECDSA P-256; {args.connects} connections, this machine)")
            cfg = Path(d) / "node.toml"
            cfg.write_text((node / "node.toml").read_text()
                           .replace("/var/lib/eil/node", str(Path(d) / "node-data"))
                           .replace(f'"{site}/node/', f'"{node}/'))
            agent = subprocess.Popen([sys.executable, "-m", "eil", "node", "run", "--config",
                                      str(cfg)], env={**os.environ, "EIL_HW": "fake"},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(8)
            rss = psutil.Process(agent.pid).memory_info().rss
            agent.terminate()
            agent.wait(30)
            print(f"node agent RSS with TLS on: {rss / 2**20:.0f} MiB (soil kit on EIL_HW=fake)")
        finally:
            broker.terminate()
            broker.wait(10)


if __name__ == "__main__":
    main()
