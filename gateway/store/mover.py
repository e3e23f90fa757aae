"""Moves readings out of the hot rows into cold chunks on schedule (`[store]` in gateway.toml):
every gauge and counter reading whose node time is older than the hot window (each chunk holds
one series over one 6-hour period; a period's chunks are merged once it has closed: cold.py),
then applies retention (`[retention]`, rollups.py), keeping what a configured sink has not
written yet. Runs beside ingest; each transaction moves
a bounded number of readings (and merges the periods closed since the last one), so ingest
waits for one transaction at most."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from core.clock import Clock, clock_ms
from gateway.errors import StoreError
from gateway.store.readings import Store
from gateway.store.rollups import Policy

log = logging.getLogger("eil.gateway")
BATCH = 50_000  # readings per move transaction


def cutoff_ms(now_ms: int, hot_s: float) -> int:
    """Readings with node time before this are cold."""
    return now_ms - int(hot_s * 1000)


class ColdMover:
    def __init__(self, store: Store, hot_s: float, every_s: float, clock: Clock,
                 retention: Policy | None = None, sinks: Sequence[str] = ()) -> None:
        self.store, self.hot_s, self.every_s, self.clock = store, hot_s, every_s, clock
        self.retention, self.sinks = retention, sinks

    def move_once(self) -> int:
        """Move everything older than the cutoff now; returns how many readings moved."""
        before, total = cutoff_ms(clock_ms(self.clock), self.hot_s), 0
        while moved := self.store.move_cold(before, BATCH):
            total += moved
        if total:
            log.info("moved %d readings older than %d ms to cold storage", total, before)
        if self.retention is not None:
            gone = self.store.expire(clock_ms(self.clock), self.retention, self.sinks)
            if gone.raw or gone.rolled:
                log.info("retention deleted %d raw readings and %d hourly roll-ups older than "
                         "[retention] keeps them", gone.raw, gone.rolled)
            if gone.held:
                log.warning("retention KEPT %d raw readings older than [retention] allows: a "
                            "sink has not written them yet (eil status shows its lag)",
                            gone.held)
        return total

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.move_once()
            except StoreError as exc:  # the readings stay hot: nothing is lost, try later
                log.error("%s; the readings stay in the hot rows until the next try", exc)
            stop.wait(self.every_s)
