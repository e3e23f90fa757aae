"""The gateway side of the engine: signals stored as time series and published as one retained
JSON message; the gateway's [signals] config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.signals.publish import SignalPublisher, SignalStore
from tests.signals.test_engine import NOW, site  # noqa: F401  (fixture)


def test_once_stores_and_publishes_every_signal(site: Path) -> None:  # noqa: F811
    sent: list[bytes] = []
    results = SignalPublisher(site, sent.append).once(NOW)
    published = json.loads(sent[0])
    assert [p["id"] for p in published] == [r.id for r in results]
    carbon = next(p for p in published if p["id"] == "energy.carbon@garden")
    assert carbon["band"] == "overshoot" and carbon["threshold"]["upper"] == 2.0
    assert carbon["threshold"]["source"].startswith("Site allocation")
    assert carbon["inputs"] == {"garden/load.power": "pass", "garden/pv.power": "pass"}
    store = SignalStore(site / "signals.db")
    try:
        assert [(v, b) for _, v, b in store.history("energy.carbon@garden")] == [
            (pytest.approx(13.8 * 207.07 / 1000), "overshoot")]
    finally:
        store.close()


def test_gateway_signals_config(tmp_path: Path) -> None:
    from eil.errors import ConfigError
    from gateway.config import load_gateway_config

    base = 'site = "s"\n[broker]\npassword = "x"\n'
    (tmp_path / "g.toml").write_text(base)
    assert load_gateway_config(tmp_path / "g.toml").signals.every_s == 300.0
    (tmp_path / "g.toml").write_text(base + "[signals]\nevery_s = -1\n")
    with pytest.raises(ConfigError, match="signals.every_s: must be 0 \\(off\\) or more"):
        load_gateway_config(tmp_path / "g.toml")
