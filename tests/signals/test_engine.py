"""The engine on a store with hand-made readings: each catalogue signal against hand-computed
values, honest degradation when an input is stale, thresholds overridden with a reason, and the
CLI's list and explanation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contract.topics import NodeId
from gateway.signals.bands import OVERSHOOT, SAFE, SHORTFALL
from gateway.signals.config import SignalConfigError, load_config
from gateway.signals.engine import evaluate
from gateway.store import DataDir, Store
from gateway.store.rows import StoredReading

H = 3_600_000
NOW = 1_795_564_800_000  # 2026-11-25 00:00 UTC


def write(data: Path, series: dict[str, tuple[str, str, list[tuple[int, float]]]]) -> None:
    """name -> (kind, unit, [(time ms, value)]) for node "garden"."""
    rows, seq = [], 0
    for name, (kind, unit, points) in series.items():
        for t, v in points:
            seq += 1
            rows.append((NodeId("s", "garden"), StoredReading(seq, t, name, kind, unit, v, None,
                                                              None)))
    with Store(data / "eil.db") as store:
        store.commit(rows, [], {}, {})


def hourly(hours: int, value: float | list[float], end: int = NOW) -> list[tuple[int, float]]:
    values = value if isinstance(value, list) else [value] * hours
    return [(end - (hours - 1 - i) * H, v) for i, v in enumerate(values)]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    night = [(NOW - 23 * H + i * 15 * 60_000, 0.001) for i in range(16)]  # 01:00-05:00
    write(tmp_path, {
        "bed-1.soil.moisture": ("gauge", "%", hourly(48, [20.0 + (i % 2) * 0.1
                                                          for i in range(48)])),
        "bed-1.soil.temperature": ("gauge", "Cel", hourly(24, 8.0)),
        # 100 -> 150 -> 180, reset, 20 -> 50: 50 + 30 + 20 + 30 = 130 l in 24 h
        "water.volume": ("counter", "l", [(NOW - 20 * H, 100.0), (NOW - 15 * H, 150.0),
                                          (NOW - 10 * H, 180.0), (NOW - 5 * H, 20.0),
                                          (NOW, 50.0)]),
        "water.flow": ("gauge", "l/s", night + hourly(12, 0.0)),
        "water.tank": ("gauge", "l", hourly(24, 1300.0)),
        "pv.power": ("gauge", "W", hourly(24, 400.0)),
        "load.power": ("gauge", "W", hourly(24, 1000.0)),
    })
    return tmp_path


def by_id(data: Path) -> dict:  # type: ignore[type-arg]
    return {r.id: r for r in evaluate(DataDir(data), NOW)}


def test_every_signal_against_hand_computed_values(site: Path) -> None:
    r = by_id(site)
    soil = r["soil.depletion@garden/bed-1"]
    # loam θ_FC .25, θ_WP .12, Z_r .3 m; tomato p .40 (FAO-56 Table 22; no weather station, so
    # no ETc to adjust it by): TAW 39 mm, RAW 15.6; θ .201: D_r 14.7 mm
    assert soil.numbers["TAW_mm"] == pytest.approx(39.0) and soil.numbers["D_r_mm"] == \
        pytest.approx(14.7)
    assert soil.numbers["p"] == 0.40 and soil.numbers["RAW_mm"] == pytest.approx(15.6)
    assert soil.value == pytest.approx(14.7 / 15.6) and soil.band == SAFE
    assert "FAO-56 Table 22 for tomato, not adjusted" in soil.threshold.source
    assert soil.numbers["irrigation_need_l"] == 0.0
    sow = r["soil.sowing_temperature@garden/bed-1"]
    assert sow.value == pytest.approx(8.0) and sow.band == SHORTFALL  # tomato: 10 C minimum
    assert sow.distance == pytest.approx(0.2)
    assert r["water.use@garden"].value == pytest.approx(130.0)
    leak = r["water.night_flow@garden"]
    assert leak.value == pytest.approx(3.6) and leak.band == OVERSHOOT  # 0.001 l/s all night
    tank = r["water.tank_autonomy@garden"]
    assert tank.numbers["mean_daily_use_l"] == pytest.approx(130 / (20 / 24))
    assert tank.value == pytest.approx(1300 / (130 / (20 / 24)))  # 8.33 days
    # 23 hourly intervals: load 23 kWh, PV 9.2 kWh, import 13.8 kWh
    energy = r["energy.self_sufficiency@garden"]
    assert energy.numbers["import_Wh"] == pytest.approx(13_800.0)
    assert energy.value == pytest.approx(0.4) and energy.band == SHORTFALL
    carbon = r["energy.carbon@garden"]
    assert carbon.value == pytest.approx(13.8 * 207.07 / 1000)  # 2.858 kg, over the 2 kg budget
    assert carbon.band == OVERSHOOT and carbon.distance == pytest.approx(0.4288, abs=1e-4)
    assert all(i.quality.label == "pass" for i in soil.inputs)


def test_site_overrides_need_a_reason_and_beds_their_soil(site: Path) -> None:
    (site / "thresholds.toml").write_text(
        '[thresholds."energy.carbon"]\nupper = 3.0\nsource = "council budget 2026"\n'
        'rationale = "r"\nset_by = "steward"\nset_at = "2026-11-20"\n')
    with pytest.raises(SignalConfigError, match=r"thresholds.energy.carbon: reason is required"):
        load_config(DataDir(site))
    (site / "thresholds.toml").write_text(
        '[thresholds."energy.carbon"]\nupper = 3.0\nsource = "council budget 2026"\n'
        'rationale = "r"\nset_by = "steward"\nset_at = "2026-11-20"\nreason = "heat pump"\n'
        '[beds.bed-1]\nsoil = "clay"\nroot_depth_m = 0.4\narea_m2 = 2\nefficiency = 0.9\n'
        'p = 0.5\n')
    r = by_id(site)
    carbon = r["energy.carbon@garden"]
    assert carbon.band == SAFE and carbon.threshold.reason == "heat pump"
    assert carbon.threshold.replaces.limits.upper == 2.0
    soil = r["soil.depletion@garden/bed-1"]  # clay: TAW 56, RAW 28 (the bed's own p), D_r 56
    assert soil.value == pytest.approx(2.0) and soil.band == OVERSHOOT
    assert "p = 0.5 set for this bed" in soil.threshold.source
    assert soil.numbers["irrigation_need_l"] == pytest.approx(56 * 2 / 0.9)
    (site / "thresholds.toml").write_text('[beds.bed-1]\nsoil = "peat"\n')
    with pytest.raises(SignalConfigError, match="beds.bed-1: soil 'peat' is not one of"):
        load_config(DataDir(site))
    (site / "thresholds.toml").write_text('[beds.bed-1]\np = 1.5\n')
    with pytest.raises(SignalConfigError, match="beds.bed-1: p must be a fraction"):
        load_config(DataDir(site))


@given(st.integers(0, 30))
@settings(max_examples=15, deadline=None)
def test_a_stale_input_makes_the_signal_say_so(gap_hours: int) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        data = Path(d)
        write(data, {"soil.moisture": ("gauge", "%", hourly(24, [20.0, 20.1] * 12,
                                                            end=NOW - gap_hours * H))})
        soil = by_id(data)["soil.depletion@garden"]
        if gap_hours > 3:  # more than three hourly intervals without a reading
            assert soil.value is None and soil.band is None
            assert "missing (stale" in (soil.note or "")
            assert soil.inputs[0].quality.label == "missing"
        else:
            assert soil.value is not None and soil.note is None


def eil(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "eil", *args], capture_output=True, text=True,
                          timeout=60)


def test_cli_lists_and_explains_back_to_stored_readings(site: Path) -> None:
    listed = eil("signals", "--data", str(site), "--at", "latest")
    assert listed.returncode == 0, listed.stderr
    assert "energy.carbon@garden" in listed.stdout and "overshoot" in listed.stdout
    out = eil("signals", "explain", "water.night_flow@garden", "--data", str(site), "--at",
              "latest").stdout
    assert "lowest 15-minute mean flow" in out and "garden/water.flow: 28 readings" in out
    assert "stored seq" in out and "Lambert 1994" in out and "set by     EIL defaults" in out
    bad = eil("signals", "explain", "nope", "--data", str(site))
    assert bad.returncode == 2 and "no signal 'nope'" in bad.stderr


def test_site_totals_and_an_allocated_budget(site: Path) -> None:
    (site / "thresholds.toml").write_text(
        '[allocations."energy.carbon"]\nlimit = 5000.0\nof = "municipality"\n'
        'rule = "per_household"\nlocal = 40\ntotal = 100000\n'
        'source = "Municipal climate plan 2026, residential electricity budget"\n'
        'set_by = "council"\nset_at = 2026-01-15\n')
    r = by_id(site)
    carbon = r["energy.carbon@site"]
    assert carbon.value == pytest.approx(r["energy.carbon@garden"].value)  # one node
    # 5000 kg x 40 / 100000 households = 2 kg for this site
    assert carbon.limits.upper == pytest.approx(2.0) and carbon.band == OVERSHOOT
    assert "allocated per household: 5000 kg for the municipality x 40 / 100000" in \
        carbon.threshold.source
    assert r["water.use@site"].value == pytest.approx(130.0)
    assert r["energy.self_sufficiency@site"].value == pytest.approx(0.4)
    (site / "thresholds.toml").write_text(
        '[allocations."energy.carbon"]\nlimit = 5000.0\nof = "municipality"\nrule = "fair"\n'
        'local = 40\ntotal = 100000\nsource = "s"\nset_by = "c"\nset_at = "2026"\n')
    with pytest.raises(SignalConfigError, match="allocations.energy.carbon: rule must be one of"):
        load_config(DataDir(site))


def test_site_total_says_when_a_node_is_missing(site: Path) -> None:
    with Store(site / "eil.db") as store:  # a second node whose water meter went quiet
        store.commit([(NodeId("s", "shed"), StoredReading(1, NOW - 30 * H, "water.volume",
                                                          "counter", "l", 5.0, None, None))],
                     [], {}, {})
    use = by_id(site)["water.use@site"]
    assert use.value is None and "no value from shed" in use.note


def test_a_spike_is_left_out_and_the_signal_says_so(tmp_path: Path) -> None:
    # hourly θ about 20 % with one 45 % spike: the spike fails (|45 - 20.05| >= 15), its two
    # neighbours are suspect (|20 - 32.55| >= 5); the value comes from the last good reading
    values = [20.0, 20.1] * 10 + [20.0, 45.0, 20.1, 21.0]
    write(tmp_path, {"soil.moisture": ("gauge", "%", hourly(24, values))})
    soil = by_id(tmp_path)["soil.depletion@garden"]
    assert soil.inputs[0].quality.failed == 1 and soil.inputs[0].quality.suspect == 2
    assert soil.numbers["theta"] == pytest.approx(0.21)
    assert soil.note == "garden/soil.moisture: 2 suspect, 1 failed (left out)"


def test_one_node_run_gives_that_nodes_signals_as_the_full_run(site: Path) -> None:
    """Explanations evaluate one node only (fast on a big site): same values, same inputs."""
    rows = [(NodeId("s", "other"), StoredReading(i + 1, NOW - i * H, "soil.moisture", "gauge",
                                                 "%", 30.0, None, None)) for i in range(30)]
    with Store(site / "eil.db") as store:
        store.commit(rows, [], {}, {})
    full = by_id(site)
    one = {r.id: r for r in evaluate(DataDir(site), NOW, node="garden")}
    assert "soil.depletion@other" in full and not any("@other" in k for k in one)
    assert not any(k.endswith(("@site", "@library")) for k in one)  # totals need every node
    node_ids = {k for k in full if k.split("@")[1].split("/")[0] == "garden"}
    assert set(one) == node_ids and len(one) >= 8
    for k, r in one.items():
        assert (r.value, r.band, r.numbers, [i.series for i in r.inputs]) == (
            full[k].value, full[k].band, full[k].numbers, [i.series for i in full[k].inputs]), k
