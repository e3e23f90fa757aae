"""SenML JSON packs (RFC 8428) as the EIL contract uses them.

A pack is a JSON array of records. The first record carries the base fields: `bn` (base name,
"<site>/<node>/"), `bt` (base time, absolute UNIX seconds) and the EIL extension `bfloor` (the
oldest sequence number the node still holds unacknowledged). Each record carries `n` (quantity
name), `t` (seconds relative to `bt`), `seq` (the EIL extension: node-assigned, strictly
increasing, the identity of the reading together with the node) and one value:

    gauge    "v"  number, with "u" (SenML unit symbol)
    counter  "s"  number, cumulative sum, with "u"
    event    "vs" string (what happened to whom: a tool tag, a member pseudonym...), optional "ref"

Two optional EIL extensions on gauge and counter records:
    "cal"  the identity of the calibration the value was computed with (edge/calibration.py),
           so a value can be traced to its calibration points and re-computed from its raw twin
    "q"    a QARTOD quality flag set at the edge: 3 suspect, 4 fail (outside the sensor's
           possible range). Absent means not evaluated at the edge.

Decoding is a pure function. Faults that make the whole pack unusable raise PackError; faults of
one record are returned as RecordReject so the rest of the pack is kept. `decode_rows` is the
decoder (the gateway's hot path: plain tuples, each name, unit and calibration checked once per
pack; with `columns`, a plain pack checked and returned column by column per quantity);
`decode_pack` gives the same result as Reading objects.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from operator import itemgetter, sub
from typing import Any

from contract.errors import PackError, RecordError
from contract.topics import NodeId
from contract.units import UNITS, check_symbol

try:  # the gateway installs orjson (5x faster); a node, which only encodes, need not
    import orjson
except ImportError:  # pragma: no cover - exercised on nodes
    orjson = None  # type: ignore[assignment]

MAX_PACK_BYTES = 256 * 1024
MAX_RECORDS = 5000
EARLIEST_TIME = 946_684_800.0  # 2000-01-01: anything older is an unset clock, not a reading
RELATIVE_TIME_LIMIT = 2**28  # RFC 8428: smaller times are relative to "now"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_SENML_VERSION = 10
_KNOWN_FIELDS = {"bn", "bt", "bu", "bv", "bs", "bver", "bfloor", "n", "u", "v", "s", "vs", "vb",
                 "vd", "t", "ut", "seq", "ref", "cal", "q"}
_CAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
# a record with only these fields needs none of the base-field and must-understand handling
_PLAIN_FIELDS = frozenset({"n", "u", "v", "s", "vs", "t", "seq", "ref", "cal", "q"})
_FINITE_TYPES = (int, float)
_INT_EXACT = 2**53  # larger ints lose precision as floats: the slow path decides
EDGE_FLAGS = {3: "suspect", 4: "fail"}  # QARTOD flags a node may set


class Kind(StrEnum):
    GAUGE = "gauge"
    COUNTER = "counter"
    EVENT = "event"


@dataclass(frozen=True, slots=True)
class Reading:
    """One reading or event, as the node produced it. (node, seq) is its identity."""

    seq: int
    time: float  # UNIX seconds, millisecond resolution
    name: str
    kind: Kind
    value: float | None = None
    unit: str | None = None
    text: str | None = None
    ref: str | None = None
    cal: str | None = None  # calibration identity
    q: int | None = None  # QARTOD flag set at the edge (EDGE_FLAGS)

    def __post_init__(self) -> None:
        # Validate at construction so an agent cannot put a reading on the wire that the
        # gateway would reject; the same rules run again when decoding.
        _check_reading(self)


@dataclass(frozen=True, slots=True)
class RecordReject:
    seq: int
    reason: str
    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Pack:
    node: NodeId
    floor: int | None
    readings: list[Reading] = field(default_factory=list)
    rejects: list[RecordReject] = field(default_factory=list)


def _check_reading(r: Reading) -> None:
    if not isinstance(r.seq, int) or isinstance(r.seq, bool) or r.seq < 1:
        raise RecordError(f"seq must be a positive integer, got {r.seq!r}")
    if not _NAME.match(r.name):
        raise RecordError(f"name {r.name!r} must be 1-64 of a-z, 0-9, '.', '_', '-'")
    if not math.isfinite(r.time) or r.time < EARLIEST_TIME:
        raise RecordError(f"time {r.time!r} is not an absolute UNIX time after 2000-01-01")
    if r.kind is Kind.EVENT:
        if not isinstance(r.text, str) or r.value is not None:
            raise RecordError(f"event {r.name!r} needs a string value (vs) and no number")
        if r.ref is not None and not isinstance(r.ref, str):
            raise RecordError(f"event {r.name!r}: ref must be a string")
    else:
        if isinstance(r.value, bool) or not isinstance(r.value, int | float):
            raise RecordError(f"{r.kind} {r.name!r} needs a numeric value, got {r.value!r}")
        if not math.isfinite(r.value):
            raise RecordError(f"{r.kind} {r.name!r} value {r.value!r} is not finite")
        if r.unit is None:
            raise RecordError(f"{r.kind} {r.name!r} has no unit: units travel with values")
        check_symbol(r.unit)
        if r.text is not None or r.ref is not None:
            raise RecordError(f"{r.kind} {r.name!r} carries a string value")
    if r.cal is not None and (r.kind is Kind.EVENT or not isinstance(r.cal, str)
                              or not _CAL.match(r.cal)):
        raise RecordError(f"cal {r.cal!r} must be 1-64 of A-Z, a-z, 0-9, '.', '_', ':', '-' "
                          "on a gauge or counter")
    if r.q is not None and (r.kind is Kind.EVENT or type(r.q) is not int  # a list is unhashable
                            or r.q not in EDGE_FLAGS):
        raise RecordError(f"q {r.q!r} must be one of {sorted(EDGE_FLAGS)} (QARTOD) on a gauge or "
                          "counter")


def _ms(x: float) -> float:
    return round(x, 3)


def encode_pack(node: NodeId, readings: Sequence[Reading], floor: int | None = None) -> bytes:
    """SenML JSON for `readings` of `node` (compact; base time = first reading's time)."""
    if not readings:
        raise PackError("cannot encode an empty pack")
    bt = _ms(readings[0].time)
    out: list[dict[str, Any]] = []
    for i, r in enumerate(readings):
        rec: dict[str, Any] = {}
        if i == 0:
            rec["bn"] = node.base_name
            rec["bt"] = bt
            if floor is not None:
                rec["bfloor"] = floor
        rec["n"] = r.name
        dt = _ms(r.time - bt)
        if dt:
            rec["t"] = dt
        if r.kind is Kind.EVENT:
            rec["vs"] = r.text
            if r.ref is not None:
                rec["ref"] = r.ref
        else:
            rec["u"] = r.unit
            rec["v" if r.kind is Kind.GAUGE else "s"] = r.value
            if r.cal is not None:
                rec["cal"] = r.cal
            if r.q is not None:
                rec["q"] = r.q
        rec["seq"] = r.seq
        out.append(rec)
    return json.dumps(out, separators=(",", ":"), allow_nan=False).encode()


def _int_field(rec: dict[str, Any], key: str, index: int) -> int:
    value = rec.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PackError(f"record {index}: {key!r} must be a positive integer, got {value!r}")
    return value


def _check_version(bver: Any, index: int) -> None:
    """RFC 8428 section 4.4: a receiver refuses only a pack of a higher version than it knows."""
    if isinstance(bver, bool) or not isinstance(bver, int) or bver < 1:
        raise PackError(f"record {index}: bver must be a positive integer, got {bver!r}")
    if bver > _SENML_VERSION:
        raise PackError(f"record {index}: SenML version bver={bver} is newer than this gateway "
                        f"reads (versions up to {_SENML_VERSION}, RFC 8428)")


def _number(value: Any, what: str) -> float:
    try:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
                value):
            raise RecordError(f"{what} must be a finite number, got {value!r}")
        return float(value)
    except OverflowError:  # an integer too large for a float
        raise RecordError(f"{what} must be a finite number, got an integer of "
                          f"{len(str(abs(value)))} digits") from None


