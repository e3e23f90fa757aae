"""The decision views in real headless Chromium, served by a running gateway fed by simulated
soil, weather, water, energy and tool-station nodes through Mosquitto: the numbers on each page
are the ones the API gave it, explanations open, scopes switch, exports and the print layout
work, signed-in pages refuse anonymous visitors and public pages carry no member data. Also a
property-based run of the OpenAPI schema (schemathesis) against the running API."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from eil.broker import free_port
from gateway.store import DataDir
from tests.support.browser import CHROMIUM, SCREENSHOTS
from tests.support.receivers import HttpReceiver
from tests.support.site import Site, wait_until

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
STEWARD = ("sam", "a long steward pass")
VOLUNTEER = ("ana", "a long volunteer pass")
SIZES = {"phone": (390, 844), "desktop": (1280, 900)}
OTHER_SITE = [{"id": "water.use@site", "signal": "water.use", "scope": "site", "value": 5000.0,
               "unit": "l", "numbers": {}},
              {"id": "energy.carbon@site", "signal": "energy.carbon", "scope": "site",
               "value": 3.5, "unit": "kg", "numbers": {}}]


def js_number(v: float, unit: str) -> str:
    """What the views' EIL.number prints (common.js), to compare pages with the API."""
    if unit == "/":
        v *= 100
    a = abs(v)
    if a >= 1000:
        return f"{round(v):,}"

    def fixed(places: int) -> str:  # JS toFixed: the exact binary value, ties away from zero
        return str(Decimal(v).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))
    return fixed(0) if a >= 100 else fixed(1) if a >= 10 else fixed(2)


def get(url: str, auth: tuple[str, str] | None = None) -> Any:
    import base64

    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(
            f"{auth[0]}:{auth[1]}".encode()).decode())
    return json.loads(urllib.request.urlopen(request, timeout=20).read())


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, str]]:
    from eil.demo import demo_library

    port = free_port()
    site = Site(tmp_path_factory.mktemp("views"), {
        "soil-1": "soil", "weather-1": "weather", "water-1": "water", "energy-1": "energy",
        "tools-1": "tools"}, speed=600.0, interval=300.0, http_port=port)
    site.gateway_cfg.write_text(  # a sink whose database is never there: the fleet view says so
        site.gateway_cfg.read_text() + "[signals]\nevery_s = 2\n[[sinks]]\nname = \"city\"\n"
        f"type = \"influxdb\"\nurl = \"http://127.0.0.1:{free_port()}\"\nbucket = \"eil\"\n"
        "token = \"t\"\ntimeout_s = 1\nmax_backoff_s = 2\n")
    gw = site.root / "gw"
    (gw / "scopes" / "north").mkdir(parents=True)
    (gw / "thresholds.toml").write_text(
        '[site]\ntimezone = "Europe/Brussels"\n'
        '[beds.soil-1]\nname = "Bed 1 (beans)"\nsoil = "loam"\ncrop = "bean"\n'
        'area_m2 = 4.0\n')
    (gw / "scopes.toml").write_text(
        '[scopes.north]\ntitle = "Northside"\nlevel = "neighbourhood"\n'
        'summaries = ["scopes/north/*.json"]\n[scopes.north.thresholds."water.use"]\n'
        'upper = 1000000\nsource = "catchment plan 2026 (test)"\n')
    (gw / "scopes" / "north" / "other-garden.json").write_text(json.dumps(OTHER_SITE))
    demo_library(gw, [5])  # the simulated station's tools and members
    accounts = DataDir(gw).accounts()
    accounts.add(*STEWARD[:1], "steward", STEWARD[1])
    accounts.add(*VOLUNTEER[:1], "volunteer", VOLUNTEER[1])
    accounts.close()
    # alerts: the sink that is never there fails for 5 s and the steward is told (a webhook)
    hook = HttpReceiver().__enter__()
    site.hook = hook  # type: ignore[attr-defined]
    (site.root / "alerts.toml").write_text(
        f'base_url = "{f"http://127.0.0.1:{port}/"}"\n[timing]\nevaluate_every = "1s"\n'
        '[sources."sink.failing"]\nlimit = 5\n'
        f'[recipients.sam]\naccount = "sam"\nchannels = ["json://127.0.0.1:{hook.port}/sam"]\n')
    site.broker.start()
    site.start_gateway()
    for node in site.nodes:
        site.start_node(node)
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if site.sim_now() - site.sim_start < 3 * 3600:  # hourly chart points: a few of them
            return False
        try:
            signals = {s["id"]: s for s in get(f"{base}/api/v1/signals")}
            loans = get(f"{base}/api/v1/library/loans", VOLUNTEER)
        except OSError:
            return False
        return bool(loans) and all(signals.get(k, {}).get("value") is not None for k in (
            "soil.depletion@soil-1", "weather.frost@weather-1", "water.use@site"))

    try:
        wait_until(ready, 90, "signals with values and an open loan")
        yield site, base
    finally:
        site.close()
        hook.__exit__()


