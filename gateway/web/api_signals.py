"""The impact signals on the web: latest values, their history and explanation, the council
panel of a scope (with export), and the gardener's beds. Public: signals carry no member data."""

from __future__ import annotations

import json
import time
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as Path_
from fastapi.responses import Response

from core.clock import Clock, clock_ms
from gateway.signals.config import SignalConfigError, load_config
from gateway.signals.engine import ALERT_RULE, evaluate
from gateway.signals.garden import garden_view
from gateway.signals.panel import SITE_SCOPES, panel_csv, rollup_panel, site_panel
from gateway.signals.result import result_json
from gateway.signals.rollup import Scope, load_scopes, scope_sites
from gateway.store import DataDir, Store

MAX_TIME_MS = 4_102_444_800_000  # 2100-01-01: later times are mistakes, not questions
Json = dict[str, Any]


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
                    entries = site_panel(own, lambda sid: history.sparkline(sid, now_ms))
            else:
                entries = site_panel(own, lambda sid: [])
            title, level, sites = f"Site {site}", "site", [site]
        else:
            chosen = next((s for s in known if s.name == scope), None)
            if chosen is None:
                raise HTTPException(404, f"no scope {scope!r}; there are: "
                                         f"{', '.join(x['id'] for x in levels)}")
            try:
                by_site = scope_sites(chosen, data, site, own,
                                      store.latest() if chosen.sites else ())
            except SignalConfigError as exc:
                raise HTTPException(500, str(exc)) from exc
            scheduled = data.latest_rollups().get(chosen.name) if chosen.sites else None
            if data.has_signal_history():
                with data.signal_history() as history:
                    entries = rollup_panel(chosen, by_site, scheduled,
                                           lambda sid: history.sparkline(sid, now_ms))
            else:
                entries = rollup_panel(chosen, by_site, scheduled)
            title, level, sites = chosen.title, chosen.level, sorted(by_site)
            if scheduled:  # the run that rolled it up, not this site's own
                own = scheduled
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
        return {**result_json(result, at_ms, detail=True), "published": stored is not None,
                "published_value": None if stored is None else stored[0],
                "alert_rule": ALERT_RULE}

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
        body, media = ((panel_csv(shown, by_id), "text/csv; charset=utf-8") if format == "csv" else
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
        return garden_view(data.latest_signals(), cfg, clock_ms(clock), store.series)

    return r
