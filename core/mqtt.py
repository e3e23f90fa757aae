"""paho-mqtt client set-up shared by the node agent and the gateway (MQTT 5, auth, TLS)."""

from __future__ import annotations

import socket
import ssl

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


def make_client(client_id: str, username: str, password: str | None, *, tls: bool = False,
                ca_file: str | None = None, cert_file: str | None = None,
                key_file: str | None = None, inflight: int = 100) -> mqtt.Client:
    """A paho MQTT 5 client. With `cert_file` and `key_file` it authenticates with its client
    certificate (a field node; the broker takes the certificate's name as its user name)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv5)
    client.username_pw_set(username, password)
    if tls:
        client.tls_set(ca_certs=ca_file, certfile=cert_file, keyfile=key_file,
                       tls_version=ssl.PROTOCOL_TLS_CLIENT)
    client.reconnect_delay_set(min_delay=1, max_delay=15)
    client.max_inflight_messages_set(inflight)
    client.max_queued_messages_set(0)
    return client


def connect_properties(receive_maximum: int = 1000) -> Properties:
    props = Properties(PacketTypes.CONNECT)
    props.ReceiveMaximum = receive_maximum
    return props


UNACKED_DATA_TIMEOUT_MS = 20_000  # a connection whose sent data goes unacknowledged this long


def fail_fast_on_dead_links(client: mqtt.Client) -> None:
    """Call on connect: the kernel closes the connection once sent data has gone unacknowledged
    by the peer for 20 s (TCP_USER_TIMEOUT, Linux), so a silently cut link ends in a reconnect
    within seconds of its return instead of TCP's retransmission backoff (minutes) and the MQTT
    keepalive. Where the option does not exist, the keepalive alone applies."""
    sock = client.socket()
    option = getattr(socket, "TCP_USER_TIMEOUT", None)
    if not isinstance(sock, socket.socket) or option is None:  # TLS sockets are sockets too
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, option, UNACKED_DATA_TIMEOUT_MS)
    except (OSError, AttributeError):
        pass  # a transport without the option (websockets, another OS): keepalive only
