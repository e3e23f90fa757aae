"""Site → neighbourhood across real network hosts, through faults, with a native Mosquitto bridge
carrying the same runs beside the forwarder (docs/federation.md, issue 18).

Three hosts of the test's own (tests/support/netns.py): the neighbourhood's (its broker and
gateway) and two sites' (broker, gateway, a water and an energy node, the forwarder), each site
on its own link to the neighbourhood. Every site broker also bridges its gateway's retained
signals topic to the neighbourhood's broker (topic bridge/…, read by a counter with a
persistent session): the way a maker would federate with Mosquitto alone.

Faults, the same for both paths: site A's link silently cut (iptables DROP) for a simulated day;
during it site A's gateway and broker killed -9 at a random instant and restarted; after it the
neighbourhood's gateway and broker killed -9 at a random instant of the catch-up and restarted.
Then: every run each site's gateway computed reached the neighbourhood through the forwarder
exactly once (dense sequence numbers, one summary per signal and run), the neighbourhood's
roll-up caught up with both sites' last runs, and its panel in Chromium shows both sites'
contributions and their sum. The bridge's losses are counted and printed beside the
forwarder's."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from eil.broker import find_binary
from gateway.store import DataDir, Store
from tests.e2e.test_federation import SCOPE, SCOPES_TOML, SITES, forwarded, site_runs
from tests.support.netns import Star, star
from tests.support.site import Site, wait_until

pytestmark = pytest.mark.slow
SPEED = 3600.0  # a simulated day in 24 s
NB = "nb"
LEAF = {"garden-a": "a", "garden-b": "b"}
COUNTER = """
import json, sys, time
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
host, port, password, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bridge-counter", clean_session=False)
c.username_pw_set("bridge-counter", password)
c.on_connect = lambda cl, *a: cl.subscribe("bridge/#", qos=1)
def got(cl, u, msg):
    runs = json.loads(msg.payload)
    t = max((e["t"] for e in runs), default=0)
    with open(out, "a") as f:
        f.write(json.dumps([msg.topic.split("/")[3], t]) + "\\n")
c.on_message = got
while True:
    try:
        c.connect(host, port, keepalive=5)
        break
    except OSError:
        time.sleep(0.5)
c.loop_forever(retry_first_connection=True)
"""
PANEL = """
import json, sys
from tests.support.browser import chromium_page
with chromium_page(1200, 1100) as page:
    page.goto(sys.argv[1])
    page.wait_for_selector("#signals tbody tr ul.sites li", timeout=20000)
    rows = page.eval_on_selector_all("#signals tbody tr", '''rs => rs.map(r => ({
        id: r.dataset.id, value: r.querySelector("[data-role=value]").textContent,
        sites: [...r.querySelectorAll("ul.sites li")].map(li => li.textContent)}))''')
    page.screenshot(path=sys.argv[2], full_page=True)
    print(json.dumps(rows))
"""


@pytest.fixture
def hosts() -> Iterator[Star]:
    yield from star(NB, ("a", "b"))


class Federation:
    """The three sites' files (tests/support/site.Site writes them) and their processes, each
    on its host."""

    def __init__(self, make_site: Callable[..., Site], hosts: Star, port: int) -> None:
        self.hosts, self.http_port = hosts, port
        self.upper = make_site({}, site=SCOPE, devices=(*SITES, "bridge-counter",
                                                        *(f"bridge-{s}" for s in SITES)),
                               http_port=port, gateway_extra="[signals]\nevery_s = 1\n")
        setup = self.upper.setup
        conf = setup.conf.read_text().replace(f"listener {setup.port} 127.0.0.1",
                                              f"listener {setup.port} 0.0.0.0")
        setup.conf.write_text(conf)  # reachable from the site hosts (inside these only)
        with (setup.directory / "acl").open("a") as acl:  # the bridges and their counter
            for s in SITES:
                acl.write(f"\nuser bridge-{s}\ntopic write bridge/eil/v1/{s}/#\n")
            acl.write("\nuser bridge-counter\ntopic read bridge/#\n")
        data = DataDir(self.upper.root / "gw")
        data.root.mkdir(parents=True, exist_ok=True)
        data.scopes_file.write_text(SCOPES_TOML)
        self.sites: dict[str, Site] = {}
        for s in SITES:
            hub = hosts.hub_ip(LEAF[s])
            site = make_site({"water-1": "water", "energy-1": "energy"}, site=s, speed=SPEED,
                             interval=1200.0, gateway_extra=(
                                 "[signals]\nevery_s = 1\n[upstream]\n"
                                 f'scope = "{SCOPE}"\nhost = "{hub}"\nport = {setup.port}\n'
                                 f'password_file = "{setup.secret_file(s)}"\nevery_s = 0.3\n'))
            site.setup.conf.write_text(site.setup.conf.read_text() + f"""
