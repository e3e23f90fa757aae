"""Thresholds with their provenance, and the site's parameters: the defaults shipped in
defaults.toml, overridden by the site's own `thresholds.toml` in the gateway data directory,
where every override must say why, who set it and when."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from gateway.errors import GatewayError
from gateway.signals.bands import Limits
from gateway.store.data_dir import DataDir

DEFAULTS = Path(__file__).with_name("defaults.toml")


class SignalConfigError(GatewayError):
    pass


@dataclass(frozen=True)
class Threshold:
    limits: Limits
    unit: str
    source: str
    rationale: str
    set_by: str
    set_at: str
    reason: str | None = None  # an override's reason
    replaces: Threshold | None = None  # the default it overrides


@dataclass
class SignalConfig:
    thresholds: dict[str, Threshold]
    crops: dict[str, float]
    soils: dict[str, tuple[float, float]]
    site: dict[str, Any]
    stages: dict[str, tuple[tuple[int, int, int, int], tuple[float, float, float]]] = field(
        default_factory=dict)
    beds: dict[str, dict[str, Any]] = field(default_factory=dict)
    allocations: dict[str, Threshold] = field(default_factory=dict)
    depletion: dict[str, float] = field(default_factory=dict)  # crop -> p (FAO-56 Table 22)
    depletion_source: str = ""


def _threshold(raw: dict[str, Any], where: str, override: bool) -> Threshold:
    def text(key: str) -> str:
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise SignalConfigError(f"{where}: {key} is required (a non-empty text)")
        return value

    for key in ("lower", "upper"):
        if key in raw and not isinstance(raw[key], int | float):
            raise SignalConfigError(f"{where}: {key} must be a number")
    if "lower" not in raw and "upper" not in raw:
        raise SignalConfigError(f"{where}: needs lower and/or upper")
    try:
        limits = Limits(raw.get("lower"), raw.get("upper"))
    except ValueError as exc:
        raise SignalConfigError(f"{where}: {exc}") from None
    return Threshold(limits, text("unit"), text("source"), text("rationale"), text("set_by"),
                     str(raw.get("set_at") or text("set_at")),
                     text("reason") if override else None)


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SignalConfigError(f"{path}: {exc}") from exc


def load_config(data: DataDir | None) -> SignalConfig:
    """The defaults, then the site's own thresholds.toml (if `data` has one)."""
    base = _read(DEFAULTS)
    thresholds = {sid: _threshold(raw, f"{DEFAULTS}: thresholds.{sid}", False)
                  for sid, raw in base["thresholds"].items()}
    cfg = SignalConfig(thresholds, dict(base["crops"]),
                       {k: (v["fc"], v["wp"]) for k, v in base["soils"].items()},
                       dict(base["site"]),
                       {k: (tuple(v["lengths"]), tuple(v["kc"])) for k, v in base["stages"].items()})
    cfg.depletion_source = base["depletion"].pop("source")
    cfg.depletion = dict(base["depletion"])
    if missing := set(cfg.crops) - set(cfg.depletion):
        raise SignalConfigError(f"{DEFAULTS}: depletion: no p for {', '.join(sorted(missing))}")
    site_path = data.thresholds_file if data is not None else None
    if site_path is None or not site_path.exists():
        return cfg
    site = _read(site_path)
    for sid, raw in site.get("thresholds", {}).items():
        if sid not in thresholds:
            raise SignalConfigError(f"{site_path}: thresholds.{sid}: no such signal; known: "
                                    f"{', '.join(sorted(thresholds))}")
        merged = {"unit": thresholds[sid].unit, **raw}
        new = _threshold(merged, f"{site_path}: thresholds.{sid}", True)
        cfg.thresholds[sid] = Threshold(new.limits, new.unit, new.source, new.rationale,
                                        new.set_by, new.set_at, new.reason, thresholds[sid])
    for key, value in site.get("site", {}).items():
        if key not in cfg.site:
            raise SignalConfigError(f"{site_path}: site.{key}: unknown parameter; known: "
                                    f"{', '.join(sorted(cfg.site))}")
        cfg.site[key] = value
    for bed, params in site.get("beds", {}).items():
        cfg.beds[bed] = _bed(params, f"{site_path}: beds.{bed}", cfg)
    for sid, raw in site.get("allocations", {}).items():
        cfg.allocations[sid] = _allocation(raw, f"{site_path}: allocations.{sid}", sid, cfg)
    return cfg


