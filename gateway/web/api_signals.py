"""The impact signals on the web: latest values, their history and explanation, the council
panel of a scope (with export), and the gardener's beds. Public: signals carry no member data."""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as Path_
from fastapi.responses import Response

from core.clock import Clock, clock_ms
from gateway.signals.bands import OVERSHOOT, SAFE, SHORTFALL
from gateway.signals.catalogue import DEFS
from gateway.signals.config import SignalConfigError, bed_params, load_config
from gateway.signals.engine import ALERT_RULE, evaluate
from gateway.signals.rollup import Scope, load_scopes, rollup, scope_sites
from gateway.store import DataDir, Store
from gateway.store.signal_history import SignalStore

SITE_SCOPES = ("site", "library")  # what a site's council reads first: its totals
SPARK_DAYS, SPARK_POINTS = 30, 60
MAX_TIME_MS = 4_102_444_800_000  # 2100-01-01: later times are mistakes, not questions
WETTING_RISE = 2.0  # %-points of soil moisture within an hour: rain or watering reached the bed
WETTING_DAYS = 7  # how far back the last wetting is looked for
BANDS = (SHORTFALL, SAFE, OVERSHOOT)
Json = dict[str, Any]


def _worst(members: list[Json]) -> Json:
    """The member furthest past its threshold (else the first with a value)."""
    ranked = sorted(members, key=lambda m: (m["band"] not in (SHORTFALL, OVERSHOOT),
                                            -(m.get("distance") or 0.0), m["value"] is None))
    return ranked[0]


def site_panel(signals: list[Json], history: SignalStore | None, now_ms: int) -> list[Json]:
    """Site totals as they are; every signal kept per node or bed as one group (a panel of 50
    nodes stays readable), led by its worst member."""
    out: list[Json] = []
    groups: dict[str, list[Json]] = {}
    for s in signals:
        if s["scope"] in SITE_SCOPES:
            out.append(dict(s))
        else:
            groups.setdefault(s["signal"], []).append(s)
    for signal, members in groups.items():
        if len(members) == 1:
            out.append(dict(members[0]))
            continue
        worst = _worst(members)
        counts = {b: sum(m["band"] == b for m in members) for b in BANDS}
        counts["none"] = sum(m["band"] is None for m in members)
        out.append({**worst, "id": f"{signal}@*", "group": True, "worst": worst["id"],
                    "scope": f"{len(members)} scopes",
                    "counts": counts, "members": [
                        {k: m.get(k) for k in ("id", "t", "scope", "value", "unit", "band",
                                               "alert")}
                        for m in members]})
    for entry in out:
        entry["title"] = DEFS[entry["signal"]].title if entry["signal"] in DEFS else \
            entry.get("title", entry["signal"])
        sid = str(entry.get("worst", entry["id"]))
        entry["history"] = [] if history is None else spark(history, sid, now_ms)
    order = {sid: i for i, sid in enumerate(DEFS)}
    return sorted(out, key=lambda e: (e["scope"] not in SITE_SCOPES,
                                      order.get(e["signal"], 999)))