def open_page(pw: Any, size: str) -> tuple[Any, Any, list[str]]:
    browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return browser, page, errors


def words(locator: Any) -> str:
    """What a person reads: the text without the zero-width spaces that let names wrap only
    after their separators (EIL.breakable)."""
    return str(locator.inner_text()).replace("\u200b", "")


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, base: str, account: tuple[str, str], then: str) -> None:
    page.goto(f"{base}{then}")
    assert "/signin" in page.url  # refused anonymously: sent to sign in
    page.fill("input[name=name]", account[0])
    page.fill("input[name=password]", account[1])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{then}")  # exactly: "/signin?next=/fleet" ends with it too


@pytest.mark.parametrize("size", list(SIZES))
def test_garden_view(running: tuple[Site, str], size: str) -> None:
    from playwright.sync_api import sync_playwright

    _, base = running
    with sync_playwright() as pw:
        browser, page, errors = open_page(pw, size)
        try:
            with page.expect_response(lambda r: r.url.endswith("/api/v1/garden")) as got:
                page.goto(f"{base}/garden")
            garden = got.value.json()
            bed = next(b for b in garden["beds"] if b["scope"] == "soil-1")
            card = page.locator("[data-bed='soil-1']")
            card.locator("canvas").first.wait_for()  # the 14-day chart is drawn
            assert card.locator("h2").inner_text() == "Bed 1 (beans)"
            decision = card.locator("[data-role=decision]").inner_text()
            if bed["water_now"]:
                assert decision.startswith("💧 Water now") and \
                    card.locator("[data-role=litres]").inner_text() == \
                    f"{js_number(bed['litres'], 'l')} l"
            else:
                assert decision == "✓ No water needed today" and bed["depletion"] < 1
            assert card.locator("[data-role=depletion]").inner_text().startswith(
                f"{round(bed['depletion'] * 100)} % of the readily available water")
            assert card.locator("[data-role=moisture]").inner_text().startswith(
                f"{js_number(bed['moisture']['latest'], '%')} %")
            t = bed["temperature"]
            assert card.locator("[data-role=temperature]").inner_text().startswith(
                f"{js_number(t['mean_24h'], 'Cel')} °C (24 h mean); sowing minimum "
                f"{js_number(t['minimum'], 'Cel')} °C")  # bean: the crop table's minimum
            frost = page.locator("[data-role=frost]").inner_text()
            assert js_number(garden["frost"]["value"], "Cel") + " °C" in frost
            card.locator("[data-role=depletion]").click()  # every number opens its explanation
            dialog = page.locator("dialog#explain")
            dialog.locator("pre").wait_for()
            assert dialog.locator("pre").inner_text().startswith("D_r / RAW")
            assert "[object" not in dialog.inner_text()
            assert "soil-1/soil.moisture" in words(dialog)
            assert "Allen et al. (1998) FAO-56" in dialog.locator(
                "[data-role=threshold]").inner_text()
            shot(page, f"garden-explain-{size}")
            dialog.locator("button.close").click()
            shot(page, f"garden-{size}")
            assert errors == []
        finally:
            browser.close()


