"""One sink's loop: read what is past its cursor, write it, and advance the cursor only after
the database confirmed the write.

- Down, overloaded, or refusing our credential (connection errors, 5xx, 429, 401, 403, 404):
  the cursor stays, the error is recorded, and the runner waits 1, 2, 4 ... up to
  `max_backoff_s` seconds between tries. Nothing is dropped, however long it lasts.
- Refused as bad (400, 422): the batch is halved until the refused points are alone; each is
  recorded in the store with the database's reason and skipped, the rest written. InfluxDB may
  have kept part of a refused batch (a partial write); writing it again only overwrites.
- Too large (413): halved, nothing skipped.
- A crash between the database's confirmation and the cursor's advance writes that batch
  again after the restart: the same points with the same timestamps, so nothing doubles.
- A database that confirms before its disk has the points (VictoriaMetrics): after an outage
  and at every start the sink goes back to what was confirmed `settle_s` ago and writes the
  rest again (gateway/store/sink_cursors.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from core.clock import Clock, clock_ms
from gateway.errors import StoreError
from gateway.sinks.config import SinkConfig
from gateway.sinks.influx import InfluxWriter, Refused, TooLarge, Unavailable
from gateway.sinks.lines import Line, reading_line, signal_line, sink_line
from gateway.store.data_dir import DataDir
from gateway.store.readings import Store
from gateway.store.signal_history import SignalStore

log = logging.getLogger("eil.sinks")
STATUS_EVERY_S = 10.0  # how often the sink writes its own lag as a point (eil_sink)
RESTART_CHECK_S = 5.0  # how often a database that may lose confirmed writes is asked its start


@dataclass
class Step:
    written: int = 0
    refused: int = 0
    idle: bool = False  # nothing to write


class SinkRunner:
    def __init__(self, cfg: SinkConfig, site: str, data: DataDir, store: Store, clock: Clock,
                 writer: InfluxWriter | None = None) -> None:
        self.cfg, self.site, self.data, self.store, self.clock = cfg, site, data, store, clock
        self.writer = writer or InfluxWriter(cfg.options)
        self.strings = cfg.options.strings
        self.settle_s = float(getattr(cfg.options, "settle_s", 0.0))
        store.sinks.start(cfg.name, cfg.start_at_end, clock_ms(clock))
        self._rewind()
        self.failures = 0
        self.epoch: str | None = None  # the database's start, where it says (_check_restart)
        self.checked = -RESTART_CHECK_S
        self.status_at = -STATUS_EVERY_S
        self.signals: SignalStore | None = None

    def _rewind(self) -> None:
        """Back to the settled positions (at start, and after an outage: the database may have
        lost what it confirmed in its last seconds)."""
        self.store.sinks.rewind(self.cfg.name)
        cursors, self.signals_t = self.store.sinks.positions(self.cfg.name)
        # (monotonic time, positions confirmed then); the first is settled
        self.history: deque[tuple[float, dict[int, int], int]] = deque(
            [(time.monotonic(), cursors, self.signals_t)])

    def _settled(self, cursors: dict[int, int], signals_t: int) -> tuple[dict[int, int], int]:
        now = time.monotonic()
        self.history.append((now, cursors, signals_t))
        while len(self.history) > 1 and self.history[1][0] <= now - self.settle_s:
            self.history.popleft()
        return self.history[0][1], self.history[0][2]

    def _history(self) -> SignalStore | None:
        """signals.db, opened once it exists and kept open (the runner is its only user in
        this process)."""
        if self.signals is None and self.data.has_signal_history():
            self.signals = self.data.signal_history()
        return self.signals

    def _check_restart(self) -> None:
        """A database that restarted between two writes lost its unsettled seconds without
        any write failing: go back and write them again."""
        if self.settle_s <= 0 or time.monotonic() - self.checked < RESTART_CHECK_S:
            return
        started = self.writer.started()
        self.checked = time.monotonic()
        if self.epoch is not None and started != self.epoch:
            log.warning("sink %s: the database restarted; writing its last %.0f s again",
                        self.cfg.name, self.settle_s)
            self._rewind()
        self.epoch = started

    def step(self) -> Step:
        """Write one batch (readings, then whole signal runs); raises Unavailable with the
        cursor where it was."""
        self._check_restart()
        batch = self.store.sinks.batch(self.cfg.name, self.cfg.batch)
        lines = [line for r in batch.rows
                 if (r.kind != "event" or self.cfg.events)
                 and (line := reading_line(r, self.strings)) is not None]
        signals_t = self.signals_t
        if self.cfg.signals and (history := self._history()) is not None:
            runs, signals_t = history.runs_after(self.signals_t, self.cfg.batch)
            lines += [signal_line(self.site, t, v, self.strings) for t, v in runs]
        idle = not batch.ends and signals_t == self.signals_t
        status_due = time.monotonic() - self.status_at >= STATUS_EVERY_S
        if idle and not status_due:
            return Step(idle=True)
        own: list[Line] = []
        if status_due:  # its own lag, as of this batch's start, for the fleet dashboard
            now_ms = clock_ms(self.clock)
            (st,) = self.store.sinks.status(now_ms, [self.cfg.name])
            own = [sink_line(self.site, self.cfg.name, now_ms, st.behind, st.behind_s,
                             st.written, st.refused)]
        refused: list[tuple[str, int, str, str]] = []
        self._deliver(lines + own, refused)
        now = time.time()
        if refused:
            self.store.sinks.refused(self.cfg.name, refused, now)
            for what, status, reason, _ in refused:
                log.error("sink %s: the database refused %s (HTTP %d: %s); recorded and "
                          "skipped", self.cfg.name, what, status, reason)
        cursors = {**self.history[-1][1], **batch.ends}
        bookkeeping = {x.what for x in own}  # the sink's own lag point is no data
        written = len(lines) - sum(1 for r in refused if r[0] not in bookkeeping)
        self.store.sinks.advance(self.cfg.name, batch.ends, signals_t,
                                self._settled(cursors, signals_t), written, now)
        self.signals_t = signals_t
        if status_due:
            self.status_at = time.monotonic()
        return Step(written, len(lines) - written, idle)

    def _deliver(self, lines: list[Line], refused: list[tuple[str, int, str, str]]) -> None:
        if not lines:
            return
        try:
            self.writer.write(lines)
        except Refused as exc:
            if len(lines) == 1:
                refused.append((lines[0].what, exc.status, exc.reason, lines[0].text))
                return
            self._halves(lines, refused)
        except TooLarge:
            if len(lines) == 1:
                refused.append((lines[0].what, 413, "a single point is too large", lines[0].text))
                return
            self._halves(lines, refused)

    def _halves(self, lines: list[Line], refused: list[tuple[str, int, str, str]]) -> None:
        mid = len(lines) // 2
        self._deliver(lines[:mid], refused)
        self._deliver(lines[mid:], refused)

    def run(self, stop: threading.Event, alive: Callable[[], bool] = lambda: True) -> None:
        """Until `stop` (or `alive()` turns false: the gateway that started us is gone)."""
        idle_wait = 1.0
        while not stop.is_set() and alive():
            try:
                step = self.step()
            except Unavailable as exc:
                self.failures += 1
                wait = min(self.cfg.max_backoff_s, 2.0 ** min(self.failures - 1, 16))
                log.warning("sink %s: %s; the cursor stays, next try in %.0f s",
                            self.cfg.name, exc, wait)
                self._record_failure(str(exc))
                if stop.wait(wait):
                    break
                try:
                    self._rewind()
                except StoreError as err:
                    log.error("sink %s: %s", self.cfg.name, err)
                continue
            except StoreError as exc:  # the store is busy or failing: nothing was advanced
                log.error("sink %s: %s; trying again", self.cfg.name, exc)
                stop.wait(5.0)
                continue
            if self.failures:
                log.info("sink %s: the database is back after %d failed tries", self.cfg.name,
                         self.failures)
                self.failures = 0
            if step.idle:
                stop.wait(idle_wait)
        self.close()

    def close(self) -> None:
        self.writer.close()
        if self.signals is not None:
            self.signals.close()
            self.signals = None

    def _record_failure(self, reason: str) -> None:
        try:
            self.store.sinks.failed(self.cfg.name, reason, time.time())
        except StoreError as exc:
            log.error("sink %s: cannot record the failure: %s", self.cfg.name, exc)
