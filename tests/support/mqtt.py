"""A small synchronous MQTT 5 test client over paho (real broker, real protocol)."""

from __future__ import annotations

import queue
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


class TestClient:
    __test__ = False

    def __init__(self, port: int, username: str | None, password: str | None,
                 client_id: str = "") -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.messages: queue.SimpleQueue[mqtt.MQTTMessage] = queue.SimpleQueue()
        self.connack: object = None
        self.suback: list[object] = []
        self.puback: dict[int, object] = {}
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._published = threading.Condition()
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda c, u, m: self.messages.put(m)
        self.client.on_subscribe = self._on_subscribe
        self.client.on_publish = self._on_publish
        self.port = port

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:  # type: ignore[no-untyped-def]
        self.connack = reason_code
        self._connected.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:  # type: ignore[no-untyped-def]
        self.suback = list(reason_codes)
        self._subscribed.set()

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:  # type: ignore[no-untyped-def]
        with self._published:
            self.puback[mid] = reason_code
            self._published.notify_all()

    def connect(self, timeout: float = 5) -> object:
        self.client.connect("127.0.0.1", self.port, keepalive=10)
        self.client.loop_start()
        if not self._connected.wait(timeout):
            raise AssertionError("no CONNACK")
        return self.connack

    def subscribe(self, topic: str, timeout: float = 5) -> list[object]:
        self._subscribed.clear()
        self.client.subscribe(topic, qos=1)
        if not self._subscribed.wait(timeout):
            raise AssertionError("no SUBACK")
        return self.suback

    def publish(self, topic: str, payload: bytes, retain: bool = False, timeout: float = 5) -> object:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        with self._published:
            if not self._published.wait_for(lambda: info.mid in self.puback, timeout):
                raise AssertionError(f"no PUBACK for {topic}")
            return self.puback[info.mid]

    def get(self, timeout: float) -> mqtt.MQTTMessage | None:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
