"""The node side of the contract: readings that pass through the outbox and the agent's packing
come out exactly as the documented example payloads."""

from __future__ import annotations

import json
from pathlib import Path

from contract.senml import Kind, encode_pack
from contract.topics import Channel, NodeId, parse
from edge.agent import split_by_channel
from edge.outbox import Outbox, Sampled
from tests.conftest import EXAMPLES

INDEX = json.loads((EXAMPLES / "index.json").read_text())
T0 = 1_795_392_000.0


def golden(name: str) -> bytes:
    return json.dumps(json.loads((EXAMPLES / name).read_text()), separators=(",", ":")).encode()


def test_soil_readings_from_the_outbox_encode_to_the_example(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox")
    box.append([Sampled(T0, f"filler.{i}", Kind.GAUGE, 0.0, "%")
                for i in range(100)])
    box.ack(100)
    box.append([Sampled(T0, "soil.moisture", Kind.GAUGE, 27.4, "%"),
                Sampled(T0, "soil.temperature", Kind.GAUGE, 11.85, "Cel"),
                Sampled(T0 + 300, "soil.moisture", Kind.GAUGE, 27.3, "%"),
                Sampled(T0 + 300, "soil.temperature", Kind.GAUGE, 11.9, "Cel")])
    pending = box.pending(0, 500)
    ((channel, readings),) = split_by_channel(pending)
    node, topic_channel = parse(INDEX["readings-soil.json"])
    assert channel is topic_channel is Channel.READINGS
    assert encode_pack(node, readings, floor=box.acked + 1) == golden("readings-soil.json")


def test_mixed_outbox_splits_into_a_readings_pack_and_an_events_pack(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox")
    box.append([Sampled(T0, "water.tank", Kind.GAUGE, 500.0, "l"),
                Sampled(T0 + 1, "loan.checkout", Kind.EVENT, text="T012", ref="m-1"),
                Sampled(T0 + 2, "loan.checkin", Kind.EVENT, text="T012", ref="m-1"),
                Sampled(T0 + 3, "water.tank", Kind.GAUGE, 499.0, "l")])
    runs = split_by_channel(box.pending(0, 500))
    assert [(ch, [r.seq for r in rs]) for ch, rs in runs] == [
        (Channel.READINGS, [1]), (Channel.EVENTS, [2, 3]), (Channel.READINGS, [4])]
    node = NodeId("demo-garden", "tools-1")
    assert json.loads(encode_pack(node, runs[1][1]))[0]["vs"] == "T012"
