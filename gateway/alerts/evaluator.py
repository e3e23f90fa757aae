"""The gateway's alerts thread: every `evaluate_every` (10 s) it gathers the conditions (the
signals' latest run, the scopes' roll-ups, the fleet's health), lets the lifecycle decide the
transitions and escalations, and records them with their queue rows in one transaction of
alerts.db. It sends nothing: the sender process does (sender.py), so a channel that hangs
never holds up ingest or the signals, and a restart of either loses nothing."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from core.clock import Clock, clock_ms
from gateway.alerts import lifecycle, sources
from gateway.alerts.config import AlertsConfig, SourceRule, effective
from gateway.errors import GatewayError
from gateway.signals.config import SignalConfigError, load_config
from gateway.store.alert_rows import ESCALATE, FIRING, Alert, Condition, Event
from gateway.store.data_dir import DataDir

log = logging.getLogger("eil.alerts")
DISK_EVERY_S = 600.0  # the card's rate of filling is measured this often
SENDER = "sender"  # the sender's heartbeat name


class AlertEvaluator:
    def __init__(self, data: DataDir, cfg: AlertsConfig, clock: Clock, *,
                 sinks: Sequence[str] = (), certificates: Sequence[Path] = (),
                 backups: bool = False) -> None:
        self.data, self.cfg, self.clock = data, cfg, clock
        self.sinks, self.certificates = list(sinks), list(certificates)
        self.backups = backups  # a [backup] target is configured
        self.started_s = time.time()
        self.book = data.alerts()
        self._disk: list[tuple[float, int]] = []  # (real s, bytes used by the data directory)
        self._disk_checked = 0.0
        self._sinks_failing: dict[str, float] = {}  # sink -> when first seen failing (real s)
        self._seen: dict[str, int] = {}  # condition -> since when it holds (site ms)
        self._unsynced: float | None = None  # since when the kernel's clock is unsynchronised

    def close(self) -> None:
        self.book.close()

    def _beds(self) -> sources.Beds:
        try:
            cfg = load_config(self.data)
        except SignalConfigError:
            return {}
        return {scope: (bed.get("name"), str(bed.get("crop"))) for scope, bed in cfg.beds.items()}

    def _disk_rate(self, now_s: float) -> tuple[int, float | None]:
        """Free bytes beside the store and its growth per day, measured over the samples kept
        since the gateway started (none the first hour: too short to say)."""
        free, used = self.data.disk_usage()
        if now_s - self._disk_checked >= DISK_EVERY_S or not self._disk:
            self._disk.append((now_s, used))
            self._disk = [s for s in self._disk if now_s - s[0] <= 7 * 86400]
            self._disk_checked = now_s
        (t0, u0), (t1, u1) = self._disk[0], self._disk[-1]
        if t1 - t0 < 3600:
            return free, None
        return free, max(0.0, (u1 - u0) / (t1 - t0) * 86400)

    def conditions(self, now_s: float) -> list[Condition]:
        cfg = self.cfg
        signals = self.data.latest_signals()
        out = sources.signal_conditions(signals, cfg, self._beds())
        out += sources.scope_conditions(self.data.latest_rollups(), cfg)
        if self.data.has_readings():
            with self.data.readings(readonly=True) as store:
                out += sources.node_conditions(store.node_summary(), store.latest(), signals,
                                               cfg, now_s)
                out += sources.dead_letter_conditions(store.dead_letters(50), cfg, now_s)
                if self.sinks:
                    out += sources.sink_conditions(store.sinks.status(clock_ms(self.clock),
                                                                      self.sinks), cfg, now_s,
                                                   self._sinks_failing)
            out += sources.disk_condition(*self._disk_rate(now_s), cfg)
        out += sources.certificate_conditions(self.certificates, cfg,
                                              dt.datetime.fromtimestamp(now_s, dt.UTC))
        out += sources.sender_condition(self.book.heartbeat(SENDER), self.started_s, cfg, now_s)
        synced = sources.clock_synchronised()
        self._unsynced = None if synced in (True, None) else (self._unsynced or now_s)
        out += sources.clock_condition(self._unsynced, cfg, now_s)
        out += sources.backup_condition(self.data.backup_state(), self.backups,
                                        self.started_s, cfg, now_s)
        return out

    def once(self, now_s: float | None = None, now_ms: int | None = None,
             conditions: list[Condition] | None = None) -> list[Event]:
        """One evaluation: the transitions and escalations recorded (and queued)."""
        now_s = time.time() if now_s is None else now_s
        now_ms = clock_ms(self.clock) if now_ms is None else now_ms
        present = {c.id: c for c in (self.conditions(now_s) if conditions is None
                                     else conditions)}
        muted = self.book.muted(now_ms)
        done = self.book.escalations()
        cfg = effective(self.cfg, self.book.prefs())

        def make(stored: dict[str, Alert]) -> tuple[list[Alert], list[Event]]:
            found = self._held(present, now_ms, {i for i, a in stored.items() if a.active})
            changed, events = lifecycle.step(stored, found, now_ms, muted, cfg.timing)
            merged = {**stored, **{a.id: a for a in changed}}
            for a in merged.values():
                if a.state != FIRING or muted(a.id):
                    continue
                told = done.get((a.id, a.since_ms), set())
                for r in lifecycle.escalations(a, cfg.followers(a.id, a.severity), cfg.chain,
                                               told, now_ms):
                    events.append(Event(a.id, ESCALATE, now_ms, a.severity, a.state, a.text,
                                        True, to=(r,), note="not acknowledged in time"))
            return changed, events

        return self.book.record(make, cfg.route)

    def _held(self, found: dict[str, Condition], now_ms: int, active: set[str]
              ) -> dict[str, Condition]:
        """The conditions that have lasted their source's `for` (Prometheus' `for`: a
        stream stale for one run is not news). Kept in memory: after a restart a condition
        waits its `for` again (alerts already firing stay so: they are in alerts.db)."""
        self._seen = {i: self._seen.get(i, now_ms) for i in found}
        none = SourceRule()
        return {i: c for i, c in found.items() if i in active or now_ms - self._seen[i] >=
                self.cfg.sources.get(c.source, none).hold_s * 1000}

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.cfg.evaluate_every_s):
            try:
                events = self.once()
            except (GatewayError, ValueError, OSError) as exc:  # StoreError is a GatewayError
                log.error("alerts not evaluated this time: %s", exc)
                continue
            for e in events:
                log.info("alert %s: %s%s", e.alert_id, e.kind, "" if e.notify else " (not told)")
