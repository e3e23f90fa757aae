"""The decoder's fast path (contract/senml.py `_fast_row`) accepts only what the full rules
accept, with the same values: differential tests against `_decode_record` + Reading's checks on
records of every shape and odd type, and whole packs compared with the reference decoding."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from contract.errors import ContractError, RecordError
from contract.senml import Reading, _decode_record, _fast_row, decode_rows
from contract.topics import NodeId

NODE = NodeId("site", "n1")
odd = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.text(max_size=5)
       | st.floats(allow_nan=True, allow_infinity=True) | st.lists(st.integers(), max_size=2))
number = st.floats(-1e12, 1e12, allow_nan=False) | st.integers(-10**6, 10**6) | odd
name = st.sampled_from(["soil.moisture", "a", "Bad", "x" * 65, "pv.power", "t\n", ""]) | odd
unit = st.sampled_from(["%", "Cel", "W", "V", "l", "m3", "degF", "furlong", ""]) | odd
time = st.floats(1.7e9, 1.8e9) | st.floats(-5, 5) | st.integers(0, 2**29) | odd
record = st.fixed_dictionaries({}, optional={
    "v": number, "s": number, "vs": st.text(max_size=4) | odd, "u": unit, "t": time,
    "cal": st.sampled_from(["ads1115:bed-1:2026-11-01", "bad cal", ""]) | odd,
    "q": st.sampled_from([3, 4, 1, 3.0]) | odd, "ref": st.text(max_size=3) | odd,
    "vb": st.booleans()})


def same(a: tuple[object, ...], b: tuple[object, ...]) -> bool:
    return all(type(x) is type(y) and (x == y or (isinstance(x, float) and math.isnan(x)
                                                 and math.isnan(y)))  # type: ignore[arg-type]
               for x, y in zip(a, b, strict=True))


@settings(max_examples=3000)
@given(record, name, st.floats(0, 1.8e9) | st.integers(0, 2**31), unit,
       st.floats(-100, 100), st.floats(-100, 100))
def test_the_fast_path_agrees_with_the_full_rules(rec: dict[str, object], n: object, bt: float,
                                                  bu: object, bv: float, bs: float) -> None:
    rel = n if isinstance(n, str) else ""
    fast = _fast_row(rec, rel, 7, float(bt), bu, bv, bs, set())
    try:
        r = _decode_record(rec, rel, 7, float(bt), bu, bv, bs)
        full: tuple[object, ...] | None = (r.seq, r.time, r.name, r.kind, r.value, r.unit,
                                           r.text, r.ref, r.cal, r.q)
    except (RecordError, ContractError):
        full = None
    if fast is not None:  # whatever the fast path takes, the full rules take identically
        assert full is not None and same(fast, full), (rec, fast, full)


@settings(max_examples=400)
@given(st.lists(record, min_size=1, max_size=8))
def test_a_pack_decodes_as_the_reference_decoding(records: list[dict[str, object]]) -> None:
    pack = [{"bn": "site/n1/", "bt": 1.75e9, **records[0], "n": "a", "seq": 1}]
    pack += [{**rec, "n": f"q{i}", "seq": i + 2} for i, rec in enumerate(records[1:])]
    try:
        payload = json.dumps(pack).encode()
    except ValueError:
        return
    rows = decode_rows(payload, NODE)
    for row in rows.rows:  # every row is a valid Reading (its own checks run again here)
        assert same(tuple(getattr(Reading(*row), f) for f in Reading.__slots__), row)
    assert len(rows.rows) + len(rows.rejects) == len(pack)