# One decoded reading: the fields of Reading, in its order.
Row = tuple[int, float, str, "Kind", float | None, str | None, str | None, str | None,
            str | None, int | None]


@dataclass(slots=True)
class SeriesColumns:
    """One quantity's readings of a pack, column by column, in the pack's order (the bulk path:
    a node sending its backlog after an outage, hundreds of readings of a few quantities)."""

    name: str
    kind: Kind
    unit: str
    seqs: list[int]
    times_ms: list[int]  # round(Reading.time * 1000)
    values: list[float]
    cals: list[str | None]
    qs: list[int | None]


@dataclass(frozen=True, slots=True)
class PackRows:
    node: NodeId
    floor: int | None
    rows: list[Row] = field(default_factory=list)
    rejects: list[RecordReject] = field(default_factory=list)
    series: list[SeriesColumns] = field(default_factory=list)  # decode_rows(columns=True)


def decode_pack(payload: bytes, node: NodeId, max_bytes: int = MAX_PACK_BYTES) -> Pack:
    """Decode and check a pack that arrived on `node`'s topic.

    Raises PackError when the pack as a whole cannot be trusted; otherwise returns the good
    readings and, separately, the records that failed with their reason.
    """
    p = decode_rows(payload, node, max_bytes)
    return Pack(node, p.floor, [Reading(*row) for row in p.rows], p.rejects)


