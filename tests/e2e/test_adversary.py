"""A careless integrator or a stolen node credential, by hand with mosquitto_pub/_sub against
the real broker, gateway and node: nothing the real nodes produce is lost, and no one else's
session is disturbed (issue 13)."""

from __future__ import annotations

import base64
import json
import subprocess
import time
import urllib.request

import pytest

from eil.broker import find_binary, free_port
from eil.cli import main as eil
from gateway.errors import StoreError
from gateway.store import DataDir, Store
from tests.conftest import EXAMPLES
from tests.support.site import Site, wait_until

pytestmark = pytest.mark.slow


def forged_pack(site: Site, node: str, first_seq: int) -> bytes:
    """contract/examples/readings-soil.json with its node, and seqs (and bfloor) moved far ahead."""
    pack = json.loads((EXAMPLES / "readings-soil.json").read_text())
    pack[0]["bn"] = f"{site.site}/{node}/"
    pack[0]["bt"] = time.time()
    pack[0]["bfloor"] = first_seq
    for i, rec in enumerate(pack):
        rec["seq"] = first_seq + i
    return json.dumps(pack).encode()


def mosquitto_pub(site: Site, user: str, topic: str, payload: bytes, client_id: str = "") -> None:
    args = [find_binary("mosquitto_pub"), "-h", "127.0.0.1", "-p", str(site.setup.port), "-V",
            "mqttv5", "-q", "1", "-u", user, "-P", site.setup.credentials[user], "-t", topic,
            "-s"]
    if client_id:
        args += ["-i", client_id]
    subprocess.run(args, input=payload, check=True, timeout=10)


def acked(site: Site, node: str) -> int | None:
    if not site.db_path().exists():
        return None
    try:
        store = Store(site.db_path(), readonly=True)
    except StoreError:  # the gateway is creating it
        return None
    with store:
        return next((int(n["acked"]) for n in store.node_summary()  # type: ignore[call-overload]
                     if n["node"] == node), None)


def start_gateway(site: Site) -> None:
    site.start_gateway()
    wait_until(lambda: "connected to broker" in site.log("gateway"), 30, "the gateway connected")


def test_a_forged_floor_far_ahead_neither_moves_the_watermark_nor_loses_readings(
        make_site) -> None:  # type: ignore[no-untyped-def]
    """The issue's reproduction: one pack with the node's own credential, shaped like the
    example but with seqs around 1,000,000, then a gateway outage while the node goes on."""
    site = make_site({"soil-1": "soil"}, speed=3600.0, interval=60.0)
    site.broker.start()
    site.start_gateway()
    site.start_node("soil-1")
    wait_until(lambda: site.stored("soil-1")[0] >= 100, 60, "readings stored")
    topic = f"eil/v1/{site.site}/soil-1/readings"
    mosquitto_pub(site, "soil-1", topic, forged_pack(site, "soil-1", 1_000_000))
    wait_until(lambda: any("1000003 is" in line for line in site.log("gateway").splitlines()),
               20, "the forged pack refused")
    assert acked(site, "soil-1") < 1_000_000
    site.kill("gateway")  # the outage that used to turn the forged ack into lost readings
    time.sleep(4)
    site.start_gateway()
    wait_until(lambda: site.stored("soil-1")[0] >= 300, 60, "more readings stored")
    assert site.stop("soil-1") == 0, site.log("soil-1")
    produced = site.assert_exactly_once("soil-1")
    assert produced >= 300
    with Store(site.db_path(), readonly=True) as store:
        (n,) = store.node_summary()
        assert n["last_seq"] == produced  # nothing of the forged pack was stored
        assert [(a["kind"], a["claimed"]) for a in n["anomalies"]] == [  # type: ignore[attr-defined]
            ("ahead", 1_000_003)]
        assert any("beyond the node's acknowledged seq" in str(d["reason"])
                   for d in store.dead_letters())


