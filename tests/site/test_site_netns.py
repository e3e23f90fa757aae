"""A field site across real network hosts: network namespaces of the test's own joined by veth
pairs (addresses from the documentation range 198.51.100.0/24, inside those namespaces only).
The gateway host runs the site's broker and gateway from the files `eil site init` wrote; two
node hosts run agents from the files `add-node` wrote (EIL_HW=fake, a simulated clock running an
hour a second). Readings flow over TLS; the plain listener is not reachable from the nodes; a
link cut for a simulated day and restored loses and duplicates nothing."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eil.broker import find_binary
from eil.cli import main as eil
from gateway.store import DataDir
from tests.support.netns import Star, star
from tests.support.site import outbox_state, wait_until

pytestmark = pytest.mark.slow
GW_A, NODE_A, GW_B, NODE_B = "198.51.100.1", "198.51.100.2", "198.51.100.5", "198.51.100.6"
SPEED = 3600.0  # one simulated hour per real second: a day in 24 s


@pytest.fixture
def hosts() -> Iterator[Star]:
    """The gateway host gw, and node hosts a and b each on a /30 link to it."""
    yield from star("gw", ("a", "b"))


def test_readings_cross_real_links_over_tls_and_survive_a_cut(hosts: Star, tmp_path: Path
                                                                ) -> None:
    site = tmp_path / "site"
    assert eil(["site", "init", str(site), "--site", "field", "--gateway-host", GW_A,
                "--gateway-host", GW_B, "--install-dir", str(site)]) == 0
    for node, kind in (("node-a", "soil"), ("node-b", "energy")):
        assert eil(["site", "add-node", node, "--kind", kind, "--dir", str(site)]) == 0
    conf = tmp_path / "mosquitto.conf"  # as the test's user (see test_site_tls.py)
    conf.write_text((site / "broker" / "mosquitto.conf").read_text()
                    .replace("log_dest syslog", "log_dest stderr") + "\nuser root\n")
    hosts.spawn("gw", "broker", [find_binary("mosquitto"), "-c", str(conf)],
                tmp_path / "broker.log")
    gw_data = tmp_path / "gw"
    gw_cfg = tmp_path / "gateway.toml"
    gw_cfg.write_text((site / "gateway" / "gateway.toml").read_text()
                      .replace('data_dir = "/var/lib/eil/gateway"', f'data_dir = "{gw_data}"')
                      .replace("port = 8080", "port = 0"))
    wait_until(lambda: hosts.reachable("gw", "127.0.0.1", 1883), 10, "the broker up")
    hosts.spawn("gw", "gateway", [sys.executable, "-m", "eil", "gateway", "run", "--config",
                                  str(gw_cfg)], tmp_path / "gateway.log")
    wait_until(lambda: "connected to broker" in (tmp_path / "gateway.log").read_text(), 30,
               "the gateway connected")
    start = time.time()
    node_data = {}
    for host, node in (("a", "node-a"), ("b", "node-b")):
        d = tmp_path / node
        d.mkdir()
        node_data[node] = d
        cfg = d / "node.toml"
        cfg.write_text((site / "nodes" / node / "node.toml").read_text()
                       .replace('data_dir = "/var/lib/eil/node"', f'data_dir = "{d}"')
                       .replace(f'"{site}/node/', f'"{site}/nodes/{node}/')  # as installed
                       .replace("[broker]", f"[clock]\nspeed = {SPEED}\n\n[publish]\n"
                                "ack_timeout_s = 3\ncommit_interval_s = 0.2\n\n[broker]"))
        hosts.spawn(host, node, [sys.executable, "-m", "eil", "node", "run", "--config",
                                 str(cfg), "--drain", "30"], d / "agent.log", {"EIL_HW": "fake"})
    data = DataDir(gw_data)

    def stored(node: str) -> tuple[int, int | None, int | None]:
        if not data.has_readings():
            return (0, None, None)
        with data.readings(readonly=True) as store:
            n = next((x for x in store.node_summary() if x["node"] == node), None)
        return (0, None, None) if n is None else (
            int(n["readings"]), n["first_seq"], n["last_seq"])  # type: ignore[call-overload]

    wait_until(lambda: stored("node-a")[0] > 0 and stored("node-b")[0] > 0, 90,
               "both nodes' readings stored over TLS")
    first_reading_s = time.time() - start
    # the plain listener is the gateway's own: no node host reaches it
    assert hosts.reachable("a", GW_A, 8883) and not hosts.reachable("a", GW_A, 1883)
    assert not hosts.reachable("b", GW_A, 1883) and not hosts.reachable("b", GW_B, 1883)
    # a cut of a simulated day, then the link back; TCP notices neither (no RST on a downed
    # link): the agent's resends and its keepalive carry it through
    hosts.cut("a", True)
    time.sleep(1)  # what crossed the link before the cut is committed
    cut_at = stored("node-a")[0]
    time.sleep(86400 / SPEED - 1)
    assert stored("node-a")[0] == cut_at  # nothing arrived while cut
    backlog = outbox_state(node_data["node-a"])[2]
    assert backlog > 20, backlog  # a day of readings waiting on the node
    hosts.cut("a", False)
    restored = time.time()
    # the kernel ends the dead connection 20 s after its data went unacknowledged
    # (core.mqtt.fail_fast_on_dead_links), the agent reconnects within its 15 s back-off
    wait_until(lambda: outbox_state(node_data["node-a"])[1] >= cut_at + backlog, 90,
               "node-a's backlog acknowledged")
    catch_up_s = time.time() - restored
    for node in ("node-a", "node-b"):
        assert hosts.stop(node) == 0
        last, acked, held = outbox_state(node_data[node])
        assert (acked, held) == (last, 0), (node, last, acked, held)
        assert stored(node) == (last, 1, last), (node, stored(node), last)  # exactly once
    print(f"first stored reading {first_reading_s:.1f} s after the agents started; the day's "
          f"backlog of {backlog} readings acknowledged {catch_up_s:.0f} s after the link came back")
