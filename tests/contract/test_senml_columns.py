"""The decoder's column path (contract/senml.py `_columns`, the gateway's bulk path) accepts only
packs that the record-by-record rules accept whole, with the same readings: differential tests
on packs of plain and odd records, and the times to the millisecond at half-millisecond edges."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from contract.errors import ContractError
from contract.senml import Kind, Reading, decode_rows, encode_pack
from contract.topics import NodeId

NODE = NodeId("site", "n1")
odd = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.text(max_size=3)
       | st.floats(allow_nan=False, allow_infinity=False) | st.lists(st.integers(), max_size=1))
number = (st.floats(-1e12, 1e12, allow_nan=False) | st.integers(-10**6, 10**6)
          | st.sampled_from([0.0, -0.0, 2**53, 2**53 - 1]) | odd)
offset = (st.floats(-5, 5) | st.integers(-100, 100) | st.sampled_from([0.0005, 0.0015, -0.0005])
          | st.floats(-2e9, 2e9) | odd)
good_number = st.floats(-1e9, 1e9) | st.integers(-10**6, 10**6) | st.just(-0.0)
plain = st.fixed_dictionaries(
    {"n": st.sampled_from(["soil.moisture", "pv.power", "a"]),
     "u": st.sampled_from(["%", "W", "Cel", "degF", "kWh"]),
     "v": good_number},
    optional={"t": st.floats(-5, 5) | st.integers(-100, 100), "cal": st.sampled_from(
        ["ads1115:bed-1", "x"]), "q": st.sampled_from([3, 4])})
counter = st.fixed_dictionaries({"n": st.just("energy.total"), "u": st.just("kWh"),
                                 "s": good_number}, optional={"t": offset})
odd_plain = st.fixed_dictionaries({"n": st.sampled_from(["soil.moisture", "a"]),
                                   "u": st.sampled_from(["%", "W"])},
                                  optional={"v": number, "s": number, "t": offset,
                                            "cal": odd, "q": odd})
strange = st.fixed_dictionaries({}, optional={
    "n": st.sampled_from(["soil.moisture", "Bad", ""]) | odd, "u": st.sampled_from(["%", "furlong"])
    | odd, "v": number, "s": number, "vs": st.text(max_size=2), "t": offset, "cal": odd,
    "q": st.sampled_from([1, 3, 3.0, True]) | odd, "ref": odd, "bu": odd, "x_": st.just(1)})
head = (st.fixed_dictionaries({"bn": st.just("site/n1/"), "bt": st.floats(1.5e9, 1.9e9)},
                              optional={"bfloor": st.integers(1, 5), "bver": st.integers(1, 10)})
        | st.fixed_dictionaries({"bn": st.sampled_from(["site/n1/", "site/n2/", "site/"])},
                                optional={"bt": st.floats(1.5e9, 1.9e9) | st.integers(0, 2**31)
                                          | odd, "bfloor": st.integers(-1, 5) | odd,
                                          "bver": st.integers(0, 12) | odd, "bu": odd,
                                          "bv": st.floats(-1, 1)}))


def flat(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """Rows as the column path's readings: ms times, sorted by seq."""
    out = [(seq, round(t * 1000), name, kind, value, unit, cal, q)  # type: ignore[operator]
           for seq, t, name, kind, value, unit, text, ref, cal, q in rows]
    return sorted(out, key=lambda r: r[0])  # type: ignore[arg-type, return-value]


def series_rows(pack: object) -> list[tuple[object, ...]]:
    out = [(seq, t, s.name, s.kind, v, s.unit, c, q) for s in pack.series  # type: ignore[attr-defined]
           for seq, t, v, c, q in zip(s.seqs, s.times_ms, s.values, s.cals, s.qs, strict=True)]
    return sorted(out, key=lambda r: r[0])  # type: ignore[arg-type, return-value]


def same(a: list[tuple[object, ...]], b: list[tuple[object, ...]]) -> bool:
    return len(a) == len(b) and all(
        type(x) is type(y) and x == y and not (isinstance(x, float) and math.copysign(1, x)
                                              != math.copysign(1, y))  # type: ignore[arg-type]
        for ra, rb in zip(a, b, strict=True) for x, y in zip(ra, rb, strict=True))


