"""Scopes above a site: a neighbourhood or a municipality rolls up the signals its sites share.

Each site's gateway publishes its signals (eil/v1/<site>/_gateway/signals, or
`eil signals --json` saved to a file); whoever keeps the neighbourhood's picture collects those
and rolls them up. Only totals that add up across sites are rolled up; a site that did not
report a value is named, never silently left out.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract import summaries
from contract.errors import ContractError, TopicError
from contract.topics import check_id
from gateway.signals.bands import Limits, band, distance
from gateway.signals.catalogue import DEFS
from gateway.signals.config import SignalConfigError, allocation
from gateway.store.data_dir import DataDir

LEVELS = ("neighbourhood", "municipality")

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
        ratio = signal == "energy.self_sufficiency"
        missing = sorted(site for site, e in entries.items()
                         if e is None or e.get("value") is None
                         or (ratio and not _energy(e)))  # a ratio without its energies
        values = {site: e["value"] for site, e in reported.items() if site not in missing}
        value: float | None
        numbers: dict[str, float] = {}
        if ratio:
            energies = [e for s in values if (e := _energy(reported[s])) is not None]
            imported = sum(e[0] for e in energies)
            load = sum(e[1] for e in energies)
            value = 1 - imported / load if load and not missing else None
            numbers = {"import_Wh": imported, "load_Wh": load}
        else:
            value = sum(values.values()) if not missing else None
        unit = next(iter(reported.values()))["unit"]
        entry: dict[str, Any] = {"id": f"{signal}@{scope}", "signal": signal, "scope": scope,
                                 "value": value, "unit": unit, "sites": values,
                                 "sites_t": {site: e.get("t") for site, e in reported.items()},
                                 "missing": missing, "band": None, "distance": None,
                                 "threshold": None, "numbers": numbers}
        if missing:
            entry["note"] = f"no value from {', '.join(missing)}: no {scope} total"
        if limits and signal in limits and value is not None:
            lim, source = limits[signal]
            entry.update(band=band(value, lim), distance=distance(value, lim),
                         threshold={"lower": lim.lower, "upper": lim.upper, "source": source})
        out.append(entry)
    return out


def _energy(entry: dict[str, Any]) -> tuple[float, float] | None:
    """(imported, load) Wh of a self-sufficiency summary, None without them."""
    n = entry.get("numbers") or {}
    imported, load = n.get("import_Wh"), n.get("load_Wh")
    if isinstance(imported, int | float) and isinstance(load, int | float):
        return float(imported), float(load)
    return None


@dataclass(frozen=True)
class Scope:
    """A scope above the site, as one gateway's panel shows it. Its sites' summaries come
    either from their forwarders (`sites`: the member sites, which this gateway's store holds
    as nodes: docs/federation.md; this gateway's own site counts only if listed), or as JSON
    files (`summaries`: this site's own summary plus a file per other site, collected by
    whatever the sites agreed on)."""
    name: str
    title: str
    level: str
    summaries: tuple[str, ...]  # glob patterns, relative to the data directory
    limits: dict[str, tuple[Limits, str]]
    sites: tuple[str, ...] = ()


def read_summary(path: Path) -> list[dict[str, Any]]:
    try:
        summary = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SignalConfigError(f"{path}: not a signal summary ({exc})") from exc
    if not isinstance(summary, list) or not all(isinstance(s, dict) and "signal" in s
                                                for s in summary):
        raise SignalConfigError(f"{path}: not a signal summary (expected a JSON array of "
                                f"signals)")
    return summary


def read_limits(raw: object, where: str) -> dict[str, tuple[Limits, str]]:
    """[thresholds."<signal>"] lower / upper / source (required) of a rolled-up scope."""
    if not isinstance(raw, dict):
        raise SignalConfigError(f"{where}: thresholds must be a table")
    limits = {}
    for sid, t in raw.items():
        if not isinstance(t, dict) or not str(t.get("source") or "").strip():
            raise SignalConfigError(f"{where}.{sid}: source is required")
        for key in ("lower", "upper"):
            if t.get(key) is not None and not isinstance(t[key], int | float):
                raise SignalConfigError(f"{where}.{sid}.{key}: not a number")
        try:
            limits[sid] = (Limits(t.get("lower"), t.get("upper")), str(t["source"]))
        except ValueError as exc:
            raise SignalConfigError(f"{where}.{sid}: {exc}") from exc
    return limits


def load_scopes(data: DataDir) -> list[Scope]:
    path = data.scopes_file
    if not path.exists():
        return []
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SignalConfigError(f"{path}: {exc}") from exc
    out = []
    for name, t in raw.get("scopes", {}).items():
        where = f"{path}: scopes.{name}"
        if not isinstance(t, dict):
            raise SignalConfigError(f"{where}: must be a table")
        level = t.get("level", "neighbourhood")
        if level not in LEVELS:
            raise SignalConfigError(f"{where}.level: {level!r} is not one of {', '.join(LEVELS)}")
        globs = t.get("summaries", [])
        if isinstance(globs, str):
            globs = [globs]
        if not isinstance(globs, list) or not all(isinstance(g, str) for g in globs):
            raise SignalConfigError(f"{where}.summaries: a list of file patterns")
        members = t.get("sites", [])
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise SignalConfigError(f"{where}.sites: a list of site ids")
        for m in members:
            try:
                check_id(m, "site")
            except TopicError as exc:
                raise SignalConfigError(f"{where}.sites: {exc}") from None
        if members and globs:
            raise SignalConfigError(f"{where}: give its sites (forwarded) or its summaries "
                                    "(files), not both")
        limits = read_limits(t.get("thresholds", {}), f"{where}.thresholds")
        for sid, raw in (t.get("allocations") or {}).items():
            if sid in limits:
                raise SignalConfigError(f"{where}: {sid} has a threshold and an allocation: "
                                        "give one")
            if not isinstance(raw, dict):
                raise SignalConfigError(f"{where}.allocations.{sid}: must be a table")
            unit = DEFS[sid].unit if sid in DEFS else ""
            th = allocation(raw, f"{where}.allocations.{sid}", sid, unit, holder=level)
            limits[sid] = (th.limits, th.source)
        out.append(Scope(name, str(t.get("title", name)), level, tuple(globs), limits,
                         tuple(members)))
    return out


def forwarded(latest: Iterable[dict[str, Any]], scope: Scope, site: str
              ) -> dict[str, list[dict[str, Any]]]:
    """Member site -> the summaries of its newest forwarded run, from this gateway's latest
    stored events (Store.latest(): the member sites are its nodes); a member that forwarded
    nothing yet has an empty summary (the roll-up names it as missing)."""
    out: dict[str, list[dict[str, Any]]] = {m: [] for m in scope.sites}
    for r in latest:
        name = str(r["name"])
        if r["site"] != site or r["node"] not in out or not name.startswith(summaries.PREFIX):
            continue
        try:
            out[str(r["node"])].append(summaries.decode(name, str(r["text"])))
        except ContractError:  # an event named summary.* that is not one this gateway reads
            continue  # (a forged record, another version's): left out of the roll-up
    for member, entries in out.items():
        newest = max((e["t"] for e in entries), default=None)
        out[member] = [e for e in entries if e["t"] == newest]
    return out


def scope_sites(scope: Scope, data: DataDir, site: str, own: list[dict[str, Any]],
                latest: Iterable[dict[str, Any]] = ()) -> dict[str, list[dict[str, Any]]]:
    """Site name -> summary. A scope of forwarding sites: each member's newest forwarded run
    (from `latest`, the store's latest values), and this site's own summary if it is a member.
    A scope of files: this site's own, and every other site's file (named after it)."""
    if scope.sites:
        sites = forwarded(latest, scope, site)
        if site in sites:
            sites[site] = own
        return sites
    sites = {site: own}
    for pattern in scope.summaries:
        for path in sorted(data.root.glob(pattern)):
            if path.stem != site:
                sites[path.stem] = read_summary(path)
    return sites
