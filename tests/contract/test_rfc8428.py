"""Third-party RFC 8428 packs (contract/rfc8428.py): the RFC's section 5 examples resolve to
the right names, units, times and values; the rules refuse what they say and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contract.errors import PackError
from contract.rfc8428 import RELATIVE_BELOW, DeviceRecord, decode_device_pack
from contract.senml import Kind

EXAMPLES = Path(__file__).resolve().parents[2] / "contract" / "examples" / "rfc8428"
NOW = 1_796_000_000.0
DEV = "urn:dev:ow:10e2073a01080063:"


def decode(name: str) -> list[DeviceRecord]:
    pack = decode_device_pack((EXAMPLES / name).read_bytes(), NOW, 65536)
    assert pack.rejects == []
    return pack.records


def test_single_datapoint_without_a_time_is_now() -> None:
    assert decode("5.1.1-single-datapoint.json") == [
        DeviceRecord("urn:dev:ow:10e2073a01080063", NOW, Kind.GAUGE, 23.1, "Cel")]


def test_multiple_datapoints_take_base_name_time_and_unit() -> None:
    records = decode("5.1.2-multiple-datapoints.json")
    bt = 1.276020076001e+09
    assert records[0] == DeviceRecord(DEV + "voltage", bt, Kind.GAUGE, 120.1, "V")
    assert [(r.name, r.time, r.value, r.unit) for r in records[1:]] == [
        (DEV + "current", bt + dt, v, "A")
        for dt, v in ((-5, 1.2), (-4, 1.3), (-3, 1.4), (-2, 1.5), (-1, 1.6), (0, 1.7))]


def test_multiple_measurements_keep_their_units_apart() -> None:
    records = decode("5.1.3-multiple-measurements.json")
    bt = 1.320067464e+09
    by_unit: dict[str, list[tuple[float, float]]] = {}
    for r in records:
        assert r.name == DEV and r.kind is Kind.GAUGE
        by_unit.setdefault(str(r.unit), []).append((r.time - bt, r.value))  # type: ignore[arg-type]
    assert by_unit == {"%RH": [(0, 20), (60, 20.3), (120, 20.7), (180, 21.2)],
                       "lon": [(0, 24.30621), (60, 24.30622), (120, 24.30623), (180, 24.30628)],
                       "lat": [(0, 60.07965), (60, 60.07965), (120, 60.07966), (180, 60.07967)],
                       "%EL": [(150, 98)]}


def test_strings_booleans_and_data_are_events() -> None:
    assert decode("5.1.5-multiple-data-types.json") == [
        DeviceRecord(DEV + "temp", NOW, Kind.GAUGE, 23.1, "Cel"),
        DeviceRecord(DEV + "label", NOW, Kind.EVENT, text="Machine Room"),
        DeviceRecord(DEV + "open", NOW, Kind.EVENT, text="false"),
        DeviceRecord(DEV + "nfc-reader", NOW, Kind.EVENT, text="aGkgCg")]


def test_a_collection_of_resources_keeps_its_base_name() -> None:
    assert [(r.name, r.unit, r.value) for r in decode("5.1.6-collection-of-resources.json")] == [
        ("2001:db8::2/temperature", "Cel", 27.2), ("2001:db8::2/humidity", "%RH", 80)]


def pack(*records: dict[str, object]) -> bytes:
    return json.dumps(list(records)).encode()


def test_a_later_version_or_a_must_understand_field_refuses_the_pack() -> None:
    with pytest.raises(PackError, match="bver 11: this gateway understands SenML version 10"):
        decode_device_pack(pack({"bver": 11, "n": "x", "u": "Cel", "v": 1}), NOW, 4096)
    with pytest.raises(PackError, match="field\\(s\\) color_ that must be understood"):
        decode_device_pack(pack({"n": "x", "u": "Cel", "v": 1, "color_": "red"}), NOW, 4096)
    with pytest.raises(PackError, match="non-empty JSON array"):
        decode_device_pack(b"{}", NOW, 4096)
    with pytest.raises(PackError, match="exceeds the limit"):
        decode_device_pack(pack({"n": "x", "u": "Cel", "v": 1}), NOW, 10)


def test_bad_records_are_refused_with_their_reason_and_the_rest_is_kept() -> None:
    got = decode_device_pack(pack(
        {"n": "ok", "u": "Cel", "v": 1},
        {"n": "nounit", "v": 2},
        {"n": "badunit", "u": "furlong", "v": 3},
        {"n": "two", "u": "Cel", "v": 1, "vs": "x"},
        {"n": "none"},
        {"n": "bad name!", "u": "Cel", "v": 1},
        {"n": "old", "u": "Cel", "v": 1, "t": 900_000_000},
        {"n": "unknown-but-optional", "u": "Cel", "v": 4, "colour": "red"}), NOW, 4096)
    assert [r.name for r in got.records] == ["ok", "unknown-but-optional"]
    reasons = [why for _, why, _ in got.rejects]
    assert [i for i, _, _ in got.rejects] == [1, 2, 3, 4, 5, 6]
    for text, part in zip(reasons, ("without a unit", "unknown unit 'furlong'", "more than one",
                                    "no value", "must be 1-128", "before 2000"), strict=True):
        assert part in text, text


def test_relative_times_are_relative_to_now() -> None:
    got = decode_device_pack(pack({"bt": -60, "n": "a", "u": "W", "v": 1},
                                  {"n": "b", "t": 30, "u": "W", "v": 2},
                                  {"bt": 1_700_000_000, "n": "c", "u": "W", "s": 9},
                                  {"bt": RELATIVE_BELOW + 10.0, "n": "d", "u": "W", "v": 3}),
                             NOW, 4096)
    assert [(r.name, r.time, r.kind) for r in got.records] == [
        ("a", NOW - 60, Kind.GAUGE), ("b", NOW - 30, Kind.GAUGE),
        ("c", 1_700_000_000, Kind.COUNTER)]  # absolute, and d (absolute: 1978) refused
    assert "before 2000" in got.rejects[0][1]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.lists(st.dictionaries(
    st.sampled_from(["bn", "bt", "bu", "bv", "bver", "n", "u", "v", "vs", "vb", "s", "t",
                     "x_"]),
    st.one_of(st.integers(-2**70, 2**70), st.floats(), st.text(max_size=8), st.booleans(),
              st.none())), max_size=6).map(lambda x: json.dumps(x).encode()))
def test_any_input_gives_records_rejects_or_a_pack_error(payload: bytes) -> None:
    try:
        got = decode_device_pack(payload, NOW, 4096)
    except PackError:
        return
    for r in got.records:  # whatever is kept obeys the rules
        assert r.time >= 946_684_800 and r.name
        assert (r.kind is Kind.EVENT) == (r.unit is None and r.value is None)