def test_a_node_refuses_an_ack_beyond_what_it_sent_and_a_steward_repairs_it(
        make_site, capsys) -> None:  # type: ignore[no-untyped-def]
    """First contact is believed (it also heals a gateway whose store was replaced): a forged
    pack for a node the store does not know yet moves its watermark. The real node must then
    refuse the acknowledgement, keep everything, say so, and recover after the repair."""
    site = make_site({"soil-2": "soil"}, speed=3600.0, interval=60.0)
    site.broker.start()
    start_gateway(site)
    topic = f"eil/v1/{site.site}/soil-2/readings"
    mosquitto_pub(site, "soil-2", topic, forged_pack(site, "soil-2", 1_000_000))
    wait_until(lambda: acked(site, "soil-2") == 1_000_003, 20,
               "the first-contact floor believed")
    site.start_node("soil-2")
    wait_until(lambda: "beyond our newest reading" in site.log("soil-2"), 30,
               "the node refusing the acknowledgement")
    wait_until(lambda: site.stored("soil-2")[0] >= 60, 60, "the node's readings stored")
    assert site.outbox("soil-2")[1] == 0  # nothing deleted on the wrong acknowledgement
    with Store(site.db_path(), readonly=True) as store:
        wait_until(lambda: store.node_summary()[0]["ack_refused"] == 1_000_003, 20,
                   "the refusal in the node's status")
        assert "eil gateway sequence soil-2 --set 0" in str(store.node_summary()[0]["sequence"])
    assert eil(["status", "--data", str(site.root / "gw")]) == 0
    assert "the node refuses acknowledgement 1000003" in capsys.readouterr().out
    assert eil(["gateway", "sequence", "soil-2", "--data", str(site.root / "gw"),
                "--set", "2000000"]) == 2  # raising needs --accept-gap
    assert eil(["gateway", "sequence", "soil-2", "--data", str(site.root / "gw"),
                "--set", "0"]) == 0
    assert "watermark 1000003 -> 0" in capsys.readouterr().out
    wait_until(lambda: site.outbox("soil-2")[1] > 60, 60, "acknowledgements applied again")
    assert site.stop("soil-2") == 0, site.log("soil-2")
    last = site.outbox("soil-2")[0]
    count, lo, hi = site.stored("soil-2")
    # the node's own readings 1..last, exactly once, beside the forged four (kept, as stored)
    assert (count, lo, hi) == (last + 4, 1, 1_000_003)
    assert site.outbox("soil-2")[1:] == (last, 0)


def test_records_of_odd_types_are_dead_letters_and_ingest_goes_on(make_site) -> None:  # type: ignore[no-untyped-def]
    """Fields of every wrong JSON type, by hand with the node's credential: "q": [] once
    raised out of the decoder and ended the gateway's ingest thread (the process stayed up,
    acknowledging nothing for any node). Each is a dead letter naming the field; the node's own
    readings go on, exactly once."""
    site = make_site({"soil-1": "soil"}, speed=3600.0, interval=60.0)
    site.broker.start()
    site.start_gateway()
    site.start_node("soil-1")
    wait_until(lambda: (acked(site, "soil-1") or 0) >= 20, 60, "readings acknowledged")
    base = {"bn": f"{site.site}/soil-1/", "bt": time.time(), "n": "soil.moisture", "u": "%",
            "v": 20.5}
    odd: list[dict[str, object]] = [{"q": []}, {"q": {}}, {"cal": []}, {"u": {}}, {"v": [1]},
                                    {"t": "soon"}, {"n": 7}, {"bver": []}, {"bn": {}},
                                    {"ref": 3, "vs": None}]
    topic = f"eil/v1/{site.site}/soil-1/readings"
    for i, fields in enumerate(odd):  # seqs far from the node's own, within max_seq_ahead
        mosquitto_pub(site, "soil-1", topic, json.dumps([{**base, **fields,
                                                          "seq": 5000 + i}]).encode())
    with Store(site.db_path(), readonly=True) as store:
        wait_until(lambda: sum(1 for d in store.dead_letters() if d["seq"] in
                               range(5000, 5010) or "record 0" in str(d["reason"])) >= len(odd),
                   30, "every odd record a dead letter")
        reasons = " | ".join(str(d["reason"]) for d in store.dead_letters())
    assert "q [] must be one of" in reasons and "q {} must be one of" in reasons
    assert "failed on this message" not in reasons  # none reached the last-resort guard
    before = acked(site, "soil-1") or 0
    wait_until(lambda: (acked(site, "soil-1") or 0) >= before + 20, 60, "ingest goes on")
    assert site.stop("soil-1") == 0, site.log("soil-1")
    assert "thread failed" not in site.log("gateway")
    site.assert_exactly_once("soil-1")


