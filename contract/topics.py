"""MQTT 5 topic tree, under a versioned root.

    eil/v1/<site>/<node>/readings   node -> gateway  SenML pack of gauge/counter records  QoS 1
    eil/v1/<site>/<node>/events     node -> gateway  SenML pack of event records          QoS 1
    eil/v1/<site>/<node>/status     node -> all      JSON, retained, last will "offline"  QoS 1
    eil/v1/<site>/<node>/ack        gateway -> node  JSON {"seq": N}, retained, cumulative QoS 1
    eil/v1/<site>/_gateway/status   gateway -> all   JSON, retained, boot id; nodes resend on a new boot
    eil/v1/<site>/_gateway/library  gateway -> nodes JSON, retained: the tool library's station view
    eil/v1/<site>/_gateway/signals  gateway -> all   JSON, retained: the latest impact signals
    eil/v1/<site>/_senml/<device>/pack  a third-party device -> gateway  RFC 8428 SenML JSON
                                    (contract/rfc8428.py: no sequence numbers, no ack)

Identifiers are lower-case letters, digits and '-' (at most 32 chars): they are MQTT topic levels,
Mosquitto user names and SenML name prefixes at once, so they must be safe in all three.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from contract import CONTRACT_VERSION
from contract.errors import TopicError

ROOT = f"eil/{CONTRACT_VERSION}"
GATEWAY = "_gateway"
DEVICES = "_senml"  # third-party RFC 8428 devices: eil/v1/<site>/_senml/<device>/pack
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


class Channel(StrEnum):
    READINGS = "readings"
    EVENTS = "events"
    STATUS = "status"
    ACK = "ack"


DATA_CHANNELS = (Channel.READINGS, Channel.EVENTS)


def check_id(value: str, what: str) -> str:
    """Return `value` if it is a valid site or node id, else raise TopicError naming `what`."""
    if not isinstance(value, str) or not _ID.match(value):
        raise TopicError(
            f"invalid {what} id {value!r}: use 1-32 of a-z, 0-9 and '-', starting with a letter or digit"
        )
    return value


@dataclass(frozen=True, slots=True, order=True)
class NodeId:
    site: str
    node: str

    def __post_init__(self) -> None:
        check_id(self.site, "site")
        check_id(self.node, "node")

    def __str__(self) -> str:
        return f"{self.site}/{self.node}"

    def topic(self, channel: Channel) -> str:
        return f"{ROOT}/{self.site}/{self.node}/{channel}"

    @property
    def base_name(self) -> str:
        """SenML base name: every record name of this node's packs starts with it."""
        return f"{self.site}/{self.node}/"


def gateway_status_topic(site: str) -> str:
    return f"{ROOT}/{check_id(site, 'site')}/{GATEWAY}/status"


def library_view_topic(site: str) -> str:
    """The tool library's view for its stations: tool states, member pseudonyms, overdue flags."""
    return f"{ROOT}/{check_id(site, 'site')}/{GATEWAY}/library"


def signals_topic(site: str) -> str:
    """The latest value, band and threshold of every impact signal of the site."""
    return f"{ROOT}/{check_id(site, 'site')}/{GATEWAY}/signals"


def subscription(channel: Channel, site: str = "+") -> str:
    """Wildcard filter for one channel of every node (of one site, or of all sites)."""
    return f"{ROOT}/{site}/+/{channel}"


def parse(topic: str) -> tuple[NodeId, Channel]:
    """Split a node topic into its node identity and channel; raise TopicError otherwise."""
    parts = topic.split("/")
    if len(parts) != 5 or f"{parts[0]}/{parts[1]}" != ROOT:
        raise TopicError(f"topic {topic!r} is not of the form {ROOT}/<site>/<node>/<channel>")
    try:
        channel = Channel(parts[4])
    except ValueError:
        raise TopicError(f"topic {topic!r} has unknown channel {parts[4]!r}") from None
    return NodeId(parts[2], parts[3]), channel


def device_topic(device: NodeId) -> str:
    """Where a third-party SenML device publishes (its credential may write nothing else)."""
    return f"{ROOT}/{device.site}/{DEVICES}/{device.node}/pack"


def device_subscription(site: str) -> str:
    return f"{ROOT}/{check_id(site, 'site')}/{DEVICES}/+/pack"


def parse_device(topic: str) -> NodeId | None:
    """The device of a device topic; None for any other topic; TopicError for a device topic
    with an invalid id."""
    parts = topic.split("/")
    if len(parts) != 6 or f"{parts[0]}/{parts[1]}" != ROOT or parts[3] != DEVICES or \
            parts[5] != "pack":
        return None
    return NodeId(parts[2], parts[4])
