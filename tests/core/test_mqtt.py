"""The shared MQTT set-up against a real Mosquitto: a connected client's socket gives up on data
the peer does not acknowledge within 20 s (so a silently cut link ends in a reconnect)."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from core.mqtt import UNACKED_DATA_TIMEOUT_MS, fail_fast_on_dead_links, make_client
from eil.broker import BrokerSetup, LocalBroker, free_port


def test_a_connected_socket_fails_fast_on_unacknowledged_data(tmp_path: Path) -> None:
    setup = BrokerSetup(tmp_path / "broker", "s", free_port())
    setup.write(["n"])
    with LocalBroker(setup):
        client = make_client("n", "n", setup.credentials["n"])
        seen: list[int] = []
        done = threading.Event()

        def on_connect(c, *_):  # type: ignore[no-untyped-def]
            fail_fast_on_dead_links(c)
            sock = c.socket()
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT))
            done.set()

        client.on_connect = on_connect
        client.connect("127.0.0.1", setup.port)
        client.loop_start()
        try:
            assert done.wait(10)
        finally:
            client.disconnect()
            client.loop_stop()
    assert seen == [UNACKED_DATA_TIMEOUT_MS]