def test_a_cloned_identity_is_a_recorded_conflict_not_a_silent_drop(make_site) -> None:  # type: ignore[no-untyped-def]
    """A second device with the same outbox history sends its own seq N with other content:
    both versions are kept and shown to the steward."""
    port = free_port()
    site = make_site({"soil-1": "soil"}, speed=3600.0, interval=60.0, http_port=port)
    site.broker.start()
    site.start_gateway()
    site.start_node("soil-1")
    # acknowledged, not merely stored: seqs 5..8 must be in the store before the forgery (a pack
    # the node sent before the gateway subscribed is resent later, and a forgery filling that
    # gap first would be the kept version: also recorded, but the other way round)
    wait_until(lambda: (acked(site, "soil-1") or 0) >= 20, 60, "readings 1..20 stored")
    pack = forged_pack(site, "soil-1", 5)  # seqs 5..8 exist, with other values
    mosquitto_pub(site, "soil-1", f"eil/v1/{site.site}/soil-1/readings", pack)
    with Store(site.db_path(), readonly=True) as store:
        wait_until(lambda: len(store.sequences.conflicts()) == 4, 20, "four conflicts recorded")
        stored = {r.seq: r.value for r in store.export(node="soil-1") if r.seq in range(5, 9)}
        for c in store.sequences.conflicts():
            assert c["stored"]["value"] == stored[c["seq"]]  # type: ignore[index]
            assert c["arriving"]["value"] in (27.4, 27.3, 11.85, 11.9)  # type: ignore[index]
    accounts = DataDir(site.root / "gw").accounts()
    accounts.add("sam", "steward", "a long steward pass")
    accounts.close()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/conflicts")
    request.add_header("Authorization", "Basic " + base64.b64encode(
        b"sam:a long steward pass").decode())
    shown = json.loads(urllib.request.urlopen(request, timeout=20).read())
    assert sorted(c["seq"] for c in shown) == [5, 6, 7, 8]
    assert {c["arriving"]["value"] for c in shown} == {27.4, 27.3, 11.85, 11.9}
    assert site.stop("soil-1") == 0
    site.assert_exactly_once("soil-1")


def test_a_credential_cannot_take_over_another_nodes_or_the_gateways_session(
        make_site) -> None:  # type: ignore[no-untyped-def]
    site = make_site({"node-a": "soil", "node-b": "soil"}, speed=3600.0, interval=60.0)
    site.broker.start()
    site.start_gateway()
    site.start_node("node-b")
    wait_until(lambda: site.stored("node-b")[0] >= 20, 60, "node-b's readings stored")
    status = subprocess.run(
        [find_binary("mosquitto_sub"), "-h", "127.0.0.1", "-p", str(site.setup.port), "-u",
         "node-a", "-P", site.setup.credentials["node-a"], "-t",
         f"eil/v1/{site.site}/_gateway/status", "-C", "1", "-W", "5"],
        capture_output=True, check=True, timeout=10).stdout
    boot = json.loads(status)["boot"]  # what every node can read of the gateway
    own = f"eil/v1/{site.site}/node-a/status"
    for _ in range(3):
        for victim in ("node-b", "eil-node-test-site-node-b", "_gateway",
                       f"eil-gateway-test-site-{boot}"):
            mosquitto_pub(site, "node-a", own, b"{}", client_id=victim)
    broker_log = (site.setup.directory / "mosquitto.log").read_text()
    assert "closing old connection" not in broker_log, broker_log[-2000:]
    for key in ("gateway", "node-b"):
        assert "Session taken over" not in site.log(key) and \
            "disconnected from broker" not in site.log(key), site.log(key)[-2000:]
    before = site.stored("node-b")[0]
    wait_until(lambda: site.stored("node-b")[0] > before + 20, 60, "node-b still flowing")
    assert site.stop("node-b") == 0
    site.assert_exactly_once("node-b")
