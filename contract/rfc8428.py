"""Packs of third-party devices that speak plain RFC 8428 SenML (JSON), without this contract's
sequence numbers: their rules, in one place (docs/contract.md, "Third-party SenML devices").

- A pack is a JSON array of records. Base fields (bn, bt, bu, bv, bs, bver) apply to the record
  that carries them and to every later one until changed (RFC 8428 section 4.1).
- bver: this gateway understands SenML version 10; a pack asking for a later version is
  refused whole (section 4.4), as is one with an unknown field ending in "_" (a field the
  sender says must be understood, section 4.4).
- Name = bn + n, 1-128 of A-Z a-z 0-9 - : . / _ starting with a letter or digit (section 4.5.1).
- Time = bt + t, in seconds; a time below 2**28 is relative to now (section 4.5.3): the
  gateway's clock when the pack arrived. Absolute times before 2000 are refused.
- Value: v (+ bv) is a gauge, s (+ bs) a counter (a sum), each needing a unit (u, or bu) from
  the SenML registry this contract accepts: a number without a unit is refused (units travel
  with values). vs, vb and vd become events (their text: the string, "true"/"false", or the
  base64 data). A record with no value is refused.

A bad record is refused with its reason; the rest of the pack is kept. Identity: (device,
name, time): the gateway stores a reading once, however often it arrives.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from contract.errors import PackError, RecordError
from contract.senml import EARLIEST_TIME, Kind
from contract.units import check_symbol

SENML_VERSION = 10
RELATIVE_BELOW = 2**28  # seconds: a smaller time is relative to now
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-:./_]{0,127}$")
_BASE = {"bn", "bt", "bu", "bv", "bs", "bver"}
_KNOWN = _BASE | {"n", "u", "v", "vs", "vb", "vd", "s", "t", "ut"}


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    name: str
    time: float  # UNIX seconds (relative times resolved)
    kind: Kind
    value: float | None = None
    unit: str | None = None
    text: str | None = None


@dataclass
class DevicePack:
    records: list[DeviceRecord] = field(default_factory=list)
    rejects: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)  # index, why


def _number(x: object, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise RecordError(f"{what} must be a number, got {x!r}")
    try:
        f = float(x)
    except OverflowError:
        raise RecordError(f"{what} {x!r} is too large") from None
    if not math.isfinite(f):
        raise RecordError(f"{what} {x!r} is not finite")
    return f


def _text(x: object, what: str) -> str:
    if not isinstance(x, str):
        raise RecordError(f"{what} must be a string, got {x!r}")
    return x


def decode_device_pack(payload: bytes, now: float, max_bytes: int) -> DevicePack:
    """Decode an RFC 8428 JSON pack (PackError: the whole pack is refused)."""
    if len(payload) > max_bytes:
        raise PackError(f"pack of {len(payload)} bytes exceeds the limit of {max_bytes}")
    try:
        records = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PackError(f"not JSON: {exc}") from None
    if not isinstance(records, list) or not records:
        raise PackError("a SenML pack is a non-empty JSON array of records")
    base: dict[str, Any] = {"bn": "", "bt": 0.0, "bu": None, "bv": 0.0, "bs": 0.0}
    out = DevicePack()
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise PackError(f"record {i} is not a JSON object")
        must = sorted(k for k in rec if k.endswith("_") and k not in _KNOWN)
        if must:
            raise PackError(f"record {i} has field(s) {', '.join(must)} that must be "
                            "understood (RFC 8428 section 4.4) and this gateway does not")
        if "bver" in rec:
            bver = rec["bver"]
            if isinstance(bver, bool) or not isinstance(bver, int) or bver < 1:
                raise PackError(f"record {i}: bver must be a positive integer, got {bver!r}")
            if bver > SENML_VERSION:
                raise PackError(f"bver {bver}: this gateway understands SenML version "
                                f"{SENML_VERSION} (RFC 8428) and refuses later ones")
        try:
            for key in ("bt", "bv", "bs"):
                if key in rec:
                    base[key] = _number(rec[key], key)
            for key in ("bn", "bu"):
                if key in rec:
                    base[key] = _text(rec[key], key)
            out.records.append(_record(rec, base, now))
        except RecordError as exc:
            out.rejects.append((i, f"record {i}: {exc}", rec))
    return out


def _record(rec: dict[str, Any], base: dict[str, Any], now: float) -> DeviceRecord:
    name = base["bn"] + _text(rec.get("n", ""), "n")
    if not _NAME.match(name):
        raise RecordError(f"name {name!r} (bn + n) must be 1-128 of A-Z, a-z, 0-9, "
                          "'-', ':', '.', '/', '_', starting with a letter or digit")
    t = base["bt"] + _number(rec.get("t", 0.0), "t")
    if t < RELATIVE_BELOW:
        t = now + t
    if t < EARLIEST_TIME:
        raise RecordError(f"time {t!r} is before 2000-01-01")
    unit = rec["u"] if "u" in rec else base["bu"]
    given = [k for k in ("v", "vs", "vb", "vd", "s") if k in rec]
    if not given:
        raise RecordError("no value (v, vs, vb, vd or s)")
    if len(given) > 1:
        raise RecordError(f"more than one value ({', '.join(given)}): one reading a record")
    key = given[0]
    if key in ("v", "s"):
        if unit is None:
            raise RecordError(f"{name}: a number without a unit (u or bu) is not stored: "
                              "units travel with values")
        check_symbol(_text(unit, "u"))
        value = _number(rec[key], key) + (base["bv"] if key == "v" else base["bs"])
        return DeviceRecord(name, t, Kind.GAUGE if key == "v" else Kind.COUNTER, value, unit)
    if key == "vb":
        if not isinstance(rec["vb"], bool):
            raise RecordError(f"vb must be true or false, got {rec['vb']!r}")
        return DeviceRecord(name, t, Kind.EVENT, text="true" if rec["vb"] else "false")
    return DeviceRecord(name, t, Kind.EVENT, text=_text(rec[key], key))
