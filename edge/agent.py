"""The node agent: sample sensors on schedule, commit readings to the outbox, publish them as
SenML packs at QoS 1, and delete them only when the gateway acknowledges them.

One thread owns the outbox and the schedule; paho's network thread only forwards callbacks into
a queue. Resend rules (replays are harmless: the gateway deduplicates on (node, seq)):
  - on every (re)connect, publishing restarts from the last acknowledged sequence number;
  - when the gateway announces a new boot, likewise (it may have lost what it had not committed);
  - when acknowledgements stall for `ack_timeout_s` while readings are outstanding, likewise,
    doubling the wait after each fruitless resend (up to 5 minutes) so a long gateway outage
    does not turn into a stream of resends.
A gateway going offline does not pause publishing: with several ingest workers sharing the load,
one worker's last will says nothing about the others.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from contract.errors import ContractError
from contract.messages import Ack, Status
from contract.senml import Kind, Reading, encode_pack
from contract.topics import Channel, gateway_status_topic, library_view_topic
from core import __version__
from core.clock import Clock, clock_from
from core.mqtt import connect_properties, fail_fast_on_dead_links, make_client
from edge.calibration import CalibrationBook
from edge.config import NodeConfig
from edge.driver import QuantitySpec, Sensor
from edge.errors import SensorError
from edge.handoff import Handoff
from edge.hardware import Hardware
from edge.outbox import Outbox, Sampled
from edge.registry import attach
from edge.sampling import available, check_samples, unavailable
from edge.scheduler import Schedule
from edge.station import VIEW_FILE, ViewFile

log = logging.getLogger("eil.node")
MAX_BUFFER = 5000  # readings held in memory before a forced outbox commit


# What paho's network thread hands the agent thread (through its inbox)
@dataclass(frozen=True, slots=True)
class Connected:
    pass


@dataclass(frozen=True, slots=True)
class Disconnected:
    reason: str


@dataclass(frozen=True, slots=True)
class AckReceived:
    seq: int


@dataclass(frozen=True, slots=True)
class LibraryView:
    payload: bytes


@dataclass(frozen=True, slots=True)
class GatewayPresence:
    status: Status


Inbound = Connected | Disconnected | AckReceived | LibraryView | GatewayPresence


def split_by_channel(readings: Sequence[Reading]) -> list[tuple[Channel, list[Reading]]]:
    """Consecutive runs of readings that go to the same topic (events vs readings)."""
    runs: list[tuple[Channel, list[Reading]]] = []
    for r in readings:
        ch = Channel.EVENTS if r.kind is Kind.EVENT else Channel.READINGS
        if runs and runs[-1][0] is ch:
            runs[-1][1].append(r)
        else:
            runs.append((ch, [r]))
    return runs


class NodeAgent:
    def __init__(self, cfg: NodeConfig, clock: Clock | None = None,
                 sensors: list[Sensor] | None = None, hardware: Hardware | None = None) -> None:
        self.cfg = cfg
        self.clock = clock or clock_from(cfg.clock.speed, cfg.clock.start, cfg.clock.anchor)
        self.outbox = Outbox(cfg.data_dir / "outbox")
        self.hw = hardware or Hardware(data_dir=cfg.data_dir)  # the shell may pass fakes
        self.hw.outbox_depth = lambda: self.outbox.depth + len(self.buffer)
        self.hw.handoff = Handoff(self.outbox.marks())
        self.calibrations = CalibrationBook(cfg.data_dir / "calibrations.json")
        self.sensors = sensors if sensors is not None else [
            attach(s, self.hw, self.calibrations) for s in cfg.sensors]
        self.specs: list[dict[str, QuantitySpec]] = [
            {q.key: q for q in s.quantities} for s in self.sensors]
        self.schedule = Schedule([s.interval_s for s in cfg.sensors], self.clock.now())
        self.buffer: list[Sampled] = []
        self.failing: set[int] = set()
        self.inbox: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.boot = uuid.uuid4().hex[:12]
        self.connected = False
        self.gateway_boot: str | None = None  # newest gateway boot seen online
        self.stall_timeout = cfg.publish.ack_timeout_s
        self.published_upto = self.outbox.acked
        self.sent_upto = self.outbox.acked  # newest seq this run has published; never rewinds
        self.ack_refused: int | None = None  # newest acknowledgement refused (see _apply_ack)
        self.waiting_since = time.monotonic()
        self.last_flush = time.monotonic()
        self.last_status = 0.0
        # a tool-library station keeps the gateway's view of the library for offline use
        self.library_view = ViewFile(cfg.data_dir / VIEW_FILE) if any(
            s.type == "tool_station" for s in cfg.sensors) else None
        self.client = self._make_client()

    # --- MQTT shell (paho thread) -------------------------------------------------------------
    def _make_client(self):  # type: ignore[no-untyped-def]
        b, node = self.cfg.broker, self.cfg.id
        # the client id is the credential's user name, as the generated broker enforces
        client = make_client(b.username, b.username, b.password,
                             tls=b.tls, ca_file=b.ca_file, cert_file=b.cert_file,
                             key_file=b.key_file)
        client.will_set(node.topic(Channel.STATUS),
                        Status("offline", self.boot, time.time(), __version__).encode(),
                        qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:  # type: ignore[no-untyped-def]
        if reason_code.is_failure:
            log.error("broker refused connection: %s", reason_code)
            return
        fail_fast_on_dead_links(client)
        node = self.cfg.id
        subs = [(node.topic(Channel.ACK), 1), (gateway_status_topic(node.site), 1)]
        if self.library_view is not None:
            subs.append((library_view_topic(node.site), 1))
        client.subscribe(subs)
        self.inbox.put(Connected())
        self.wake.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:  # type: ignore[no-untyped-def]
        if reason_code == "Session taken over":
            log.error("the broker closed our session because another client connected with "
                      "this node's credential (%s): is its SD card cloned to a second device?",
                      self.cfg.broker.username)
        self.inbox.put(Disconnected(str(reason_code)))
        self.wake.set()

    def _on_message(self, client, userdata, msg) -> None:  # type: ignore[no-untyped-def]
        try:
            if msg.topic.endswith("/" + Channel.ACK):
                self.inbox.put(AckReceived(Ack.decode(msg.payload).seq))
            elif msg.topic == library_view_topic(self.cfg.id.site):
                self.inbox.put(LibraryView(msg.payload))
            else:
                self.inbox.put(GatewayPresence(Status.decode(msg.payload)))
        except ContractError as exc:
            log.warning("ignoring malformed message on %s: %s", msg.topic, exc)
        self.wake.set()

    # --- agent thread -------------------------------------------------------------------------
    def _handle_inbox(self) -> None:
        while True:
            try:
                message = self.inbox.get_nowait()
            except queue.Empty:
                return
            match message:
                case Connected():
                    self.connected = True
                    self._rewind("connected")
                    self._publish_status()
                case Disconnected(reason):
                    self.connected = False
                    log.warning("disconnected from broker (%s); buffering in the outbox", reason)
                case AckReceived(seq):
                    self._apply_ack(seq)
                case LibraryView(payload) if self.library_view is not None:
                    self.library_view.save(payload)
                case GatewayPresence(status) if status.state == "online" and \
                        status.boot != self.gateway_boot:
                    if self.gateway_boot is not None:
                        self._rewind(f"gateway started (boot {status.boot})")
                    self.gateway_boot = status.boot

    def _apply_ack(self, seq: int) -> None:
        """Delete what the gateway acknowledges, but only among readings this run has
        published: an acknowledgement beyond them says the gateway's watermark is not about
        this node's stream (a forged or cloned identity moved it), and applying it, even capped,
        would delete readings the gateway never received."""
        if seq > self.sent_upto:
            if seq > self.outbox.last_seq:
                if self.ack_refused != seq:
                    log.error("gateway acknowledges seq %d, beyond our newest reading %d: its "
                              "watermark is not this node's stream (a cloned SD card or a "
                              "forged pack?). Not applied: nothing is deleted until a steward "
                              "repairs it (eil gateway sequence %s --set %d)", seq,
                              self.outbox.last_seq, self.cfg.id.node, self.outbox.acked)
                    self.ack_refused = seq
                    self._publish_status()
            else:  # e.g. the retained ack of readings our previous run sent
                log.debug("acknowledgement %d covers readings this run has not sent (newest "
                          "sent %d): not applied; the gateway acknowledges them again when they "
                          "are resent", seq, self.sent_upto)
            return
        if self.ack_refused is not None:  # repaired: what we sent meanwhile went unacknowledged
            self.ack_refused = None
            self.outbox.ack(seq)
            self._rewind(f"the gateway acknowledges {seq}, within what we sent, again")
            self._publish_status()
            return
        if self.outbox.ack(seq):
            self.waiting_since = time.monotonic()
            self.stall_timeout = self.cfg.publish.ack_timeout_s

    def _rewind(self, why: str) -> None:
        if self.published_upto > self.outbox.acked:
            log.info("resending from seq %d: %s", self.outbox.acked + 1, why)
        self.published_upto = self.outbox.acked
        self.waiting_since = time.monotonic()

    def _sample(self, now: float) -> None:
        for i in self.schedule.pop_due(now):
            cfg, sensor = self.cfg.sensors[i], self.sensors[i]
            try:
                samples = sensor.read(now)
            except SensorError as exc:
                if i not in self.failing:  # report the change once, as an event, never a 0
                    log.warning("%s unavailable: %s", cfg.source, exc)
                    self.buffer.append(unavailable(now, cfg.id or cfg.type, str(exc)))
                self.failing.add(i)
                continue
            if i in self.failing:
                log.info("%s is back", cfg.source)
                self.buffer.append(available(now, cfg.id or cfg.type))
                self.failing.discard(i)
            checked = check_samples(samples, self.specs[i], cfg.name_for, now)
            for why in checked.dropped:
                log.error("%s returned %s; dropped", cfg.source, why)
            self.hw.latest.update(checked.latest)
            self.buffer.extend(checked.readings)

    def flush(self) -> None:
        marks = self.hw.handoff.take_staged()
        if self.buffer or marks:
            self.outbox.append(self.buffer, marks)  # also deletes what was acknowledged meanwhile
            self.buffer = []
            self.hw.handoff.committed(marks)  # now the microcontroller may free them
        else:
            self.outbox.sync_acks()
        self.last_flush = time.monotonic()

    def _publish_pending(self) -> None:
        if not self.connected:
            return
        pub = self.cfg.publish
        while (room := pub.window - (self.published_upto - self.outbox.acked)) > 0:
            batch = self.outbox.pending(self.published_upto, min(pub.max_records_per_pack, room))
            if not batch:
                return
            if self.published_upto <= self.outbox.acked:
                self.waiting_since = time.monotonic()
            for channel, readings in split_by_channel(batch):
                payload = encode_pack(self.cfg.id, readings, floor=self.outbox.acked + 1)
                info = self.client.publish(self.cfg.id.topic(channel), payload, qos=1)
                if info.rc != 0:
                    return  # not connected any more: the reconnect rewinds
            self.published_upto = batch[-1].seq
            self.sent_upto = max(self.sent_upto, self.published_upto)

    def _check_stall(self) -> None:
        outstanding = self.published_upto > self.outbox.acked
        if outstanding and time.monotonic() - self.waiting_since > self.stall_timeout:
            self._rewind(f"no acknowledgement for {self.stall_timeout:.0f} s")
            self.stall_timeout = min(2 * self.stall_timeout, 300.0)

    def _publish_status(self) -> None:
        if not self.connected:
            return
        status = Status("online", self.boot, time.time(), __version__,
                        last_seq=self.outbox.last_seq, outbox=self.outbox.depth,
                        acked=self.outbox.acked, ack_refused=self.ack_refused)
        self.client.publish(self.cfg.id.topic(Channel.STATUS), status.encode(), qos=1, retain=True)
        self.last_status = time.monotonic()

    def step(self) -> None:
        """One pass of the agent loop (public for tests)."""
        self._handle_inbox()
        now = self.clock.now()
        if self.schedule.next_due() <= now:
            self._sample(now)
        since_flush = time.monotonic() - self.last_flush
        if self.buffer and (len(self.buffer) >= MAX_BUFFER or
                            since_flush >= self.cfg.publish.commit_interval_s):
            self.flush()
        elif not self.buffer and since_flush >= 10 * self.cfg.publish.commit_interval_s:
            self.flush()  # nothing sampled for a while: still clean up acknowledged rows
        self._publish_pending()
        self._check_stall()
        if time.monotonic() - self.last_status >= self.cfg.publish.status_interval_s:
            self._publish_status()

    def run(self, drain_s: float = 0.0) -> None:
        b = self.cfg.broker
        log.info("node %s starting: outbox %s, last seq %d, acked %d", self.cfg.id,
                 self.outbox.path, self.outbox.last_seq, self.outbox.acked)
        self.client.connect_async(b.host, b.port, keepalive=30, clean_start=True,
                                  properties=connect_properties())
        self.client.loop_start()
        try:
            while not self.stop.is_set():
                self.step()
                flush_in = self.cfg.publish.commit_interval_s - (time.monotonic() - self.last_flush)
                self.clock.wait_until(self.schedule.next_due(), self.wake,
                                      max(0.0, min(0.5, flush_in if self.buffer else 0.5)))
                self.wake.clear()
        finally:
            self.shutdown(drain_s)

    def drain(self, timeout_s: float) -> None:
        """Keep publishing until the gateway has acknowledged everything, or timeout_s passes."""
        deadline = time.monotonic() + timeout_s
        while self.outbox.depth and time.monotonic() < deadline:
            self._handle_inbox()
            self._publish_pending()
            self._check_stall()
            self.wake.wait(0.05)
            self.wake.clear()

    def shutdown(self, drain_s: float = 0.0) -> None:
        self.flush()
        if drain_s:
            self.drain(drain_s)
        if self.connected:
            info = self.client.publish(
                self.cfg.id.topic(Channel.STATUS),
                Status("offline", self.boot, time.time(), __version__,
                       last_seq=self.outbox.last_seq, outbox=self.outbox.depth,
                       acked=self.outbox.acked, ack_refused=self.ack_refused).encode(),
                qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=2)
            except RuntimeError:
                pass
        self.client.disconnect()
        self.client.loop_stop()
        self.outbox.close()
        for sensor in self.sensors:  # release GPIO lines and serial ports
            close = getattr(sensor, "close", None)
            if close is not None:
                close()
        self.hw.close()
        log.info("node %s stopped at seq %d", self.cfg.id, self.outbox.last_seq)
