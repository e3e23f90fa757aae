"""`eil gateway run`: the ingest service and the web server in one process."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from contract.topics import signals_topic
from gateway.alerts.evaluator import AlertEvaluator
from gateway.config import GatewayConfig, load_gateway_config
from gateway.errors import GatewayError
from gateway.homeassistant.publisher import HomeAssistantPublisher
from gateway.ingest.service import IngestService
from gateway.processes import NICE, ChildProcesses
from gateway.signals.publish import SignalPublisher
from gateway.store.mover import ColdMover

log = logging.getLogger("eil.gateway")


def sink_main(config_path: str, name: str, parent: int) -> None:
    """A sink's process (gateway/processes.py): the gateway's config, one sink, until the
    gateway that started it is gone."""
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.nice(NICE)
    from gateway.sinks.runner import SinkRunner  # influxdb-client: only in a sink's process

    cfg = load_gateway_config(Path(config_path))
    (sink,) = [s for s in cfg.sinks if s.name == name]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    store = cfg.data.readings()
    try:
        SinkRunner(sink, cfg.site, cfg.data, store, cfg.clock).run(
            stop, alive=lambda: os.getppid() == parent)
    finally:
        store.close()


def sender_main(config_path: str, name: str, parent: int) -> None:
    """The notification sender's process (gateway/alerts/sender.py), until the gateway that
    started it is gone."""
    del name
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.nice(NICE)
    from zoneinfo import ZoneInfo

    from gateway.alerts.sender import Sender  # Apprise: only in the sender's process

    cfg = load_gateway_config(Path(config_path))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sender = Sender(cfg.data, cfg.alerts, cfg.site, cfg.clock, ZoneInfo(cfg.alerts.zone))
    try:
        sender.run(stop, alive=lambda: os.getppid() == parent)
    finally:
        sender.close()


def _certificates(cfg: GatewayConfig) -> list[Path]:
    """The certificates the gateway relies on: its broker's CA and its own client one."""
    return [Path(p) for p in (cfg.broker.ca_file, cfg.broker.cert_file) if p]


class Gateway:
    def __init__(self, cfg: GatewayConfig) -> None:
        self.cfg = cfg
        self.store = cfg.data.readings()
        for gone in self.store.sinks.configured(cfg.readers(), time.time()):
            log.warning("sink %s is no longer in %s: it holds nothing back now; `eil gateway "
                        "sink remove %s` forgets its cursor and counters", gone, cfg.path, gone)
        self.ingest = IngestService(cfg, self.store)
        self.failed: str | None = None  # the essential thread that failed, if one did
        self.web = None
        if cfg.http.port:
            # FastAPI and uvicorn only for a gateway that serves the views ([http] port > 0)
            import uvicorn

            from gateway.web.app import create_app

            config = uvicorn.Config(create_app(cfg.data, cfg.site, cfg.clock, cfg.alerts),
                                    host=cfg.http.host, port=cfg.http.port, log_level="warning")
            self.web = uvicorn.Server(config)

    @property
    def url(self) -> str:
        return f"http://{self.cfg.http.host}:{self.cfg.http.port}/"

    def _thread(self, name: str, target: Callable[[], None], stop: threading.Event
                ) -> threading.Thread:
        """A thread running `target` whose failure ends the whole gateway (exit 1, and systemd
        starts it again) instead of leaving a process that looks alive but no longer ingests,
        moves or publishes."""
        def run() -> None:
            try:
                target()
            except BaseException:
                log.exception("the %s thread failed: stopping the gateway", name)
                self.failed = name
                stop.set()
        return threading.Thread(target=run, name=name, daemon=True)

    def run(self, stop: threading.Event) -> None:
        """Run until `stop`; raises GatewayError when an essential thread failed."""
        threads = [self._thread("ingest", self.ingest.run, stop)]
        if self.web is not None:
            threads.append(threading.Thread(target=self.web.run, name="web", daemon=True))
            log.info("web views at %s", self.url)
            from gateway.web.auth import first_run_token  # the web app's, as above

            token = first_run_token(self.cfg.data)
            if token is not None:
                log.warning("no account yet: open %ssetup with the token in %s (or run `eil "
                            "gateway account add NAME --role steward`)", self.url, token)
        if self.cfg.signals.every_s > 0:
            topic = signals_topic(self.cfg.site)
            publisher = SignalPublisher(self.cfg.data, lambda payload: self.ingest.client.publish(
                topic, payload, qos=1, retain=True), self.cfg.signals.every_s, self.cfg.clock,
                self.cfg.site)
            threads.append(self._thread("signals", lambda: publisher.run(stop), stop))
        if self.cfg.store.move_every_s > 0:
            mover = ColdMover(self.store, self.cfg.store.hot_hours * 3600,
                              self.cfg.store.move_every_s, self.cfg.clock,
                              self.cfg.retention.policy, self.cfg.readers())
            threads.append(self._thread("cold", lambda: mover.run(stop), stop))
        if self.cfg.homeassistant.enabled:
            ha = HomeAssistantPublisher(
                self.cfg.homeassistant, self.cfg.site, self.cfg.data,
                lambda topic, payload, retain: self.ingest.client.publish(
                    topic, payload, qos=1, retain=retain))
            self.ingest.extra_subscriptions[ha.status_topic] = ha.on_status
            threads.append(self._thread("homeassistant", lambda: ha.run(stop), stop))
        evaluator = AlertEvaluator(self.cfg.data, self.cfg.alerts, self.cfg.clock,
                                   sinks=[s.name for s in self.cfg.sinks],
                                   certificates=_certificates(self.cfg),
                                   backups=self.cfg.backup.configured)
        threads.append(self._thread("alerts", lambda: evaluator.run(stop), stop))
        if self.cfg.alerts.recipients:
            sender = ChildProcesses(self.cfg.path, "alerts", ["sender"], sender_main)
            threads.append(self._thread("sender", lambda: sender.run(stop), stop))
        if self.cfg.sinks:
            sinks = ChildProcesses(self.cfg.path, "sink", [s.name for s in self.cfg.sinks],
                                   sink_main)
            threads.append(self._thread("sinks", lambda: sinks.run(stop), stop))
        for t in threads:
            t.start()
        stop.wait()
        self.ingest.stop.set()
        if self.web is not None:
            self.web.should_exit = True
        for t in threads:
            t.join(timeout=10)
        self.store.close()
        if self.failed:
            raise GatewayError(f"the gateway's {self.failed} thread failed (its traceback is "
                               "in the log above)")
