"""The gateway side of the contract: the documented example payloads ingest as documented."""

from __future__ import annotations

import json

import pytest

from gateway.ingest.validate import validate_message
from tests.conftest import EXAMPLES

INDEX = json.loads((EXAMPLES / "index.json").read_text())


def ingest(name: str):  # type: ignore[no-untyped-def]
    return validate_message(INDEX[name], (EXAMPLES / name).read_bytes(), 1_795_392_000.0,
                            max_pack_bytes=262144, max_future_s=366 * 86400.0)


def test_soil_example() -> None:
    out = ingest("readings-soil.json")
    assert out.dead == [] and out.floor == 101 and str(out.node) == "demo-garden/soil-1"
    assert [(r.seq, r.t_ms, r.name, r.value, r.unit) for r in out.readings] == [
        (101, 1_795_392_000_000, "soil.moisture", 27.4, "%"),
        (102, 1_795_392_000_000, "soil.temperature", 11.85, "Cel"),
        (103, 1_795_392_300_000, "soil.moisture", 27.3, "%"),
        (104, 1_795_392_300_000, "soil.temperature", 11.9, "Cel")]


def test_energy_example_is_stored_in_canonical_units() -> None:
    out = ingest("readings-energy.json")
    assert [(r.name, r.kind, r.unit) for r in out.readings] == [
        ("pv.power", "gauge", "W"), ("battery.voltage", "gauge", "V"),
        ("pv.energy", "counter", "Wh"), ("pv.power", "gauge", "W")]
    assert out.readings[3].value == pytest.approx(180.5)  # sent as 0.1805 kW


def test_loan_events_example() -> None:
    out = ingest("events-loan.json")
    assert [(r.name, r.text, r.ref, r.t_ms) for r in out.readings] == [
        ("loan.checkout", "T012", "m-3f9a1c0b7d2e4a61", 1_795_428_000_250),
        ("loan.checkin", "T007", "m-91c2d0aa4b7e13f0", 1_795_431_600_500)]


def test_events_example_on_the_readings_topic_is_refused_per_record() -> None:
    out = validate_message(INDEX["readings-soil.json"].replace("soil-1", "tools-1"),
                           (EXAMPLES / "events-loan.json").read_bytes(), 1_795_392_000.0,
                           max_pack_bytes=262144, max_future_s=1e9)
    assert out.readings == [] and [d.seq for d in out.dead] == [77, 78]


def test_calibration_identity_and_edge_flag_are_kept() -> None:
    out = ingest("readings-calibrated.json")
    assert out.dead == []
    assert [(r.name, r.value, r.cal, r.q) for r in out.readings] == [
        ("bed-3.soil.moisture_raw", 612.0, None, None),
        ("bed-3.soil.moisture", 23.41, "c-5e0b9d3a71f2", None),
        ("bed-3.soil.temperature", 131.5, None, 4)]