def test_impact_panel(running: tuple[Site, str]) -> None:
    from playwright.sync_api import sync_playwright

    _, base = running
    with sync_playwright() as pw:
        browser, page, errors = open_page(pw, "desktop")
        try:
            with page.expect_response(lambda r: "/api/v1/panel?scope=site" in r.url) as got:
                page.goto(f"{base}/panel")
            panel = got.value.json()
            page.locator("#signals tbody tr").first.wait_for()
            rows = page.locator("#signals tbody tr")
            assert rows.count() == len(panel["signals"]) >= 20
            for entry in panel["signals"]:
                shown = page.locator(f"#signals tr[data-id='{entry['id']}'] [data-role=value]"
                                     ).inner_text()
                if entry["value"] is None:
                    assert shown == "no value", entry["id"]
                else:
                    assert shown.startswith(js_number(entry["value"], entry["unit"])), \
                        (entry["id"], shown, entry["value"])
            alerting = [(e["title"], m["id"]) for e in panel["signals"]
                        for m in (e["members"] if e.get("group") else [e]) if m["alert"]]
            listed = page.locator("#alerts li").all_inner_texts()
            assert len(listed) == len(alerting) > 0  # each alert names its own scope
            for (title, sid), text in zip(alerting, listed, strict=True):
                assert text.startswith(f"ALERT {title} ({sid.split('@')[1]}): "), text
            wedges = page.locator("#doughnut path[data-id]")
            judged = [e for e in panel["signals"] if e["threshold"] and e["value"] is not None]
            assert wedges.count() == len(judged) > 5
            water = next(e for e in panel["signals"] if e["id"] == "water.use@site")
            with page.expect_response(lambda r: "/water.use%40site/explain" in r.url) as got:
                page.locator("#signals tr[data-id='water.use@site'] [data-role=value]").click()
            explained = got.value.json()
            dialog = page.locator("dialog#explain")
            dialog.locator("pre").wait_for()
            # the explanation is of the run whose number was clicked; readings for that time
            # that arrived after it (nodes commit once a simulated 10 min here) are named
            assert explained["t"] == water["t"] and explained["published"] is True
            assert explained["published_value"] == water["value"]
            assert dialog.locator("[data-role=value]").inner_text().startswith(
                js_number(explained["value"], "l"))
            if js_number(explained["value"], "l") != js_number(water["value"], "l"):
                assert dialog.locator("[data-role=late]").inner_text().startswith(
                    f"Published as {js_number(water['value'], 'l')} l")
            assert "water-1/water.volume" in words(dialog)
            dialog.locator("button.close").click()
            shot(page, "panel-desktop")

            csv_response = page.request.get(f"{base}/api/v1/panel/export?scope=site&format=csv")
            assert csv_response.ok and csv_response.headers["content-type"].startswith("text/csv")
            table = list(csv.DictReader(io.StringIO(csv_response.text())))
            assert len(table) == len(panel["signals"])
            assert {r["signal"] for r in table} >= {"water.use", "soil.depletion"}

            page.emulate_media(media="print")  # the print layout: no navigation, no buttons
            assert page.locator("nav.top").is_hidden() and page.locator(".toolbar").is_hidden()
            shot(page, "panel-print")
            pdf = page.pdf(path=str(SCREENSHOTS / "panel.pdf"), format="A4")
            assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
            page.emulate_media(media="screen")

            page.select_option("#scope", "north")  # the scope switcher
            page.wait_for_url("**/panel?scope=north")
            page.locator("#signals tbody tr").first.wait_for()
            north = get(f"{base}/api/v1/panel?scope=north")
            assert north["sites"] == ["other-garden", "test-site"]
            total = next(e for e in north["signals"] if e["signal"] == "water.use")
            assert total["sites"]["other-garden"] == 5000.0 and total["band"] == "safe"
            shown = page.locator("#signals tr[data-id='water.use@north'] [data-role=value]")
            assert shown.inner_text().startswith(js_number(total["value"], "l")[:3])
            shown.click()
            assert "other-garden" in page.locator("dialog#explain").inner_text()
            assert "catchment plan 2026 (test)" in page.locator("dialog#explain").inner_text()
            page.locator("dialog#explain button.close").click()
            shot(page, "panel-neighbourhood-desktop")
            browser.close()
            browser, page, errors2 = open_page(pw, "phone")
            page.goto(f"{base}/panel")
            page.locator("#signals tbody tr").first.wait_for()
            shot(page, "panel-phone")
            assert errors == [] and errors2 == []
        finally:
            browser.close()


