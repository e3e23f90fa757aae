"""Scopes above a site: a neighbourhood rolls up what its sites published."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.signals.bands import Limits
from gateway.signals.rollup import rollup


def summary(carbon: float | None, imported: float, load: float) -> list[dict]:  # type: ignore[type-arg]
    return [
        {"signal": "energy.carbon", "scope": "site", "value": carbon, "unit": "kg",
         "numbers": {}},
        {"signal": "energy.self_sufficiency", "scope": "site", "value": 1 - imported / load,
         "unit": "/", "numbers": {"import_Wh": imported, "load_Wh": load}},
        {"signal": "energy.carbon", "scope": "energy-1", "value": 99.0, "unit": "kg",
         "numbers": {}},  # node scopes are not rolled up (the site total already has them)
    ]


def test_totals_add_up_and_ratios_come_from_summed_energy() -> None:
    out = {e["signal"]: e for e in rollup(
        {"garden": summary(1.5, 3000, 10000), "school": summary(2.5, 9000, 10000)}, "north",
        {"energy.carbon": (Limits(upper=3.0), "neighbourhood pact 2026")})}
    carbon = out["energy.carbon"]
    assert carbon["value"] == pytest.approx(4.0) and carbon["band"] == "overshoot"
    assert carbon["sites"] == {"garden": 1.5, "school": 2.5}
    assert carbon["threshold"]["source"] == "neighbourhood pact 2026"
    # 1 - (3000 + 9000) / 20000, not the mean of 0.7 and 0.1
    assert out["energy.self_sufficiency"]["value"] == pytest.approx(0.4)


def test_a_site_without_a_value_is_named_not_left_out() -> None:
    out = {e["signal"]: e for e in rollup(
        {"garden": summary(1.5, 3000, 10000), "school": summary(None, 9000, 10000),
         "depot": []}, "north")}
    carbon = out["energy.carbon"]
    assert carbon["value"] is None and carbon["missing"] == ["depot", "school"]
    assert "no value from depot, school: no north total" == carbon["note"]


def test_cli_rolls_up_site_files(tmp_path: Path) -> None:
    (tmp_path / "garden.json").write_text(json.dumps(summary(1.5, 3000, 10000)))
    (tmp_path / "school.json").write_text(json.dumps(summary(2.5, 9000, 10000)))
    (tmp_path / "north.toml").write_text('[thresholds."energy.carbon"]\nupper = 5.0\n'
                                         'source = "neighbourhood pact 2026"\n')
    done = subprocess.run([sys.executable, "-m", "eil", "signals", "rollup", "north",
                           str(tmp_path / "garden.json"), str(tmp_path / "school.json"),
                           "--thresholds", str(tmp_path / "north.toml")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "energy.carbon@north" in done.stdout and "4 kg" in done.stdout
    assert "safe" in done.stdout and "from 2 site(s)" in done.stdout
    (tmp_path / "bad.json").write_text('{"not": "a list"}')
    bad = subprocess.run([sys.executable, "-m", "eil", "signals", "rollup", "north",
                          str(tmp_path / "bad.json")], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "not a signal summary" in bad.stderr
