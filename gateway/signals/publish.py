"""Runs the engine at the gateway: every `every_s` the signals are computed (in their own
thread, so a computation never holds up ingest), stored as time series in signals.db, and
published retained on eil/v1/<site>/_gateway/signals. The same run rolls up every scope of
scopes.toml whose member sites forward to this gateway (docs/federation.md): their totals go to
signals.db too (the panel's sparklines) and to scopes.json."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from core.clock import Clock, SystemClock, clock_ms
from gateway.errors import GatewayError
from gateway.signals.config import SignalConfigError
from gateway.signals.engine import evaluate
from gateway.signals.result import Result, result_json
from gateway.signals.rollup import load_scopes, rollup, scope_sites
from gateway.store.data_dir import DataDir
from gateway.store.rows import SignalValue

log = logging.getLogger("eil.signals")


def signal_value(r: Result) -> SignalValue:
    """What signals.db keeps of a result: its value against its limits, and for a soil
    depletion the moisture levels of its bed (field capacity, readily available water, wilting
    point, in % like the moisture series they belong to) for charts (dashboards/)."""
    lines: tuple[tuple[str, float], ...] = ()
    n = r.numbers
    if r.signal == "soil.depletion" and {"theta_fc", "theta_wp", "p"} <= n.keys():
        fc, wp, p = n["theta_fc"], n["theta_wp"], n["p"]
        lines = (("field_capacity", fc * 100), ("readily_available", (fc - p * (fc - wp)) * 100),
                 ("wilting_point", wp * 100))
    return SignalValue(r.id, r.signal, r.scope, r.value, r.unit, r.band, r.alert, r.note,
                       r.limits.lower if r.limits else None,
                       r.limits.upper if r.limits else None,
                       r.inputs[0].series if r.inputs else None, lines)


def scope_rollups(data: DataDir, site: str, own: list[dict[str, Any]], now_ms: int
                  ) -> dict[str, list[dict[str, Any]]]:
    """Scope -> its roll-up now, for every scope with forwarding member sites."""
    try:
        scopes = [s for s in load_scopes(data) if s.sites]
    except SignalConfigError as exc:
        log.error("no scope rolled up: %s", exc)
        return {}
    if not scopes or not data.has_readings():
        return {}
    with data.readings(readonly=True) as store:
        latest = store.latest()
    return {s.name: [dict(e, t=now_ms) for e in rollup(scope_sites(s, data, site, own, latest),
                                                         s.name, s.limits)] for s in scopes}


def rollup_value(e: dict[str, Any]) -> SignalValue:
    th = e.get("threshold") or {}
    return SignalValue(e["id"], e["signal"], e["scope"], e["value"], e["unit"], e["band"],
                       False, e.get("note"), th.get("lower"), th.get("upper"))


class SignalPublisher:
    def __init__(self, data: DataDir, publish: Callable[[bytes], object],
                 every_s: float = 300.0, clock: Clock | None = None, site: str = "") -> None:
        self.data, self.publish, self.every_s = data, publish, every_s
        self.clock = clock or SystemClock()
        self.site = site  # this gateway's site: a member of its own scope only if listed
        self.runs = 0

    def once(self, now_ms: int | None = None) -> list[Result]:
        now_ms = now_ms if now_ms is not None else clock_ms(self.clock)
        results = evaluate(self.data, now_ms)
        own = [result_json(r, now_ms) for r in results]
        rolled = scope_rollups(self.data, self.site, own, now_ms)
        payload = json.dumps(own, separators=(",", ":"), default=str).encode()
        if rolled:  # before signals.json: a forwarder taking this run finds both of it
            self.data.save_rollups(json.dumps(rolled, separators=(",", ":")).encode())
        # what the web API serves and the forwarder takes; before the history, so that every
        # run the history keeps was offered to the scope above (a kill -9 in between leaves a
        # run forwarded that the history lacks, never the other way round)
        self.data.save_latest_signals(payload)
        with self.data.signal_history() as store:
            store.add([signal_value(r) for r in results] +
                      [rollup_value(e) for entries in rolled.values() for e in entries], now_ms)
        self.publish(payload)
        self.runs += 1
        return results

    def run(self, stop: threading.Event) -> None:
        delay = 1.0  # the first run soon after start, then every `every_s`
        while not stop.wait(delay):
            delay = self.every_s
            if not self.data.has_readings():
                continue
            try:
                started = time.monotonic()
                results = self.once()
                log.info("%d signal values in %.2f s", len(results), time.monotonic() - started)
            except (GatewayError, ValueError) as exc:  # StoreError is a GatewayError
                log.error("signals not computed this time: %s", exc)
