"""Gateway config: TOML parsed once into frozen objects; errors name file, key and reason."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from contract import summaries
from contract.errors import ContractError, TopicError
from contract.senml import MAX_PACK_BYTES
from contract.topics import check_id
from core.clock import Clock, SystemClock, clock_from
from core.config import BrokerConfig, Table, parse_broker, read_toml
from gateway.alerts.config import FILE as ALERTS_FILE
from gateway.alerts.config import AlertsConfig, load_alerts_config
from gateway.backup.config import BackupConfig, parse_backup
from gateway.homeassistant.publisher import HomeAssistantConfig
from gateway.sinks.config import SinkConfig, parse_sinks
from gateway.store.data_dir import DataDir

MAX_SEQ_AHEAD = 100_000  # default [ingest] max_seq_ahead: a node's window is 20,000 by default
GATEWAY_USER = "_gateway"  # cannot collide with a node id (ids cannot start with '_')


@dataclass(frozen=True)
class IngestConfig:
    max_pack_bytes: int
    max_future_s: float  # readings stamped further ahead than this are rejected
    batch_max: int  # readings per store commit, at most
    batch_wait_s: float  # how long a commit waits to gather more messages
    shared_group: str  # MQTT 5 shared subscription group: run several gateways to scale out
    max_seq_ahead: int = MAX_SEQ_AHEAD  # a pack further beyond a node's watermark is refused


@dataclass(frozen=True)
class HttpConfig:
    host: str
    port: int  # 0 disables the web server


@dataclass(frozen=True)
class SignalsConfig:
    every_s: float  # how often the impact signals are computed and published; 0: never


@dataclass(frozen=True)
class StoreConfig:
    hot_hours: float = 2.0  # readings younger than this stay rows; older ones move to chunks
    move_every_s: float = 600.0  # how often the move runs; 0: never (everything stays hot)


@dataclass(frozen=True)
class RetentionConfig:
    """How long raw readings and hourly roll-ups are kept, in days (0: forever); per quantity
    (matched like the signals: the name, or a name ending in "." and it) in `quantities`."""

    raw_days: float = 1095.0
    rollup_days: float = 0.0
    quantities: tuple[tuple[str, float, float], ...] = ()

    def policy(self, name: str) -> tuple[float, float]:
        for q, raw, rolled in self.quantities:
            if name == q or name.endswith("." + q):
                return raw, rolled
        return self.raw_days, self.rollup_days


@dataclass(frozen=True)
class UpstreamConfig:
    """[upstream]: the gateway of the scope above (a neighbourhood's, a municipality's), which
    this site's forwarder sends its signal summaries to (docs/federation.md). There this site
    is the node `<site>` of the scope `scope`."""

    scope: str  # the upper gateway's site id
    broker: BrokerConfig  # the upper broker; the user name defaults to this site's id
    every_s: float = 5.0  # how often the forwarder looks for a new run (real seconds)
    window: int = 20_000  # summaries and readings published but not yet acknowledged
    series: tuple[tuple[str, str], ...] = ()  # (node, quantity) reading series to forward too


UPSTREAM_READER = "_upstream"  # the forwarder's cursors in the store (no sink can be named so)
_BROKER_KEYS = {"host", "port", "tls", "ca_file", "cert_file", "key_file", "username",
                "password", "password_file"}


@dataclass(frozen=True)
class GatewayConfig:
    path: Path
    site: str
    data_dir: Path
    broker: BrokerConfig
    ingest: IngestConfig
    http: HttpConfig
    signals: SignalsConfig = SignalsConfig(300.0)
    store: StoreConfig = StoreConfig()
    retention: RetentionConfig = RetentionConfig()
    sinks: tuple[SinkConfig, ...] = ()
    homeassistant: HomeAssistantConfig = HomeAssistantConfig()
    upstream: UpstreamConfig | None = None
    alerts: AlertsConfig = AlertsConfig(None)  # alerts.toml beside this file
    backup: BackupConfig = BackupConfig()  # [backup]: where `eil gateway backup` sends copies
    # the site's time for signals and views: real time, or the demo's and tests' simulated
    # timeline (their nodes run faster than real time; the gateway follows them)
    clock: Clock = SystemClock()

    @property
    def data(self) -> DataDir:
        return DataDir(self.data_dir)

    def readers(self) -> list[str]:
        """Who reads raw readings out of the store at their own pace, so that retention keeps
        what they still need: the sinks, and the forwarder of `[upstream] series`."""
        names = [s.name for s in self.sinks]
        return names + [UPSTREAM_READER] if self.upstream and self.upstream.series else names


def load_gateway_config(path: Path) -> GatewayConfig:
    root = Table(path, read_toml(path))
    site = root.get("site", str)
    try:
        check_id(site, "site")
    except TopicError as exc:
        raise root.fail("site", str(exc)) from None
    ing, http = root.table("ingest"), root.table("http")
    data_dir = Path(root.get("data_dir", str, "/var/lib/eil/gateway"))
    if not data_dir.is_absolute():
        data_dir = (path.parent / data_dir).resolve()
    port = http.get("port", int, 8080)
    if not 0 <= port < 65536:
        raise http.fail("port", f"not a TCP port: {port}")
    host = http.get("host", str, "127.0.0.1")
    return GatewayConfig(
        path=path, site=site, data_dir=data_dir,
        broker=parse_broker(root.table("broker"), GATEWAY_USER),
        ingest=IngestConfig(
            max_pack_bytes=int(ing.positive("max_pack_bytes", MAX_PACK_BYTES)),
            max_future_s=ing.positive("max_future_s", 366 * 86400.0),
            batch_max=int(ing.positive("batch_max", 50_000)),
            batch_wait_s=ing.positive("batch_wait_s", 0.05),
            shared_group=ing.get("shared_group", str, "eil-ingest"),
            max_seq_ahead=int(ing.positive("max_seq_ahead", MAX_SEQ_AHEAD))),
        http=HttpConfig(host=host, port=port),
        signals=SignalsConfig(every_s=_every(root.table("signals"))),
        store=_store(root.table("store")),
        retention=_retention(root.table("retention")),
        sinks=parse_sinks(root),
        homeassistant=_homeassistant(root.table("homeassistant")),
        upstream=_upstream(root.table("upstream"), site),
        clock=_clock(root.table("clock")),
        alerts=load_alerts_config(path.parent / ALERTS_FILE, zone=_site_zone(data_dir),
                                  base_url=f"http://{host}:{port}/"),
        backup=parse_backup(root.table("backup")),
    )


def _site_zone(data_dir: Path) -> str:
    """The site's time zone (thresholds.toml, site.timezone): quiet hours' default."""
    from gateway.signals.config import SignalConfigError, load_config

    try:
        return str(load_config(DataDir(data_dir)).site.get("timezone") or "UTC")
    except SignalConfigError:
        return "UTC"  # the signals' own start reports what is wrong with it


def _upstream(t: Table, site: str) -> UpstreamConfig | None:
    if not t.data:
        return None
    unknown = sorted(set(t.data) - _BROKER_KEYS - {"scope", "every_s", "window", "series"})
    if unknown:
        raise t.fail(unknown[0], "unknown option; [upstream] takes scope, every_s, window, "
                                 f"series and the broker's {', '.join(sorted(_BROKER_KEYS))}")
    series = []
    for item in t.get("series", list, []):
        node, sep, quantity = item.partition("/") if isinstance(item, str) else ("", "", "")
        try:
            if not sep:
                raise ContractError(f"{item!r} is not node/quantity, e.g. water-1/water.volume")
            check_id(node, "node")
            summaries.series_name(node, quantity)
        except ContractError as exc:
            raise t.fail("series", str(exc)) from None
        series.append((node, quantity))
    scope = t.get("scope", str)
    try:
        check_id(scope, "scope")
    except TopicError as exc:
        raise t.fail("scope", str(exc)) from None
    if scope == site:
        raise t.fail("scope", f"the scope above cannot be this site ({site}) itself")
    if "host" not in t.data:
        raise t.fail("host", "required key is missing: the upper gateway's broker address")
    return UpstreamConfig(scope=scope, broker=parse_broker(t, site),
                          every_s=t.positive("every_s", 5.0),
                          window=int(t.positive("window", 20_000)), series=tuple(series))


def _clock(t: Table) -> Clock:
    return clock_from(t.positive("speed", 1.0), t.get("start", (int, float), None),
                      t.get("anchor", (int, float), None))


def _store(t: Table) -> StoreConfig:
    every = t.get("move_every_s", (int, float), 600.0)
    if every < 0:
        raise t.fail("move_every_s", f"must be 0 (never move) or more, got {every}")
    return StoreConfig(hot_hours=t.positive("hot_hours", 2.0), move_every_s=float(every))


def _days(t: Table, key: str, default: float) -> float:
    days = float(t.get(key, (int, float), default))
    if days < 0:
        raise t.fail(key, f"must be 0 (keep forever) or more days, got {days:g}")
    return days


def _retention(t: Table) -> RetentionConfig:
    raw, rolled = _days(t, "raw_days", 1095.0), _days(t, "rollup_days", 0.0)
    per = t.table("quantities")
    quantities = []
    for name in per.data:
        q = per.table(name)
        quantities.append((name, _days(q, "raw_days", raw), _days(q, "rollup_days", rolled)))
    return RetentionConfig(raw, rolled, tuple(quantities))


def _every(t: Table) -> float:
    every = t.get("every_s", (int, float), 300.0)
    if every < 0:
        raise t.fail("every_s", f"must be 0 (off) or more, got {every}")
    return float(every)


def _homeassistant(t: Table) -> HomeAssistantConfig:
    unknown = sorted(set(t.data) - {"enabled", "discovery_prefix", "every_s", "signals",
                                    "alerts"})
    if unknown:
        raise t.fail(unknown[0], "unknown option; [homeassistant] takes enabled, "
                                 "discovery_prefix, every_s, signals, alerts")
    prefix = t.get("discovery_prefix", str, "homeassistant")
    if not prefix or any(c in prefix for c in "#+ "):
        raise t.fail("discovery_prefix", f"not an MQTT topic prefix: {prefix!r}")
    return HomeAssistantConfig(enabled=t.get("enabled", bool, bool(t.data)),
                               discovery_prefix=prefix, every_s=t.positive("every_s", 5.0),
                               signals=t.get("signals", bool, True),
                               alerts=t.get("alerts", bool, True))
