"""Ingest throughput through a real Mosquitto at QoS 1 with commit-before-ack.

Same run, same messages, two phases:
  1. broker raw forwarding: a plain subscriber receives every pack (no validation, no store);
  2. the gateway (its own process): validate, deduplicate, commit durably, acknowledge;
     timed from the first publish until every node's cumulative ack covers its last reading.
Prints readings/s for both, the gateway's CPU time per reading and its RSS.

    .venv/bin/python -m bench.ingest_throughput [--nodes 4] [--packs 200] [--per-pack 500]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from contract.messages import Ack
from contract.senml import Kind, Reading, encode_pack
from contract.topics import Channel, NodeId, subscription
from eil.broker import BrokerSetup, LocalBroker, free_port
from eil.site_files import gateway_toml
from gateway.store import DataDir
from tests.support.mqtt import TestClient

SITE = "bench"


def make_packs(node: NodeId, packs: int, per_pack: int, t0: float) -> list[bytes]:
    names = [("soil.moisture", "%"), ("soil.temperature", "Cel"), ("pv.power", "W"),
             ("battery.voltage", "V"), ("water.tank", "l")]
    out, seq = [], 1
    for _ in range(packs):
        rs = []
        for _ in range(per_pack):
            name, unit = names[seq % len(names)]
            rs.append(Reading(seq, t0 + seq * 0.2, name, Kind.GAUGE, 20.0 + (seq % 97) / 7, unit))
            seq += 1
        out.append(encode_pack(NodeId(node.site, node.node), rs, floor=1))
    return out


def publish_all(clients: dict[str, TestClient], packs: dict[str, list[bytes]]) -> None:
    def one(node: str) -> None:
        c, topic = clients[node], NodeId(SITE, node).topic(Channel.READINGS)
        infos = [c.client.publish(topic, p, qos=1) for p in packs[node]]
        for info in infos:
            info.wait_for_publish(60)

    threads = [threading.Thread(target=one, args=(n,)) for n in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def gateway_phase(work: Path, setup: BrokerSetup, nodes: list[str],
                  packs: dict[str, list[bytes]], last: int, extra: str = ""
                  ) -> tuple[float, float, int, subprocess.Popen[str]]:
    """Start the gateway (its own process, `extra` appended to its config), publish every
    pack, wait until each node's cumulative ack covers `last`. Returns (seconds from the first
    publish, the gateway's CPU seconds meanwhile, its RSS, the still running gateway)."""
    clients = {n: TestClient(setup.port, n, setup.credentials[n], f"bench-{n}-{work.name}")
               for n in nodes}
    for c in clients.values():
        c.client.max_inflight_messages_set(1000)
        c.connect()
    cfg = work / "gateway.toml"
    cfg.write_text(gateway_toml(setup, work / "gw", 0, extra))
    gw = subprocess.Popen([sys.executable, "-m", "eil", "gateway", "run", "--config", str(cfg)],
                          stderr=subprocess.PIPE, text=True)
    proc = psutil.Process(gw.pid)
    acks = {n: 0 for n in nodes}
    done = threading.Event()

    def on_ack(node: str):  # type: ignore[no-untyped-def]
        def handler(c, u, m) -> None:  # type: ignore[no-untyped-def]
            acks[node] = Ack.decode(m.payload).seq
            if all(a >= last for a in acks.values()):
                done.set()
        return handler

    for n, c in clients.items():
        c.client.on_message = on_ack(n)
        c.subscribe(NodeId(SITE, n).topic(Channel.ACK))
    assert gw.stderr is not None
    deadline = time.monotonic() + 20
    while "connected to broker" not in (line := gw.stderr.readline()):
        if time.monotonic() > deadline or not line:
            raise SystemExit("gateway did not start")
    threading.Thread(target=gw.stderr.read, daemon=True).start()  # keep its pipe drained
    cpu0 = proc.cpu_times()
    start = time.perf_counter()
    publish_all(clients, packs)
    if not done.wait(300):
        raise SystemExit(f"gateway did not acknowledge everything: {acks}")
    took = time.perf_counter() - start
    cpu1 = proc.cpu_times()
    rss = proc.memory_info().rss
    for c in clients.values():
        c.close()
    return took, (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system), rss, gw


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=4)
    ap.add_argument("--packs", type=int, default=200, help="packs per node")
    ap.add_argument("--per-pack", type=int, default=500, help="readings per pack")
    args = ap.parse_args()
    nodes = [f"n{i}" for i in range(args.nodes)]
    total = args.nodes * args.packs * args.per_pack
    t0 = time.time() - 30 * 86400
    packs = {n: make_packs(NodeId(SITE, n), args.packs, args.per_pack, t0) for n in nodes}
    size = sum(len(p) for ps in packs.values() for p in ps)
    print(f"{total} readings in {args.nodes * args.packs} packs of {args.per_pack} "
          f"({size / total:.1f} wire bytes per reading)")
    work = Path(tempfile.mkdtemp(prefix="eil-bench-"))
    setup = BrokerSetup(work / "broker", SITE, free_port())
    setup.write(nodes)
    try:
        with LocalBroker(setup):
            clients = {n: TestClient(setup.port, n, setup.credentials[n], f"bench-{n}")
                       for n in nodes}
            for c in clients.values():
                c.client.max_inflight_messages_set(1000)
                c.connect()

            # phase 1: raw forwarding
            sub = TestClient(setup.port, "_gateway", setup.credentials["_gateway"], "bench-raw")
            sub.client._receive_maximum = 65535
            sub.connect()
            sub.subscribe(subscription(Channel.READINGS, SITE))
            expected = args.nodes * args.packs
            got = threading.Semaphore(0)
            sub.client.on_message = lambda c, u, m: got.release()
            start = time.perf_counter()
            publish_all(clients, packs)
            for _ in range(expected):
                if not got.acquire(timeout=120):
                    raise SystemExit("raw forwarding: messages missing")
            raw_s = time.perf_counter() - start
            sub.close()
            print(f"broker raw forwarding : {total / raw_s:10.0f} readings/s "
                  f"({expected / raw_s:.0f} msgs/s, {raw_s:.2f} s)")

            # phase 2: the gateway
            for c in clients.values():
                c.close()
            ingest_s, cpu, rss, gw = gateway_phase(work, setup, nodes, packs, last := args.packs
                                                    * args.per_pack)
            gw.terminate()
            gw.wait(20)
            print(f"gateway ingest+commit : {total / ingest_s:10.0f} readings/s "
                  f"({ingest_s:.2f} s, acked through seq {last} on {args.nodes} nodes)")
            print(f"gateway CPU per reading: {cpu / total * 1e6:.1f} us; RSS {rss / 2**20:.0f} MiB")
            with DataDir(work / "gw").readings(readonly=True) as store:
                size = store.bytes_on_disk()
            print(f"store: {size / total:.1f} bytes per reading on disk")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
