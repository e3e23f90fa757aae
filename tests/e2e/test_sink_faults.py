"""Nodes -> real Mosquitto -> gateway -> store -> InfluxDB sink -> real VictoriaMetrics, through
the faults an output meets in the field: the database frozen for a simulated day (SIGSTOP: no
answer, no RST), killed -9 in the middle of a write, and the gateway with its sink process
killed -9 in the middle of a batch. Afterwards the database holds every stored reading once,
and ingest acknowledged the nodes' readings on time all along."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest

from gateway.store import DataDir
from tests.gateway.test_sinks import same
from tests.support.site import Site, wait_until
from tests.support.victoria import Victoria

pytestmark = pytest.mark.slow
NODES = {"soil-1": "soil", "energy-1": "energy"}
SPEED = 3600.0  # a simulated hour per real second


def store_points(site: Site) -> dict[tuple[str, ...], float]:
    with site.open_store() as store:
        return {(r.node, r.name, r.unit or "", r.kind, str(r.t_ms)): float(r.value)  # type: ignore[arg-type]
                for r in store.export() if r.kind != "event"}


def vm_points(vm: Victoria) -> dict[tuple[str, ...], float]:
    out: dict[tuple[str, ...], float] = {}
    for s in vm.export('{__name__="eil_reading_value"}'):
        m = s["metric"]
        for t, v in zip(s["timestamps"], s["values"], strict=True):  # type: ignore[call-overload]
            key = (m["node"], m["quantity"], m["unit"], m["kind"], str(t))  # type: ignore[index]
            assert key not in out, f"{key} twice"
            out[key] = v
    return out


def sink_behind(site: Site) -> int:
    with site.open_store() as store:
        (status,) = store.sinks.status(int(site.sim_now() * 1000))
        return status.behind


def test_sink_survives_a_frozen_and_a_killed_database_and_a_killed_gateway(
        make_site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    vm = Victoria(tmp_path / "vm").start()
    extra = ("[signals]\nevery_s = 2\n[[sinks]]\nname = \"vm\"\ntype = \"influxdb\"\n"
             f"url = \"{vm.url}\"\nbucket = \"eil\"\nflavor = \"victoriametrics\"\n"
             "batch = 500\ntimeout_s = 2\nmax_backoff_s = 2\n")
    # the simulated timeline starts days back, so that it stays behind the wall clock:
    # VictoriaMetrics ignores samples more than two days ahead of it
    site: Site = make_site(NODES, speed=SPEED, gateway_extra=extra,
                           sim_start=time.time() - 5 * 86400)
    received = 0  # points VictoriaMetrics read, over all its runs (its counter restarts)
    try:
        site.broker.start()
        site.start_gateway()
        for node in NODES:
            site.start_node(node)
        wait_until(lambda: len(vm_points(vm)) > 200, 60, "the sink writing to VictoriaMetrics")

        def most_unacked(seconds: float) -> int:
            """The most readings a node held unacknowledged, sampled twice a second."""
            most, deadline = 0, time.monotonic() + seconds
            while time.monotonic() < deadline:
                for node in NODES:
                    last, acked, _ = site.outbox(node)
                    most = max(most, last - acked)
                time.sleep(0.5)
            return most

        usual = most_unacked(3.0)
        # frozen for a simulated day: the sink times out and backs off; ingest goes on
        vm.pause(True)
        frozen_at = site.stored("energy-1")[0]
        frozen = most_unacked(86400 / SPEED)
        assert site.stored("energy-1")[0] > frozen_at + 1000  # a day of readings stored
        # acknowledged as promptly as before (a node makes ~240 readings a real second here)
        assert frozen < max(2 * usual, 1200), (usual, frozen)
        assert sink_behind(site) > 2000

        # back, and killed -9 while the sink catches up
        vm.pause(False)
        wait_until(lambda: vm.rows_inserted() > 500, 30, "the sink catching up")
        received += vm.rows_inserted()
        vm.kill()
        vm.start()

        # the gateway and its sink process killed -9 together, in the middle of a batch
        wait_until(lambda: vm.rows_inserted() > 0, 30, "the sink writing again")
        gateway = psutil.Process(site.procs["gateway"].pid)
        sinks = [p for p in gateway.children() if "spawn" in " ".join(p.cmdline())]
        assert len(sinks) == 1, [p.cmdline() for p in gateway.children()]
        sinks[0].kill()
        site.kill("gateway")
        site.start_gateway()

        produced = {}
        for node in NODES:
            assert site.stop(node) == 0, site.log(node)
            produced[node] = site.assert_exactly_once(node)
        wait_until(lambda: sink_behind(site) == 0, 90, "the sink to catch up", every=1.0)
        want, got = store_points(site), vm_points(vm)
        assert len(want) > 4000 and same(got, want), (len(want), len(got))
        received += vm.rows_inserted()
        with site.open_store() as store:
            (status,) = store.sinks.status(int(site.sim_now() * 1000))
            events = sum(1 for r in store.export() if r.kind == "event")
        assert status.refused == 0 and status.last_error is not None  # the outage was seen

        def signal_values() -> tuple[int, int]:
            """(values in signals.db, in VictoriaMetrics): the signals run every 2 s meanwhile"""
            with DataDir(site.root / "gw").signal_history() as history:
                stored = len(history.runs_after(0, 10**9)[0])
            alerts = vm.export('{__name__="eil_signal_alert"}')
            return stored, sum(len(a["values"]) for a in alerts)  # type: ignore[arg-type, misc]

        wait_until(lambda: len(set(signal_values())) == 1, 30, "every signal value written")
        runs = signal_values()[0]
        assert runs > 50
        print(f"sink: {len(want)} readings, {events} events and {runs} signal values in "
              "VictoriaMetrics once each; "
              f"{received} points received over its runs; unacknowledged readings on a node "
              f"at most {frozen} while VictoriaMetrics was frozen for a simulated day, "
              f"{usual} before")
    finally:
        vm.stop()
