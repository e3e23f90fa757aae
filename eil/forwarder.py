"""`eil gateway forward`: a site gateway's signal summaries carried to the gateway of the scope
above it (a neighbourhood's, a municipality's), with the guarantees a node has towards its own
gateway (docs/federation.md).

The forwarder is a node agent (edge/agent.py) whose "sensor" reads the site's latest signal run
(signals.json, which the gateway replaces atomically after each run) instead of hardware: the
agent numbers the summaries in its own durable outbox (<data>/upstream/outbox), publishes
them to the upper broker as the node <site> of the scope, and deletes them only when the upper
gateway acknowledges its commit. Which run was last taken travels in the outbox's hand-off mark,
in the same frame as that run's summaries, so a kill -9 at any instant neither loses a run nor
sends one twice. It lives here, in the shell, because it joins the two halves: the node's outbox
and agent, and the gateway's data directory.

With `[upstream] series`, chosen reading series of the site's nodes travel too (SiteSeries).

A gateway that is itself a scope (its site is the name of one in its scopes.toml) forwards that
scope's roll-up as its site totals, so a municipality rolls up its neighbourhoods the same way.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from contract import summaries
from contract.errors import ContractError
from contract.senml import Kind
from contract.topics import NodeId
from core.clock import SystemClock
from edge.agent import NodeAgent
from edge.config import ClockConfig, NodeConfig, PublishConfig
from edge.driver import QuantitySpec, Sample, SensorConfig
from edge.errors import SensorError
from edge.hardware import Hardware
from gateway.config import UPSTREAM_READER, GatewayConfig, UpstreamConfig
from gateway.errors import StoreError
from gateway.signals.catalogue import DEFS
from gateway.store import Store
from gateway.store.data_dir import DataDir

log = logging.getLogger("eil.forward")
SOURCE = "summaries"  # the hand-off mark's name: (0, time ms of the last run taken)


class SiteSummaries:
    """The forwarder's sensor: each new signal run's site and library totals, once."""

    def __init__(self, data: DataDir, site: str, hw: Hardware) -> None:
        self.data, self.site, self.hw = data, site, hw
        self.quantities = tuple(QuantitySpec(summaries.name_of(sid), None, Kind.EVENT,
                                             f"the site's {d.title}") for sid, d in DEFS.items())

    def entries(self) -> list[dict[str, Any]] | None:
        """The latest run's entries to forward: the site's and library's totals, and for a
        gateway that is itself a scope its roll-up, as this site's totals. None while the two
        files are of different runs (scopes.json is replaced first, signals.json after)."""
        own = [e for e in self.data.latest_signals() if e.get("scope") in summaries.SCOPES]
        rolled = [dict(e, scope="site") for e in self.data.latest_rollups().get(self.site, [])]
        if own and rolled and max(e["t"] for e in own) != max(e["t"] for e in rolled):
            return None
        taken = {e["signal"] for e in rolled}
        return rolled + [e for e in own if e["signal"] not in taken]

    def read(self, now: float) -> list[Sample]:
        try:
            entries = self.entries()
        except (OSError, ValueError) as exc:  # the agent reports it once, and tries again
            raise SensorError(f"the site's latest signal run cannot be read: {exc}") from exc
        if entries is None:
            return []
        newest = max((int(e["t"]) for e in entries if isinstance(e.get("t"), int)), default=0)
        mark = self.hw.handoff.latest(SOURCE)
        if newest <= (mark[1] if mark else 0):
            return []  # nothing new since the last run taken
        out = []
        for e in entries:
            if e.get("t") != newest:
                continue  # a stale entry of an older run: the roll-up reads the newest
            try:
                name, text = summaries.encode(e)
            except ContractError as exc:  # a signal this forwarder's contract cannot carry
                log.error("not forwarded: %s", exc)
                continue
            if name[len(summaries.PREFIX):] in DEFS:
                out.append(Sample(name, text=text, time=newest / 1000))
        self.hw.handoff.stage(SOURCE, (0, newest))  # committed with these samples, or neither
        log.info("run of %d: %d summaries to forward", newest, len(out))
        return out


class SiteSeries:
    """The forwarder's second sensor (`[upstream] series`): the chosen reading series of the
    site's nodes, read from the store in seq order up to each node's acknowledgement watermark
    and forwarded with their own times, units, calibrations and flags. Where each node's
    reading ends travels as its hand-off mark ("series:<node>") in the outbox frame holding
    those readings; once a frame is committed the position is also written to the store as
    the cursors of the reader "_upstream", so retention never deletes what is not forwarded
    yet. Events are never forwarded (a loan's member pseudonym stays at its site)."""

    def __init__(self, data: DataDir, series: tuple[tuple[str, str], ...], hw: Hardware,
                 batch: int = 5000) -> None:
        self.data, self.hw, self.batch = data, hw, batch
        self.wanted = {key: summaries.series_name(*key) for key in series}
        self.nodes = sorted({node for node, _ in series})
        self.specs: dict[str, QuantitySpec] = {}  # name -> spec, as each series is first met
        self.skipped: set[tuple[str, str, str | None]] = set()
        self.store: Store | None = None
        self.placed: dict[str, int] = {}  # the positions last written to the store

    @property
    def quantities(self) -> tuple[QuantitySpec, ...]:
        return tuple(self.specs.values())

    def bind(self, specs: dict[str, QuantitySpec]) -> None:
        """Share the agent's table of this sensor's quantities, which the sensor fills as it
        meets each series (its unit and kind are the store's, known only then)."""
        specs.update(self.specs)
        self.specs = specs

    def positions(self, *, committed: bool = False) -> dict[str, int]:
        """Node -> the seq its forwarded readings end at: taken so far, or committed."""
        mark = self.hw.handoff.mark if committed else self.hw.handoff.latest
        return {node: (m[1] if (m := mark(f"series:{node}")) else 0) for node in self.nodes}

    def _store(self) -> Store | None:
        if self.store is None and self.data.has_readings():
            self.store = self.data.readings()
        return self.store

    def committed(self, _mark: object) -> None:
        """An outbox frame with series marks is on the card: tell retention. If the store is
        busy, the next frame tells it (a cursor behind only keeps more)."""
        at = self.positions(committed=True)
        if at == self.placed:  # a frame marking several nodes calls this once per node
            return
        try:
            store = self._store()
            if store is not None:
                store.place_reader(UPSTREAM_READER, at, int(time.time() * 1000))
                self.placed = at
        except StoreError as exc:
            log.warning("the forwarder's position not written to the store this time: %s", exc)

    def read(self, now: float) -> list[Sample]:
        before = self.positions()
        try:
            store = self._store() if self.nodes else None
            if store is None:
                return []
            rows, ends = store.readings_after(before, self.batch)
        except StoreError as exc:  # the agent reports it once, and tries again
            raise SensorError(f"the site's store cannot be read: {exc}") from exc
        out = []
        for r in rows:
            name = self.wanted.get((r.node, r.name))
            if name is None or r.kind == Kind.EVENT.value or r.value is None:
                continue
            spec = self.specs.setdefault(name, QuantitySpec(name, r.unit, Kind(r.kind),
                                                            f"{r.node}/{r.name} of the site"))
            if (spec.unit, spec.kind.value) != (r.unit, r.kind):
                if (r.node, r.name, r.unit) not in self.skipped:
                    log.warning("%s/%s is forwarded in %s (%s); its readings in %s (%s) are "
                                "not", r.node, r.name, spec.unit, spec.kind, r.unit, r.kind)
                    self.skipped.add((r.node, r.name, r.unit))
                continue
            out.append(Sample(name, value=r.value, cal=r.cal, time=r.t_ms / 1000, q=r.q))
        for node, end in ends.items():
            if end > before[node]:
                self.hw.handoff.stage(f"series:{node}", (0, end))
        return out

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def forwarder(cfg: GatewayConfig, up: UpstreamConfig) -> NodeAgent:
    """The forwarder's agent: node <site> of the scope `up.scope`, publishing to its broker.
    It runs on real time (every_s is real seconds, whatever the site's clock): the summaries
    carry their runs' own times."""
    data_dir = cfg.data.root / "upstream"
    node_cfg = NodeConfig(
        path=cfg.path, id=NodeId(up.scope, cfg.site), data_dir=data_dir, broker=up.broker,
        clock=ClockConfig(1.0, None, None),
        publish=PublishConfig(max_records_per_pack=200, window=up.window, ack_timeout_s=15.0,
                              commit_interval_s=0.1, status_interval_s=30.0),
        sensors=(SensorConfig("site_summaries", None, up.every_s, {}, f"{cfg.path}: [upstream]"),
                 SensorConfig("site_series", None, up.every_s, {},
                              f"{cfg.path}: [upstream] series")))
    hw = Hardware(data_dir=data_dir)
    series = SiteSeries(cfg.data, up.series, hw)
    agent = NodeAgent(node_cfg, clock=SystemClock(), hardware=hw,
                      sensors=[SiteSummaries(cfg.data, cfg.site, hw), series])
    series.bind(agent.specs[1])
    for node in series.nodes:
        hw.handoff.listeners[f"series:{node}"] = series.committed
    return agent
