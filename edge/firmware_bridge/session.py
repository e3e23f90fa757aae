"""The Pi's side of a bridge session, without I/O: frames in, frames out (through `send`).

- Handshake: the MCU says HELLO with its boot id and the sequence numbers it holds; the Pi
  answers WELCOME with where to resume: after the last reading the outbox committed for that
  boot (a Pi restart), or the oldest reading the MCU holds (a new MCU boot).
- Readings are accepted strictly in sequence: a batch that starts beyond the next expected
  sequence number is answered with NACK (the MCU goes back); an overlap keeps only the new
  part, so repeated frames and retransmissions never duplicate a reading.
- ACK carries two points: `received` (stop retransmitting) and `durable` (committed to the
  outbox; the MCU may free those slots). `durable` moves only when `committed` is called.
  An ACK that moved `durable` is repeated (5 s, then backing off to 30 s) until a READINGS
  frame shows the MCU freed those slots: otherwise a lost last ACK on an idle link would keep
  committed readings in the MCU ring until its next batch.
- Readings the MCU's full ring overwrote before the Pi took them (a Pi away or restarting
  through a long outage) are never skipped silently, in a session or across a Pi restart: they
  are counted (`lost_at_mcu`) and reported as an `mcu.gap` event with their sequence numbers,
  timed at the first reading kept after them, its text giving how long the gap lasted when the
  reading before it is known.
- Time sync: TIME_REQ/TIME_REPLY round trips; the reply with the shortest round trip among the
  recent ones anchors MCU milliseconds to the Pi's monotonic clock. Readings wait for the first
  reply of their boot (a fraction of a second after the hello).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from edge.firmware_bridge.codec import Frame, FrameError
from edge.handoff import Mark
from eilfw import proto

log = logging.getLogger("eil.bridge")
mcu_log = logging.getLogger("eil.mcu")

SYNC_EVERY_S = 30.0
SYNC_SAMPLES = 8
RESYNC_EVERY_S = 1.0
ACK_REPEAT_S = 5.0  # half the default batch period (10 s): at most one spare ACK per batch
ACK_REPEAT_MAX_S = 30.0


@dataclass(frozen=True, slots=True)
class McuReading:
    boot: int
    seq: int
    channel: int
    tick_ms: int  # MCU milliseconds since boot, modulo 2^32
    value: float


@dataclass(slots=True)
class TimeSync:
    """MCU ticks to Pi monotonic seconds, from the best of the recent round trips."""

    samples: deque[tuple[float, float, int]] = field(
        default_factory=lambda: deque(maxlen=SYNC_SAMPLES))  # (round trip, mono at tick, tick)

    def add(self, sent: float, received: float, tick_ms: int) -> None:
        self.samples.append((received - sent, (sent + received) / 2, tick_ms))

    @property
    def ready(self) -> bool:
        return bool(self.samples)

    def mono(self, tick_ms: int) -> float:
        _, mono_ref, tick_ref = min(self.samples)
        delta = (tick_ms - tick_ref) & 0xFFFFFFFF
        if delta >= 1 << 31:  # before the reference (ticks wrap every 49.7 days)
            delta -= 1 << 32
        return mono_ref + delta / 1000.0


@dataclass(frozen=True, slots=True)
class Gap:
    boot: int
    first: int
    last: int
    after: float | None  # Pi monotonic time of the newest reading kept before it, if known

    def text(self, until: float | None) -> str:
        lost = self.last - self.first + 1
        span = ""
        if until is not None and self.after is not None:
            span = f", measured within the {until - self.after:.0f} s before this event"
        elif until is not None:  # nothing of this boot was taken before it (a Pi restart)
            span = ", measured before this event"
        return f"{lost} readings lost in the MCU buffer (seq {self.first}..{self.last}){span}"


@dataclass
class Stats:
    frames: int = 0
    bad_frames: int = 0
    readings: int = 0
    nacks: int = 0
    lost_at_mcu: int = 0  # overwritten in a full MCU ring before the Pi could take them


class Session:
    def __init__(self, send: Callable[[int, bytes], None], resume: Mark | None = None,
                 config: dict[str, str] | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.send = send
        self.resume = resume  # (boot, next seq) the outbox holds everything before
        self.config = config or {}
        self.monotonic = monotonic
        self.boot: int | None = None
        self.expected = 0  # next reading seq to accept
        self.durable = 0  # everything before this is in the outbox
        self.mcu_oldest = 0  # the oldest seq the MCU said it holds, from its last frame
        self.last_ack = -1e9
        self.ack_repeat = ACK_REPEAT_S
        self.sync = TimeSync()
        self.pending: list[McuReading] = []  # received, waiting for a time sync
        self.placed: list[tuple[McuReading, float]] = []  # with their Pi monotonic time
        # (key, text, ref, Pi monotonic time or None: now) for the adapter
        self.events: list[tuple[str, str, str | None, float | None]] = []
        self.gaps: list[Gap] = []  # overwritten readings, reported once the next is placed
        self.last_placed: tuple[int, float] | None = None  # (boot, mono) of the newest placed
        self.stats = Stats()
        self.last_frame = -1e9  # monotonic time of the last good frame from the MCU
        self.last_resync = -1e9
        self.last_sync = -1e9
        self.time_token = 0
        self.time_sent: dict[int, float] = {}
        self.last_nack: tuple[int, float] = (-1, -1e9)

    # --- frames from the MCU ------------------------------------------------------------------
    def on_frame(self, frame: Frame | FrameError) -> None:
        if isinstance(frame, FrameError):
            self.stats.bad_frames += 1
            log.debug("bad frame (%d bytes): %s", frame.size, frame.reason)
            return
        self.stats.frames += 1
        self.last_frame = self.monotonic()
        try:
            self._dispatch(frame)
        except ValueError as exc:  # a frame with a good CRC but a malformed payload
            self.stats.bad_frames += 1
            log.warning("malformed %s frame from the MCU: %s", frame.name, exc)

    def _dispatch(self, frame: Frame) -> None:
        t = frame.type
        if t == proto.HELLO:
            self._hello(*proto.unpack_hello(frame.payload))
        elif t == proto.READINGS:
            self._readings(*proto.unpack_readings(frame.payload))
        elif t == proto.TIME_REPLY:
            token, tick = proto.unpack_u32s(frame.payload, 2, "time_reply")
            sent = self.time_sent.pop(token, None)
            if sent is not None:
                self.sync.add(sent, self.monotonic(), tick)
        elif t == proto.CONFIG_ACK:
            status, text = proto.unpack_text(frame.payload)
            (log.info if status == 0 else log.error)("MCU configuration: %s", text)
        elif t == proto.LOG:
            level, text = proto.unpack_text(frame.payload)
            mcu_log.log(10 * (1 + min(level, 3)), "%s", text)
        else:
            log.debug("ignoring %s frame from the MCU", frame.name)

    def _hello(self, boot: int, uptime_ms: int, oldest: int, head: int, channels: tuple[int, ...],
               firmware: str) -> None:
        self.mcu_oldest = oldest
        if boot != self.boot:
            self._place()  # what the previous boot sent, and its gaps, before this boot's news
            self._report_gaps(boot)
            if self.resume is not None and self.resume[0] == boot:
                start = max(self.resume[1], oldest)  # we restarted; the MCU did not
                if oldest > self.resume[1]:  # and its ring overwrote some while we were away
                    self._gap(boot, self.resume[1], oldest - 1)
            else:
                start = oldest  # a new MCU boot: take everything it still holds
                if self.boot is not None or self.resume is not None:
                    self.events.append(("mcu.boot", f"{firmware} boot {boot:08x} after "
                                        f"{uptime_ms / 1000:.1f} s up", f"{boot:08x}", None))
            if self.pending:  # the MCU rebooted before its first time sync: cannot be placed
                log.error("dropping %d readings of MCU boot %08x: it restarted before their time "
                          "could be known", len(self.pending), self.boot or 0)
                self.pending = []
            log.info("MCU %s boot %08x, up %.1f s, channels %s, holds seq %d..%d; resuming at "
                     "%d", firmware, boot, uptime_ms / 1000, list(channels), oldest, head, start)
            self.boot, self.expected, self.durable = boot, start, start
            self.ack_repeat = ACK_REPEAT_S
            self.time_sent.clear()
            self.sync = TimeSync()  # (a hello's uptime is no anchor: it may have waited in
            # the port's buffer for as long as the Pi was away)
        self.send(proto.WELCOME, proto.pack_u32s(boot, self.expected, self.durable))
        self._time_request()
        if self.config:
            self.send(proto.CONFIG, proto.pack_config(self.config))

    def _readings(self, boot: int, oldest: int, first: int,
                  records: list[tuple[int, int, float]]) -> None:
        if boot != self.boot:
            self._resync()  # we have no session with this boot (we restarted, or missed hello)
            return
        self.mcu_oldest = oldest
        if oldest > self.expected:
            self._gap(boot, self.expected, oldest - 1)
            self.expected = oldest
        if first > self.expected:
            now = self.monotonic()
            if self.last_nack[0] != self.expected or now - self.last_nack[1] > 0.5:
                self.send(proto.NACK, proto.pack_u32s(boot, self.expected))
                self.last_nack = (self.expected, now)
                self.stats.nacks += 1
            return
        skip = self.expected - first
        for i, (channel, tick, value) in enumerate(records[skip:]):
            self.pending.append(McuReading(boot, first + skip + i, channel, tick, value))
        fresh = max(0, len(records) - skip)
        self.expected += fresh
        self.stats.readings += fresh
        self._ack()

    def _ack(self) -> None:
        if self.boot is not None:
            self.send(proto.ACK, proto.pack_u32s(self.boot, self.expected, self.durable))
            self.last_ack = self.monotonic()

    def _resync(self) -> None:
        now = self.monotonic()
        if now - self.last_resync >= RESYNC_EVERY_S:
            self.send(proto.RESYNC, b"")
            self.last_resync = now

    def _time_request(self) -> None:
        self.time_token = (self.time_token + 1) & 0xFFFFFFFF
        now = self.monotonic()
        self.time_sent = {k: v for k, v in self.time_sent.items() if now - v < 5.0}
        self.time_sent[self.time_token] = now
        self.last_sync = now
        self.send(proto.TIME_REQ, proto.pack_u32s(self.time_token))

    # --- driven by the transport and the agent ------------------------------------------------
    def poll(self) -> None:
        now = self.monotonic()
        if self.boot is None:
            self._resync()  # an MCU that is already running says hello again
            return
        if self.durable > self.mcu_oldest and now - self.last_ack >= self.ack_repeat:
            self._ack()  # the MCU has not shown that it freed what is committed
            self.ack_repeat = min(2 * self.ack_repeat, ACK_REPEAT_MAX_S)
        if now - self.last_sync >= (SYNC_EVERY_S if len(self.sync.samples) >= 3 else 0.2):
            self._time_request()

    def _place(self) -> None:
        """Give pending readings their Pi time, once the MCU's clock is known."""
        if self.pending and self.sync.ready:
            placed = [(r, self.sync.mono(r.tick_ms)) for r in self.pending]
            self.pending = []
            for r, mono in placed:
                if self.gaps:
                    self._report_gaps(r.boot, (r.seq, mono))
                self.last_placed = (r.boot, mono)
            self.placed += placed

    def _gap(self, boot: int, first: int, last: int) -> None:
        """Readings first..last of `boot` were overwritten in the MCU's ring."""
        lost = last - first + 1
        self.stats.lost_at_mcu += lost
        log.warning("MCU ring overflowed: %d readings (seq %d..%d) were overwritten before "
                    "the Pi could take them", lost, first, last)
        before = self.last_placed[1] if self.last_placed and self.last_placed[0] == boot else None
        self.gaps.append(Gap(boot, first, last, before))

    def _report_gaps(self, boot: int, kept: tuple[int, float] | None = None) -> None:
        """Report the gaps of `boot` that end before `kept` (seq, mono: the first reading
        after them, whose time the event takes), or every gap of another boot than `boot`
        (that boot is over: timed now)."""
        left = []
        for g in self.gaps:
            if kept is not None and g.boot == boot and kept[0] > g.last:
                self.events.append(("mcu.gap", g.text(kept[1]), f"{g.boot:08x}", kept[1]))
            elif kept is None and g.boot != boot:
                self.events.append(("mcu.gap", g.text(None), f"{g.boot:08x}", None))
            else:
                left.append(g)
        self.gaps = left

    def take(self) -> tuple[list[tuple[McuReading, float]], Mark | None]:
        """Readings whose time is known, with their Pi monotonic time, and the (boot, next seq)
        mark to commit with them. Readings wait for the first time sync of their boot."""
        self._place()
        placed, self.placed = self.placed, []
        if not placed:
            return [], None
        last = placed[-1][0]
        return placed, (last.boot, last.seq + 1)

    def committed(self, boot: int, next_seq: int) -> None:
        """The outbox holds every reading of `boot` before `next_seq`: let the MCU free them."""
        if boot == self.boot and next_seq > self.durable:
            self.durable = next_seq
            self.ack_repeat = ACK_REPEAT_S
            self._ack()