# site totals a shared budget can be split into
ALLOCATED = ("energy.carbon", "water.use", "soil.irrigation_need")
RULES = ("per_area", "per_member", "per_household")


def _allocation(raw: dict[str, Any], where: str, sid: str, cfg: SignalConfig) -> Threshold:
    unit = cfg.thresholds[sid].unit if sid in cfg.thresholds else "l"
    return allocation(raw, where, sid, unit, cfg.thresholds.get(sid), "site")


def allocation(raw: dict[str, Any], where: str, sid: str, unit: str,
               replaces: Threshold | None = None, holder: str = "site") -> Threshold:
    """A shared limit (a municipality's, a neighbourhood's) turned into this site's (or this
    scope's: `holder`) own by a declared rule: limit x local / total, where local and total
    count what the rule shares by (square metres, members, households)."""
    if sid not in ALLOCATED:
        raise SignalConfigError(f"{where}: only {', '.join(ALLOCATED)} take an allocation")
    for key in ("limit", "local", "total"):
        if not isinstance(raw.get(key), int | float) or raw[key] <= 0:
            raise SignalConfigError(f"{where}: {key} must be a positive number")
    if raw["local"] > raw["total"]:
        raise SignalConfigError(f"{where}: local ({raw['local']}) exceeds total ({raw['total']})")
    if raw.get("rule") not in RULES:
        raise SignalConfigError(f"{where}: rule must be one of {', '.join(RULES)}")
    for key in ("of", "source", "set_by", "set_at"):
        if not str(raw.get(key) or "").strip():
            raise SignalConfigError(f"{where}: {key} is required")
    share = raw["local"] / raw["total"]
    return Threshold(
        Limits(upper=raw["limit"] * share), unit,
        f"{raw['source']}; allocated {raw['rule'].replace('_', ' ')}: {raw['limit']:g} {unit} "
        f"for the {raw['of']} x {raw['local']:g} / {raw['total']:g}",
        str(raw.get("rationale") or f"this {holder}'s share of the {raw['of']}'s limit"),
        str(raw["set_by"]), str(raw["set_at"]), raw.get("reason"), replaces)


# p None: the crop's p from FAO-56 Table 22, adjusted for the day's ETc (soil.py); a bed's own
# p (a steward's measured or local figure) is used as it is
BED_DEFAULTS: dict[str, Any] = {"soil": "loam", "crop": "tomato", "root_depth_m": 0.3,
                                "area_m2": 1.0, "efficiency": 0.8, "p": None, "sown": None,
                                "name": None}


def _bed(params: dict[str, Any], where: str, cfg: SignalConfig) -> dict[str, Any]:
    unknown = set(params) - set(BED_DEFAULTS)
    if unknown:
        raise SignalConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    bed = {**BED_DEFAULTS, **params}
    if bed["soil"] not in cfg.soils:
        raise SignalConfigError(f"{where}: soil {bed['soil']!r} is not one of "
                                f"{', '.join(cfg.soils)}")
    if bed["crop"] not in cfg.crops:
        raise SignalConfigError(f"{where}: crop {bed['crop']!r} is not one of "
                                f"{', '.join(cfg.crops)}")
    for key in ("root_depth_m", "area_m2", "efficiency"):
        if not isinstance(bed[key], int | float) or bed[key] <= 0:
            raise SignalConfigError(f"{where}: {key} must be a positive number")
    if bed["p"] is not None and (not isinstance(bed["p"], int | float) or not 0 < bed["p"] < 1):
        raise SignalConfigError(f"{where}: p must be a fraction between 0 and 1 (FAO-56 Table "
                                "22), or left out to take the crop's")
    if bed["name"] is not None and not (isinstance(bed["name"], str) and bed["name"].strip()):
        raise SignalConfigError(f"{where}: name must be a text (name = \"Bed 3, tomatoes\")")
    if bed["sown"] is not None and not isinstance(bed["sown"], date):
        raise SignalConfigError(f"{where}: sown must be a date (sown = 2026-04-15)")
    return bed


def bed_params(cfg: SignalConfig, bed: str) -> dict[str, Any]:
    return cfg.beds.get(bed, dict(BED_DEFAULTS))
