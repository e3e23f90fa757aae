"""The scope above the sites (docs/federation.md), without processes: [upstream] and scopes.toml
are parsed with errors that name the key; the forwarder's two sources take each run and each
reading once, also when read again before their commit and after a restart; a neighbourhood
gateway rolls up the newest run each member forwarded, names a member that sent nothing, and
keeps its roll-ups run after run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from contract import summaries
from contract.topics import NodeId
from core.errors import ConfigError
from edge.hardware import Hardware
from eil.forwarder import SOURCE, SiteSeries, SiteSummaries
from gateway.config import UPSTREAM_READER, load_gateway_config
from gateway.signals.config import SignalConfigError
from gateway.signals.publish import SignalPublisher
from gateway.signals.rollup import load_scopes
from gateway.store import DataDir, Store
from gateway.store.rows import StoredReading
from tests.contract.test_summaries import ENTRY

SITE_TOML = 'site = "garden-a"\ndata_dir = "gw"\n[broker]\npassword = "x"\n'


def config(tmp_path: Path, upstream: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(SITE_TOML + "[upstream]\n" + upstream)
    return path


def test_upstream_is_parsed_and_its_mistakes_named(tmp_path: Path) -> None:
    cfg = load_gateway_config(config(tmp_path, 'scope = "north-end"\nhost = "192.0.2.7"\n'
                                     'password = "p"\nseries = ["water-1/water.volume"]\n'))
    up = cfg.upstream
    assert up is not None and (up.scope, up.broker.host, up.broker.username) == (
        "north-end", "192.0.2.7", "garden-a")  # the site is the node of the scope
    assert up.series == (("water-1", "water.volume"),) and cfg.readers() == [UPSTREAM_READER]
    for text, message in (
            ('scope = "north-end"\npassword = "p"\n', "upstream.host: required key"),
            ('scope = "garden-a"\nhost = "h"\npassword = "p"\n', "cannot be this site"),
            ('scope = "North"\nhost = "h"\npassword = "p"\n', "upstream.scope"),
            ('scope = "n"\nhost = "h"\npassword = "p"\nseries = ["water.volume"]\n',
             "is not node/quantity"),
            ('scope = "n"\nhost = "h"\npassword = "p"\nhots = 1\n', "upstream.hots: unknown"),
            ('scope = "n"\nhost = "h"\n', "password_file: required key")):
        with pytest.raises(ConfigError, match=message):
            load_gateway_config(config(tmp_path, text))


def test_scopes_name_their_sites_or_their_files_not_both(tmp_path: Path) -> None:
    data = DataDir(tmp_path)
    data.scopes_file.write_text('[scopes.north]\nsites = ["garden-a", "garden-b"]\n')
    assert load_scopes(data)[0].sites == ("garden-a", "garden-b")
    data.scopes_file.write_text('[scopes.north]\nsites = ["garden-a"]\nsummaries = "*.json"\n')
    with pytest.raises(SignalConfigError, match="not both"):
        load_scopes(data)
    data.scopes_file.write_text('[scopes.north]\nsites = ["Garden A"]\n')
    with pytest.raises(SignalConfigError, match="scopes.north.sites"):
        load_scopes(data)


def run(entries: list[dict[str, Any]], data: DataDir) -> None:
    data.root.mkdir(parents=True, exist_ok=True)
    data.save_latest_signals(json.dumps(entries).encode())


def test_each_run_is_taken_once_also_when_read_again_before_the_commit(tmp_path: Path) -> None:
    data, hw = DataDir(tmp_path / "gw"), Hardware(data_dir=tmp_path / "up")
    source = SiteSummaries(data, "garden-a", hw)
    node = {**ENTRY, "id": "water.use@water-1", "scope": "water-1"}
    run([ENTRY, node], data)
    first = source.read(0)
    assert [s.key for s in first] == ["summary.water.use"]  # per-node values stay home
    assert json.loads(first[0].text or "")["value"] == 458.5
    assert source.read(0) == []  # staged, not yet committed: not taken twice
    hw.handoff.committed(hw.handoff.take_staged())
    assert source.read(0) == []
    run([{**ENTRY, "t": ENTRY["t"] + 300_000, "value": 470.0}], data)
    assert [json.loads(s.text or "")["value"] for s in source.read(0)] == [470.0]
    # a restart that never committed that run takes it again (its outbox never had it)
    again = SiteSummaries(data, "garden-a", Hardware(data_dir=tmp_path / "up"))
    again.hw.handoff.committed({SOURCE: (0, ENTRY["t"])})
    assert [s.time for s in again.read(0)] == [(ENTRY["t"] + 300_000) / 1000]


def test_chosen_series_are_taken_in_order_once_and_held_by_retention(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "gw")
    data.root.mkdir()
    node = NodeId("garden-a", "water-1")
    with data.readings() as store:
        rows = [(node, StoredReading(i, 1_796_000_000_000 + i * 60_000, name, kind, unit,
                                     float(i), None, None, None, 3 if i == 3 else None))
                for i, (name, kind, unit) in enumerate(
                    [("water.volume", "counter", "l"), ("water.flow", "gauge", "l/s")] * 5,
                    start=1)]
        store.commit(rows, [], {node: [([r.seq for _, r in rows], None)]}, {})
    hw = Hardware(data_dir=tmp_path / "up")
    series = SiteSeries(data, (("water-1", "water.volume"),), hw, batch=4)
    got = series.read(0)
    assert [(s.key, s.value, s.q) for s in got] == [("water-1.water.volume", 1.0, None),
                                                    ("water-1.water.volume", 3.0, 3)]
    assert [s.value for s in series.read(0)] == [5.0, 7.0]  # the next four, not the same
    hw.handoff.committed(hw.handoff.take_staged())
    series.committed(None)
    assert [s.value for s in series.read(0)] == [9.0]
    with Store(data.readings_path, readonly=True) as store:
        (status,) = store.sinks.status(0, [UPSTREAM_READER])
    assert status.behind == 2  # seqs 9 and 10 not forwarded yet, as far as the card knows
    shown = subprocess.run([sys.executable, "-m", "eil", "status", "--data", str(data.root)],
                           capture_output=True, text=True, timeout=60)
    assert "forwarder of [upstream] series: 2 readings behind" in shown.stdout, shown.stdout
    assert series.quantities[0].unit == "l" and summaries.PREFIX not in series.quantities[0].key
    series.close()


def test_a_neighbourhood_rolls_up_the_newest_run_of_each_member(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "nb")
    data.root.mkdir()
    data.scopes_file.write_text(
        '[scopes.north-end]\nsites = ["garden-a", "garden-b", "garden-c"]\n'
        '[scopes.north-end.thresholds."water.use"]\nupper = 800.0\nsource = "plan"\n')
    with data.readings() as store:
        for site, values in (("garden-a", (400.0, 458.5)), ("garden-b", (286.0,))):
            node = NodeId("north-end", site)
            rows = []
            for i, value in enumerate(values):
                name, text = summaries.encode({**ENTRY, "t": ENTRY["t"] + i, "value": value})
                rows.append((node, StoredReading(i + 1, ENTRY["t"] + i, name, "event", None,
                                                 None, text, None)))
            store.commit(rows, [], {node: [([r.seq for _, r in rows], None)]}, {})
    publisher = SignalPublisher(data, lambda _: None, site="north-end")
    for now in (ENTRY["t"] + 60_000, ENTRY["t"] + 120_000):
        publisher.once(now)
    (water,) = [e for e in data.latest_rollups()["north-end"] if e["signal"] == "water.use"]
    assert water["sites"] == {"garden-a": 458.5, "garden-b": 286.0}  # newest runs only
    assert water["missing"] == ["garden-c"] and water["value"] is None  # named, no total
    assert water["sites_t"] == {"garden-a": ENTRY["t"] + 1, "garden-b": ENTRY["t"]}
    with data.signal_history() as history:
        assert len(history.history("water.use@north-end", 0)) == 2  # one per scheduled run


def test_a_neighbourhood_forwards_its_roll_up_to_the_municipality_as_its_totals(
        tmp_path: Path) -> None:
    """Three levels without processes: two sites' summaries stored at north-end, rolled up
    there; north-end's forwarder takes the roll-up as north-end's own site totals; stored at
    the city beside another neighbourhood's, the city's roll-up sums the neighbourhoods."""
    def stored(data: DataDir, scope: str, members: dict[str, list[dict[str, Any]]]) -> None:
        with data.readings() as store:
            for member, entries in members.items():
                node = NodeId(scope, member)
                rows = []
                for i, e in enumerate(entries):
                    name, text = summaries.encode(e)
                    rows.append((node, StoredReading(i + 1, e["t"], name, "event", None, None,
                                                     text, None)))
                store.commit(rows, [], {node: [([r.seq for _, r in rows], None)]}, {})

    def energy(t: int, imported: float, load: float) -> dict[str, Any]:
        return {"signal": "energy.self_sufficiency", "scope": "site", "t": t,
                "value": 1 - imported / load, "unit": "/",
                "numbers": {"import_Wh": imported, "load_Wh": load}}

    t = ENTRY["t"]
    north = DataDir(tmp_path / "north-end")
    north.root.mkdir()
    north.scopes_file.write_text('[scopes.north-end]\nsites = ["garden-a", "garden-b"]\n')
    stored(north, "north-end", {"garden-a": [{**ENTRY, "value": 100.0}, energy(t, 300, 1000)],
                                "garden-b": [{**ENTRY, "value": 50.0}, energy(t, 900, 1000)]})
    SignalPublisher(north, lambda _: None, site="north-end").once(t + 60_000)
    taken = SiteSummaries(north, "north-end", Hardware(data_dir=tmp_path / "up")).read(0)
    up = [summaries.decode(s.key, s.text or "") for s in taken]
    assert {e["signal"]: e["value"] for e in up}["water.use"] == 150.0
    assert all(e["scope"] == "site" and e["t"] == t + 60_000 for e in up)
    city = DataDir(tmp_path / "city")
    city.root.mkdir()
    city.scopes_file.write_text('[scopes.city]\nlevel = "municipality"\n'
                                'sites = ["north-end", "south-end"]\n')
    stored(city, "city", {"north-end": up, "south-end": [
        {**ENTRY, "value": 25.0, "t": t}, energy(t, 0, 500)]})
    SignalPublisher(city, lambda _: None, site="city").once(t + 120_000)
    rolled = {e["signal"]: e for e in city.latest_rollups()["city"]}
    assert rolled["water.use"]["value"] == 175.0
    assert rolled["water.use"]["sites"] == {"north-end": 150.0, "south-end": 25.0}
    # 1 - (300 + 900 + 0) / (1000 + 1000 + 500): from the energies, not a mean of ratios
    assert rolled["energy.self_sufficiency"]["value"] == pytest.approx(1 - 1200 / 2500)


def test_retention_keeps_what_the_forwarder_has_not_committed(tmp_path: Path) -> None:
    """A forwarded series' readings past the forwarder's committed position are not deleted
    by retention; the readings of a node it does not forward are not held back."""
    from gateway.config import RetentionConfig

    data = DataDir(tmp_path / "gw")
    data.root.mkdir()
    day = 86_400_000
    t0 = 1_796_000_000_000 - 10 * day
    with data.readings() as store:
        for node_name in ("water-1", "soil-1"):
            node = NodeId("garden-a", node_name)
            rows = [(node, StoredReading(i, t0 + i * 600_000, "water.volume", "counter", "l",
                                         float(i), None, None)) for i in range(1, 1001)]
            store.commit(rows, [], {node: [([r.seq for _, r in rows], None)]}, {})
        while store.move_cold(t0 + 20 * day):
            pass
        # the forwarder committed water-1 up to seq 300 (about two days of it)
        store.place_reader(UPSTREAM_READER, {"water-1": 300}, 0)
        gone = store.expire(t0 + 8 * day, RetentionConfig(raw_days=1.0).policy,
                            [UPSTREAM_READER])
        left = {n: [r.seq for r in store.export(node=n)] for n in ("water-1", "soil-1")}
    assert gone.held > 0  # what retention would have deleted of water-1 was kept
    assert min(left["water-1"]) <= 301  # everything after the forwarder's position is there
    assert left["soil-1"] == []  # a node it does not forward: all older than a day, deleted


def test_a_scope_takes_its_share_of_a_larger_limit_as_an_allocation(tmp_path: Path) -> None:
    data = DataDir(tmp_path)
    alloc = ('[scopes.north-end.allocations."energy.carbon"]\nlimit = 5000.0\n'
             'of = "municipality"\nrule = "per_household"\nlocal = 400\ntotal = 100000\n'
             'source = "Municipal climate plan 2026"\nset_by = "council"\nset_at = 2026-01-15\n')
    data.scopes_file.write_text('[scopes.north-end]\nsites = ["garden-a"]\n' + alloc)
    (scope,) = load_scopes(data)
    limits, source = scope.limits["energy.carbon"]
    assert limits.upper == pytest.approx(5000.0 * 400 / 100000) and limits.lower is None
    assert source.startswith("Municipal climate plan 2026; allocated per household: 5000 kg "
                             "for the municipality x 400 / 100000")
    data.scopes_file.write_text('[scopes.north-end]\nsites = ["garden-a"]\n'
                                '[scopes.north-end.thresholds."energy.carbon"]\nupper = 3.0\n'
                                'source = "pact"\n' + alloc)
    with pytest.raises(SignalConfigError, match="a threshold and an allocation"):
        load_scopes(data)
    data.scopes_file.write_text('[scopes.north-end]\nsites = ["garden-a"]\n' +
                                alloc.replace("local = 400", "local = 0"))
    with pytest.raises(SignalConfigError, match="allocations.energy.carbon: local must be"):
        load_scopes(data)
