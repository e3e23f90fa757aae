"""The ingest service: MQTT in, validated readings committed to the store, acknowledgements out.

paho's network thread only queues raw messages. The ingest thread takes everything queued (up to
`batch_max` readings, waiting at most `batch_wait_s` to gather more), validates it, commits it in
one durable transaction, and only then publishes each touched node's cumulative acknowledgement.
A failing store commit is retried with back-off; nothing is acknowledged until it succeeds.
Data topics use an MQTT 5 shared subscription so several gateways can split the load.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from contract.errors import ContractError
from contract.messages import Ack, Status
from contract.topics import (
    DATA_CHANNELS,
    GATEWAY,
    Channel,
    NodeId,
    device_subscription,
    gateway_status_topic,
    library_view_topic,
    parse,
    parse_device,
    subscription,
)
from core import __version__
from core.mqtt import connect_properties, fail_fast_on_dead_links, make_client
from gateway.config import GatewayConfig
from gateway.errors import StoreError
from gateway.ingest.validate import Outcome, validate_device_message, validate_message
from gateway.library.sync import ViewPublisher
from gateway.store import Handled, Store
from gateway.store.rows import DeadLetter, StoredReading, StoredSeries
from gateway.store.watermark import Anomaly, too_far_ahead

log = logging.getLogger("eil.gateway")
T = TypeVar("T")


class IngestService:
    def __init__(self, cfg: GatewayConfig, store: Store) -> None:
        self.cfg = cfg
        self.store = store
        self.boot = uuid.uuid4().hex[:12]
        self.inbox: queue.SimpleQueue[tuple[str, bytes, float]] = queue.SimpleQueue()
        self.stop = threading.Event()
        self.stats = {"messages": 0, "readings_new": 0, "dead_letters": 0, "commits": 0}
        b = cfg.broker
        # the client id is the credential's user name, as the generated broker enforces: each
        # ingest worker has its own (eil.broker.gateway_users)
        self.client = make_client(b.username, b.username, b.password,
                                  tls=b.tls, ca_file=b.ca_file, cert_file=b.cert_file,
                                  key_file=b.key_file, inflight=1000)
        self.client.will_set(gateway_status_topic(cfg.site),
                             Status("offline", self.boot, time.time(), __version__).encode(),
                             qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        # topic -> handler, called on paho's thread (Home Assistant's birth message)
        self.extra_subscriptions: dict[str, Callable[[bytes], None]] = {}
        self.library = ViewPublisher(cfg.data, lambda view: self.client.publish(
            library_view_topic(cfg.site), view, qos=1, retain=True))

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:  # type: ignore[no-untyped-def]
        if reason_code.is_failure:
            log.error("broker refused connection: %s", reason_code)
            return
        fail_fast_on_dead_links(client)
        site, group = self.cfg.site, self.cfg.ingest.shared_group
        subs = [(f"$share/{group}/{subscription(ch, site)}", 1) for ch in DATA_CHANNELS]
        subs.append((subscription(Channel.STATUS, site), 1))
        subs.append((f"$share/{group}/{device_subscription(site)}", 1))
        subs += [(topic, 1) for topic in self.extra_subscriptions]
        client.subscribe(subs)
        client.publish(gateway_status_topic(site),
                       Status("online", self.boot, time.time(), __version__).encode(),
                       qos=1, retain=True)
        log.info("connected to broker; gateway boot %s", self.boot)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:  # type: ignore[no-untyped-def]
        if reason_code == "Session taken over":
            log.error("the broker closed our session because another client connected with "
                      "this gateway's credential (%s): every ingest worker needs its own",
                      self.cfg.broker.username)
        else:
            log.warning("disconnected from broker: %s", reason_code)

    def _on_message(self, client, userdata, msg) -> None:  # type: ignore[no-untyped-def]
        handler = self.extra_subscriptions.get(msg.topic)
        if handler is not None:
            handler(msg.payload)
            return
        self.inbox.put((msg.topic, msg.payload, time.time()))

    # --- ingest thread ---------------------------------------------------------------------------
    def _gather(self) -> list[tuple[str, bytes, float]]:
        try:
            first = self.inbox.get(timeout=0.2)
        except queue.Empty:
            return []
        msgs = [first]
        deadline = time.monotonic() + self.cfg.ingest.batch_wait_s
        approx = 0
        while approx < self.cfg.ingest.batch_max:
            try:
                m = self.inbox.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            msgs.append(m)
            approx += len(m[1]) // 40 + 1  # ~40 bytes per SenML record
        return msgs

    def process(self, msgs: list[tuple[str, bytes, float]]) -> None:
        readings: list[tuple[NodeId, StoredReading]] = []
        series: list[tuple[NodeId, StoredSeries]] = []
        dead: list[DeadLetter] = []
        handled: Handled = {}
        seen: dict[NodeId, float] = {}
        anomalies: list[tuple[NodeId, Anomaly]] = []
        marks: dict[NodeId, tuple[int, bool]] = {}
        ing = self.cfg.ingest
        for topic, payload, at in msgs:
            if topic.endswith("/" + Channel.STATUS):
                self._status(topic, payload, at)
                continue
            if topic.endswith("/pack"):
                self._device(topic, payload, at)
                continue
            try:
                out = validate_message(topic, payload, at, max_pack_bytes=ing.max_pack_bytes,
                                       max_future_s=ing.max_future_s, columns=True)
            except Exception as exc:  # a fault of ours must not end ingest for every node
                log.exception("validating a message on %s failed", topic)
                out = Outcome(None, dead=[DeadLetter(
                    topic, None, None, f"the gateway failed on this message ({type(exc).__name__}"
                    f": {exc}): kept here, nothing of it acknowledged; please report it", payload)])
            if out.node is not None and out.handled_seqs:
                out = self._admit(topic, payload, out, out.node, marks, anomalies)
            dead.extend(out.dead)
            for d in out.dead:
                log.warning("dead letter from %s: %s", topic, d.reason)
            if out.node is None:
                continue
            seen[out.node] = at
            readings.extend((out.node, r) for r in out.readings)
            series.extend((out.node, s) for s in out.series)
            if out.readings or out.series or any(d.seq is not None for d in out.dead):
                handled.setdefault(out.node, []).append((out.handled_seqs, out.floor))
        new, acked = self._retrying(
            lambda: self.store.commit(readings, dead, handled, seen, anomalies, series))
        self.stats["messages"] += len(msgs)
        self.stats["readings_new"] += new
        self.stats["dead_letters"] += len(dead)
        self.stats["commits"] += 1
        for node, seq in acked.items():
            self.client.publish(node.topic(Channel.ACK), Ack(seq).encode(), qos=1, retain=True)

    def _retrying(self, commit: Callable[[], T]) -> T:
        """A store commit, tried again with back-off until it succeeds (nothing is
        acknowledged meanwhile); a stop while waiting re-raises the last error."""
        delay = 0.5
        while True:
            try:
                return commit()
            except StoreError as exc:
                log.error("%s; retrying in %.1f s (nothing acknowledged meanwhile)", exc, delay)
                if self.stop.wait(delay):
                    raise
                delay = min(delay * 2, 30.0)

    def _admit(self, topic: str, payload: bytes, out: Outcome, node: NodeId,
               marks: dict[NodeId, tuple[int, bool]], anomalies: list[tuple[NodeId, Anomaly]]
               ) -> Outcome:
        """The message's outcome, or a whole-message dead letter (nothing stored, nothing
        acknowledged) when its seqs jump too far beyond the node's watermark (watermark.py).
        `marks` caches each node's (watermark, fresh) for the batch."""
        if node not in marks:
            marks[node] = self.store.watermark_of(node)
        acked, fresh = marks[node]
        limit = self.cfg.ingest.max_seq_ahead
        top = too_far_ahead(out.handled_seqs, out.floor, acked, fresh, limit)
        if top is not None:
            anomalies.append((node, Anomaly("ahead", top, acked)))
            return Outcome(node, dead=[DeadLetter(
                topic, node, None, f"seq {top} is {top - acked} beyond the node's acknowledged "
                f"seq {acked} (limit [ingest] max_seq_ahead = {limit}): not this node's stream; "
                "see docs/contract.md, Sequence rules", payload)])
        if fresh and out.floor is not None:  # the store will believe this floor
            marks[node] = (max(acked, out.floor - 1), False)
        return out

    def _device(self, topic: str, payload: bytes, at: float) -> None:
        """A third-party SenML device's pack: its own commit (no sequence numbers, no
        acknowledgement: such a device knows neither)."""
        try:
            device = parse_device(topic)
        except ContractError as exc:
            self.store.commit([], [DeadLetter(topic, None, None, str(exc), payload)], {}, {})
            return
        if device is None:
            return
        ing = self.cfg.ingest
        out = validate_device_message(topic, device, payload, at,
                                      max_pack_bytes=ing.max_pack_bytes,
                                      max_future_s=ing.max_future_s)
        for d in out.dead:
            log.warning("dead letter from device %s: %s", device, d.reason)
        new, _, conflicts = self._retrying(
            lambda: self.store.commit_device(device, out.readings, out.dead, at))
        if conflicts:
            log.warning("device %s sent %d readings again with other values: recorded as "
                        "conflicts (eil status --json)", device, conflicts)
        self.stats["readings_new"] += new
        self.stats["dead_letters"] += len(out.dead)

    def _status(self, topic: str, payload: bytes, at: float) -> None:
        try:
            node, _ = parse(topic)
            status = Status.decode(payload)
        except ContractError as exc:
            if f"/{GATEWAY}/" not in topic:
                self.store.commit([], [DeadLetter(topic, None, None, str(exc), payload)], {}, {})
            return
        self.store.set_status(node, status.state, payload.decode(), at)

    def run(self) -> None:
        b = self.cfg.broker
        self.client.connect_async(b.host, b.port, keepalive=30, clean_start=True,
                                  properties=connect_properties(65535))
        self.client.loop_start()
        try:
            while not self.stop.is_set():
                msgs = self._gather()
                if msgs:
                    self.process(msgs)
                self.library.tick()
            self.client.unsubscribe([f"$share/{self.cfg.ingest.shared_group}/"
                                     f"{subscription(ch, self.cfg.site)}" for ch in DATA_CHANNELS])
            while msgs := self._gather():  # stopping: commit and acknowledge what already came
                self.process(msgs)
            log.info("ingest stopped: %(messages)d messages, %(readings_new)d new readings, "
                     "%(dead_letters)d dead letters, %(commits)d commits", self.stats)
        finally:
            self.client.publish(gateway_status_topic(self.cfg.site),
                                Status("offline", self.boot, time.time(), __version__).encode(),
                                qos=1, retain=True)
            self.client.disconnect()
            self.client.loop_stop()