def test_public_library_has_no_member_data_and_signed_in_pages_refuse_anonymous(
        running: tuple[Site, str]) -> None:
    from playwright.sync_api import sync_playwright

    site, base = running
    loans = get(f"{base}/api/v1/library/loans", VOLUNTEER)
    members = [str(m) for m in (loan["member_no"] for loan in loans) if m]
    with sync_playwright() as pw:
        browser, page, errors = open_page(pw, "phone")
        try:
            with page.expect_response(lambda r: r.url.endswith("/library/catalogue")) as got:
                page.goto(f"{base}/library")
            catalogue = got.value.json()
            page.locator("#tools tbody tr[data-tag]").first.wait_for()
            assert page.locator("#tools tbody tr[data-tag]").count() == len(catalogue) == 40
            words = {"available": "available", "out": "on loan"}
            for tool in catalogue:
                row = page.locator(f"tr[data-tag='{tool['tag']}']").inner_text()
                assert tool["name"] in row and words[tool["state"]] in row, (tool, row)
            html = page.content()
            assert not re.search(r"m-[0-9a-f]{16}", html)  # no pseudonym
            assert not any(re.search(rf"\b{m}\b", html) for m in members)  # no member number
            shot(page, "library-phone")
            for public in ("/", "/garden", "/panel", "/readings"):  # no member data anywhere
                page.goto(f"{base}{public}")
                page.wait_for_timeout(1500)
                assert not re.search(r"m-[0-9a-f]{16}", page.content()), public
            shot(page, "index-phone")

            page.goto(f"{base}/fleet")
            assert page.url.endswith("/signin?why=signin&need=steward&next=/fleet")
            notice = page.locator("#need")  # the page says why the visitor was sent there
            assert notice.inner_text() == "/fleet is for stewards: sign in to open it."
            with pytest.raises(urllib.error.HTTPError) as refused:
                get(f"{base}/api/v1/fleet")
            assert refused.value.code == 401
            shot(page, "signin-phone")

            sign_in(page, base, VOLUNTEER, "/loans")
            for _ in range(5):  # the station keeps lending: compare page and API of one moment
                page.locator("#loans tbody tr[data-tool]").first.wait_for()
                shown = sorted(page.locator("#loans tbody tr[data-tool]").evaluate_all(
                    "rows => rows.map(r => r.dataset.tool)"))
                loans = page.evaluate("fetch('/api/v1/library/loans').then(r => r.json())")
                if shown == sorted(loan["tool"] for loan in loans):
                    break
                page.reload()
            assert shown == sorted(loan["tool"] for loan in loans)
            first = page.locator("#loans tbody tr[data-tool]").first.inner_text()
            assert any(str(loan["member_no"]) in first for loan in loans)
            shot(page, "loans-phone")
            page.goto(f"{base}/fleet")  # a volunteer is no steward
            assert "need=steward" in page.url
        finally:
            browser.close()
        # a sink taken out of gateway.toml, as a later start of the gateway notices it
        with DataDir(site.root / "gw").readings() as store:
            store.sinks.start("old-db", False, 0)
            assert store.sinks.configured(["city"], time.time() - 7200) == ["old-db"]
        browser, page, errors2 = open_page(pw, "desktop")
        try:
            sign_in(page, base, STEWARD, "/fleet")
            page.locator("#nodes article[data-node]").first.wait_for()
            fleet = page.evaluate("fetch('/api/v1/fleet').then(r => r.json())")
            assert page.locator("#nodes article[data-node]").count() == len(fleet) == 5
            for n in fleet:
                card = page.locator(f"#nodes article[data-node='{n['node']}']")
                assert card.locator(".badge").inner_text() == ("online" if n["online"]
                                                                else "offline")
                assert card.locator("[data-role=dead]").inner_text() == str(n["dead_letters"])
            energy = next(n for n in fleet if n["node"] == "energy-1")
            assert energy["battery"]["unit"] == "V" and 10 < energy["battery"]["value"] < 15
            battery = page.locator("#nodes article[data-node='energy-1'] [data-role=battery]")
            assert re.fullmatch(r"1\d\.\d V \(battery\.voltage\)", battery.inner_text())
            assert page.locator("#nodes article[data-node='soil-1'] [data-role=battery]"
                                ).inner_text() == "no battery sensor"
            sink = page.locator("#sinks tr[data-sink='city']")
            sink.wait_for()
            assert "failing" in sink.locator("[data-role=error]").inner_text()
            assert "Connection refused" in sink.locator("[data-role=error]").inner_text()
            assert re.search(r"\d+ readings?", sink.locator("[data-role=behind]").inner_text())
            assert re.fullmatch(r"removed from gateway\.toml \d+ (s|min|h|days) ago: holds "
                                r"nothing back \(eil gateway sink remove old-db forgets it\)",
                                page.locator("#sinks tr[data-sink='old-db'] [data-role=behind]"
                                             ).inner_text())
            shot(page, "fleet-desktop")
            page.set_viewport_size({"width": 390, "height": 844})
            shot(page, "fleet-phone")
            assert errors == [] and errors2 == []
        finally:
            browser.close()
    assert site.alive("gateway")


