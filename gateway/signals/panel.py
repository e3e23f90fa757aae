"""The council's impact panel as data: a site's signals grouped per signal (a group led by its
worst member, with its counts per band), a neighbourhood's or municipality's roll-up, and the
CSV export. Pure: the routes (gateway/web/api_signals.py) fetch, these shape."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from gateway.signals.bands import OVERSHOOT, SAFE, SHORTFALL
from gateway.signals.catalogue import DEFS
from gateway.signals.rollup import Scope, rollup

SITE_SCOPES = ("site", "library")  # what a site's council reads first: its totals
BANDS = (SHORTFALL, SAFE, OVERSHOOT)
Json = dict[str, Any]


def _worst(members: list[Json]) -> Json:
    """The member furthest past its threshold (else the first with a value)."""
    ranked = sorted(members, key=lambda m: (m["band"] not in (SHORTFALL, OVERSHOOT),
                                            -(m.get("distance") or 0.0), m["value"] is None))
    return ranked[0]


def site_panel(signals: list[Json], spark: Callable[[str], list[list[float]]]) -> list[Json]:
    """Site totals as they are; every signal kept per node or bed as one group (a panel of 50
    nodes stays readable), led by its worst member. `spark(id)` gives a signal's sparkline
    points (the stored history's; a literal table in tests)."""
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
        entry["history"] = spark(sid)
    order = {sid: i for i, sid in enumerate(DEFS)}
    return sorted(out, key=lambda e: (e["scope"] not in SITE_SCOPES,
                                      order.get(e["signal"], 999)))


def rollup_panel(scope: Scope, sites: dict[str, list[Json]], computed: list[Json] | None = None,
                 spark: Callable[[str], list[list[float]]] = lambda sid: []) -> list[Json]:
    """A scope's roll-up for the panel: the one the last signals run computed (`computed`,
    scopes.json), else computed now from `sites`; with each signal's sparkline."""
    out = [dict(e) for e in computed] if computed is not None else rollup(sites, scope.name,
                                                                          scope.limits)
    for entry in out:
        entry.update(title=DEFS[entry["signal"]].title if entry["signal"] in DEFS else
                     entry["signal"], alert=False, history=spark(entry["id"]),
                     time_to_threshold_s=None)
        if entry["threshold"] is None:
            entry["note"] = entry.get("note") or f"no {scope.level} threshold set for it"
    return out


def panel_csv(panel: Json, by_id: dict[str, Json]) -> str:
    """The panel as CSV: one row per signal; a group's members each get their own row (their
    thresholds may differ: a bed's crop sets its sowing minimum)."""
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
