"""Bad payloads through the real broker: each becomes a dead letter with a clear reason, the
good readings around it are stored and acknowledged, and the gateway keeps running."""

from __future__ import annotations

import json
import time

import pytest

from contract.messages import Ack
from contract.senml import Kind, Reading, encode_pack
from contract.topics import Channel, NodeId
from tests.support.mqtt import TestClient
from tests.support.site import wait_until

pytestmark = pytest.mark.slow
A = NodeId("test-site", "node-a")
T0 = time.time() - 3600


def good(seq: int) -> Reading:
    return Reading(seq, T0 + seq, "soil.moisture", Kind.GAUGE, 20.0 + seq, "%")


def gateway_and_node(make_site):  # type: ignore[no-untyped-def]
    """A broker and a gateway process, and a test client holding node-a's credential that
    listens to node-a's acknowledgements."""
    site = make_site({"node-a": "soil"})
    site.broker.start()
    site.start_gateway()
    node = TestClient(site.setup.port, "node-a", site.setup.credentials["node-a"])
    node.connect()
    node.subscribe(A.topic(Channel.ACK))
    wait_until(lambda: "connected to broker" in site.log("gateway"), 20, "gateway up")
    return site, node


def test_each_bad_message_is_dead_lettered_and_ingest_goes_on(make_site) -> None:  # type: ignore[no-untyped-def]
    site, node = gateway_and_node(make_site)
    topic = A.topic(Channel.READINGS)

    def last_ack(expected: int) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            msg = node.get(0.5)
            if msg and Ack.decode(msg.payload).seq == expected:
                return
        raise AssertionError(f"no ack {expected}")

    node.publish(topic, encode_pack(A, [good(1)]))
    last_ack(1)

    mixed = json.loads(encode_pack(A, [good(2), good(3), good(4)]))
    mixed[1]["u"] = "furlong"
    bad = {
        "not json": b"{not json",
        "not senml": json.dumps({"temperature": 21}).encode(),
        "other node": encode_pack(NodeId("test-site", "node-b"), [good(5)]),
        "huge": json.dumps([{"bn": "test-site/node-a/", "n": "x", "vs": "y" * 300_000,
                             "seq": 6, "bt": T0}]).encode(),
    }
    for payload in bad.values():
        node.publish(topic, payload)
    node.publish(topic, json.dumps(mixed).encode())
    last_ack(4)  # 2 and 4 stored, 3 dead-lettered: the node's stream is not blocked by it
    node.publish(topic, encode_pack(A, [good(5), good(6)]))
    last_ack(6)

    assert site.alive("gateway")
    with site.open_store() as store:
        stored = {r.seq: r.value for r in store.export(node="node-a")}
        reasons = [(d["seq"], d["reason"]) for d in store.dead_letters()]
    assert stored == {1: 21.0, 2: 22.0, 4: 24.0, 5: 25.0, 6: 26.0}
    text = "\n".join(r for _, r in reasons)
    assert "payload is not valid JSON" in text
    assert "a SenML pack is a JSON array of records, got dict" in text
    assert "names must start with 'test-site/node-a/'" in text
    assert "larger than the 262144 byte limit" in text
    assert (3, "record 1 (seq 3): unknown unit 'furlong': not a SenML unit this contract "
               "accepts (the accepted symbols are listed in docs/contract.md, 'Units'; e.g. Cel,"
               " %, W, Wh, l, m3, Pa)") in reasons
    assert len(reasons) == 5
    node.close()


def test_a_failing_store_commit_acknowledges_nothing_until_it_succeeds(make_site) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    site, node = gateway_and_node(make_site)
    node.publish(A.topic(Channel.READINGS), encode_pack(A, [good(1)]))
    first = node.get(10)
    assert first is not None and Ack.decode(first.payload) == Ack(1)

    blocker = sqlite3.connect(site.db_path(), isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # the store cannot commit (busy beyond its 5 s timeout)
    try:
        node.publish(A.topic(Channel.READINGS), encode_pack(A, [good(2), good(3)]))
        assert node.get(7) is None  # no acknowledgement for what is not committed
        wait_until(lambda: "retrying in" in site.log("gateway"), 10, "commit retry")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    msg = node.get(15)
    assert msg is not None and Ack.decode(msg.payload) == Ack(3)
    assert site.alive("gateway")
    with site.open_store() as store:
        assert [r.seq for r in store.export(node="node-a")] == [1, 2, 3]
    node.close()