connection up-{s}
address {hub}:{setup.port}
remote_username bridge-{s}
remote_password {setup.credentials[f"bridge-{s}"]}
remote_clientid bridge-{s}
bridge_protocol_version mqttv311
cleansession false
keepalive_interval 5
restart_timeout 1
topic eil/v1/{s}/_gateway/signals out 1 "" bridge/
""")
            self.sites[s] = site
        self.counted = self.upper.root / "bridge-counter.jsonl"

    # --- processes -------------------------------------------------------------------------------
    def host(self, site: str) -> str:
        return NB if site == SCOPE else LEAF[site]

    def site(self, name: str) -> Site:
        return self.upper if name == SCOPE else self.sites[name]

    def start_broker(self, name: str) -> None:
        s = self.site(name)
        self.hosts.spawn(self.host(name), f"{name}/broker",
                         [find_binary("mosquitto"), "-c", str(s.setup.conf)],
                         s.root / "broker.log")
        wait_until(lambda: self.hosts.reachable(self.host(name), "127.0.0.1", s.setup.port), 10,
                   f"{name}'s broker")

    def start_gateway(self, name: str) -> None:
        s = self.site(name)
        self.hosts.spawn(self.host(name), f"{name}/gateway",
                         [sys.executable, "-m", "eil", "gateway", "run", "--config",
                          str(s.gateway_cfg)], s.root / "gateway.log")

    def start_site(self, name: str) -> None:
        self.start_broker(name)
        self.start_gateway(name)
        s, host = self.sites[name], LEAF[name]
        for node in s.nodes:
            self.hosts.spawn(host, f"{name}/{node}", [sys.executable, "-m", "eil", "node", "run",
                                                      "--config", str(s.node_cfgs[node])],
                             s.root / f"{node}.log")
        self.hosts.spawn(host, f"{name}/forwarder", [sys.executable, "-m", "eil", "gateway",
                                                     "forward", "--config", str(s.gateway_cfg)],
                         s.root / "forwarder.log")

    def start_counter(self) -> None:
        self.hosts.spawn(NB, "counter", [sys.executable, "-c", COUNTER, "127.0.0.1",
                                         str(self.upper.setup.port),
                                         self.upper.setup.credentials["bridge-counter"],
                                         str(self.counted)], self.upper.root / "counter.log")

    def crash(self, name: str) -> None:
        """The host's gateway and broker killed -9, as a power cut would."""
        self.hosts.kill(f"{name}/gateway")
        self.hosts.kill(f"{name}/broker")

    # --- what arrived ----------------------------------------------------------------------------
    def forwarded_runs(self, site: str) -> list[int]:
        return [t for _, t, e in forwarded(self.upper, site) if e["signal"] == "water.use"]

    def bridged_runs(self, site: str) -> set[int]:
        if not self.counted.exists():
            return set()
        return {t for s, t in map(json.loads, self.counted.read_text().split("\n")[:-1])
                if s == site}


def history_runs(site: Site) -> set[int]:
    return set(site_runs(site))


