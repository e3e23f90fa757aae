"""The broker config `eil demo` generates: no anonymous access, per-node credentials and ACL."""

from __future__ import annotations

import pytest

from contract.messages import Ack
from contract.topics import Channel, NodeId
from tests.support.mqtt import TestClient

pytestmark = pytest.mark.slow


@pytest.fixture
def site(make_site):  # type: ignore[no-untyped-def]
    s = make_site({"node-a": "soil", "node-b": "soil"})
    s.broker.start()
    return s


def client(site, user: str | None, password: str | None = None) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(site.setup.port, user, password if password is not None else
                   site.setup.credentials.get(user or "", None))
    return c


def test_anonymous_client_is_refused(site) -> None:  # type: ignore[no-untyped-def]
    c = client(site, None)
    code = c.connect()
    assert code.is_failure and code.getName() in ("Not authorized", "Bad user name or password")
    c.close()


def test_wrong_password_is_refused(site) -> None:  # type: ignore[no-untyped-def]
    c = client(site, "node-a", "not-the-password")
    assert c.connect().is_failure
    c.close()


def test_node_cannot_publish_under_another_nodes_topics(site) -> None:  # type: ignore[no-untyped-def]
    gw = client(site, "_gateway")
    assert not gw.connect().is_failure
    assert all(not rc.is_failure for rc in gw.subscribe("eil/v1/test-site/+/readings"))
    a = client(site, "node-a")
    assert not a.connect().is_failure
    b_topic = NodeId("test-site", "node-b").topic(Channel.READINGS)
    a_topic = NodeId("test-site", "node-a").topic(Channel.READINGS)
    a.publish(b_topic, b"spoofed")
    a.publish(a_topic, b"own")
    got = [gw.get(2), gw.get(1)]
    assert [(m.topic, m.payload) for m in got if m] == [(a_topic, b"own")]
    a.close()
    gw.close()


def test_node_cannot_read_another_nodes_acknowledgements(site) -> None:  # type: ignore[no-untyped-def]
    gw = client(site, "_gateway")
    gw.connect()
    b_ack = NodeId("test-site", "node-b").topic(Channel.ACK)
    gw.publish(b_ack, Ack(42).encode(), retain=True)
    a, b = client(site, "node-a"), client(site, "node-b")
    a.connect()
    b.connect()
    a.subscribe(b_ack)
    b.subscribe(b_ack)
    got_b = b.get(3)
    assert got_b is not None and Ack.decode(got_b.payload) == Ack(42)
    assert a.get(1) is None
    # nor can a node forge acknowledgements for itself
    a_ack = NodeId("test-site", "node-a").topic(Channel.ACK)
    a.subscribe(a_ack)
    a.publish(a_ack, Ack(10**9).encode())
    assert a.get(1) is None
    for c in (a, b, gw):
        c.close()
