"""The gateway's JSON API for the decision views: the latest signals (by scope) and their stored
history, and the public tool catalogue with availability and no member data."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from contract.topics import NodeId
from eil.broker import free_port
from gateway.store import DataDir
from gateway.store.rows import StoredReading
from tests.support.site import Site, wait_until

pytestmark = pytest.mark.slow
CATALOGUE = """tag,name,category,purchase_price,currency,embodied_co2e_kg,co2e_source
5500AA0001,Cordless drill,power-tools,129,EUR,24.5,Bosch EPD 2021
5500AA0002,Ladder 3 m,access,89,EUR,41,ICE database v3
"""


def get(url: str) -> object:
    return json.loads(urllib.request.urlopen(url, timeout=10).read())


def test_signals_history_and_public_catalogue(make_site: Callable[..., Site],
                                              tmp_path: Path) -> None:
    port = free_port()
    site = make_site({"soil-1": "soil"}, speed=1.0, interval=1.0, http_port=port)
    site.gateway_cfg.write_text(site.gateway_cfg.read_text() + "[signals]\nevery_s = 2\n")
    gw = site.root / "gw"
    gw.mkdir(parents=True, exist_ok=True)
    (tmp_path / "tools.csv").write_text(CATALOGUE)
    for args in (["import-catalog", str(tmp_path / "tools.csv")],
                 ["tool", "5500AA0002", "--status", "maintenance"],
                 ["member", "enrol", "--pseudonym", "m-00000000000000aa", "--member-no", "7",
                  "--name", "Ada"]):
        done = subprocess.run([sys.executable, "-m", "eil", "library", *args, "--data", str(gw)],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    site.broker.start()
    site.start_gateway()
    site.start_node("soil-1")
    base = f"http://127.0.0.1:{port}/api/v1"

    def published() -> bool:
        try:
            return any(s["id"] == "soil.depletion@soil-1" and s["value"] is not None
                       for s in get(f"{base}/signals"))  # type: ignore[union-attr]
        except OSError:
            return False

    wait_until(published, 30, "the gateway's signals over HTTP")
    soil = [s for s in get(f"{base}/signals?scope=soil-1")]  # type: ignore[attr-defined]
    assert soil and {s["scope"] for s in soil} == {"soil-1"}
    depletion = next(s for s in soil if s["signal"] == "soil.depletion")
    assert depletion["threshold"]["source"].startswith("Allen et al. (1998) FAO-56")
    wait_until(lambda: len(get(f"{base}/signals/soil.depletion@soil-1/history?hours=1")
                           ["values"]) >= 2, 20, "two stored runs")  # type: ignore[index]
    explained = get(f"{base}/signals/soil.depletion@soil-1/explain")
    assert explained["formula"].startswith("D_r / RAW")  # type: ignore[index]
    assert explained["inputs"][0]["series"] == "soil-1/soil.moisture"  # type: ignore[index]
    assert explained["inputs"][0]["first_seq"] >= 1  # type: ignore[index]
    assert explained["threshold"]["set_by"] == "EIL defaults"  # type: ignore[index]
    assert "TAW_mm" in explained["numbers"]  # type: ignore[index]
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{base}/signals/nope@x/history")
    assert missing.value.code == 404 and b"no stored values of 'nope@x'" in missing.value.read()
    with pytest.raises(urllib.error.HTTPError) as bad:
        urllib.request.urlopen(f"{base}/signals/soil.depletion@soil-1/history?hours=-1")
    assert bad.value.code == 422
    raw = urllib.request.urlopen(f"{base}/library/catalogue", timeout=10).read()
    tools = {t["tag"]: t for t in json.loads(raw)}
    assert tools["5500AA0001"]["available"] and tools["5500AA0002"]["state"] == "maintenance"
    assert b"m-000000" not in raw and b"Ada" not in raw  # public: no member data
    spec = get(f"http://127.0.0.1:{port}/openapi.json")
    assert {"/api/v1/signals", "/api/v1/signals/{signal_id}/history",
            "/api/v1/signals/{signal_id}/explain", "/api/v1/library/catalogue",
            "/api/v1/library/loans", "/api/v1/fleet"} <= set(spec["paths"])  # type: ignore[index]


def _status(url: str, auth: tuple[str, str] | None = None) -> tuple[int, bytes]:
    import base64

    request = urllib.request.Request(url)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except urllib.error.URLError:
        return 0, b""  # not listening yet


def test_volunteer_loans_need_an_account_and_there_is_no_default(
        make_site: Callable[..., Site]) -> None:
    port = free_port()
    site = make_site({"soil-1": "soil"}, http_port=port)
    gw = site.root / "gw"
    gw.mkdir(parents=True, exist_ok=True)
    site.broker.start()
    site.start_gateway()
    loans = f"http://127.0.0.1:{port}/api/v1/library/loans"
    seen: list[int] = []
    try:
        wait_until(lambda: seen.append(_status(loans)[0]) or seen[-1] in (401, 503), 40,
                   "web server")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; statuses {sorted(set(seen))}; gateway log:\n"
                             f"{site.log('gateway')[-3000:]}") from None
    code, body = _status(loans)
    assert code == 503 and b"eil gateway account add" in body  # first run: no account at all

    def account(*args: str, password: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "eil", "gateway", "account", *args,
                               "--data", str(gw), "--password-stdin"], input=password + "\n",
                              capture_output=True, text=True, timeout=60)

    short = account("add", "ana", "--role", "volunteer", password="short")
    assert short.returncode == 2 and "at least 12 characters" in short.stderr
    assert account("add", "ana", "--role", "volunteer",
                   password="a long volunteer pass").returncode == 0
    assert _status(loans)[0] == 401  # anonymous
    assert _status(loans, ("ana", "wrong password here"))[0] == 401
    assert _status(loans, ("nobody", "a long volunteer pass"))[0] == 401
    code, body = _status(loans, ("ana", "a long volunteer pass"))
    assert code == 200 and json.loads(body) == []
    raw = (gw / "accounts.db").read_bytes()
    assert b"a long volunteer pass" not in raw  # only the scrypt hash is kept

    fleet = f"http://127.0.0.1:{port}/api/v1/fleet"
    assert _status(fleet, ("ana", "a long volunteer pass"))[0] == 403  # stewards only
    assert account("add", "sam", "--role", "steward",
                   password="a long steward pass").returncode == 0
    site.start_node("soil-1")
    wait_until(lambda: site.stored("soil-1")[0] > 0, 20, "the node's readings")

    def node() -> dict:  # type: ignore[type-arg]
        code, body = _status(fleet, ("sam", "a long steward pass"))
        assert code == 200
        return next((n for n in json.loads(body) if n["node"] == "soil-1"), {})

    wait_until(lambda: node().get("online") is True, 20, "soil-1 online in the fleet view")
    n = node()
    assert n["dead_letters"] == 0 and n["readings"] > 0 and n["calibrations"] == {}
    assert n["mcu_gaps"] is None
    # a Pico's full buffer overwrote readings twice while its Pi was away (the bridge's events)
    with DataDir(gw).readings() as store:
        pico = NodeId(site.setup.site, "pico-1")
        store.commit([(pico, StoredReading(1, 1_000, "pico.mcu.gap", "event", None, None,
                                           "3 readings lost in the MCU buffer (seq 3..5), "
                                           "measured before this event", "0000b007")),
                      (pico, StoredReading(2, 9_000, "pico.mcu.gap", "event", None, None,
                                           "50 readings lost in the MCU buffer (seq 90..139)",
                                           "0000b007"))], [], {pico: [([1, 2], None)]}, {})
    gaps = next(x for x in json.loads(_status(fleet, ("sam", "a long steward pass"))[1])
                if x["node"] == "pico-1")["mcu_gaps"]
    assert gaps == {"events": 2, "readings": 53, "last_ms": 9_000,
                    "last": "50 readings lost in the MCU buffer (seq 90..139)"}