def _loads(payload: bytes) -> Any:
    if orjson is not None:
        try:
            return orjson.loads(payload)
        except orjson.JSONDecodeError:
            pass  # json decides, with its message (and what orjson refuses: huge ints)
    return json.loads(payload)


def decode_rows(payload: bytes, node: NodeId, max_bytes: int = MAX_PACK_BYTES, *,
                columns: bool = False) -> PackRows:
    """decode_pack's result as plain tuples (Row), without an object per reading. With
    `columns`, a pack of plain gauge and counter records that every rule accepts comes back
    as `series` instead (no rows, no rejects): the same readings, grouped by quantity."""
    if len(payload) > max_bytes:
        raise PackError(f"payload is {len(payload)} bytes, larger than the {max_bytes} byte limit")
    try:
        doc = _loads(payload)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise PackError(f"payload is not valid JSON: {exc}") from None
    if not isinstance(doc, list):
        raise PackError(f"a SenML pack is a JSON array of records, got {type(doc).__name__}")
    if not doc:
        raise PackError("pack holds no records")
    if len(doc) > MAX_RECORDS:
        raise PackError(f"pack holds {len(doc)} records, more than the {MAX_RECORDS} limit")
    if columns:
        grouped = _columns(doc, node)
        if grouped is not None:
            return PackRows(node, grouped[0], series=grouped[1])

    bn, bt, bu, bv, bs = "", 0.0, None, 0.0, 0.0
    floor: int | None = None
    rows: list[Row] = []
    rejects: list[RecordReject] = []
    seen: set[int] = set()
    base = node.base_name
    cut = len(base)
    good: set[tuple[str, str, str | None]] = set()  # (name, unit, cal) already checked
    plain = _PLAIN_FIELDS
    for i, rec in enumerate(doc):
        if type(rec) is not dict:
            raise PackError(f"record {i} is a {type(rec).__name__}, not a JSON object")
        if not rec.keys() <= plain:
            bn, bt, bu, bv, bs, floor = _base_fields(rec, i, bn, bt, bu, bv, bs, floor)
        seq = rec.get("seq")
        if type(seq) is not int or seq < 1:
            if "seq" not in rec:
                raise PackError(
                    f"record {i} has no 'seq': every record of an EIL pack carries this "
                    "contract's required extension 'seq', the node's strictly increasing "
                    "sequence number that makes (node, seq) the reading's identity "
                    "(docs/contract.md, 'SenML packs')")
            seq = _int_field(rec, "seq", i)
        if seq in seen:
            raise PackError(f"record {i}: seq {seq} appears twice in the pack")
        seen.add(seq)
        n = rec.get("n")
        name = bn + n if type(n) is str else bn
        if not name.startswith(base):
            raise PackError(
                f"record {i} is named {name!r} but the topic belongs to node {node}: "
                f"names must start with {base!r}"
            )
        name = name[cut:]
        row = _fast_row(rec, name, seq, bt, bu, bv, bs, good)
        if row is None:  # anything unusual: the full rules decide, with their message
            try:
                r = _decode_record(rec, name, seq, bt, bu, bv, bs)
            except RecordError as exc:
                rejects.append(RecordReject(seq, f"record {i} (seq {seq}): {exc}", rec))
                continue
            row = (r.seq, r.time, r.name, r.kind, r.value, r.unit, r.text, r.ref, r.cal, r.q)
        rows.append(row)
    return PackRows(node, floor, rows, rejects)

