"""The gateway computes the impact signals from what a node sent through a real Mosquitto and
publishes them retained; any client of the site can read them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from contract.topics import signals_topic
from core.mqtt import make_client
from tests.support.site import Site, wait_until


@pytest.mark.slow
def test_signals_are_published_retained(make_site: Callable[..., Site]) -> None:
    site = make_site({"soil-1": "soil"}, speed=1.0, interval=1.0)
    site.gateway_cfg.write_text(site.gateway_cfg.read_text() + "[signals]\nevery_s = 2\n")
    site.broker.start()
    site.start_gateway()
    site.start_node("soil-1")
    wait_until(lambda: site.stored("soil-1")[0] >= 4, 30, "readings stored")
    time.sleep(3)  # a signals run after them
    got: list[list[dict]] = []  # type: ignore[type-arg]
    client = make_client("display", "soil-1", site.setup.credentials["soil-1"])
    client.on_message = lambda _c, _u, msg: got.append(json.loads(msg.payload))
    client.on_connect = lambda c, *_: c.subscribe(signals_topic(site.site), 1)
    client.connect("127.0.0.1", site.setup.port)
    client.loop_start()
    try:
        wait_until(lambda: bool(got), 15, "the retained signals")
    finally:
        client.loop_stop()
        client.disconnect()
    by_id = {s["id"]: s for s in got[-1]}
    soil = by_id["soil.depletion@soil-1"]
    assert soil["value"] is not None and soil["band"] in ("safe", "overshoot")
    assert soil["threshold"]["source"].startswith("Allen et al. (1998) FAO-56")
    assert soil["inputs"] == {"soil-1/soil.moisture": "pass"}
    assert (site.root / "gw" / "signals.db").exists()
