"""SenML codec: property-based round trips and every rejection path with its reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract.errors import PackError, RecordError
from contract.senml import Kind, Reading, contiguous_ranges, decode_pack, encode_pack
from contract.topics import NodeId
from contract.units import UNITS

NODE = NodeId("site-1", "node-1")
T0 = 1_795_392_000.0

names = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True)
times = st.integers(min_value=0, max_value=10**9).map(lambda ms: T0 + ms / 1000)
numbers = st.floats(allow_nan=False, allow_infinity=False, width=64)


@st.composite
def readings(draw: st.DrawFn) -> list[Reading]:
    n = draw(st.integers(1, 40))
    first = draw(st.integers(1, 2**40))
    out = []
    for i in range(n):
        kind = draw(st.sampled_from(list(Kind)))
        t, name = draw(times), draw(names)
        if kind is Kind.EVENT:
            out.append(Reading(first + i, t, name, kind, text=draw(st.text(max_size=20)),
                               ref=draw(st.none() | st.text(max_size=10))))
        else:
            out.append(Reading(first + i, t, name, kind, draw(numbers),
                               draw(st.sampled_from(sorted(UNITS)))))
    return out


@given(readings(), st.none() | st.integers(1, 2**40))
def test_encode_decode_round_trip(rs: list[Reading], floor: int | None) -> None:
    pack = decode_pack(encode_pack(NODE, rs, floor), NODE)
    assert pack.rejects == [] and pack.floor == floor
    assert [(r.seq, r.name, r.kind, r.value, r.unit, r.text, r.ref) for r in pack.readings] == \
        [(r.seq, r.name, r.kind, r.value, r.unit, r.text, r.ref) for r in rs]
    assert [round(r.time * 1000) for r in pack.readings] == [round(r.time * 1000) for r in rs]


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_the_decoder(payload: bytes) -> None:
    try:
        pack = decode_pack(payload, NODE)
    except PackError as exc:
        assert str(exc)
    else:
        assert all(r.reason for r in pack.rejects)


@given(st.lists(st.integers(1, 200), max_size=60))
def test_contiguous_ranges_cover_exactly_the_input(seqs: list[int]) -> None:
    ranges = contiguous_ranges(seqs)
    covered = [s for a, b in ranges for s in range(a, b + 1)]
    assert covered == sorted(set(seqs))
    assert all(b1 + 1 < a2 for (_, b1), (a2, _) in zip(ranges, ranges[1:], strict=False))


def pack(*records: dict, bn: str = "site-1/node-1/") -> bytes:
    first = {"bn": bn, "bt": T0, **records[0]}
    return json.dumps([first, *records[1:]]).encode()


@pytest.mark.parametrize("payload, reason", [
    (b"", "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b'{"n": "x"}', "JSON array of records, got dict"),
    (b"[]", "holds no records"),
    (b"[1]", "record 0 is a int, not a JSON object"),
    (pack({"n": "a", "v": 1, "u": "W"}), "record 0 has no 'seq': every record of an EIL pack "
     "carries this contract's required extension 'seq'"),
    (pack({"n": "a", "v": 1, "u": "W"}), "(docs/contract.md, 'SenML packs')"),
    (pack({"n": "a", "v": 1, "u": "W", "seq": 0}), "'seq' must be a positive integer, got 0"),
    (pack({"n": "a", "v": 1, "u": "W", "seq": True}), "positive integer, got True"),
    (pack({"n": "a", "v": 1, "u": "W", "seq": 1}, {"n": "b", "v": 2, "u": "W", "seq": 1}),
     "seq 1 appears twice"),
    (pack({"n": "a", "v": 1, "u": "W", "seq": 1}, bn="site-1/other/"),
     "names must start with 'site-1/node-1/'"),
    (pack({"n": "a", "v": 1, "u": "W", "seq": 1, "bver": 99}),
     "SenML version bver=99 is newer than this gateway reads (versions up to 10, RFC 8428)"),
    (pack({"n": "a", "v": 1, "u": "W", "seq": 1, "bver": "10"}), "bver must be a positive integer"),
    (pack({"n": "a", "v": 1, "u": "W", "seq": 1, "crit_": 1}), "must-understand fields"),
    (pack({"n": "a", "v": 1, "u": "W", "seq": 1, "bt": "noon"}), "bt must be a finite number"),
    (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
])
def test_pack_level_faults_name_the_problem(payload: bytes, reason: str) -> None:
    with pytest.raises(PackError, match=None) as exc:
        decode_pack(payload, NODE)
    assert reason in str(exc.value)


@pytest.mark.parametrize("bver", [1, 5, 10])
def test_a_pack_of_an_older_or_the_same_senml_version_is_read(bver: int) -> None:
    """RFC 8428 section 4.4 refuses only versions higher than the receiver knows."""
    decoded = decode_pack(pack({"n": "a", "v": 1, "u": "W", "seq": 1, "bver": bver}), NODE)
    assert [r.value for r in decoded.readings] == [1.0]


def test_every_accepted_unit_is_listed_in_the_contract_docs() -> None:
    """The unit error points integrators to docs/contract.md, not to a file they lack."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "contract.md").read_text()
    section = docs.split("### Units", 1)[1].split("\n## ", 1)[0]
    listed = {cell.strip().strip("`") for line in section.splitlines() if line.startswith("| `")
              for cell in [line.split("|")[1]]}
    assert listed == set(UNITS)
    for symbol, (_, canonical) in UNITS.items():
        assert f"| `{symbol}` | `{canonical}` |" in section