_COLUMN_FIELDS = frozenset({"n", "u", "v", "s", "t", "seq", "cal", "q"})
_HEAD_FIELDS = _COLUMN_FIELDS | {"bn", "bt", "bu", "bver", "bfloor"}
_NUMBER_TYPES = {int, float}
_EARLIEST_MS = EARLIEST_TIME * 1000
_LATEST_MS = 10**14  # year 5138: far beyond any clock, and float ms still exact to 1/64


def _numbers(xs: list[Any]) -> list[float] | None:
    """xs as floats when every one is an int or float that a float holds exactly and finite."""
    types = set(map(type, xs))
    if not types <= _NUMBER_TYPES:
        return None
    if int in types and max(abs(x) for x in xs if type(x) is int) >= _INT_EXACT:
        return None
    out = list(map(float, xs))
    return out if all(map(math.isfinite, out)) else None


def _columns(doc: list[Any], node: NodeId) -> tuple[int | None, list[SeriesColumns]] | None:
    """The pack as series columns when it is plain: base fields (bn, bt, bu, bver, bfloor) in
    the first record only, every record a gauge (v) or counter (s) with a unit, seq, absolute
    time, known unit, valid name and calibration. None for anything else, which the
    record-by-record rules then decide with their messages. Each rule runs over a whole
    column at C speed (map, set, all) instead of once per record; the values are those of
    _fast_row (the differential test in tests/contract/test_senml_columns.py)."""
    if set(map(type, doc)) != {dict}:
        return None
    head = doc[0]
    if not (head.keys() <= _HEAD_FIELDS and all(map(_COLUMN_FIELDS.issuperset, doc[1:]))):
        return None
    bn, bt, bu = head.get("bn", ""), head.get("bt", 0.0), head.get("bu")
    bver, floor = head.get("bver", 1), head.get("bfloor")
    if (type(bn) is not str or type(bver) is not int or not 1 <= bver <= _SENML_VERSION
            or (floor is not None and (type(floor) is not int or floor < 1))):
        return None
    base_time = _numbers([bt])
    if base_time is None:
        return None
    n = len(doc)
    seqs = [r.get("seq") for r in doc]
    if set(map(type, seqs)) != {int} or min(seqs) < 1 or len(set(seqs)) != n:
        return None
    names = [r.get("n") for r in doc]
    if set(map(type, names)) != {str}:
        return None
    base, cut = node.base_name, len(node.base_name)
    relative: dict[str, str] = {}
    for short in set(names):
        full = bn + short
        if not full.startswith(base) or not _NAME.match(full[cut:]):
            return None
        relative[short] = full[cut:]
    gauges, sums = [r.get("v") for r in doc], [r.get("s") for r in doc]
    if sums.count(None) == n:
        counter: list[bool] | None = None
        raw = gauges
    elif gauges.count(None) == n:
        counter, raw = None, sums
    else:
        counter = [g is None for g in gauges]
        if not all(map(bool.__ne__, counter, [s is None for s in sums])):
            return None  # both or neither of v and s: the record rules say which
        raw = [s if c else g for g, s, c in zip(gauges, sums, counter, strict=True)]
    values = _numbers(raw)
    offsets = _numbers([r.get("t", 0.0) for r in doc])
    if values is None or offsets is None:
        return None
    if 0.0 in values:  # as value + bv does: a -0.0 is stored as 0.0
        values = [v + 0.0 for v in values]
    start = base_time[0]
    # times straight to integer ms: round(round(x, 3) * 1000) is the nearest integer to the
    # exact x * 1000, which the float product's nearest integer is whenever that product is
    # not within 0.49 of a half (its error is below 1e-3 here); otherwise the record rules
    scaled = [(start + t) * 1000.0 for t in offsets]
    if not all(map(math.isfinite, scaled)):
        return None
    times = list(map(round, scaled))
    if (max(map(abs, map(sub, scaled, times))) >= 0.49 or min(times) <= _EARLIEST_MS
            or max(times) >= _LATEST_MS):
        return None
    units = [r.get("u", bu) for r in doc]
    cals = [r.get("cal") for r in doc]
    qs = [r.get("q") for r in doc]
    if (set(map(type, units)) != {str} or not set(units) <= UNITS.keys()
            or not set(map(type, cals)) <= {str, type(None)}
            or not all(_CAL.match(c) for c in set(cals) - {None})
            or not set(map(type, qs)) <= {int, type(None)}
            or not set(qs) - {None} <= EDGE_FLAGS.keys()):
        return None
    is_counter = counter if counter is not None else [raw is sums] * n
    groups: dict[tuple[str, bool, str], list[int]] = {}
    for i, key in enumerate(zip(names, is_counter, units, strict=True)):
        found = groups.get(key)
        if found is None:
            groups[key] = [i]
        else:
            found.append(i)
    out = []
    for (short, is_sum, unit), idx in groups.items():
        pick = (lambda xs, i=idx[0]: [xs[i]]) if len(idx) == 1 else _picker(idx)
        out.append(SeriesColumns(relative[short], Kind.COUNTER if is_sum else Kind.GAUGE, unit,
                                 pick(seqs), pick(times), pick(values), pick(cals), pick(qs)))
    return floor, out