def spark(history: SignalStore, sid: str, now_ms: int) -> list[list[float]]:
    """The signal over the last 30 days, or over its history if younger, as at most 60
    (time ms, mean) points: a site a few hours old sees its trend too."""
    first = history.first_value_time(sid, now_ms - SPARK_DAYS * 86_400_000)
    if first is None:
        return []
    bucket = max(1, (now_ms - first) // SPARK_POINTS + 1)
    return history.means(sid, first, bucket)


def rollup_panel(scope: Scope, sites: dict[str, list[Json]]) -> list[Json]:
    out = rollup(sites, scope.name, scope.limits)
    for entry in out:
        entry.update(title=DEFS[entry["signal"]].title if entry["signal"] in DEFS else
                     entry["signal"], alert=False, history=[], time_to_threshold_s=None)
        if entry["threshold"] is None:
            entry["note"] = entry.get("note") or f"no {scope.level} threshold set for it"
    return out


def _csv(panel: Json, by_id: dict[str, Json]) -> str:
    """One row per signal; a group's members each get their own row (their thresholds may
    differ: a bed's crop sets its sowing minimum)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["scope", "signal", "title", "value", "unit", "band", "lower", "upper",
                "threshold_source", "time_to_threshold_s", "alert", "note"])
    rows = [by_id.get(m["id"], m) for e in panel["signals"]
            for m in (e["members"] if e.get("group") else [e])]
    for e in rows:
        th = e.get("threshold") or {}
        w.writerow([e["scope"], e["id"].split("@")[0], e.get("title") or e["id"],
                    "" if e["value"] is None else e["value"],
                    e["unit"], e["band"] or "", th.get("lower", ""), th.get("upper", ""),
                    th.get("source", ""), e.get("time_to_threshold_s") or "",
                    int(bool(e.get("alert"))), e.get("note") or ""])
    return buf.getvalue()


def router(data: DataDir, store: Store, site: str, clock: Clock) -> APIRouter:
    r = APIRouter(prefix="/api/v1", tags=["signals"])

    def scopes() -> list[Scope]:
        try:
            return load_scopes(data)
        except SignalConfigError as exc:
            raise HTTPException(500, f"the gateway's scope configuration is broken: {exc}") \
                from exc

    def panel(scope: str, own: list[Json]) -> Json:
        """`own`: this site's latest signal summaries."""
        now_ms = clock_ms(clock)
        known = scopes()
        levels = [{"id": "site", "title": f"Site {site}", "level": "site"}] + [
            {"id": s.name, "title": s.title, "level": s.level} for s in known]
        if scope == "site":
            if data.has_signal_history():
                with data.signal_history() as history:
                    entries = site_panel(own, history, now_ms)
            else:
                entries = site_panel(own, None, now_ms)
            title, level, sites = f"Site {site}", "site", [site]
        else:
            chosen = next((s for s in known if s.name == scope), None)
            if chosen is None:
                raise HTTPException(404, f"no scope {scope!r}; there are: "
                                         f"{', '.join(x['id'] for x in levels)}")
            try:
                by_site = scope_sites(chosen, data, site, own)
            except SignalConfigError as exc:
                raise HTTPException(500, str(exc)) from exc
            entries = rollup_panel(chosen, by_site)
            title, level, sites = chosen.title, chosen.level, sorted(by_site)
        computed = max((int(s["t"]) for s in own if "t" in s), default=None)
        return {"scope": scope, "title": title, "level": level, "sites": sites,
                "scopes": levels, "computed_ms": computed, "alert_rule": ALERT_RULE,
                "signals": entries}

    @r.get("/signals")
    def signals(scope: str | None = Query(None, max_length=100,
                                          description="a scope, or a node's prefix")
                ) -> list[Json]:
        """The latest impact signals (as the gateway last computed and published them): value,
        unit, band, threshold and its source, alert, time to threshold, input quality."""
        out = data.latest_signals()
        if scope:
            out = [s for s in out if s["scope"] == scope or s["scope"].startswith(scope + "/")]
        return out

    @r.get("/signals/{signal_id}/history")
    def signal_history(signal_id: str = Path_(max_length=200),
                       hours: float = Query(48.0, gt=0, le=24 * 366)) -> Json:
        """A signal's stored values (time ms, value, band) over the last `hours`."""
        if not data.has_signal_history():
            raise HTTPException(404, f"no signal history yet for {signal_id!r}")
        with data.signal_history() as history:
            rows = history.history(signal_id, clock_ms(clock) - int(hours * 3_600_000))
        if not rows:
            raise HTTPException(404, f"no stored values of {signal_id!r} in the last {hours:g} h")
        return {"id": signal_id, "values": [{"t": t, "value": v, "band": b} for t, v, b in rows]}

    @r.get("/signals/{signal_id}/explain")
    def signal_explain(signal_id: str = Path_(max_length=200),
                       at: int | None = Query(None, ge=0, le=MAX_TIME_MS, description=(
                           "the time (ms since 1970) of the run to explain, as the `t` of a "
                           "published signal; default: the latest run's"))) -> Json:
        """How a signal's value came about: formula, inputs with their quality and the stored
        sequence numbers used, the numbers, and the threshold's provenance. Computed on request
        from the stored readings as of that run, so it explains the number a page showed;
        readings for that time that arrived after the run (a node catching up) are included,
        and `published_value` says what the run stored."""
        if at is not None:
            at_ms = at
        else:
            latest = next((s for s in data.latest_signals() if s["id"] == signal_id), {})
            at_ms = int(latest["t"]) if "t" in latest else clock_ms(clock)
        scope = signal_id.partition("@")[2]
        node = None if scope in SITE_SCOPES else scope.partition("/")[0]
        # that node's readings only (a site's worth takes seconds); a signal that needs another
        # node (a bed's crop ET from the site's weather station) is found by the full run
        result = next((r for r in evaluate(data, at_ms, node=node or None)
                       if r.id == signal_id), None) if node else None
        if result is None:
            result = next((r for r in evaluate(data, at_ms) if r.id == signal_id), None)
        if result is None:
            raise HTTPException(404, f"no signal {signal_id!r} at this site")
        stored = None
        if data.has_signal_history():
            with data.signal_history() as history:
                stored = history.stored(signal_id, at_ms)
        th = result.threshold
        return {
            "id": result.id, "title": result.title, "t": at_ms, "value": result.value,
            "published": stored is not None,
            "published_value": None if stored is None else stored[0], "unit": result.unit,
            "band": result.band, "distance": result.distance, "note": result.note,
            "formula": result.formula, "numbers": result.numbers, "alert": result.alert,
            "alert_rule": ALERT_RULE,
            "inputs": [{"series": i.series, "quality": i.quality.label,
                        "readings": i.quality.readings, "suspect": i.quality.suspect,
                        "failed": i.quality.failed, "first_seq": i.first_seq,
                        "last_seq": i.last_seq} for i in result.inputs],
            "threshold": None if result.limits is None else {
                "lower": result.limits.lower, "upper": result.limits.upper,
                "source": th.source if th else None, "rationale": th.rationale if th else None,
                "set_by": th.set_by if th else None, "set_at": th.set_at if th else None,
                "reason": th.reason if th else None,
                "replaces": None if th is None or th.replaces is None else {
                    "lower": th.replaces.limits.lower, "upper": th.replaces.limits.upper,
                    "source": th.replaces.source}},
            "trend": None if result.trend is None else {
                "slope_per_s": result.trend.slope_per_s, "r2": result.trend.r2,
                "time_to_threshold_s": result.trend.time_to_threshold_s}}

    @r.get("/panel")
    def council_panel(scope: str = Query("site", max_length=100,
                                         description="site, or a neighbourhood / municipality "
                                                     "scope from scopes.toml")) -> Json:
        """The council's impact panel of a scope: every signal against its threshold (band,
        distance, trend and time to threshold, alert), with a 30-day sparkline."""
        return panel(scope, data.latest_signals())

    @r.get("/panel/export", responses={200: {"content": {"text/csv": {}}}})
    def panel_export(scope: str = Query("site", max_length=100),
                     format: Literal["csv", "json"] = "csv") -> Response:
        """The panel as a file to keep or share: CSV (one row per signal) or JSON."""
        own = data.latest_signals()
        shown = panel(scope, own)
        stamp = time.strftime("%Y%m%d-%H%M", time.gmtime())
        name = f"eil-panel-{scope}-{stamp}.{format}"
        by_id = {x["id"]: x for x in own}
        body, media = ((_csv(shown, by_id), "text/csv; charset=utf-8") if format == "csv" else
                       (json.dumps(shown, indent=1, default=str), "application/json"))
        return Response(body, media_type=media,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @r.get("/garden")
    def garden() -> Json:
        """The gardener's beds: water now or not, and how many litres; soil moisture bands
        (field capacity, readily available water, wilting point); soil temperature against the
        crop's sowing minimum; frost; the last time rain or watering wetted the bed."""
        try:
            cfg = load_config(data)
        except SignalConfigError as exc:
            raise HTTPException(500, f"the site's signal configuration is broken: {exc}") from exc
        by_id = {s["id"]: s for s in data.latest_signals()}
        now_ms = clock_ms(clock)
        beds = []
        for s in by_id.values():
            if s["signal"] != "soil.depletion":
                continue
            scope = s["scope"]
            node, _, prefix = scope.partition("/")
            name = f"{prefix}.soil.moisture" if prefix else "soil.moisture"
            bed = bed_params(cfg, scope)
            fc, wp = cfg.soils[bed["soil"]]
            # the p the depletion signal used (Table 22, adjusted for ETc), else the table's
            p = (s.get("numbers") or {}).get("p") or bed["p"] or cfg.depletion[bed["crop"]]
            need = by_id.get(f"soil.irrigation_need@{scope}", {})
            temp = by_id.get(f"soil.sowing_temperature@{scope}") or \
                by_id.get(f"soil.sowing_temperature@{node}")
            unit, times, values = store.series(node, name, now_ms - WETTING_DAYS * 86_400_000,
                                               now_ms + 1, points=WETTING_DAYS * 24)
            beds.append({
                "scope": scope, "node": node, "series": name, "name": bed["name"] or scope,
                "crop": bed["crop"], "soil": bed["soil"], "area_m2": bed["area_m2"],
                "depletion": s["value"], "band": s["band"], "note": s.get("note"),
                "water_now": None if s["value"] is None else s["value"] >= 1.0,
                "litres": need.get("value"), "signal": s["id"], "t": s.get("t"),
                "moisture": {"latest": values[-1] if values else None, "unit": unit,
                             "latest_ms": times[-1] if times else None,
                             "field_capacity": fc * 100, "wilting_point": wp * 100,
                             "readily_available": (fc - p * (fc - wp)) * 100},
                "temperature": None if not temp else {
                    "signal": temp["id"], "mean_24h": temp["value"],
                    "minimum": (temp.get("threshold") or {}).get("lower"), "band": temp["band"],
                    "note": temp.get("note")},
                "last_wetting_ms": next((times[i] for i in range(len(values) - 1, 0, -1)
                                         if values[i] - values[i - 1] >= WETTING_RISE), None)})
        frosts = [s for s in by_id.values() if s["signal"] == "weather.frost"]
        frost = min(frosts, key=lambda s: (s["value"] is None, s["value"] or 0.0), default=None)
        et0 = next((s for s in by_id.values() if s["signal"] == "weather.et0"), None)
        return {"beds": sorted(beds, key=lambda b: b["scope"]), "frost": frost, "et0": et0,
                "computed_ms": max((int(s["t"]) for s in by_id.values()), default=None)}

    return r
