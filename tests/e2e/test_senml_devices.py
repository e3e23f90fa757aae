"""Third-party devices speaking plain RFC 8428 SenML, by hand with mosquitto_pub through a real
Mosquitto: the RFC's section 5 example packs are stored with their names, units and times; a
replay (also of readings since moved to cold chunks) is stored once; a different value at the
same identity is a conflict; a refused pack is a dead letter with its reason; and a device's
credential reaches nothing but its own topic."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from contract.rfc8428 import decode_device_pack
from contract.topics import Channel, NodeId, device_topic
from contract.units import conversion
from eil.broker import find_binary
from gateway.store import Store
from tests.support.site import Site, wait_until

pytestmark = pytest.mark.slow
EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "contract" / "examples" / "rfc8428"
                   ).glob("*.json"))


def pub(site: Site, user: str, topic: str, payload: bytes) -> int:
    return subprocess.run(
        [find_binary("mosquitto_pub"), "-h", "127.0.0.1", "-p", str(site.setup.port), "-V",
         "mqttv5", "-q", "1", "-u", user, "-P", site.setup.credentials[user], "-t", topic, "-s"],
        input=payload, timeout=10, capture_output=True).returncode


def stored(site: Site, node: str) -> list[tuple[str, str | None, int, float | None, str | None]]:
    if not site.db_path().exists():
        return []
    with Store(site.db_path(), readonly=True) as store:
        return sorted((r.name, r.unit, r.t_ms, r.value, r.text) for r in store.export(node=node))


def test_rfc8428_examples_from_a_third_party_device(make_site) -> None:  # type: ignore[no-untyped-def]
    site: Site = make_site({"soil-1": "soil"}, speed=1.0, devices=("meter-7", "meter-8"),
                           gateway_extra="[retention]\nraw_days = 0\n[store]\nmove_every_s = 1\n")
    site.broker.start()
    site.start_gateway()
    wait_until(lambda: "connected to broker" in site.log("gateway"), 20, "the gateway")
    topic = device_topic(NodeId(site.site, "meter-7"))
    want = []
    for example in EXAMPLES:
        sent = time.time()
        assert pub(site, "meter-7", topic, example.read_bytes()) == 0
        pack = decode_device_pack(example.read_bytes(), sent, 1 << 20)
        assert pack.rejects == [], example.name
        for r in pack.records:
            if r.unit is not None:
                conv = conversion(r.unit)
                want.append((r.name, conv.canonical, r.time, conv.apply(r.value), None))
            else:
                want.append((r.name, None, r.time, None, r.text))
    count = len(want)
    wait_until(lambda: len(stored(site, "meter-7")) == count, 20, "the examples stored")
    got = stored(site, "meter-7")
    for (name, unit, t, value, text) in sorted(want, key=lambda w: (w[0], w[1] or "", w[2])):
        match = [g for g in got if g[0] == name and g[1] == unit and g[3] == value
                 and g[4] == text and abs(g[2] / 1000 - t) < 2.0]  # relative times: "now"
        assert len(match) == 1, (name, unit, t, value, text, got)
    # the RFC's absolute times are kept to the millisecond
    assert ("urn:dev:ow:10e2073a01080063:voltage", "V", 1_276_020_076_001, 120.1, None) in got
    # moved to cold chunks (they are from 2010 and 2011), then everything sent again: stored once
    with Store(site.db_path(), readonly=True) as store:
        wait_until(lambda: store.storage().cold > 0, 20, "the old readings moved to chunks")
    for example in EXAMPLES:
        assert pub(site, "meter-7", topic, example.read_bytes()) == 0
    changed = json.loads(EXAMPLES[1].read_text())
    changed[1]["v"] = 9.9  # the first current reading, other value
    assert pub(site, "meter-7", topic, json.dumps(changed).encode()) == 0
    assert pub(site, "meter-7", topic, b'[{"bver":11,"n":"x","u":"Cel","v":1}]') == 0
    with Store(site.db_path(), readonly=True) as store:
        wait_until(lambda: any("bver 11" in d["reason"] for d in store.dead_letters()), 20,
                   "the later version refused")
        conflicts = store.sequences.conflicts()
    absolute = [g for g in stored(site, "meter-7") if g[2] < 1_400_000_000_000]
    assert absolute == [g for g in got if g[2] < 1_400_000_000_000]  # no old reading twice
    # a relative time means "now": sent again later, those are new readings (RFC 8428 4.5.3)
    relative = count - len(absolute)
    wait_until(lambda: len(stored(site, "meter-7")) == count + relative, 20, "the replay")
    assert [(c["arriving"]["value"], c["stored"]["value"]) for c in conflicts] == [(9.9, 1.2)]
    # a device's credential reaches only its own topic: not another device's, not a node's
    other = device_topic(NodeId(site.site, "meter-8"))
    pub(site, "meter-7", other, EXAMPLES[0].read_bytes())
    pub(site, "meter-7", NodeId(site.site, "soil-1").topic(Channel.READINGS), b"[]")
    time.sleep(2)
    assert stored(site, "meter-8") == [] and stored(site, "soil-1") == []
    print(f"{count} readings of the RFC 8428 examples stored once each, through replays")
