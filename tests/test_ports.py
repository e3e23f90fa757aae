"""Ports for the servers the demo and the tests start: free, below the kernel's ephemeral range
(where an outgoing connection could take one before the server binds it), never twice."""

from __future__ import annotations

import socket

from eil.broker import _ephemeral_range, free_port


def test_free_ports_are_distinct_bindable_and_outside_the_ephemeral_range() -> None:
    low, high = _ephemeral_range()
    ports = [free_port() for _ in range(100)]
    assert len(set(ports)) == 100
    assert all(1024 <= p < low for p in ports), (low, high, sorted(ports)[:3])
    for port in ports[:5]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))  # still free a moment later
