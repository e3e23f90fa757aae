"""A site's signal summaries on the wire to the scope above (contract/summaries.py): only the
allowed fields travel, type-checked; what is encoded decodes to itself; everything else is
refused naming the field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contract import summaries
from contract.errors import ContractError

ENTRY: dict[str, Any] = {
    "id": "water.use@site", "signal": "water.use", "title": "Water use", "scope": "site",
    "t": 1_796_178_824_082, "value": 458.5, "unit": "l", "band": "safe", "alert": False,
    "distance": 0.2, "threshold": {"lower": None, "upper": 600.0, "source": "our plan",
                                   "set_by": "steward group"},
    "time_to_threshold_s": 3600, "inputs": {"water-1/water.volume": "pass"}, "note": None,
    "numbers": {"water-1": 458.5}}


def test_a_published_summary_travels_with_its_provenance() -> None:
    name, text = summaries.encode(ENTRY)
    assert name == "summary.water.use"
    got = summaries.decode(name, text)
    assert got == {"signal": "water.use", "scope": "site", "t": ENTRY["t"], "value": 458.5,
                   "distance": 0.2, "alert": False, "unit": "l", "band": "safe", "note": None,
                   "threshold": ENTRY["threshold"], "numbers": {"water-1": 458.5},
                   "inputs": {"water-1/water.volume": "pass"}}


def test_only_the_allowed_fields_travel() -> None:
    leaky = {**ENTRY, "member": "m-8f3a", "ref": "m-8f3a", "title": "x",
             "threshold": {**ENTRY["threshold"], "contact": "someone@example.org"}}
    _, text = summaries.encode(leaky)
    assert "m-8f3a" not in text and "example.org" not in text and "title" not in text


@pytest.mark.parametrize(("change", "message"), [
    ({"scope": "bed-1"}, "scope 'bed-1' is not one of site, library"),
    ({"signal": "Water use"}, "is not a signal id"),
    ({"t": None}, "t must be the run's time in ms"),
    ({"value": "458"}, "water.use value must be a finite number or null"),
    ({"value": True}, "water.use value must be a finite number or null"),
    ({"threshold": [1, 2]}, "threshold must be an object or null"),
    ({"numbers": {"a": float("nan")}}, "numbers.a must be a finite number"),
    ({"note": "x" * 1001}, "note must be a string of at most 1000 characters"),
    ({"inputs": {f"s{i}": "pass" for i in range(65)}}, "inputs must be an object of at most 64"),
])
def test_a_bad_summary_is_refused_naming_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ContractError, match=message.replace("(", r"\(").replace(")", r"\)")):
        summaries.encode({**ENTRY, **change})


def test_a_stored_record_that_is_not_a_summary_is_refused() -> None:
    _, text = summaries.encode(ENTRY)
    with pytest.raises(ContractError, match="carries the summary of water.use"):
        summaries.decode("summary.energy.carbon", text)
    with pytest.raises(ContractError, match="is not JSON"):
        summaries.decode("summary.water.use", "{")
    with pytest.raises(ContractError, match="not a summary record"):
        summaries.decode("water.use", text)


def test_a_forwarded_series_is_named_after_its_node() -> None:
    assert summaries.series_name("water-1", "water.volume") == "water-1.water.volume"
    for node, quantity in (("w" * 40, "q" * 30), ("water-1", "Water"), ("summary", "x")):
        with pytest.raises(ContractError, match="cannot be forwarded"):
            summaries.series_name(node, quantity)


json_value = st.recursive(st.none() | st.booleans() | st.integers(-2**60, 2**60)
                          | st.floats(allow_nan=True) | st.text(max_size=8),
                          lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                          max_leaves=8)


@settings(max_examples=500)
@given(st.dictionaries(st.sampled_from(["signal", "scope", "t", "value", "unit", "band",
                                        "distance", "alert", "note", "threshold", "numbers",
                                        "inputs", "member"]), json_value)
       | st.just(ENTRY).map(dict), st.data())
def test_encoding_either_refuses_or_round_trips(entry: dict[str, Any], data: st.DataObject
                                                ) -> None:
    if data.draw(st.booleans()):  # mostly valid entries, one field changed
        entry = {**ENTRY, **{k: v for k, v in entry.items() if data.draw(st.booleans())}}
    try:
        name, text = summaries.encode(entry)
    except ContractError:
        return
    got = summaries.decode(name, text)
    assert summaries.checked(got) == got  # what arrives is what a site may send
    assert json.loads(text) == got and "member" not in got