def test_forwarder_and_bridge_through_a_cut_and_crashes(make_site: Callable[..., Site],
                                                        hosts: Star) -> None:
    rng = random.Random()
    f = Federation(make_site, hosts, 8080)
    f.start_broker(SCOPE)
    f.start_gateway(SCOPE)
    f.start_counter()
    for s in SITES:
        f.start_site(s)
    wait_until(lambda: all(len(f.forwarded_runs(s)) >= 3 and len(f.bridged_runs(s)) >= 3
                           for s in SITES), 90, "runs of both sites through both paths")

    # a simulated day without site A's link; its gateway host crashes in the middle of it
    before_cut = len(history_runs(f.sites["garden-a"]))
    hosts.silence("a", True)
    crash_after = rng.uniform(3.0, 20.0)
    time.sleep(crash_after)
    f.crash("garden-a")
    time.sleep(1.0)
    f.start_broker("garden-a")
    f.start_gateway("garden-a")
    time.sleep(max(0.0, 86400 / SPEED - crash_after - 1.0))
    cut_runs = len(history_runs(f.sites["garden-a"])) - before_cut
    hosts.silence("a", False)

    # the neighbourhood's host crashes at a random instant of the catch-up
    time.sleep(rng.uniform(0.0, 5.0))
    f.crash(SCOPE)
    time.sleep(2.0)
    f.start_broker(SCOPE)
    f.start_gateway(SCOPE)
    time.sleep(10.0)  # a few more runs in steady state

    for s in SITES:  # the sites stop computing; the forwarders deliver what they hold
        assert hosts.stop(f"{s}/gateway") == 0
    finals = {s: max(history_runs(f.sites[s])) for s in SITES}
    wait_until(lambda: all(max(f.forwarded_runs(s), default=0) >= finals[s] for s in SITES),
               120, "every site's last run at the neighbourhood")
    time.sleep(3.0)  # what the bridges still carry, and a scheduled roll-up after the last run

    report = []
    for s in SITES:
        site = f.sites[s]
        got = forwarded(f.upper, s)
        # every run since the forwarder took its first (one computed before it started is
        # not its to carry)
        computed = {t for t in history_runs(site) if t >= min(t for _, t, _ in got)}
        seqs = [seq for seq, _, _ in got]
        assert seqs == list(range(1, len(seqs) + 1)), f"{s}: gaps or doubles in {seqs}"
        per_run: dict[int, list[str]] = {}
        for _, t, e in got:
            per_run.setdefault(t, []).append(e["signal"])
        assert all(len(v) == len(set(v)) for v in per_run.values()), f"{s}: a run twice"
        lost_forwarder = computed - set(per_run)
        lost_bridge = computed - f.bridged_runs(s)
        assert not lost_forwarder, f"{s}: runs lost by the forwarder: {sorted(lost_forwarder)}"
        report.append(f"{s}: {len(computed)} runs computed; forwarder lost "
                      f"{len(lost_forwarder)}, duplicated 0; native bridge lost "
                      f"{len(lost_bridge)}")
    assert cut_runs > 5  # site A computed runs during the cut, crash included: at stake

    # the roll-up caught up with both sites' last runs
    def rolled() -> dict[str, Any]:
        rollups = DataDir(f.upper.root / "gw").latest_rollups().get(SCOPE, [])
        return next((e for e in rollups if e["signal"] == "water.use"), {})

    wait_until(lambda: rolled().get("sites_t") == finals, 30, "the roll-up of the last runs")
    total = rolled()
    last_values = {s: site_runs(f.sites[s])[finals[s]] for s in SITES}
    assert total["sites"] == last_values
    assert total["value"] == pytest.approx(sum(last_values.values()))

    # the neighbourhood's panel in Chromium, on its own host
    shot = Path(__file__).resolve().parent.parent / "screenshots" / "federation-panel.png"
    shot.parent.mkdir(exist_ok=True)
    out = subprocess.run(hosts.command(NB, [
        sys.executable, "-c", PANEL, f"http://127.0.0.1:{f.http_port}/panel?scope={SCOPE}",
        str(shot)]), capture_output=True, text=True, timeout=120,
        cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr[-3000:]
    rows = {r["id"]: r for r in json.loads(out.stdout.strip().splitlines()[-1])}
    water = rows[f"water.use@{SCOPE}"]
    assert sorted(li.split(":")[0] for li in water["sites"]) == sorted(SITES)
    for s in SITES:
        assert any(li.startswith(f"{s}: ") for li in water["sites"])
    print("\n".join(report))
    with Store(f.upper.db_path(), readonly=True) as store:
        assert store.dead_letter_total() == 0
    with DataDir(f.upper.root / "gw").signal_history() as history:
        assert len(history.history(f"water.use@{SCOPE}")) > 10  # rolled up run after run
