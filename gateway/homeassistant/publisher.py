"""Publishes what Home Assistant's MQTT discovery needs, from the store, on its own schedule
(never in ingest's path):

- per node, one retained device-based discovery config at
  `<prefix>/device/eil_<site>_<node>/config`: a sensor component per gauge or counter series,
  with device_class, state_class and unit (mapping.py), all reading one JSON state topic;
- the site's impact signals as the components of one more device, `eil_<site>_signals`;
- every alert source that has fired (gateway/alerts/) as a `problem` binary sensor of the
  device `eil_<site>_alerts`: on while firing or acknowledged, with its state, severity, words
  and who acknowledged it as attributes, so a Home Assistant automation can act on it;
- each node's availability (retained `online`/`offline`, from the node's own status: its last
  will says offline; a third-party SenML device, which has none, by its last message), and
  the site device's from the gateway being up;
- the states: the newest value of every series, per node, when they changed;
- all configs and states again when Home Assistant announces itself (`<prefix>/status` =
  `online`), so a Home Assistant that restarted (or started after us) has everything.

A node a steward retired (`eil gateway retire`) is forgotten: an empty config (Home Assistant
removes the device) and its retained availability and state cleared; again each time Home
Assistant announces itself, in case it was away when the node was retired.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contract.topics import GATEWAY, ROOT
from core import __version__
from gateway.errors import StoreError
from gateway.homeassistant.mapping import sensor
from gateway.store.data_dir import DataDir

log = logging.getLogger("eil.homeassistant")
Publish = Callable[[str, bytes, bool], object]  # topic, payload, retain
SILENT_S = 300.0  # a device without a status of its own is unavailable after this long


@dataclass(frozen=True)
class HomeAssistantConfig:
    enabled: bool = False
    discovery_prefix: str = "homeassistant"
    every_s: float = 5.0  # how often states are checked for changes
    signals: bool = True
    alerts: bool = True


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")


def _available(n: dict[str, Any], now: float) -> bool:
    """A node by its own retained status (its last will says offline); a third-party SenML
    device, which sends no status, while its last message is under SILENT_S old."""
    state, seen = n.get("state"), n.get("last_seen")
    if state in ("online", "offline"):
        return state == "online"
    return isinstance(seen, float) and now - seen < SILENT_S


class HomeAssistantPublisher:
    def __init__(self, cfg: HomeAssistantConfig, site: str, data: DataDir,
                 publish: Publish) -> None:
        self.cfg, self.site, self.data, self.publish = cfg, site, data, publish
        self.base = f"{ROOT}/{site}/{GATEWAY}/ha"
        self.configs: dict[str, str] = {}  # device id -> config JSON as last published
        self.states: dict[str, str] = {}
        self.availability: dict[str, str] = {}
        self.announce = threading.Event()  # Home Assistant came online: publish everything

    @property
    def status_topic(self) -> str:
        return f"{self.cfg.discovery_prefix}/status"

    def on_status(self, payload: bytes) -> None:
        if payload.strip() == b"online":
            log.info("Home Assistant is online: publishing every config and state again")
            self.announce.set()

    def device_id(self, node: str) -> str:
        return f"eil_{_slug(self.site)}_{_slug(node)}"

    def _config_topic(self, device: str) -> str:
        return f"{self.cfg.discovery_prefix}/device/{device}/config"

    def _node_config(self, node: str, series: list[dict[str, Any]]) -> dict[str, Any]:
        device = self.device_id(node)
        components: dict[str, Any] = {}
        for s in series:
            sens = sensor(str(s["name"]), str(s["kind"]), s["unit"])
            if sens is None:
                continue
            key = _slug(f"{s['name']}_{s['kind']}_{s['unit'] or ''}")
            value = f"value_json['{key}']"
            comp: dict[str, Any] = {
                "p": "sensor", "unique_id": f"{device}_{key}", "name": s["name"],
                "state_class": sens.state_class,
                "value_template": "{{ " + (f"({value} * {sens.factor}) | round(6)"
                                           if sens.factor != 1.0 else value) + " }}"}
            if sens.device_class is not None:
                comp["device_class"] = sens.device_class
            if sens.unit is not None:
                comp["unit_of_measurement"] = sens.unit
            components[key] = comp
        return {"dev": {"ids": [device], "name": f"{node} ({self.site})", "mf": "EIL stack",
                        "mdl": "EIL node", "sw": __version__},
                "o": {"name": "eil", "sw": __version__},
                "cmps": components, "state_topic": f"{self.base}/{_slug(node)}/state",
                "availability_topic": f"{self.base}/{_slug(node)}/availability", "qos": 1}

    def _signals_config(self, signals: list[dict[str, Any]]) -> dict[str, Any]:
        device = f"eil_{_slug(self.site)}_signals"
        components = {}
        for s in signals:
            key = _slug(str(s["id"]))
            components[key] = {"p": "sensor", "unique_id": f"{device}_{key}",
                               "name": f"{s['signal']} ({s['scope']})",
                               "state_class": "measurement",
                               "unit_of_measurement": s["unit"] if s["unit"] not in ("/", "")
                               else None, "value_template": "{{ value_json['" + key + "'] }}"}
            if components[key]["unit_of_measurement"] is None:
                del components[key]["unit_of_measurement"]
        return {"dev": {"ids": [device], "name": f"{self.site} impact signals",
                        "mf": "EIL stack", "mdl": "EIL gateway", "sw": __version__},
                "o": {"name": "eil", "sw": __version__}, "cmps": components,
                "state_topic": f"{self.base}/_signals/state",
                "availability_topic": f"{ROOT}/{self.site}/{GATEWAY}/status",
                "availability_template": "{{ value_json.state }}", "qos": 1}

    def _alerts_config(self, keys: dict[str, str]) -> dict[str, Any]:
        """`keys`: entity key -> its name."""
        device = f"eil_{_slug(self.site)}_alerts"
        state = f"{self.base}/_alerts/state"
        components = {key: {"p": "binary_sensor", "unique_id": f"{device}_{key}", "name": name,
                            "device_class": "problem",
                            "value_template": "{{ value_json['" + key + "'].on }}",
                            "json_attributes_topic": state,
                            "json_attributes_template": "{{ value_json['" + key +
                                                        "'] | tojson }}"}
                      for key, name in keys.items()}
        return {"dev": {"ids": [device], "name": f"{self.site} alerts", "mf": "EIL stack",
                        "mdl": "EIL gateway", "sw": __version__},
                "o": {"name": "eil", "sw": __version__}, "cmps": components,
                "state_topic": state, "availability_topic": f"{ROOT}/{self.site}/{GATEWAY}/status",
                "availability_template": "{{ value_json.state }}", "qos": 1}

    def _changed_config(self, device: str, config: dict[str, Any]) -> int:
        """Publish the device's discovery config if it changed: 1 if it was published."""
        text = json.dumps(config, sort_keys=True)
        if self.configs.get(device) == text:
            return 0
        self.publish(self._config_topic(device), text.encode(), True)
        self.configs[device] = text
        return 1

    def _changed_state(self, key: str, topic: str, state: Any) -> int:
        """Publish a state topic's JSON if it changed: 1 if it was published."""
        body = json.dumps(state, sort_keys=True)
        if self.states.get(key) == body:
            return 0
        self.publish(topic, body.encode(), True)
        self.states[key] = body
        return 1

    def _publish_alerts(self) -> int:
        with self.data.alerts() as book:
            alerts = book.alerts()
        if not alerts:
            return 0
        keys = {_slug(a.id): f"{a.title} ({a.scope})" for a in alerts.values()}
        sent = self._changed_config(f"eil_{_slug(self.site)}_alerts", self._alerts_config(keys))
        return sent + self._changed_state("_alerts", f"{self.base}/_alerts/state", {
            _slug(a.id): {"on": "ON" if a.active else "OFF", "alert_state": a.state,
                          "severity": a.severity, "text": a.text, "since_ms": a.since_ms,
                          "acknowledged_by": a.ack_by, "id": a.id} for a in alerts.values()})

    def once(self) -> int:
        """Publish what changed (everything, after Home Assistant announced itself). Returns
        how many messages were published."""
        again = self.announce.is_set()
        self.announce.clear()
        if again:
            self.configs.clear()
            self.states.clear()
            self.availability.clear()
        sent = 0
        if not self.data.has_readings():
            return 0
        with self.data.readings(readonly=True) as store:
            latest = store.latest()
            nodes = {str(n["node"]): n for n in store.node_summary()}
        by_node: dict[str, list[dict[str, Any]]] = {}
        for row in latest:
            by_node.setdefault(str(row["node"]), []).append(row)
        for node, series in sorted(by_node.items()):
            device = self.device_id(node)
            if nodes.get(node, {}).get("retired"):  # a steward retired it: the device goes
                if self.configs.get(device) != "":
                    self.forget(node)
                    sent += 3
                continue
            sent += self._changed_config(device, self._node_config(node, series))
            state = "online" if _available(nodes.get(node, {}), time.time()) else "offline"
            if self.availability.get(node) != state:
                self.publish(f"{self.base}/{_slug(node)}/availability", state.encode(), True)
                self.availability[node] = state
                sent += 1
            values = {_slug(f"{s['name']}_{s['kind']}_{s['unit'] or ''}"): s["value"]
                      for s in series if s["kind"] != "event"}
            sent += self._changed_state(node, f"{self.base}/{_slug(node)}/state", values)
        if self.cfg.signals:
            signals = self.data.latest_signals()
            if signals:
                sent += self._changed_config(f"eil_{_slug(self.site)}_signals",
                                             self._signals_config(signals))
                sent += self._changed_state("_signals", f"{self.base}/_signals/state", {
                    _slug(str(s["id"])): s["value"] for s in signals})
        if self.cfg.alerts and self.data.has_alerts():
            sent += self._publish_alerts()
        return sent

    def forget(self, node: str) -> None:
        """Remove the node's device from Home Assistant (an empty config, which also clears the
        retained one) and clear its retained availability and state."""
        device = self.device_id(node)
        self.publish(self._config_topic(device), b"", True)
        for topic in ("availability", "state"):
            self.publish(f"{self.base}/{_slug(node)}/{topic}", b"", True)
        self.configs[device] = ""  # forgotten: again only after Home Assistant announces
        self.availability.pop(node, None)
        self.states.pop(node, None)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.once()
            except (StoreError, OSError, ValueError) as exc:  # busy, being created: next time
                log.error("Home Assistant discovery not published this time: %s", exc)
            self.announce.wait(self.cfg.every_s)  # or at once when Home Assistant announces
