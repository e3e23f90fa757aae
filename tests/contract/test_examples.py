"""The documented example payloads decode, and re-encode byte-for-byte (golden files)."""

from __future__ import annotations

import json

import pytest

from contract.errors import PackError
from contract.messages import Ack, Status
from contract.senml import Kind, decode_pack, encode_pack
from contract.topics import parse
from tests.conftest import EXAMPLES

INDEX = json.loads((EXAMPLES / "index.json").read_text())
PACKS = [name for name, topic in INDEX.items() if topic.endswith(("/readings", "/events"))]


def compact(path_name: str) -> bytes:
    return json.dumps(json.loads((EXAMPLES / path_name).read_text()),
                      separators=(",", ":")).encode()


@pytest.mark.parametrize("name", PACKS)
def test_example_pack_round_trips_exactly(name: str) -> None:
    node, _ = parse(INDEX[name])
    pack = decode_pack(compact(name), node)
    assert pack.rejects == []
    assert encode_pack(node, pack.readings, pack.floor) == compact(name)


def test_example_values_are_what_the_docs_say() -> None:
    soil = decode_pack(compact("readings-soil.json"), parse(INDEX["readings-soil.json"])[0])
    assert [(r.seq, r.name, r.value, r.unit) for r in soil.readings] == [
        (101, "soil.moisture", 27.4, "%"), (102, "soil.temperature", 11.85, "Cel"),
        (103, "soil.moisture", 27.3, "%"), (104, "soil.temperature", 11.9, "Cel")]
    assert soil.readings[2].time - soil.readings[0].time == 300.0
    loans = decode_pack(compact("events-loan.json"), parse(INDEX["events-loan.json"])[0])
    assert [(r.kind, r.name, r.text, r.ref) for r in loans.readings] == [
        (Kind.EVENT, "loan.checkout", "T012", "m-3f9a1c0b7d2e4a61"),
        (Kind.EVENT, "loan.checkin", "T007", "m-91c2d0aa4b7e13f0")]
    energy = decode_pack(compact("readings-energy.json"), parse(INDEX["readings-energy.json"])[0])
    assert energy.readings[2].kind is Kind.COUNTER and energy.floor == 4990


def test_example_control_messages() -> None:
    assert Ack.decode(compact("ack.json")) == Ack(104)
    online = Status.decode(compact("status-online.json"))
    assert (online.state, online.last_seq, online.outbox) == ("online", 104, 0)
    assert Status.decode(compact("status-offline.json")).state == "offline"
    assert Status.decode(compact("status-online.json")).encode() == compact("status-online.json")
    with pytest.raises(PackError, match="state must be 'online' or 'offline'"):
        Status.decode(b'{"state": "sleepy"}')


@pytest.mark.parametrize(("extra", "reason"), [
    ({"cal": ""}, "cal '' must be"), ({"cal": "a b"}, "cal 'a b' must be"),
    ({"cal": 7}, "cal 7 must be"), ({"q": 1}, "q 1 must be one of"), ({"q": True}, "q True"),
    ({"q": "4"}, "q '4' must be")])
def test_bad_calibration_identity_or_flag_rejects_the_record(extra: dict, reason: str) -> None:
    node, _ = parse(INDEX["readings-calibrated.json"])
    doc = json.loads((EXAMPLES / "readings-calibrated.json").read_text())
    doc[2].update(extra)
    pack = decode_pack(json.dumps(doc).encode(), node)
    assert [r.seq for r in pack.readings] == [40, 41]
    assert len(pack.rejects) == 1 and reason in pack.rejects[0].reason