def test_oversized_payload_is_refused_before_parsing() -> None:
    with pytest.raises(PackError, match="larger than the 100 byte limit"):
        decode_pack(b"[" + b" " * 200 + b"]", NODE, max_bytes=100)


@pytest.mark.parametrize("record, reason", [
    ({"n": "a", "v": 1, "u": "furlong"}, "unknown unit 'furlong'"),
    ({"n": "a", "v": 1}, "has no unit (u): units travel with values"),
    ({"n": "a", "v": "12", "u": "W"}, "v must be a finite number, got '12'"),
    ({"n": "a", "v": 1, "vs": "x", "u": "W"}, "exactly one of v, s, vs"),
    ({"n": "a", "u": "W"}, "exactly one of v, s, vs; got none"),
    ({"n": "a", "vb": True}, "boolean (vb) and data (vd) values are not part"),
    ({"n": "a", "vs": 5}, "vs must be a string"),
    ({"n": "Bad Name", "v": 1, "u": "W"}, "name 'Bad Name' must be 1-64 of"),
    ({"n": "a", "v": 1, "u": "W", "t": -T0 + 100}, "relative (RFC 8428)"),
    ({"n": "a", "v": 1, "u": "W", "t": -T0 + 400_000_000}, "after 2000-01-01"),
])
def test_record_level_faults_reject_only_that_record(record: dict, reason: str) -> None:
    good = {"n": "ok", "v": 2.5, "u": "Cel", "seq": 1}
    result = decode_pack(pack(good, {**record, "seq": 2}, {**good, "seq": 3}), NODE)
    assert [r.seq for r in result.readings] == [1, 3]
    assert [r.seq for r in result.rejects] == [2]
    assert reason in result.rejects[0].reason


def test_base_value_and_unit_apply_as_rfc8428_says() -> None:
    payload = pack({"bu": "W", "bv": 100.0, "n": "a", "v": 5, "seq": 1},
                   {"n": "b", "v": -5, "t": 10, "seq": 2})
    result = decode_pack(payload, NODE)
    assert [(r.name, r.value, r.unit, r.time) for r in result.readings] == [
        ("a", 105.0, "W", T0), ("b", 95.0, "W", T0 + 10)]


def test_reading_refuses_to_be_built_invalid() -> None:
    with pytest.raises(RecordError, match="needs a numeric value"):
        Reading(1, T0, "a", Kind.GAUGE, None, "W")
    with pytest.raises(RecordError, match="not finite"):
        Reading(1, T0, "a", Kind.GAUGE, float("nan"), "W")
    with pytest.raises(RecordError, match="event 'a' needs a string value"):
        Reading(1, T0, "a", Kind.EVENT, 3.0)