def _picker(idx: list[int]) -> Any:
    get = itemgetter(*idx)
    return lambda xs: list(get(xs))


def _base_fields(rec: dict[str, Any], i: int, bn: str, bt: float, bu: Any, bv: float,
                 bs: float, floor: int | None
                 ) -> tuple[str, float, Any, float, float, int | None]:
    must_understand = [k for k in rec if k.endswith("_") and k not in _KNOWN_FIELDS]
    if must_understand:
        raise PackError(f"record {i} has must-understand fields {must_understand} (RFC 8428 4.4)")
    if "bver" in rec:
        _check_version(rec["bver"], i)
    if "bn" in rec:
        if not isinstance(rec["bn"], str):
            raise PackError(f"record {i}: bn must be a string")
        bn = rec["bn"]
    if "bfloor" in rec:
        floor = _int_field(rec, "bfloor", i)
    try:
        if "bt" in rec:
            bt = _number(rec["bt"], "bt")
        if "bu" in rec:
            bu = rec["bu"]
        if "bv" in rec:
            bv = _number(rec["bv"], "bv")
        if "bs" in rec:
            bs = _number(rec["bs"], "bs")
    except RecordError as exc:
        raise PackError(f"record {i}: {exc}") from None
    return bn, bt, bu, bv, bs, floor