@settings(max_examples=1500)
@given(head, st.lists(plain | plain | counter | odd_plain | strange, min_size=1, max_size=6),
       st.data())
def test_the_column_path_agrees_with_the_record_rules(first: dict[str, object],
                                                      records: list[dict[str, object]],
                                                      data: st.DataObject) -> None:
    seqs = data.draw(st.just(list(range(1, len(records) + 1))) | st.lists(
        st.integers(-1, 12) | odd, min_size=len(records), max_size=len(records)))
    pack = [{**first, **records[0]}] + records[1:]
    for rec, seq in zip(pack, seqs, strict=True):
        rec["seq"] = seq
    try:
        payload = json.dumps(pack).encode()
    except (ValueError, TypeError):
        return
    try:
        reference = decode_rows(payload, NODE)
    except ContractError:  # PackError: the column path must refuse it the same way
        try:
            decode_rows(payload, NODE, columns=True)
        except ContractError:
            return
        raise AssertionError("the column path took a pack the rules refuse") from None
    columns = decode_rows(payload, NODE, columns=True)
    if columns.series:
        assert not columns.rows and not columns.rejects
        assert not reference.rejects, (pack, reference.rejects)
        assert columns.floor == reference.floor
        assert same(series_rows(columns), flat(reference.rows)), pack
    else:
        assert (columns.rows, columns.rejects) == (reference.rows, reference.rejects)


def test_a_node_pack_takes_the_column_path_grouped_by_quantity() -> None:
    readings = [Reading(i, 1.75e9 + i * 0.2, ("soil.moisture", "pv.power")[i % 2], Kind.GAUGE,
                        20.0 + i, ("%", "W")[i % 2]) for i in range(1, 11)]
    readings.append(Reading(11, 1.75e9 + 3, "energy.total", Kind.COUNTER, 5.5, "kWh",
                            cal="ina219:main:1", q=3))
    pack = decode_rows(encode_pack(NODE, readings, floor=1), NODE, columns=True)
    assert pack.floor == 1 and not pack.rows
    got = {s.name: s for s in pack.series}
    assert got["soil.moisture"].seqs == [2, 4, 6, 8, 10]
    assert got["pv.power"].times_ms == [1_750_000_000_200 + 400 * i for i in range(5)]
    assert got["soil.moisture"].values == [22.0, 24.0, 26.0, 28.0, 30.0]
    total = got["energy.total"]
    assert (total.kind, total.unit, total.values, total.cals, total.qs, total.times_ms) == (
        Kind.COUNTER, "kWh", [5.5], ["ina219:main:1"], [3], [1_750_000_003_000])


def test_an_event_or_a_half_millisecond_leaves_the_column_path() -> None:
    event = [Reading(1, 1.75e9, "tool.loan", Kind.EVENT, text="drill")]
    assert not decode_rows(encode_pack(NODE, event), NODE, columns=True).series
    half = json.dumps([{"bn": "site/n1/", "bt": 1750000000.0005, "n": "a", "u": "%", "v": 1,
                        "seq": 1}]).encode()
    pack = decode_rows(half, NODE, columns=True)
    assert not pack.series and [round(r[1] * 1000) for r in pack.rows] == [1750000000000]


def test_an_unhashable_flag_is_a_rejected_record_not_a_crash() -> None:
    """"q": [] once raised TypeError out of the decoder (a list is not hashable), which would
    have ended the gateway's ingest thread on one forged record."""
    payload = json.dumps([{"bn": "site/n1/", "bt": 1.75e9, "n": "a", "u": "%", "v": 1,
                           "q": [], "seq": 1}, {"n": "a", "u": "%", "v": 2, "seq": 2}]).encode()
    for columns in (False, True):
        pack = decode_rows(payload, NODE, columns=columns)
        assert [r.seq for r in pack.rejects] == [1] and "q [] must be one of" in \
            pack.rejects[0].reason
        assert [r[0] for r in pack.rows] == [2]