# Words split across two lines inside an element: a Range over each word has two boxes.
BROKEN_WORDS = """sel => [...document.querySelectorAll(sel)].flatMap(e => {
  const out = [];
  const walk = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
  for (let t = walk.nextNode(); t; t = walk.nextNode()) {
    for (const m of t.data.matchAll(/[^\\s\u200b]+/g)) {
      const r = document.createRange();
      r.setStart(t, m.index); r.setEnd(t, m.index + m[0].length);
      const tops = new Set([...r.getClientRects()].map(b => Math.round(b.top)));
      if (tops.size > 1) out.push(m[0]);
    }
  }
  return out;
})"""


@pytest.mark.parametrize("size", list(SIZES))
def test_views_judge_ages_on_the_site_clock_and_break_no_words(running: tuple[Site, str],
                                                               size: str) -> None:
    """Issue 13's view defects: ages on the site's (simulated) clock, no mid-word breaks, the
    display units, plurals, no "null" in an explanation, ratios that are not shares, the
    favicon."""
    from playwright.sync_api import sync_playwright

    site, base = running
    with sync_playwright() as pw:
        browser, page, errors = open_page(pw, size)
        try:
            with page.expect_response(lambda r: r.url.endswith("/api/v1/latest")) as got:
                page.goto(f"{base}/readings")
            latest = got.value.json()
            page.locator("article[data-node='soil-1'] tbody tr").first.wait_for()
            clock = get(f"{base}/api/v1/clock")
            assert clock["speed"] == 600.0 and clock["timezone"] == "Europe/Brussels"
            # times in the site's zone, not the browser's (UTC here): midnight UTC is 01:00
            assert page.evaluate("EIL.when(0)") == "1 Jan 1970, 01:00"
            # the page's "now" is the site's, which runs 600x faster than the browser's
            drift_s = abs(page.evaluate("EIL.siteNow()") - site.sim_now() * 1000) / 1000
            assert drift_s < 600 * 3, drift_s
            assert page.evaluate("EIL.ago(EIL.siteNow() - 3 * 3600 * 1000)") == "3 h ago"
            gauges = page.evaluate("""[...document.querySelectorAll("td[data-role=value]")]
                .filter(td => td.dataset.unit).map(td => td.parentElement.lastChild.textContent)""")
            assert len(gauges) > 10
            for when in gauges:  # fresh readings (events may be older): minutes, not days
                assert re.fullmatch(r"\d+ (s|min) ago", when), when
            for node in ("soil-1", "weather-1"):
                card = page.locator(f"article[data-node='{node}']")
                assert "days ago" not in card.locator(".meta").inner_text()
            temperature = next(r for r in latest if r["node"] == "weather-1" and
                               r["name"] == "air.temperature")
            shown = page.locator("article[data-node='weather-1'] tr[data-quantity="
                                 "'air.temperature'] [data-role=value]").inner_text()
            assert shown.endswith(" °C") and "Cel" not in page.locator("#nodes").inner_text()
            assert shown == f"{js_number(temperature['value'], 'Cel')} °C"
            assert page.evaluate(BROKEN_WORDS, "th, td.ident, h2") == []
            assert "Updated " in page.locator("#updated").inner_text()
            shot(page, f"readings-{size}")

            page.goto(f"{base}/panel")
            page.locator("#signals tbody tr").first.wait_for()
            per_tool = page.locator("tr[data-id='tools.loans_per_tool@library'] "
                                    "[data-role=value]").inner_text()
            assert per_tool.endswith("loans per tool") and "%" not in per_tool, per_tool
            assert page.locator("tr[data-id='tools.avoided_purchases@library'] "
                                "[data-role=value]").inner_text().endswith(" purchases")
            page.locator("tr[data-id='weather.frost@weather-1'] [data-role=value]").click()
            dialog = page.locator("dialog#explain")
            dialog.locator("pre").wait_for()
            assert "null" not in dialog.inner_text() and "undefined" not in dialog.inner_text()
            assert page.evaluate(BROKEN_WORDS, "dialog#explain td, dialog#explain th") == []
            SCREENSHOTS.mkdir(exist_ok=True)
            dialog.screenshot(path=str(SCREENSHOTS / f"explanation-{size}.png"))
            dialog.locator("button.close").click()
            icon = page.request.get(f"{base}/favicon.ico")
            assert icon.ok and icon.headers["content-type"] == "image/svg+xml"

            sign_in(page, base, STEWARD, "/fleet")
            page.locator("article[data-node='soil-1']").wait_for()
            summary = page.locator("#summary").inner_text()
            assert not re.search(r"\b1 (nodes|dead letters)\b", summary), summary
            assert page.evaluate("[EIL.plural(1, 'dead letter'), EIL.plural(2, 'dead letter')]"
                                 ) == ["1 dead letter", "2 dead letters"]
            for text in page.locator("[data-role=last-seen]").all_inner_texts():
                assert re.fullmatch(r"\d+ (s|min) ago", text), text
            for text in page.locator("[data-role=backlog]").all_inner_texts():
                # one figure, never "N waiting" beside "0 not yet acknowledged"
                assert text.startswith(("none: everything", "1 reading not", "–")) or \
                    re.match(r"\d+ readings not yet stored", text), text
            assert page.evaluate(BROKEN_WORDS, "article h2") == []
            assert [t for t in page.locator("[data-role=sequence]").all_inner_texts()
                    if t != "● in order"] == []
            assert page.locator("#conflicts tbody").inner_text() == "None."
            rule = get(f"{base}/api/v1/panel")["alert_rule"]
            assert page.evaluate("r => EIL.alertRuleText(r)", rule) == (
                "Back inside its threshold: the alert stays on until the value has been inside "
                "by a 5 % margin for 2 h (so it does not flap).")
            shot(page, f"fleet-{size}")
            assert errors == []
        finally:
            browser.close()


