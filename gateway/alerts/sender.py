"""The notification sender: a process of its own beside the sinks (gateway/processes.py), never
in ingest's path nor the signals run. About once a second, for each recipient of alerts.toml:

1. if their previous message is delivered, plan the next (lifecycle.plan) from their queue and
   claim it in one transaction (its words, identity and acknowledgement tokens);
2. send their oldest undelivered message through their first working channel (Apprise, with a
   timeout), marked in flight first; on success mark it delivered; on failure keep it first in
   line and try again with back-off (5 s doubling to `retry_max`), for days if need be; a
   channel failing longer than the recipient's `fallback_after`, or refusing, gives way to the
   next one;
3. beat the heartbeat the fleet view and the `sender.silent` alert watch.

A kill -9 at any instant loses nothing (everything is in alerts.db); a message whose send began
and whose outcome was never recorded is sent once more, with the same identity."""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from core.clock import Clock, clock_ms
from gateway.alerts import channels, lifecycle
from gateway.alerts.compose import Composer, hashes
from gateway.alerts.config import AlertsConfig, Recipient, effective
from gateway.alerts.evaluator import SENDER
from gateway.errors import GatewayError
from gateway.store.alert_book import AlertBook, ChannelState, OpenMessage
from gateway.store.data_dir import DataDir

log = logging.getLogger("eil.alerts.sender")
TOKEN_TTL_MS = 7 * 86_400_000  # an acknowledgement link works for a week (site time)
FIRST_RETRY_S = 5.0

Send = Callable[[str, str, str, float], channels.Outcome]


LOOP_S = 1.0  # how often the queue is looked at (real seconds)


def pick_channel(r: Recipient, msg: OpenMessage, states: list[ChannelState], now_s: float
                 ) -> int:
    """The channel for this attempt. A message stays on its channel until that channel has
    been failing for `fallback_after` or refuses, then takes the next in the recipient's list.
    A new message starts at the first channel not given up on; a channel given up on is tried
    again once its last try is `fallback_after` old, so a channel that came back is used
    again."""
    by = {s.channel: s for s in states}

    def failing_long(i: int) -> bool:
        s = by.get(i)
        return s is not None and (s.refused or (
            s.failing_since is not None and now_s - s.failing_since >= r.fallback_after_s))

    def rested(i: int) -> bool:
        s = by.get(i)
        return s is None or s.last_try is None or now_s - s.last_try >= r.fallback_after_s

    n = len(r.channels)
    if msg.attempts and msg.channel is not None:
        cur = msg.channel % n
        return cur if not failing_long(cur) else (cur + 1) % n
    for i in range(n):
        if not failing_long(i) or rested(i):
            return i
    return msg.attempts % n


class Sender:
    def __init__(self, data: DataDir, cfg: AlertsConfig, site: str, clock: Clock,
                 zone: ZoneInfo, send: Send = channels.send) -> None:
        self.data, self.cfg, self.site, self.clock = data, cfg, site, clock
        self.send = send
        self.book: AlertBook = data.alerts()
        self.composer = Composer(site, cfg.base_url, zone)
        self.delivered = 0

    def close(self) -> None:
        self.book.close()

    def _next(self, r: Recipient, now_ms: int) -> OpenMessage | None:
        muted = self.book.muted(now_ms)
        t = self.cfg.timing
        plan = lifecycle.plan(r.policy, self.book.pending(r.name), self.book.groups(r.name),
                              self.book.told(r.name, muted),
                              self.book.sent_times(r.name, now_ms - t.flood_window_ms),
                              now_ms, t)
        if not plan.messages:
            return None
        msg = plan.messages[0]  # a plan is one message: all that is due goes together
        tokens = self.composer.tokens(msg)
        self.book.claim(r.name, self.site, msg.items, msg.digest,
                        lambda mid: (self.composer.title(msg),
                                     self.composer.body(msg, mid, dict(tokens))),
                        hashes(tokens), now_ms, TOKEN_TTL_MS)
        return self.book.open_message(r.name)

    def _deliver(self, r: Recipient, msg: OpenMessage, now_s: float) -> bool:
        ch = pick_channel(r, msg, self.book.channels(r.name), now_s)
        self.book.attempt(msg.id, ch)
        out = self.send(r.channels[ch], msg.title, msg.body, self.cfg.send_timeout_s)
        done_s = time.time()
        if out.ok:
            self.book.delivered(msg.id, r.name, ch, done_s)
            self.delivered += 1
            log.info("message %s delivered to %s (channel %d)", msg.id, r.name, ch + 1)
            return True
        wait = min(self.cfg.retry_max_s, FIRST_RETRY_S * 2 ** min(msg.attempts, 20))
        self.book.failed(msg.id, r.name, ch, out.error or "failed", out.refused, done_s,
                         done_s + wait)
        log.warning("message %s to %s: channel %d %s: %s; again in %.0f s", msg.id, r.name,
                    ch + 1, "refused" if out.refused else "failed", out.error, wait)
        return False

    def once(self, now_s: float | None = None, now_ms: int | None = None) -> int:
        """One pass over the recipients; returns how many messages were delivered."""
        now_s = time.time() if now_s is None else now_s
        now_ms = clock_ms(self.clock) if now_ms is None else now_ms
        self.book.beat(SENDER, os.getpid(), now_s)
        before = self.delivered
        for r in effective(self.cfg, self.book.prefs()).recipients.values():
            msg = self.book.open_message(r.name) or self._next(r, now_ms)
            if msg is not None and msg.next_try <= now_s:
                if msg.in_flight:
                    log.warning("message %s to %s was being sent when the sender stopped: "
                                "sending it again (a receiver may see it twice, same identity)",
                                msg.id, r.name)
                if self._deliver(r, msg, now_s):
                    # the next one may be due already (what piled up while this one waited)
                    nxt = self._next(r, now_ms)
                    if nxt is not None and nxt.next_try <= now_s:
                        self._deliver(r, nxt, now_s)
        return self.delivered - before

    def run(self, stop: threading.Event, alive: Callable[[], bool] = lambda: True) -> None:
        """Until `stop` or the gateway is gone. One sender at a time per data directory (a lock
        file the kernel releases when its holder dies, kill -9 included): a sender started by a
        restarted gateway waits for one still finishing a send, so no message goes out twice
        from two senders."""
        with self.data.sender_lock_path.open("a") as lock:
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if stop.wait(LOOP_S) or not alive():
                        return
            self._loop(stop, alive)

    def _loop(self, stop: threading.Event, alive: Callable[[], bool]) -> None:
        while not stop.is_set() and alive():
            try:
                self.once()
            except (GatewayError, OSError) as exc:  # StoreError is a GatewayError
                log.error("sending paused: %s", exc)
            stop.wait(LOOP_S)