def _fast_row(rec: dict[str, Any], name: str, seq: int, bt: float, bu: Any, bv: float,
              bs: float, good: set[tuple[str, str, str | None]]) -> Row | None:
    """The row of a plain gauge or counter record that passes every rule; None for anything
    else (events, a field of the wrong type, any fault), which _decode_record then decides. It
    accepts only what _decode_record and Reading's checks accept, with the same values."""
    if "v" in rec:
        if "s" in rec or "vs" in rec:
            return None
        kind, value, offset = Kind.GAUGE, rec["v"], bv
    elif "s" in rec and "vs" not in rec:
        kind, value, offset = Kind.COUNTER, rec["s"], bs
    else:
        return None
    t = rec.get("t", 0.0)
    if (type(value) not in _FINITE_TYPES or type(t) not in _FINITE_TYPES
            or "ref" in rec or "vb" in rec or "vd" in rec):
        return None
    if (type(value) is int and abs(value) >= _INT_EXACT) or (
            type(t) is int and abs(t) >= _INT_EXACT):
        return None
    value = float(value) + offset
    time = bt + float(t)
    if not (math.isfinite(value) and math.isfinite(time)) or abs(time) < RELATIVE_TIME_LIMIT:
        return None
    time = round(time, 3)
    if time < EARLIEST_TIME:
        return None
    unit, cal, q = rec.get("u", bu), rec.get("cal"), rec.get("q")
    if q is not None and (type(q) is not int or q not in EDGE_FLAGS):
        return None
    if type(unit) is not str or (cal is not None and type(cal) is not str):
        return None
    key = (name, unit, cal)
    if key not in good:
        if unit not in UNITS or not _NAME.match(name) or (cal is not None
                                                          and not _CAL.match(cal)):
            return None
        good.add(key)
    return (seq, time, name, kind, value, unit, None, None, cal, q)


def _decode_record(rec: dict[str, Any], name: str, seq: int, bt: float, bu: Any, bv: float,
                   bs: float) -> Reading:
    if "vb" in rec or "vd" in rec:
        raise RecordError("boolean (vb) and data (vd) values are not part of the EIL contract")
    time = bt + _number(rec.get("t", 0.0), "t")
    if abs(time) < RELATIVE_TIME_LIMIT:
        raise RecordError(f"time {time} is relative (RFC 8428); nodes send absolute timestamps")
    time = round(time, 3)
    present = [k for k in ("v", "s", "vs") if k in rec]
    if len(present) != 1:
        raise RecordError(f"a record needs exactly one of v, s, vs; got {present or 'none'}")
    if "vs" in rec:
        if not isinstance(rec["vs"], str):
            raise RecordError(f"vs must be a string, got {rec['vs']!r}")
        ref = rec.get("ref")
        return Reading(seq, time, name, Kind.EVENT, text=rec["vs"], ref=ref)
    unit = rec.get("u", bu)
    if not isinstance(unit, str):
        raise RecordError(f"quantity {name!r} has no unit (u): units travel with values")
    cal, q = rec.get("cal"), rec.get("q")
    if "v" in rec:
        return Reading(seq, time, name, Kind.GAUGE, _number(rec["v"], "v") + bv, unit, cal=cal, q=q)
    return Reading(seq, time, name, Kind.COUNTER, _number(rec["s"], "s") + bs, unit, cal=cal, q=q)


def contiguous_ranges(seqs: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted, merged [first, last] ranges covering `seqs`."""
    ordered = sorted(set(seqs))
    if ordered and ordered[-1] - ordered[0] + 1 == len(ordered):  # the usual case: one run
        return [(ordered[0], ordered[-1])]
    out: list[tuple[int, int]] = []
    for s in ordered:
        if out and s == out[-1][1] + 1:
            out[-1] = (out[-1][0], s)
        else:
            out.append((s, s))
    return out
