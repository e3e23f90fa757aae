"""The gateway's first page in real Chromium: a node killed with SIGKILL turns offline (its last
will), the others stay online, and values show with their units."""

from __future__ import annotations

import pytest

from eil.broker import free_port
from tests.support.browser import chromium_page, screenshot
from tests.support.site import wait_until

pytestmark = pytest.mark.slow


def test_page_shows_online_offline_and_latest_values(make_site) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    site = make_site({"soil-1": "soil", "energy-1": "energy"}, speed=600.0, http_port=port)
    site.broker.start()
    site.start_gateway()
    site.start_node("soil-1")
    site.start_node("energy-1")
    wait_until(lambda: site.stored("soil-1")[0] > 0 and site.stored("energy-1")[0] > 0, 20,
               "readings from both nodes")
    site.kill("energy-1")
    with chromium_page(width=420, height=900) as page:  # a phone in the garden
        page.goto(f"http://127.0.0.1:{port}/readings")
        page.wait_for_selector("article[data-node='energy-1'] .badge.offline", timeout=15000)
        assert page.locator("article[data-node='soil-1'] .badge").inner_text() == "online"
        row = page.locator("article[data-node='soil-1'] tr[data-quantity='soil.temperature'] td")
        name, shown, when = row.all_inner_texts()
        value, unit = shown.split(" ")  # the unit as people write it, not the wire's "Cel"
        assert (name.replace("\u200b", ""), unit) == ("soil.temperature", "°C")
        assert -10 < float(value) < 40 and when.endswith(" ago")
        watts = page.locator("article[data-node='energy-1'] tr[data-quantity='load.power'] "
                             "[data-role=value]")
        assert watts.inner_text().endswith(" W")
        screenshot(page, "gateway-phone")


def test_api_rejects_bad_parameters_with_a_reason(make_site) -> None:  # type: ignore[no-untyped-def]
    import json
    import urllib.error
    import urllib.request

    port = free_port()
    site = make_site({"soil-1": "soil"}, http_port=port)
    site.broker.start()
    site.start_gateway()
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: _up(base), 20, "web server")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(f"{base}/api/v1/series?node=soil-1&name=soil.moisture&hours=zero")
    assert exc.value.code == 422
    detail = json.loads(exc.value.read())["detail"][0]
    assert detail["loc"] == ["query", "hours"] and "number" in detail["msg"]
    spec = json.loads(urllib.request.urlopen(f"{base}/openapi.json").read())
    assert {"/api/v1/nodes", "/api/v1/latest", "/api/v1/dead-letters"} <= set(spec["paths"])


def _up(base: str) -> bool:
    import urllib.request

    try:
        urllib.request.urlopen(f"{base}/api/v1/nodes", timeout=1)
        return True
    except OSError:
        return False
