"""The gateway side of the engine: signals stored as time series and published as one retained
JSON message; the gateway's [signals] config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.signals.publish import SignalPublisher
from gateway.store import DataDir
from gateway.store.rows import SignalValue
from gateway.store.signal_history import SignalStore
from tests.signals.test_engine import NOW, site  # noqa: F401  (fixture)


def test_once_stores_and_publishes_every_signal(site: Path) -> None:  # noqa: F811
    sent: list[bytes] = []
    results = SignalPublisher(DataDir(site), sent.append).once(NOW)
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
    from core.errors import ConfigError
    from gateway.config import load_gateway_config

    base = 'site = "s"\n[broker]\npassword = "x"\n'
    (tmp_path / "g.toml").write_text(base)
    assert load_gateway_config(tmp_path / "g.toml").signals.every_s == 300.0
    (tmp_path / "g.toml").write_text(base + "[signals]\nevery_s = -1\n")
    with pytest.raises(ConfigError, match="signals.every_s: must be 0 \\(off\\) or more"):
        load_gateway_config(tmp_path / "g.toml")


def test_gateway_clock_follows_a_simulated_timeline(tmp_path: Path) -> None:
    import time

    from core.clock import ScaledClock, SystemClock
    from core.errors import ConfigError
    from gateway.config import load_gateway_config

    base = 'site = "s"\n[broker]\npassword = "x"\n'
    (tmp_path / "g.toml").write_text(base)
    assert isinstance(load_gateway_config(tmp_path / "g.toml").clock, SystemClock)
    anchor = time.time() - 10  # ten real seconds ago the site's time was 1000
    (tmp_path / "g.toml").write_text(base + f"[clock]\nspeed = 60\nstart = 1000\nanchor = {anchor}\n")
    clock = load_gateway_config(tmp_path / "g.toml").clock
    assert isinstance(clock, ScaledClock) and 1600 <= clock.now() < 1700
    (tmp_path / "g.toml").write_text(base + "[clock]\nspeed = 0\n")
    with pytest.raises(ConfigError, match="clock.speed"):
        load_gateway_config(tmp_path / "g.toml")


def test_trend_and_alert_come_from_the_stored_history(site: Path) -> None:  # noqa: F811
    from gateway.signals.engine import evaluate

    first = {r.id: r for r in evaluate(DataDir(site), NOW)}["energy.carbon@garden"]
    assert first.alert is False and first.trend is None  # no history yet: no trend, no alert
    store = SignalStore(site / "signals.db")
    try:
        store.load((NOW - h * 3_600_000, SignalValue("energy.carbon@garden", "energy.carbon",
                                                     "garden", v, "kg", None, False, None))
                   for h, v in ((5, 1.0), (4, 1.5), (3, 2.1), (2, 2.4), (1, 2.6)))
    finally:
        store.close()
    later = {r.id: r for r in evaluate(DataDir(site), NOW)}["energy.carbon@garden"]
    assert later.trend is not None and later.trend.points == 6
    assert later.trend.slope_per_s > 0
    assert later.alert is True  # over the 2 kg budget for three hours: past the 2 h on-delay


def test_an_explanation_is_of_the_published_value_unless_asked_for_another_time(
        site: Path) -> None:  # noqa: F811
    from core.clock import ManualClock
    from gateway.web.api_signals import router

    published = {r.id: r for r in SignalPublisher(DataDir(site), lambda _: None).once(NOW)}
    clock = ManualClock(NOW / 1000 + 6 * 3600)  # six hours on: the inputs are stale by now
    store = DataDir(site).readings()
    try:
        explain = next(route.endpoint for route in router(DataDir(site), store, "s", clock).routes
                       if getattr(route, "path", "") == "/api/v1/signals/{signal_id}/explain")
        x = explain(signal_id="soil.depletion@garden/bed-1", at=None)
        assert x["t"] == NOW and x["published"] is True
        assert x["value"] == x["published_value"] == published["soil.depletion@garden/bed-1"].value
        assert x["value"] is not None and x["inputs"][0]["quality"] == "pass"
        now = explain(signal_id="soil.depletion@garden/bed-1", at=NOW + 6 * 3_600_000)
        assert now["published"] is False and now["value"] is None  # "missing (stale)" now
        assert "stale" in now["note"]
    finally:
        store.close()
