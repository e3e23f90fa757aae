"""Scopes above a site: a neighbourhood or a municipality rolls up the signals its sites share.

Each site's gateway publishes its signals (eil/v1/<site>/_gateway/signals, or
`eil signals --json` saved to a file); whoever keeps the neighbourhood's picture collects those
and rolls them up. Only totals that add up across sites are rolled up; a site that did not
report a value is named, never silently left out.
"""

from __future__ import annotations

from typing import Any

from gateway.signals.bands import Limits, band, distance

ADDITIVE = ("water.use", "energy.carbon", "soil.irrigation_need", "tools.co2e_avoided",
            "tools.avoided_purchases")


def _site_value(summary: list[dict[str, Any]], signal: str) -> dict[str, Any] | None:
    scope = "library" if signal.startswith("tools.") else "site"
    return next((s for s in summary if s["signal"] == signal and s["scope"] == scope), None)


def rollup(sites: dict[str, list[dict[str, Any]]], scope: str,
           limits: dict[str, tuple[Limits, str]] | None = None) -> list[dict[str, Any]]:
    """`sites`: site name -> its published signal summary. `limits`: signal -> (limits, source)
    for this scope. Returns one entry per rolled-up signal."""
    out = []
    for signal in (*ADDITIVE, "energy.self_sufficiency"):
        entries = {site: _site_value(summary, signal) for site, summary in sites.items()}
        reported = {site: e for site, e in entries.items() if e is not None}
        if not reported:
            continue
        missing = sorted(site for site, e in entries.items()
                         if e is None or e.get("value") is None)
        values = {site: e["value"] for site, e in reported.items() if e.get("value") is not None}
        value: float | None
        if signal == "energy.self_sufficiency":
            imported = sum(reported[s]["numbers"]["import_Wh"] for s in values)
            load = sum(reported[s]["numbers"]["load_Wh"] for s in values)
            value = 1 - imported / load if load and not missing else None
        else:
            value = sum(values.values()) if not missing else None
        unit = next(iter(reported.values()))["unit"]
        entry: dict[str, Any] = {"id": f"{signal}@{scope}", "signal": signal, "scope": scope,
                                 "value": value, "unit": unit, "sites": values,
                                 "missing": missing, "band": None, "distance": None,
                                 "threshold": None}
        if missing:
            entry["note"] = f"no value from {', '.join(missing)}: no {scope} total"
        if limits and signal in limits and value is not None:
            lim, source = limits[signal]
            entry.update(band=band(value, lim), distance=distance(value, lim),
                         threshold={"lower": lim.lower, "upper": lim.upper, "source": source})
        out.append(entry)
    return out