def test_openapi_schema_property_based(running: tuple[Site, str], tmp_path: Path) -> None:
    """schemathesis generates requests from the OpenAPI schema (valid and invalid) for every
    operation, signed in as a steward: no request may make the server fail (5xx)."""
    _, base = running
    tool = ROOT / ".venv-tools" / "bin" / "schemathesis"
    assert tool.exists(), "scripts/bootstrap installs schemathesis into .venv-tools"
    done = subprocess.run(
        [str(tool), "run", f"{base}/openapi.json", "--checks", "not_a_server_error",
         "--max-examples", "15", "--auth", f"{STEWARD[0]}:{STEWARD[1]}", "--no-color",
         "--seed", "7", "--request-timeout", "20"],
        capture_output=True, text=True, timeout=280, cwd=tmp_path)  # its cache goes there
    summary = done.stdout[-3000:]
    assert done.returncode == 0, summary
    tested = re.search(r"Tested: (\d+)", summary)
    assert tested and int(tested.group(1)) >= 15, summary
    assert re.search(r"\d+ generated, \d+ passed", summary), summary


def test_alerts_reach_the_steward_who_acknowledges_by_link_and_on_the_pages(
        running: tuple[Site, str]) -> None:
    """The failing sink becomes an alert, a message reaches the steward's webhook with an
    acknowledgement link; the link shows the alert and acknowledges it once; the fleet view and
    the alerts page show it acknowledged; anonymous visitors see no fleet alert."""
    from playwright.sync_api import sync_playwright

    site, base = running
    hook: HttpReceiver = site.hook  # type: ignore[attr-defined]
    wait_until(lambda: any("sink city has failed" in m["message"] for m in hook.messages()), 60,
               "the failing sink's message at the steward's webhook")
    message = next(m["message"] for m in hook.messages() if "sink city has failed" in m["message"])
    assert "[EIL test-site]" in next(m["title"] for m in hook.messages())
    link = re.search(r"Acknowledge: (\S+/alerts/ack\?token=\S+)", message)
    assert link is not None, message
    assert all(a["source"] in ("signal", "scope") for a in get(f"{base}/api/v1/alerts"))
    with sync_playwright() as pw:
        browser, page, errors = open_page(pw, "phone")
        try:
            page.goto(link.group(1))
            page.locator("#alert h2").wait_for()
            assert page.locator("#alert h2").inner_text() == "Sink failing (gateway)"
            page.fill("#note", "city database restarted")
            page.click("#ack button")
            page.locator("#result").filter(has_text="Acknowledged").wait_for()
            page.goto(link.group(1))  # single use
            page.locator("#alert .error").wait_for()
            assert "used" in page.locator("#alert .error").inner_text()
            sign_in(page, base, STEWARD, "/fleet")
            box = page.locator("#fleet-alerts [data-alert='sink.failing/city']")
            box.wait_for()
            assert "ACKNOWLEDGED" in box.inner_text() and "sam (message link)" in box.inner_text()
            assert "the notification sender is running" in page.locator(
                "#fleet-alerts [data-role=sender]").inner_text()
            page.locator("#backup").filter(has_text="no backup yet").wait_for()
            page.goto(f"{base}/alerts")
            item = page.locator("[data-alert='sink.failing/city']")
            item.wait_for()
            assert "city database restarted" in item.inner_text()
            page.locator("form.settings[data-recipient=sam]").wait_for()
            page.fill("#sam-quiet", "25:00-07:00")  # refused with the reason
            page.click("form.settings[data-recipient=sam] button")
            status = page.locator("form.settings[data-recipient=sam] [role=status]")
            status.filter(has_text="HH:MM-HH:MM").wait_for()
            page.fill("#sam-quiet", "22:00-07:00")
            page.click("form.settings[data-recipient=sam] button")
            status.filter(has_text="Saved.").wait_for()
            shot(page, "alerts-phone")
            assert errors == []
        finally:
            browser.close()
    (s,) = get(f"{base}/api/v1/alerts/settings", STEWARD)
    assert s["quiet_hours"] == "22:00-07:00" and s["timezone"] == "Europe/Brussels"
    assert s["channels"][0].startswith("json://127.0.0.1") and "sam" in s["channels"][0]
