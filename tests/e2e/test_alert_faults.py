"""A real gateway (with its alerts thread and its sender process) and two nodes, while alerts
fire and clear: the sender is killed -9 at random instants 18 times and the gateway 3 times.
Every transition to be told arrives, in order per alert; duplicates carry the identity of the
message they repeat and are no more than the kills (docs/alerts.md); ingest loses nothing."""

from __future__ import annotations

import json
import os
import random
import signal
import time
from pathlib import Path

import pytest

from gateway.store import DataDir
from tests.support.receivers import HttpReceiver
from tests.support.site import Site, wait_until

pytestmark = pytest.mark.slow
SIGNALS = 6


def signals_json(k: int, now_ms: int) -> bytes:
    """Step k of the script: signal i alerts for a while, then clears, each at its own pace."""
    out = []
    for i in range(1, SIGNALS + 1):
        on = ((k + 3 * i) // (3 + i)) % 2 == 0
        out.append({"id": f"test.s{i}@site", "signal": f"test.s{i}", "title": f"Signal {i}",
                    "scope": "site", "t": now_ms, "value": 2.0 if on else 0.5, "unit": "d",
                    "band": "overshoot" if on else "safe", "alert": on, "distance": 0,
                    "threshold": {"lower": None, "upper": 1.0, "source": "test script"},
                    "inputs": {}, "note": None, "numbers": {}})
    return json.dumps(out).encode()


def sender_pid(data: DataDir, not_: int | None) -> int | None:
    if not data.has_alerts():
        return None
    with data.alerts() as book:
        beat = book.heartbeat("sender")
    if beat is None or beat[0] == not_ or time.time() - beat[1] > 2:
        return None
    try:
        os.kill(beat[0], 0)
    except ProcessLookupError:
        return None
    return beat[0]


def test_kills_during_sending_lose_nothing_and_duplicate_at_most_once_per_kill(
        tmp_path: Path) -> None:
    rng = random.Random(26)
    with HttpReceiver() as hook:
        hook.delay = 0.15  # a slow service: kills land inside sends too
        site = Site(tmp_path, {"soil-1": "soil", "soil-2": "soil"}, speed=10.0, interval=30.0,
                    gateway_extra="[signals]\nevery_s = 0\n")
        (tmp_path / "alerts.toml").write_text(
            'base_url = "http://127.0.0.1:1/"\n[timing]\nevaluate_every = "0.5s"\n'
            'retry_max = "1s"\nflap_count = 1000\nchatter_count = 1000\ngroup_wait = "5s"\n'
            'group_interval = "20s"\n'
            f'[recipients.ana]\nchannels = ["json://127.0.0.1:{hook.port}/ana"]\n')
        data = DataDir(tmp_path / "gw")
        data.root.mkdir(parents=True, exist_ok=True)
        try:
            site.broker.start()
            site.start_gateway()
            for node in site.nodes:
                site.start_node(node)
            k, kills, gateway_kills, last_pid = 0, 0, 0, None
            deadline = time.monotonic() + 420
            while kills < 18 or gateway_kills < 3:
                assert time.monotonic() < deadline, f"only {kills} + {gateway_kills} kills"
                data.save_latest_signals(signals_json(k, int(site.sim_now() * 1000)))
                k += 1
                time.sleep(rng.uniform(0.2, 1.2))
                if kills >= 6 * (gateway_kills + 1) and gateway_kills < 3:
                    site.kill("gateway")  # its sender ends itself, mid-send or not
                    gateway_kills += 1
                    site.start_gateway()
                    continue
                pid = sender_pid(data, last_pid)
                if pid is not None and kills < 18:
                    os.kill(pid, signal.SIGKILL)
                    kills += 1
                    last_pid = pid
            # the script stops where it is; everything queued must now go out
            with data.alerts() as book:
                def drained() -> bool:
                    return not book.pending("ana") and book.open_message("ana") is None
                wait_until(drained, 90, "the sender to deliver everything queued")
                told = [e for e in book.history(limit=100_000) if e["notify"]]
                delivered = {m["id"] for m in book.messages("ana", 100_000)}
            for node in site.nodes:
                assert site.stop(node, timeout=60) == 0
                site.assert_exactly_once(node)
        finally:
            site.close()
    got = [m["message"] for m in hook.messages("/ana")]
    ids = [b.rsplit("Message ", 1)[1].split(".")[0] for b in got]
    unique = dict(zip(ids, got, strict=True))
    assert set(unique) == delivered  # none lost: every message the store delivered arrived
    duplicates = len(ids) - len(unique)
    assert duplicates <= kills + gateway_kills
    ordered = [unique[i] for i in sorted(unique, key=lambda i: int(i.rsplit("/", 1)[1]))]
    text = "\n".join(ordered)
    assert len(told) >= 30
    for i in range(1, SIGNALS + 1):
        kinds = [e["kind"] for e in sorted(told, key=lambda e: e["seq"])
                 if e["alert"] == f"signal/test.s{i}@site"]
        said = ["resolve" if ln.startswith("- RESOLVED") else "fire"
                for ln in text.splitlines() if f"Signal {i} at site" in ln and
                ln.startswith(("- FIRING", "- RESOLVED"))]
        assert said == kinds, f"signal {i}"
    print(f"{len(told)} transitions told in {len(unique)} messages; {kills} sender and "
          f"{gateway_kills} gateway kills; {duplicates} duplicate deliveries")
