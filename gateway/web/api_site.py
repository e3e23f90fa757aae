"""The site's nodes and readings on the web: public node states and latest values, a series for
charts, dead letters, and the stewards' fleet view."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response

from core.clock import Clock, ScaledClock, clock_ms, site_time
from gateway.signals.config import SignalConfigError, load_config
from gateway.store import DataDir, Store
from gateway.web.auth import Auth

OFFLINE_AFTER_S = 300.0  # no message for this long and no retained status: shown offline
Json = dict[str, Any]


def _online(n: Json, now: float) -> bool:
    last_seen = n["last_seen"]
    silent = not isinstance(last_seen, float) or now - last_seen > OFFLINE_AFTER_S
    return n["state"] == "online" and not silent


def site_ms(clock: Clock, real_s: object) -> int | None:
    """A real-time stamp of the gateway's (a receive time) on the site's clock, in ms."""
    return None if not isinstance(real_s, int | float) else int(site_time(clock, real_s) * 1000)


def router(data: DataDir, store: Store, auth: Auth, clock: Clock) -> APIRouter:
    r = APIRouter(prefix="/api/v1", tags=["site"])

    @r.get("/clock")
    def site_clock() -> Json:
        """The site's time, which every view judges ages by ("3 min ago"): the real time, or
        the demo's and tests' simulated timeline running `speed` times faster; and the site's
        time zone (thresholds.toml, site.timezone), which the pages write times in."""
        try:
            zone = str(load_config(data).site.get("timezone") or "UTC")
        except SignalConfigError:
            zone = "UTC"  # the signals' config is broken: their own endpoints say why
        return {"now_ms": clock_ms(clock),
                "speed": clock.speed if isinstance(clock, ScaledClock) else 1.0,
                "timezone": zone}

    @r.get("/nodes")
    def nodes() -> list[Json]:
        """Every node: online state (retained MQTT status, or silence), last seen (real UNIX
        seconds, and `last_seen_ms` on the site's clock), ack lag."""
        now = time.time()
        return [{**n, "online": _online(n, now), "last_seen_ms": site_ms(clock, n["last_seen"])}
                for n in store.node_summary()]

    @r.get("/latest")
    def latest() -> list[Json]:
        """The newest stored value of every quantity of every node, with its unit. Public, so
        an event's reference (a member's pseudonym on a tool station) is left out."""
        return [{**x, "ref": None} if x["kind"] == "event" else x for x in store.latest()]

    @r.get("/series", responses={200: {"content": {"application/json": {}}},
                                 404: {"description": "no such series"}})
    def series(node: str = Query(max_length=64), name: str = Query(max_length=128),
               hours: float = Query(48.0, gt=0, le=24 * 366, description="how far back"),
               points: int | None = Query(None, ge=10, le=100_000,
                                          description="at most this many points (time-bucket "
                                                      "means); all readings without it")
               ) -> Response:
        """One quantity of one node as columns: times (ms) and values, with the unit."""
        now_ms = clock_ms(clock)
        unit, t, v = store.series(node, name, now_ms - int(hours * 3_600_000), now_ms + 1, points)
        if unit is None and not t:
            raise HTTPException(404, f"node {node!r} has no stored series {name!r}")
        # orjson: a month of minutes is 43,200 pairs; the standard encoder would dominate
        return Response(orjson.dumps({"node": node, "name": name, "unit": unit, "t": t, "v": v}),
                        media_type="application/json")

    steward = Depends(auth.require("steward"))
    refused: dict[int | str, Json] = {401: {"description": "not signed in"},
                                      403: {"description": "not a steward"},
                                      503: {"description": "no account exists yet"}}

    @r.get("/dead-letters", dependencies=[steward], responses=refused)
    def dead_letters(limit: int = Query(100, ge=1, le=1000)) -> list[Json]:
        """Stewards: messages and records the gateway refused, newest first, with the reason
        (a refused payload may hold anything, so this is not public); `last_at_ms` on the site's
        clock."""
        return [{**d, "last_at_ms": site_ms(clock, d["last_at"])} for d in store.dead_letters(limit)]

    @r.get("/conflicts", dependencies=[steward], responses=refused)
    def conflicts(limit: int = Query(100, ge=1, le=1000)) -> list[Json]:
        """Stewards: readings whose (node, seq) arrived again with other content (two devices
        under one identity, a forged pack), newest first, with both versions
        (docs/contract.md, Sequence rules)."""
        return [{**c, "last_at_ms": site_ms(clock, c["last_at"])} for c in store.sequences.conflicts(limit)]

    @r.get("/sinks", dependencies=[steward], responses=refused)
    def sinks() -> list[Json]:
        """Stewards: each sink's lag (readings and node-time seconds behind), written and
        refused points, last success and last error, its latest refusals, and when it was
        taken out of gateway.toml (`removed_ms`, null while configured)."""
        return [{**dataclasses.asdict(st), "last_ok_ms": site_ms(clock, st.last_ok),
                 "error_at_ms": site_ms(clock, st.error_at),
                 "removed_ms": site_ms(clock, st.removed),
                 "refusals": [{**x, "at_ms": site_ms(clock, x["at"])}
                              for x in store.sinks.refusals(st.sink, 5)]}
                for st in store.sinks.status(clock_ms(clock))]

    @r.get("/backup", dependencies=[steward], responses=refused)
    def backup() -> Json:
        """Stewards: the last good backup (`last_ok`: when, name, bytes, target), the last
        attempt (`last`, with its error if it failed) and the last restore drill
        (`drill_ok`, `drill_at`, `drill_error`); times are real UNIX seconds. Empty before the
        first backup."""
        return data.backup_state()

    @r.get("/fleet", dependencies=[steward], responses=refused)
    def fleet() -> list[Json]:
        """Stewards: every node's state, last seen, battery, backlog (outbox, unacknowledged
        sequence numbers), dead letters, the quality of its streams as the signals last saw
        them, when each calibration came into use, and the readings a microcontroller's full
        buffer overwrote before the node took them (`mcu_gaps`: gap events, readings, the
        newest; null when none)."""
        now = time.time()
        quality: dict[str, dict[str, str]] = {}
        for signal in data.latest_signals():
            for series, label in signal.get("inputs", {}).items():
                node, _, name = series.partition("/")
                quality.setdefault(node, {})[name] = label
        calibrations: dict[str, dict[str, Json]] = {}
        for node, _, t_ms, name, _, ref in store.events_named(["calibration"]):
            sensor = name.rsplit(".calibration", 1)[0] if name != "calibration" else ""
            known = calibrations.setdefault(node, {})
            if sensor not in known or int(known[sensor]["since_ms"]) < t_ms:
                known[sensor] = {"id": ref, "since_ms": t_ms,
                                 "age_days": round((clock_ms(clock) - t_ms) / 86_400_000, 1)}
        gaps: dict[str, Json] = {}  # readings a microcontroller's full buffer overwrote
        for node, _, t_ms, _, text, _ in store.events_named(["mcu.gap"]):
            lost = int(text.split(" ", 1)[0]) if text and text.split(" ", 1)[0].isdigit() else 0
            g = gaps.setdefault(node, {"events": 0, "readings": 0, "last_ms": 0, "last": None})
            g["events"] = int(g["events"]) + 1  # type: ignore[call-overload]
            g["readings"] = int(g["readings"]) + lost  # type: ignore[call-overload]
            if t_ms >= int(g["last_ms"]):  # type: ignore[call-overload]
                g["last_ms"], g["last"] = t_ms, text
        battery = {(str(x["node"])): x for x in store.latest()
                   if str(x["name"]).endswith(("battery.voltage", "battery.soc"))}
        out = []
        for n in store.node_summary():
            node = str(n["node"])
            streams = quality.get(node, {})
            out.append({**n, "online": _online(n, now), "last_seen_ms": site_ms(clock, n["last_seen"]),
                        "status_ms": site_ms(clock, n["status_time"]),
                        "unacknowledged": None if not isinstance(last := n["node_last_seq"], int)
                        else max(0, last - int(n["acked"])),  # type: ignore[call-overload]
                        "battery": None if node not in battery else {
                            k: battery[node][k] for k in ("name", "value", "unit", "time_ms")},
                        "streams": streams,
                        "attention": sorted(k for k, v in streams.items() if v != "pass"),
                        "calibrations": calibrations.get(node, {}),
                        "mcu_gaps": gaps.get(node)})
        return out

    return r
