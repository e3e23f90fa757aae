from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract.errors import RecordError, TopicError
from contract.topics import Channel, NodeId, gateway_status_topic, parse, subscription
from contract.units import UNITS, conversion, from_quantity, quantity, to_canonical


def test_topic_tree() -> None:
    n = NodeId("garden-7", "soil-2")
    assert n.topic(Channel.READINGS) == "eil/v1/garden-7/soil-2/readings"
    assert parse("eil/v1/garden-7/soil-2/ack") == (n, Channel.ACK)
    assert subscription(Channel.EVENTS, "garden-7") == "eil/v1/garden-7/+/events"
    assert gateway_status_topic("garden-7") == "eil/v1/garden-7/_gateway/status"


@pytest.mark.parametrize("topic, reason", [
    ("eil/v2/a/b/readings", "is not of the form"),
    ("eil/v1/a/b/readings/x", "is not of the form"),
    ("eil/v1/a/b/secrets", "unknown channel 'secrets'"),
    ("eil/v1/a/_gateway/status", "invalid node id '_gateway'"),
    ("eil/v1/A/b/readings", "invalid site id 'A'"),
])
def test_bad_topics(topic: str, reason: str) -> None:
    with pytest.raises(TopicError) as exc:
        parse(topic)
    assert reason in str(exc.value)


@given(st.text(max_size=40))
def test_ids_are_safe_as_topic_level_and_username(text: str) -> None:
    try:
        NodeId("s", text)
    except TopicError:
        return
    assert not set(text) & set("/+#$ _%") and 0 < len(text) <= 32


@pytest.mark.parametrize("value, symbol, expected, canonical", [
    (300.0, "K", 26.85, "Cel"), (1.5, "kWh", 1500.0, "Wh"), (3600.0, "J", 1.0, "Wh"),
    (0.25, "/", 25.0, "%"), (2.0, "m3", 2000.0, "l"), (1013.0, "hPa", 101300.0, "Pa"),
    (250.0, "mV", 0.25, "V"), (21.5, "Cel", 21.5, "Cel"), (2.0, "h", 7200.0, "s"),
])
def test_canonical_conversions(value: float, symbol: str, expected: float, canonical: str) -> None:
    v, c = to_canonical(value, symbol)
    assert c == canonical and v == pytest.approx(expected)


def test_every_unit_converts_to_a_canonical_unit_of_the_table() -> None:
    for symbol in UNITS:
        assert conversion(symbol).canonical in UNITS


def test_pint_quantities_both_ways() -> None:
    assert from_quantity(quantity(1.2, "kW"), "W") == pytest.approx(1200.0)
    with pytest.raises(RecordError, match="cannot be expressed in 'V'"):
        from_quantity(quantity(1.0, "W"), "V")
