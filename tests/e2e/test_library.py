"""The tool library end to end: card and tag taps on a station (the real node agent, its
RDM6300 reading real frames from a pty) become events, travel through a real Mosquitto to the
gateway, and make the ledger: out, in, overdue, refused for maintenance. The gateway's view
comes back to the station retained. Then the privacy check: the member cards' numbers appear
nowhere (gateway files, station files, logs, MQTT traffic). And an offline station's hours of
taps arrive in order and make the right ledger."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from contract.topics import ROOT, library_view_topic
from core.mqtt import make_client
from edge.agent import NodeAgent
from edge.config import load_node_config
from edge.fakes.hardware import FakeHardware
from edge.sensors.rdm6300 import FakeRdm6300
from edge.station import new_site_key, pseudonym
from eil.site_files import node_toml
from tests.support.site import Site, wait_until

ALICE, BOB, CAROL = "0A1B2C3D4E", "0B0B0B0B0B", "0C0C0C0C0C"
DRILL, LADDER, SAW = "5500AA0001", "5500AA0002", "5500AA0003"
CATALOGUE = f"""tag,name,category,purchase_price,currency,embodied_co2e_kg,co2e_source
{DRILL},Cordless drill,power-tools,129,EUR,24.5,Bosch EPD 2021
{LADDER},Ladder 3 m,access,89,EUR,41,ICE database v3
{SAW},Tile saw,power-tools,240,EUR,60.2,manufacturer LCA summary
"""
STATION = """
[[sensors]]
type = "tool_station"
interval_s = 0.05
readers = [{{ type = "rdm6300", port = "/dev/serial0" }}]
key_file = "{key}"
led_ok = 23
led_error = 24
buzzer = 25
"""
DAY = 86_400.0


def eil(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "eil", *args], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


class Station:
    """The station node in this process, so the test can hold cards to its reader."""

    def __init__(self, site: Site, key: Path, clock: tuple[float, float, float] | None) -> None:
        cfg_path = site.node_cfgs["library"]
        cfg_path.write_text(node_toml(site.setup, "library", cfg_path.parent,
                                      STATION.format(key=key), clock=clock,
                                      publish="commit_interval_s = 0.2\nstatus_interval_s = 2\n"))
        self.cfg = load_node_config(cfg_path)
        self.hw = FakeHardware(data_dir=self.cfg.data_dir)
        self.reader = FakeRdm6300()
        self.hw.attach_serial("/dev/serial0", self.reader)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:  # the agent's SQLite connection belongs to its own thread
        agent = NodeAgent(self.cfg, hardware=self.hw)
        agent.stop = self.stop
        agent.run(drain_s=10)

    def tap(self, *cards: str) -> None:
        for card in cards:
            self.reader.card = card
            time.sleep(0.35)
            self.reader.card = None
            time.sleep(0.8)  # longer than the debouncer's removal time

    def view(self) -> dict:  # type: ignore[type-arg]
        path = self.cfg.data_dir / "library_view.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)
        self.reader.close()
        self.hw.close()


@contextmanager
def capture(site: Site) -> Iterator[list[bytes]]:
    """Every message on the site's topics, as the gateway and the station may read them."""
    payloads: list[bytes] = []
    clients = []
    # identities of their own (the spare ingest worker's, a spare node's): a credential has one
    # session, so listening with the running gateway's or station's would close theirs
    for user, topics in (("_gateway-2", [f"{ROOT}/{site.site}/+/+"]),
                         ("observer", [library_view_topic(site.site)])):
        c = make_client(f"capture-{user}", user, site.setup.credentials[user])
        c.on_message = lambda _c, _u, msg: payloads.append(msg.topic.encode() + b" " + msg.payload)
        c.on_connect = lambda cl, _u, _f, _r, _p, t=topics: cl.subscribe([(x, 1) for x in t])
        c.connect("127.0.0.1", site.setup.port)
        c.loop_start()
        clients.append(c)
    try:
        yield payloads
    finally:
        for c in clients:
            c.loop_stop()
            c.disconnect()


def prepare(site: Site, tmp_path: Path) -> tuple[Path, Path]:
    key = tmp_path / "etc" / "station.key"
    new_site_key(key)
    gw = site.root / "gw"
    gw.mkdir(parents=True, exist_ok=True)
    (tmp_path / "tools.csv").write_text(CATALOGUE)
    eil("library", "import-catalog", str(tmp_path / "tools.csv"), "--data", str(gw))
    eil("library", "category", "power-tools", "--loan-days", "1", "--data", str(gw))
    eil("library", "tool", LADDER, "--status", "maintenance", "--reason", "rung loose",
        "--data", str(gw))
    k = key.read_bytes()
    eil("library", "member", "enrol", "--pseudonym", pseudonym(k, ALICE), "--member-no", "1",
        "--name", "Alice Liddell", "--data", str(gw))
    eil("library", "member", "enrol", "--pseudonym", pseudonym(k, BOB), "--member-no", "2",
        "--data", str(gw))
    return key, gw


