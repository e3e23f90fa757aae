"""`eil demo` as a new user runs it, its web page in real Chromium, then `eil export`/`status`."""

from __future__ import annotations

import csv
import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eil.broker import free_port
from tests.support.browser import chromium_page, screenshot

pytestmark = pytest.mark.slow


def eil(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "eil", *args], capture_output=True, text=True,
                          timeout=120)


def test_demo_runs_serves_page_and_exports_every_kind(tmp_path: Path) -> None:
    data, port = tmp_path / "demo", free_port()
    # 30 s at x7200: 60 simulated hours, so yesterday is whole (daily signals) for the signals
    demo = subprocess.Popen([sys.executable, "-m", "eil", "demo", "--duration", "30", "--speed",
                             "7200", "--data", str(data), "--http-port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(12)
        with chromium_page() as page:
            page.goto(f"http://127.0.0.1:{port}/readings")
            page.wait_for_selector("article.node[data-node='tools-1'] tr[data-quantity]",
                                   timeout=15000)
            page.wait_for_selector("article.node[data-node='soil-1'] tr[data-quantity]")
            cards = page.locator("article.node")
            assert sorted(cards.evaluate_all("els => els.map(e => e.dataset.node)")) == [
                "energy-1", "soil-1", "tools-1", "water-1"]
            assert page.locator("article.node .badge.online").count() == 4
            moisture = page.locator("article[data-node='soil-1'] tr[data-quantity='soil.moisture']")
            number, unit = moisture.locator("[data-role=value]").inner_text().split(" ")
            assert unit == "%" and 5 <= float(number) <= 48
            volts, unit = page.locator("article[data-node='energy-1'] tr[data-quantity="
                                       "'battery.voltage'] [data-role=value]").inner_text().split(" ")
            assert unit == "V" and 11.5 < float(volts) < 13.6
            screenshot(page, "demo-home")
        out, err = demo.communicate(timeout=90)
    finally:
        if demo.poll() is None:  # a failed assertion: stop it as Ctrl-C does, so that it stops
            demo.send_signal(signal.SIGINT)  # its broker, gateway and nodes (a SIGKILL would
            try:  # leave them running for the rest of the suite)
                demo.wait(30)
            except subprocess.TimeoutExpired:
                demo.kill()
    assert demo.returncode == 0, err
    assert f"http://127.0.0.1:{port}/" in out

    rows = [json.loads(line) for line in eil("export", "--data", str(data)).stdout.splitlines()]
    by_node: dict[str, set[str]] = {}
    for r in rows:
        by_node.setdefault(r["node"], set()).add(r["name"])
        assert r["time"].endswith("Z") and {"node", "seq", "time", "name", "value",
                                              "unit"} <= set(r)
    assert by_node["soil-1"] == {"soil.moisture", "soil.temperature", "air.temperature",
                                 "air.humidity", "wind.speed", "solar.radiation"}
    assert by_node["water-1"] == {"water.flow", "water.volume", "water.tank", "tank.water.ph",
                                  "tank.water.ec", "tank.water.nitrate", "tank.water.do",
                                  "tank.water.turbidity"}
    assert by_node["energy-1"] == {"pv.power", "load.power", "battery.voltage", "pv.energy",
                                   "mains.ac.current", "mains.ac.power", "mains.ac.apparent_power",
                                   "mains.energy.pulses", "mains.energy", "mains.mcu.temperature"}
    assert by_node["tools-1"] <= {"loan.checkout", "loan.checkin"} and by_node["tools-1"]
    units = {(r["name"], r["unit"]) for r in rows if r["node"] != "tools-1"}
    assert ("soil.temperature", "Cel") in units and ("water.volume", "l") in units
    assert ("mains.ac.current", "A") in units and ("mains.energy", "Wh") in units

    sliced = eil("export", "--data", str(data), "--format", "csv", "--node", "soil-1",
                 "--name", "soil.moisture")
    table = list(csv.DictReader(io.StringIO(sliced.stdout)))
    assert table and {t["name"] for t in table} == {"soil.moisture"}
    assert all(t["unit"] == "%" for t in table)
    seqs = [int(t["seq"]) for t in table]
    assert seqs == sorted(seqs)

    status = eil("status", "--data", str(data))
    assert status.returncode == 0
    lines = {line.split()[0]: line.split() for line in status.stdout.splitlines()[2:6]}
    soil = lines["demo-garden/soil-1"]
    assert soil[1] == "offline"  # stopped cleanly: retained status says so
    assert soil[-4] == soil[-3]  # acknowledged == last seq: nothing left behind

    # every catalogue signal has a value from the demo's stored readings
    from gateway.signals.catalogue import DEFS

    signals = json.loads(eil("signals", "--data", str(data), "--at", "latest", "--json").stdout)
    valued = {s["signal"] for s in signals if s["value"] is not None}
    assert valued == set(DEFS), [(s["id"], s["note"]) for s in signals if s["value"] is None]
    explained = eil("signals", "explain", "soil.depletion@soil-1", "--data", str(data), "--at",
                    "latest").stdout
    assert "soil-1/soil.moisture:" in explained and "stored seq" in explained
    assert "FAO-56" in explained

    bad = eil("export", "--data", str(data), "--since", "yesterday")
    assert bad.returncode == 2 and "--since: 'yesterday' is not an RFC 3339 time" in bad.stderr
