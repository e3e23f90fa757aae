"""A site's signal summaries on their way to the gateway of the scope above (docs/federation.md).

A site gateway is a node of its neighbourhood: its forwarder publishes SenML packs to the upper
broker on eil/v1/<scope>/<site>/events with its own sequence numbers, and the upper gateway
ingests them exactly like a node's. Each summary of the site's latest signal run is one event
record named `summary.<signal>`, its `vs` the JSON object below, its time the run's time.

A site may also forward chosen reading series of its nodes (`[upstream] series`): they travel
as the site's own readings named "<node>.<quantity>" (series_name), with their units, times,
calibrations and flags.

Only what a roll-up needs travels in a summary, field by field from an allow-list (never a member, never a
pseudonym: signals hold none, and nothing else gets through):

    signal, scope ("site" or "library"), t (ms), value (number or null), unit, band, distance,
    alert, note, threshold {lower, upper, source, set_by}, numbers {name: number},
    inputs {series: quality}
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from contract.errors import ContractError

PREFIX = "summary."
SCOPES = ("site", "library")  # a site's own totals; per-node and per-bed values stay home
MAX_TEXT = 16_384  # bytes of one summary's JSON
_READING_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")  # as contract/senml.py's names
_SIGNAL = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
_TEXT_FIELDS = ("unit", "band", "note")
_THRESHOLD_FIELDS = ("lower", "upper", "source", "set_by")


def name_of(signal: str) -> str:
    """The record name that carries `signal`'s summary."""
    return PREFIX + signal


def series_name(node: str, quantity: str) -> str:
    """The name a forwarded reading series of the site's `node` carries above it (the site is
    the node there, its nodes' quantities its own): "<node>.<quantity>". Raises ContractError
    when that is not a valid reading name."""
    name = f"{node}.{quantity}"
    if not _READING_NAME.match(name) or name.startswith(PREFIX):
        raise ContractError(f"{node}/{quantity} cannot be forwarded: {name!r} is not a reading "
                            "name of at most 64 of a-z, 0-9, '.', '_', '-'")
    return name


def _number(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ContractError(f"summary {what} must be a finite number or null, got {value!r}")
    return float(value)


def _text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 1000:
        raise ContractError(f"summary {what} must be a string of at most 1000 characters")
    return value


def checked(entry: dict[str, Any]) -> dict[str, Any]:
    """The allowed fields of one published signal summary, type-checked. Raises ContractError
    naming the field that is wrong."""
    signal = entry.get("signal")
    if not isinstance(signal, str) or not _SIGNAL.match(signal) or len(signal) > 56:
        raise ContractError(f"summary signal {signal!r} is not a signal id like water.use")
    if entry.get("scope") not in SCOPES:
        raise ContractError(f"summary of {signal}: scope {entry.get('scope')!r} is not one of "
                            f"{', '.join(SCOPES)}")
    t = entry.get("t")
    if isinstance(t, bool) or not isinstance(t, int) or t <= 0:
        raise ContractError(f"summary of {signal}: t must be the run's time in ms, got {t!r}")
    out: dict[str, Any] = {"signal": signal, "scope": entry["scope"], "t": t,
                           "value": _number(entry.get("value"), f"{signal} value"),
                           "distance": _number(entry.get("distance"), f"{signal} distance"),
                           "alert": bool(entry.get("alert", False))}
    for key in _TEXT_FIELDS:
        out[key] = _text(entry.get(key), f"{signal} {key}")
    th = entry.get("threshold")
    if th is not None:
        if not isinstance(th, dict):
            raise ContractError(f"summary of {signal}: threshold must be an object or null")
        out["threshold"] = {
            "lower": _number(th.get("lower"), f"{signal} threshold lower"),
            "upper": _number(th.get("upper"), f"{signal} threshold upper"),
            "source": _text(th.get("source"), f"{signal} threshold source"),
            "set_by": _text(th.get("set_by"), f"{signal} threshold set_by")}
    else:
        out["threshold"] = None
    for key, kind in (("numbers", "number"), ("inputs", "quality")):
        raw = entry.get(key) or {}
        if not isinstance(raw, dict) or len(raw) > 64:
            raise ContractError(f"summary of {signal}: {key} must be an object of at most 64")
        if kind == "number":
            out[key] = {str(k): _number(v, f"{signal} numbers.{k}") for k, v in raw.items()}
        else:
            out[key] = {_text(str(k), f"{signal} inputs key"): _text(v, f"{signal} inputs.{k}")
                        for k, v in raw.items()}
    return out


def encode(entry: dict[str, Any]) -> tuple[str, str]:
    """(record name, vs text) of one published signal summary."""
    ok = checked(entry)
    text = json.dumps(ok, separators=(",", ":"), sort_keys=True, allow_nan=False)
    if len(text.encode()) > MAX_TEXT:
        raise ContractError(f"summary of {ok['signal']} is {len(text)} bytes, more than "
                            f"{MAX_TEXT}")
    return name_of(ok["signal"]), text


def decode(name: str, text: str) -> dict[str, Any]:
    """A summary record as the upper gateway stored it: the checked fields. Raises
    ContractError when it is not one."""
    if not name.startswith(PREFIX):
        raise ContractError(f"{name!r} is not a summary record (names start with {PREFIX!r})")
    if len(text.encode()) > MAX_TEXT:
        raise ContractError(f"summary {name} is more than {MAX_TEXT} bytes")
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise ContractError(f"summary {name} is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ContractError(f"summary {name} is not a JSON object")
    entry = checked(raw)
    if name_of(entry["signal"]) != name:
        raise ContractError(f"record {name} carries the summary of {entry['signal']}")
    return entry