def loans(gw: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(eil("library", "loans", "--history", "--json", "--data", str(gw)))


@pytest.mark.slow
def test_taps_become_loans_and_card_numbers_stay_on_the_station(
        make_site: Callable[..., Site], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    site = make_site({"library": "soil"}, speed=1.0)
    key, gw = prepare(site, tmp_path)
    site.broker.start()
    site.start_gateway()
    now = time.time()
    # the station's clock runs two days behind: a one-day loan made now is overdue at once
    station = Station(site, key, clock=(1.0, now - 2 * DAY, now))
    try:
        with capture(site) as traffic:
            wait_until(lambda: station.view().get("tools", {}).get(LADDER) == "maintenance", 20,
                       "the gateway's library view at the station")
            station.tap(ALICE, DRILL)  # check-out, overdue at once
            wait_until(lambda: station.view()["members"][pseudonym(key.read_bytes(), ALICE)]
                       == {"overdue": True}, 20, "the overdue flag back at the station")
            station.tap(ALICE, SAW)  # refused: overdue
            station.tap(BOB, LADDER)  # refused: maintenance
            station.tap(DRILL, BOB)  # check-in, tool first; anyone may return a tool
            station.tap(CAROL)  # not enrolled
            wait_until(lambda: "0C0C" not in eil("library", "member", "list", "--data", str(gw))
                       and "unknown cards" in eil("library", "member", "list", "--data", str(gw)),
                       20, "Carol's unknown card at the gateway")
            eil("library", "member", "enrol", "--last-unknown", "--member-no", "3",
                "--data", str(gw))
            carol = pseudonym(key.read_bytes(), CAROL)
            wait_until(lambda: carol in station.view()["members"], 20, "Carol enrolled")
            station.tap(CAROL, SAW)  # check-out
            wait_until(lambda: len(loans(gw)["loans"]) == 2, 20, "both loans in the ledger")
            time.sleep(1.0)  # the last view and acknowledgements
        ledger = loans(gw)
        assert [(r["tool"], r["member"], r["returned"] != "-") for r in ledger["loans"]] == [
            (DRILL, "#1", True), (SAW, "#3", False)]
        assert ledger["conflicts"] == []
        overdue = eil("library", "loans", "--overdue", "--data", str(gw))
        assert SAW in overdue and "OVERDUE" in overdue  # Carol's, stamped two days ago
        with site.open_store() as store:
            refused = [(r.text, r.ref) for r in store.export(node="library")
                       if r.name == "loan.refused"]
        k = key.read_bytes()
        assert refused == [(f"{SAW}: member has an overdue loan", pseudonym(k, ALICE)),
                           (f"{LADDER}: tool is in maintenance", pseudonym(k, BOB))]
    finally:
        station.close()
    assert site.stop("gateway") == 0
    # --- privacy: the member cards' numbers are nowhere but in the station's reader ---------
    places = {"mqtt": b"\n".join(traffic), "station log": caplog.text.encode(),
              "gateway log": site.log("gateway").encode()}
    for folder in (gw, station.cfg.data_dir):
        for f in folder.rglob("*"):
            if f.is_file():
                places[str(f)] = f.read_bytes()
    assert pseudonym(k, ALICE).encode() in places["mqtt"] and b"loan.checkout" in places["mqtt"]
    for uid in (ALICE, BOB, CAROL):
        for where, data in places.items():
            assert uid.encode() not in data and uid.lower().encode() not in data, (uid, where)


@pytest.mark.slow
def test_an_offline_station_delivers_hours_of_taps_in_order(
        make_site: Callable[..., Site], tmp_path: Path) -> None:
    site = make_site({"library": "soil"}, speed=1.0)
    key, gw = prepare(site, tmp_path)
    k = key.read_bytes()
    now = time.time()
    # No broker. Station time runs x1800, so each pair of taps (~2.3 s) is about an hour apart.
    station = Station(site, key, clock=(1800.0, now - 12 * 3600, now))
    try:
        (station.cfg.data_dir / "library_view.json").write_text(json.dumps(  # synced last week
            {"tools": {DRILL: "available", LADDER: "maintenance", SAW: "available"},
             "members": {pseudonym(k, ALICE): {}, pseudonym(k, BOB): {}}}))
        for pair in ((ALICE, DRILL), (BOB, SAW), (DRILL, ALICE), (BOB, DRILL), (SAW, BOB),
                     (ALICE, LADDER)):
            station.tap(*pair)
        assert site.stored("library")[0] == 0
        site.broker.start()
        site.start_gateway()
        wait_until(lambda: len(loans(gw)["loans"]) == 3 and
                   site.stored("library")[0] >= 6, 30, "the backlog in the ledger")
    finally:
        station.close()
    ledger = loans(gw)
    assert [(r["tool"], r["member"], r["returned"] != "-") for r in ledger["loans"]] == [
        (DRILL, "#1", True), (SAW, "#2", True), (DRILL, "#2", False)]
    assert ledger["conflicts"] == []
    with site.open_store() as store:
        events = [(r.seq, r.t_ms, r.name) for r in store.export(node="library")
                  if r.kind == "event" and r.name.startswith("loan.")]
    assert [name for _, _, name in events] == ["loan.checkout", "loan.checkout", "loan.checkin",
                                               "loan.checkout", "loan.checkin", "loan.refused"]
    times = [t for _, t, _ in events]
    assert times == sorted(times) and times[-1] - times[0] > 4 * 3_600_000  # hours of taps
    assert times[-1] < now * 1000  # stamped when tapped (station time), not when delivered
