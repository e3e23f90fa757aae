"""Node config: a TOML file parsed once into frozen objects; errors name file, key and reason."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from contract.errors import TopicError
from contract.topics import NodeId
from core.config import BrokerConfig, Table, parse_broker, read_toml
from edge.claims import first_clash
from edge.driver import SensorConfig
from edge.registry import driver_for, parse_options

_SENSOR_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class ClockConfig:
    speed: float  # 1.0 = real time
    start: float | None  # simulated UNIX time at `anchor` (real UNIX time)
    anchor: float | None


@dataclass(frozen=True)
class PublishConfig:
    max_records_per_pack: int
    window: int  # readings published but not yet acknowledged, at most
    ack_timeout_s: float  # resend from the last ack if acks stall this long (real seconds)
    commit_interval_s: float  # how often sampled readings are committed to the outbox
    status_interval_s: float


@dataclass(frozen=True)
class NodeConfig:
    path: Path
    id: NodeId
    data_dir: Path
    broker: BrokerConfig
    clock: ClockConfig
    publish: PublishConfig
    sensors: tuple[SensorConfig, ...]


def load_node_config(path: Path) -> NodeConfig:
    root = Table(path, read_toml(path))
    try:
        node_id = NodeId(root.get("site", str), root.get("node", str))
    except TopicError as exc:
        raise root.fail("site/node", str(exc)) from None
    clock, pub = root.table("clock"), root.table("publish")
    sensors = []
    seen: dict[str, str] = {}  # sensor name -> where
    owner: dict[str, str] = {}  # quantity name -> where (options are all checked here too)
    raw_sensors = root.get("sensors", list, [])
    for i, raw in enumerate(raw_sensors):
        st = Table(path, raw if isinstance(raw, dict) else {}, f"sensors[{i}].")
        options = {k: v for k, v in st.data.items()
                   if k not in ("type", "id", "interval_s", "calibration")}
        sc = SensorConfig(type=st.get("type", str), id=st.get("id", str, None),
                          interval_s=st.positive("interval_s", 60.0), options=options,
                          source=f"{path}: sensors[{i}]",
                          calibration=st.get("calibration", str, None))
        if sc.id is not None and not _SENSOR_ID.match(sc.id):
            raise st.fail("id", f"{sc.id!r} must be 1-32 of a-z, 0-9, '-', '_' (it prefixes "
                                "quantity names)")
        if sc.name in seen:
            raise st.fail("id", f"two sensors are called {sc.name!r} ({seen[sc.name]} and this "
                                "one): give each its own id")
        seen[sc.name] = f"sensors[{i}]"
        names = {sc.name_for(q.key) for q in driver_for(sc).quantities(parse_options(sc))}
        if clash := sorted(names & set(owner)):
            raise st.fail("id", f"quantity {clash[0]!r} would come from {owner[clash[0]]} and "
                                "this one: give one of them another id")
        owner.update(dict.fromkeys(names, f"sensors[{i}]"))
        sensors.append(sc)
    if not sensors:
        raise root.fail("sensors", "a node needs at least one [[sensors]] block")
    hw = first_clash([(f"sensors[{i}] ({sc.name}, {sc.type})", sc.options)
                         for i, sc in enumerate(sensors)])
    if hw is not None:
        claim, first, second = hw
        raise root.fail("sensors", f"{first} and {second} both use {claim}: give one of them "
                                   "another address, pin or port")
    data_dir = Path(root.get("data_dir", str, "/var/lib/eil/node"))
    if not data_dir.is_absolute():
        data_dir = (path.parent / data_dir).resolve()
    return NodeConfig(
        path=path, id=node_id, data_dir=data_dir,
        broker=parse_broker(root.table("broker"), node_id.node),
        clock=ClockConfig(speed=clock.positive("speed", 1.0),
                          start=clock.get("start", (int, float), None),
                          anchor=clock.get("anchor", (int, float), None)),
        publish=PublishConfig(
            max_records_per_pack=int(pub.positive("max_records_per_pack", 500)),
            window=int(pub.positive("window", 20_000)),
            ack_timeout_s=pub.positive("ack_timeout_s", 15.0),
            commit_interval_s=pub.positive("commit_interval_s", 1.0),
            status_interval_s=pub.positive("status_interval_s", 30.0)),
        sensors=tuple(sensors),
    )
