"""Node -> real Mosquitto -> gateway -> store, with processes killed at random moments."""

from __future__ import annotations

import time

import pytest

from tests.support.site import wait_until

pytestmark = pytest.mark.slow
THREE = {"soil-1": "soil", "water-1": "water", "energy-1": "energy"}


def drain_and_check(site, nodes) -> dict[str, int]:  # type: ignore[no-untyped-def]
    for node in nodes:
        assert site.stop(node) == 0, site.log(node)
    return {node: site.assert_exactly_once(node) for node in nodes}


def test_three_nodes_several_hours_exactly_once(make_site) -> None:  # type: ignore[no-untyped-def]
    site = make_site(THREE, speed=3600.0)  # one simulated hour per real second
    site.broker.start()
    site.start_gateway()
    for node in THREE:
        site.start_node(node)
    # ~5 simulated hours at one sample a minute: 250+ samples of 2-4 quantities per node (waited
    # for, not slept: a loaded machine starts the nodes later)
    wait_until(lambda: site.stored("energy-1")[0] >= 4 * 250 and
               site.stored("soil-1")[0] >= 2 * 250, 60, "five simulated hours stored")
    produced = drain_and_check(site, THREE)
    assert produced["energy-1"] >= 4 * 250 and produced["soil-1"] >= 2 * 250, produced


def test_gateway_sigkill_mid_ingest_loses_and_duplicates_nothing(make_site) -> None:  # type: ignore[no-untyped-def]
    site = make_site(THREE, speed=36000.0, interval=30.0)  # ~1200 readings/s per node
    site.broker.start()
    site.start_gateway()
    for node in THREE:
        site.start_node(node)
    wait_until(lambda: site.stored("energy-1")[0] > 2000, 20, "ingest under way")
    site.kill("gateway")
    before = site.stored("energy-1")[0]
    time.sleep(2)
    site.start_gateway()
    time.sleep(3)
    produced = drain_and_check(site, THREE)
    assert produced["energy-1"] > before
    assert site.log("gateway").count("connected to broker; gateway boot") == 2


def test_broker_sigkill_and_restart(make_site) -> None:  # type: ignore[no-untyped-def]
    site = make_site(THREE, speed=36000.0, interval=30.0)
    site.broker.start()
    site.start_gateway()
    for node in THREE:
        site.start_node(node)
    wait_until(lambda: site.stored("water-1")[0] > 1000, 20, "ingest under way")
    site.broker.kill()
    time.sleep(2)
    site.broker.start()
    time.sleep(4)
    for node in THREE:
        assert site.alive(node), site.log(node)
    assert site.alive("gateway"), site.log("gateway")
    drain_and_check(site, THREE)


def test_node_sigkill_restart_continues_its_sequence(make_site) -> None:  # type: ignore[no-untyped-def]
    site = make_site({"energy-1": "energy"}, speed=36000.0, interval=30.0)
    site.broker.start()
    site.start_gateway()
    site.start_node("energy-1")
    wait_until(lambda: site.stored("energy-1")[0] > 1000, 20, "ingest under way")
    site.kill("energy-1")
    last_before, _, _ = site.outbox("energy-1")
    site.start_node("energy-1")
    wait_until(lambda: (site.stored("energy-1")[2] or 0) > last_before + 500, 20,
               "readings after the restart")
    last = drain_and_check(site, ["energy-1"])["energy-1"]
    assert last > last_before + 500
    assert f"last seq {last_before}," in site.log("energy-1")


def test_offline_node_backfills_with_original_timestamps(make_site) -> None:  # type: ignore[no-untyped-def]
    site = make_site({"soil-1": "soil"}, speed=36000.0, interval=60.0)
    site.start_node("soil-1")  # the broker is unreachable: readings pile up in the outbox
    time.sleep(4)  # 40 simulated hours
    last, acked, held = site.outbox("soil-1")
    assert acked == 0 and held == last and last > 2 * 30 * 60, (last, acked, held)
    sim_back_online = site.sim_now()
    site.broker.start()
    site.start_gateway()
    wait_until(lambda: site.stored("soil-1")[0] >= last, 60, "backlog delivered")
    assert site.stop("soil-1") == 0
    site.assert_exactly_once("soil-1")
    with site.open_store() as store:
        rows = list(store.export(node="soil-1"))
    times = [r.t_ms / 1000 for r in rows]
    backlog = times[:last]
    # stamped when sampled during the outage, not when delivered
    # node start-up (process spawn and imports, ~0.3 s real) is ~3 simulated hours at this speed
    assert site.sim_start <= backlog[0] < site.sim_start + 10 * 3600
    assert backlog[-1] < sim_back_online and backlog[-1] - backlog[0] > 30 * 3600
    assert times == sorted(times)
    assert {r.unit for r in rows} == {"%", "Cel"}


def test_two_gateway_workers_share_one_stream_exactly_once(make_site) -> None:  # type: ignore[no-untyped-def]
    """MQTT 5 shared subscription: the broker deals each node's packs to either worker; the
    watermark kept in the store lets both acknowledge correctly."""
    site = make_site({"energy-1": "energy", "water-1": "water"}, speed=36000.0, interval=30.0)
    site.broker.start()
    site.start_gateway("gateway-a")
    site.start_gateway("gateway-b", worker=2)
    for node in ("energy-1", "water-1"):
        site.start_node(node)
    wait_until(lambda: site.stored("energy-1")[0] > 5000, 30, "ingest under way")
    drain_and_check(site, ["energy-1", "water-1"])
    for key in ("gateway-a", "gateway-b"):
        assert site.stop(key) == 0
        stats = [line for line in site.log(key).splitlines() if "ingest stopped" in line]
        new = int(stats[0].split(" messages, ")[1].split(" new readings")[0])
        assert new > 500, f"{key} took no share of the stream: {stats}"
