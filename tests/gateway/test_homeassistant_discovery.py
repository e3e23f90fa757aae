"""The discovery configs and states the gateway publishes for Home Assistant, from a real store:
the right device_class, state_class and unit per series, one device per node, availability
from the node's status, and everything again when Home Assistant announces itself."""

from __future__ import annotations

import json
import time
from pathlib import Path

from contract.topics import NodeId
from gateway.homeassistant.mapping import sensor
from gateway.homeassistant.publisher import (
    SILENT_S,
    HomeAssistantConfig,
    HomeAssistantPublisher,
)
from gateway.store import DataDir
from gateway.store.rows import StoredReading
from tests.gateway.test_cold_store import commit

T0 = 1_796_000_000_000


def test_units_and_classes_in_home_assistants_terms() -> None:
    assert sensor("bed-1.soil.moisture", "gauge", "%") == sensor("soil.moisture", "gauge", "%")
    assert sensor("soil.moisture", "gauge", "%").device_class == "moisture"  # type: ignore[union-attr]
    t = sensor("air.temperature", "gauge", "Cel")
    assert t is not None and (t.device_class, t.state_class, t.unit) == (
        "temperature", "measurement", "°C")
    e = sensor("pv.energy", "counter", "Wh")
    assert e is not None and (e.device_class, e.state_class, e.unit) == (
        "energy", "total_increasing", "Wh")
    w = sensor("water.volume", "counter", "l")
    assert w is not None and (w.device_class, w.state_class, w.unit) == (
        "water", "total_increasing", "L")
    f = sensor("water.flow", "gauge", "l/s")
    assert f is not None and (f.device_class, f.unit, f.factor) == ("volume_flow_rate",
                                                                  "L/min", 60.0)
    assert sensor("loan.checkout", "event", None) is None


def test_one_device_per_node_with_its_sensors_states_and_availability(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "gw")
    store = data.readings()
    node = NodeId("garden", "water-1")
    commit(store, [(node, StoredReading(1, T0, "water.volume", "counter", "l", 120.0, None, None)),
                   (node, StoredReading(2, T0, "water.flow", "gauge", "l/s", 0.05, None, None)),
                   (node, StoredReading(3, T0, "loan.checkout", "event", None, None, "T1",
                                        "m-1"))])
    store.set_status(node, "online", '{"state": "online"}', 0.0)
    store.close()
    sent: list[tuple[str, bytes, bool]] = []
    ha = HomeAssistantPublisher(HomeAssistantConfig(enabled=True), "garden", data,
                                lambda t, p, r: sent.append((t, p, r)))
    assert ha.once() == 3
    topics = {t: (json.loads(p) if p.startswith(b"{") else p.decode(), r) for t, p, r in sent}
    config, retained = topics["homeassistant/device/eil_garden_water_1/config"]
    assert retained and config["dev"]["ids"] == ["eil_garden_water_1"]
    cmps = config["cmps"]
    assert {c["name"]: (c["device_class"], c["state_class"], c["unit_of_measurement"])
            for c in cmps.values()} == {"water.volume": ("water", "total_increasing", "L"),
                                        "water.flow": ("volume_flow_rate", "measurement",
                                                       "L/min")}
    assert all(c["p"] == "sensor" and c["unique_id"].startswith("eil_garden_water_1_")
               for c in cmps.values())
    base = "eil/v1/garden/_gateway/ha/water_1"
    assert config["state_topic"] == f"{base}/state"
    assert topics[f"{base}/availability"] == ("online", True)
    state = topics[f"{base}/state"][0]
    assert state == {"water_flow_gauge_l_s": 0.05, "water_volume_counter_l": 120.0}
    assert ha.once() == 0  # nothing changed: nothing published
    ha.on_status(b"online")  # Home Assistant (re)started: all of it again
    assert ha.once() == 3
    sent.clear()
    with data.readings() as store:  # the steward retires the node: its device goes
        store.retire("water-1", True, 1.0)
    forgotten = [("homeassistant/device/eil_garden_water_1/config", b"", True),
                 (f"{base}/availability", b"", True), (f"{base}/state", b"", True)]
    assert ha.once() == 3 and sent == forgotten
    assert ha.once() == 0  # once
    sent.clear()
    ha.on_status(b"online")  # and again for a Home Assistant that was away meanwhile
    assert ha.once() == 3 and sent == forgotten


def test_a_senml_device_is_available_while_it_keeps_sending(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "gw")
    store = data.readings()
    meter = NodeId("garden", "meter-7")
    reading = StoredReading(0, T0, "urn:dev:mac:1:power", "gauge", "W", 5.0, None, None)
    store.commit_device(meter, [reading], [], time.time())
    store.close()
    sent: list[tuple[str, bytes, bool]] = []
    ha = HomeAssistantPublisher(HomeAssistantConfig(enabled=True), "garden", data,
                                lambda t, p, r: sent.append((t, p, r)))
    ha.once()
    availability = "eil/v1/garden/_gateway/ha/meter_7/availability"
    assert (availability, b"online", True) in sent  # it sends no status: its last message
    with data.readings() as store:  # its last message longer than SILENT_S ago
        store.commit_device(meter, [], [], time.time() - SILENT_S - 1)
    sent.clear()
    ha.once()
    assert (availability, b"offline", True) in sent
