"""Alerts reach people through real receivers started here: e-mail (aiosmtpd), Matrix (a
Synapse homeserver), MQTT (Mosquitto), ntfy and Gotify (a local HTTP stand-in: neither server
can be installed here). What each receiver holds is read back and compared with what the
alerts said. Also: refusals, a day of outage, and bad configuration."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.clock import SystemClock
from core.config import ConfigError
from gateway.alerts.config import load_alerts_config
from gateway.alerts.evaluator import AlertEvaluator
from gateway.alerts.sender import Sender
from gateway.store import DataDir
from gateway.store.alert_rows import WARNING, Condition
from tests.support.matrix import Homeserver
from tests.support.receivers import HttpReceiver, MqttReceiver, SmtpReceiver

T0 = 1_780_000_000_000


def paris(y: int, mo: int, d: int, h: int, mi: int = 0) -> int:
    return int(dt.datetime(y, mo, d, h, mi, tzinfo=ZoneInfo("Europe/Paris")).timestamp() * 1000)
SITE = "garden-1"
pytestmark = pytest.mark.slow


def bed(i: int) -> Condition:
    return Condition(f"signal/soil.depletion@bed-{i}", "signal", "signal/soil.depletion",
                     WARNING, f"bed-{i}", "Soil water deficit",
                     f"Bed {i} (tomatoes): water today, about {10 + i} litres",
                     f"panel?explain=soil.depletion@bed-{i}")


SILENT = Condition("node.silent/soil-1", "node.silent", "node.silent", WARNING, "soil-1",
                   "Node silent", "soil-1 has sent nothing for 20 min", "fleet")


def write_config(folder: Path, recipients: dict[str, list[str]], extra: str = "") -> Path:
    lines = ['base_url = "https://garden-1.example/"', "[timing]", 'retry_max = "1s"',
             'send_timeout = "20s"', extra]
    for name, urls in recipients.items():
        lines += [f"[recipients.{name}]", "channels = [" + ", ".join(f'"{u}"' for u in urls)
                  + "]"]
    path = folder / "alerts.toml"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def pair(tmp: Path, config: Path) -> tuple[AlertEvaluator, Sender]:
    data = DataDir(tmp / "data")
    cfg = load_alerts_config(config)
    return (AlertEvaluator(data, cfg, SystemClock()),
            Sender(data, cfg, SITE, SystemClock(), ZoneInfo("Europe/Paris")))


def send_until(sender: Sender, now_ms: int, expected: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    delivered = 0
    while delivered < expected:
        delivered += sender.once(now_ms=now_ms)
        assert time.monotonic() < deadline, f"{delivered} of {expected} messages delivered"
        time.sleep(0.05)


def test_every_channel_receives_grouped_messages_and_the_resolution(tmp_path: Path) -> None:
    with SmtpReceiver() as smtp, HttpReceiver() as http, MqttReceiver(tmp_path) as mq, \
            Homeserver(tmp_path / "synapse") as hs:
        hs.register("eil", "alerts-password-1")
        config = write_config(tmp_path, {
            "ana": [smtp.url()],
            "ben": [f"matrix://eil:alerts-password-1@127.0.0.1:{hs.port}/#alerts"],
            "cleo": [f"ntfy://127.0.0.1:{http.port}/garden-alerts"],
            "dan": [f"gotify://127.0.0.1:{http.port}/AppToken123"],
            "eve": [mq.url()]})
        evaluator, sender = pair(tmp_path, config)
        fired = [bed(1), bed(2), bed(3), SILENT]
        assert len(evaluator.once(now_ms=T0, conditions=fired)) == 4
        assert sender.once(now_ms=T0 + 10_000) == 0  # the group waits for more (30 s)
        send_until(sender, T0 + 31_000, 5)
        evaluator.once(now_ms=T0 + 60_000, conditions=[bed(1), bed(3), SILENT])
        assert sender.once(now_ms=T0 + 2 * 60_000) == 0  # within the group interval
        send_until(sender, T0 + 6 * 60_000, 5)

        mails = smtp.bodies()
        matrix = hs.room_messages("eil", "alerts-password-1", "#alerts:localhost")
        ntfy = [m["message"] for m in http.messages("/") if "topic" in m]
        gotify = [m["message"] for m in http.messages("/message")]
        mqtt_ = [payload for _, payload in mq.received]
        for name, got in (("e-mail", [b for _, b in mails]), ("matrix", matrix),
                          ("ntfy", ntfy), ("gotify", gotify), ("mqtt", mqtt_)):
            assert len(got) == 2, f"{name}: {got}"
            first, second = got
            for c in fired:  # one message for all four, in the views' words
                assert c.text in first, f"{name}: {c.text!r} not in {first!r}"
            assert "Explain: https://garden-1.example/panel?explain=soil.depletion@bed-1" in first
            assert first.count("Acknowledge: https://garden-1.example/alerts/ack?token=") == 4
            assert "RESOLVED" in second and "bed-2" in second and "bed-1" not in second
        assert mails[0][0] == "[EIL garden-1] 4 firing alerts"
        assert "Message garden-1/ana/1." in mails[0][1] and "garden-1/ana/2" in mails[1][1]


def test_a_refusing_channel_falls_back_and_is_shown(tmp_path: Path) -> None:
    with HttpReceiver() as bad, HttpReceiver() as good:
        bad.mode = "refuse"
        config = write_config(tmp_path, {"ana": [f"json://127.0.0.1:{bad.port}/hook",
                                                 f"ntfy://127.0.0.1:{good.port}/ana"],
                                         "ben": [f"ntfy://127.0.0.1:{good.port}/ben"]})
        evaluator, sender = pair(tmp_path, config)
        evaluator.once(now_ms=T0, conditions=[SILENT])
        send_until(sender, T0 + 31_000, 2)  # ben at once; ana after the refusal, by ntfy
        assert sorted(m["topic"] for m in good.messages()) == ["ana", "ben"]
        (state,) = [c for c in sender.book.channels("ana") if c.channel == 0]
        assert state.refused and "401" in (state.last_error or "")


def test_a_day_of_outage_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    with HttpReceiver() as http:
        config = write_config(tmp_path, {"ana": [f"ntfy://127.0.0.1:{http.port}/ana"]})
        evaluator, sender = pair(tmp_path, config)
        http.mode = "down"
        step = 10 * 60_000  # every 10 simulated minutes for a day, the beds change
        for k in range(144):
            now = T0 + k * step
            on = [bed(i) for i in range(1, 6) if (k // (2 * i + 6)) % 2 == 0]  # not flapping
            evaluator.once(now_ms=now, conditions=on)
            sender.once(now_ms=now)
        assert http.messages() == []
        http.mode = "ok"
        now = T0 + 144 * step
        send_until(sender, now, 1)
        for _ in range(5):
            sender.once(now_ms=now)
        told = [e for e in sender.book.history(limit=10_000) if e["notify"]]
        bodies = [m["message"] for m in http.messages()]
        # every transition that was to be told is in a message, in order per alert, once
        text = "\n".join(bodies)
        per_alert: dict[str, list[str]] = {}
        for e in sorted(told, key=lambda e: e["seq"]):
            per_alert.setdefault(e["alert"].split("@")[1], []).append(e["kind"])
        assert sum(len(v) for v in per_alert.values()) >= 30
        for scope, kinds in per_alert.items():
            i = scope.split("-")[1]
            said = ["resolve" if "RESOLVED" in ln else "fire" for ln in text.splitlines()
                    if (ln.startswith("- FIRING") and f"Bed {i} (" in ln) or
                    (ln.startswith("- RESOLVED") and f"at bed-{i} is back" in ln)]
            assert said == kinds, scope
        ids = [b.rsplit("Message ", 1)[1].split(".")[0] for b in bodies]
        assert len(ids) == len(set(ids))  # none twice


@pytest.mark.parametrize("body, key, reason", [
    ('[recipients.ana]\nchannels = ["nosuch://x"]', "recipients.ana.channels[0]",
     "no channel understands nosuch://"),
    ("[recipients.ana]\nchannels = []", "recipients.ana.channels", "at least one channel"),
    ('[recipients.ana]\nchannels = ["ntfy://127.0.0.1/a"]\nescalate_to = "ben"\n'
     '[recipients.ben]\nchannels = ["ntfy://127.0.0.1/b"]\nescalate_to = "ana"',
     "escalate_to", "escalation loop: ana -> ben -> ana"),
    ('[recipients.ana]\nchannels = ["ntfy://127.0.0.1/a"]\nescalate_to = "zed"',
     "recipients.ana.escalate_to", "no recipient 'zed'"),
    ('[recipients.ana]\nchannels = ["ntfy://127.0.0.1/a"]\nquiet_hours = "late"',
     "recipients.ana.quiet_hours", "HH:MM-HH:MM"),
    ('[sources."node.silnt"]\nseverity = "warning"', "sources.node.silnt", "no such source"),
])
def test_bad_configuration_is_refused_with_file_key_and_reason(
        tmp_path: Path, body: str, key: str, reason: str) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text(body + "\n")
    with pytest.raises(ConfigError) as exc:
        load_alerts_config(path)
    assert str(path) in str(exc.value) and key in str(exc.value) and reason in str(exc.value)


def node(i: int, severity: str = WARNING) -> Condition:
    return Condition(f"node.silent/n{i}", "node.silent", "node.silent", severity, f"n{i}",
                     "Node silent", f"n{i} has sent nothing for 20 min", "fleet")


def test_a_storm_of_200_is_one_message_per_recipient_then_only_changes(tmp_path: Path) -> None:
    with HttpReceiver() as http:
        config = write_config(tmp_path, {"ana": [f"ntfy://127.0.0.1:{http.port}/ana"],
                                         "ben": [f"ntfy://127.0.0.1:{http.port}/ben"]})
        evaluator, sender = pair(tmp_path, config)
        on: list[Condition] = []
        for k in range(200):  # 200 sources over one minute, each evaluation adds some
            on.append(bed(k) if k % 2 else node(k))
            if k % 10 == 9:
                now = T0 + k * 300
                evaluator.once(now_ms=now, conditions=on)
                assert sender.once(now_ms=now) == 0
        send_until(sender, T0 + 60_000 + 30_000, 2)
        for r in ("ana", "ben"):
            (msg,) = [m["message"] for m in http.messages() if m["topic"] == r]
            assert "(100 places)" in msg and msg.count("- FIRING") == 2 * 25  # 25 listed a group
            assert msg.count("and 75 more firing") == 2 and len(msg) < 16_000
        evaluator.once(now_ms=T0 + 3 * 60_000, conditions=on[1:])  # one clears
        send_until(sender, T0 + 9 * 60_000, 2)
        for r in ("ana", "ben"):
            last = [m["message"] for m in http.messages() if m["topic"] == r][-1]
            assert last.count("\n- ") == 1 and "RESOLVED" in last and "at n0 is back" in last


def test_flapping_for_a_day_is_a_bounded_number_of_messages(tmp_path: Path) -> None:
    with HttpReceiver() as http:
        config = write_config(tmp_path, {"ana": [f"ntfy://127.0.0.1:{http.port}/ana"]})
        evaluator, sender = pair(tmp_path, config)
        transitions = 0
        for k in range(24 * 20):  # a change every 3 minutes for a day
            now = T0 + k * 3 * 60_000
            transitions += sum(e.kind in ("fire", "resolve") for e in evaluator.once(
                now_ms=now, conditions=[node(1)] if k % 2 == 0 else []))
            sender.once(now_ms=now)
        sender.once(now_ms=T0 + 25 * 3_600_000)
        messages = len(http.messages())
        print(f"flapping every 3 min for a day: {transitions} transitions, {messages} messages")
        assert transitions == 480 and messages <= 6, messages  # docs/alerts.md: measured
        assert any("CHATTERING" in m["message"] for m in http.messages())


def test_quiet_hours_hold_back_and_critical_breaks_through(tmp_path: Path) -> None:
    with HttpReceiver() as http:
        config = write_config(tmp_path, {"ana": [f"ntfy://127.0.0.1:{http.port}/ana"]})
        config.write_text(config.read_text() + 'quiet_hours = "22:00-07:00"\n'
                          'timezone = "Europe/Paris"\n')
        evaluator, sender = pair(tmp_path, config)
        night = paris(2026, 3, 29, 1)  # the night Paris moves its clocks forward
        evaluator.once(now_ms=night, conditions=[node(1)])
        for minutes in range(0, 300, 10):
            assert sender.once(now_ms=night + minutes * 60_000) == 0  # held back
        evaluator.once(now_ms=night + 5 * 60_000, conditions=[node(1), node(2, "critical")])
        send_until(sender, night + 6 * 60_000, 1)
        (first,) = [m["message"] for m in http.messages()]
        assert "n2" in first and "n1 " not in first  # the critical one only
        send_until(sender, paris(2026, 3, 29, 7), 1)  # 07:00 local, an hour less of night
        digest = http.messages()[-1]
        assert "Held back while you were in quiet hours" in digest["message"]
        assert "n1 has sent nothing" in digest["message"]


def test_an_unacknowledged_alert_escalates_and_an_acknowledged_one_does_not(
        tmp_path: Path) -> None:
    with HttpReceiver() as http:
        config = write_config(tmp_path, {"ana": [f"ntfy://127.0.0.1:{http.port}/ana"],
                                         "ben": [f"ntfy://127.0.0.1:{http.port}/ben"]})
        config.write_text(config.read_text().replace(
            "[recipients.ben]", 'escalate_to = "ben"\nescalate_after = "30m"\n'
                                "[recipients.ben]\nfollow = [\"nothing/*\"]"))
        evaluator, sender = pair(tmp_path, config)
        evaluator.once(now_ms=T0, conditions=[node(1), node(2)])
        send_until(sender, T0 + 31_000, 1)
        sender.book.acknowledge("node.silent/n2", "ana", "on my way", T0 + 60_000)
        evaluator.once(now_ms=T0 + 29 * 60_000, conditions=[node(1), node(2)])
        assert sender.once(now_ms=T0 + 29 * 60_000 + 31_000) == 0  # not yet
        evaluator.once(now_ms=T0 + 30 * 60_000, conditions=[node(1), node(2)])
        send_until(sender, T0 + 31 * 60_000, 1)
        (esc,) = [m["message"] for m in http.messages() if m["topic"] == "ben"]
        assert "ESCALATED to you" in esc and "n1 has sent nothing" in esc and "n2" not in esc
        evaluator.once(now_ms=T0 + 60 * 60_000, conditions=[node(1), node(2)])
        assert len([e for e in sender.book.history(limit=100) if e["kind"] == "escalate"]) == 1


def test_a_channel_down_longer_than_fallback_after_gives_way_to_the_next(tmp_path: Path) -> None:
    with HttpReceiver() as down, HttpReceiver() as up:
        down.mode = "down"
        config = write_config(tmp_path, {"ana": [f"ntfy://127.0.0.1:{down.port}/ana",
                                                 f"gotify://127.0.0.1:{up.port}/TOKEN"]})
        config.write_text(config.read_text() + 'fallback_after = "2s"\n')
        evaluator, sender = pair(tmp_path, config)
        evaluator.once(now_ms=T0, conditions=[SILENT])
        started = time.monotonic()
        send_until(sender, T0 + 31_000, 1, timeout=30)
        assert time.monotonic() - started >= 2.0  # the first channel had its chance
        assert len(up.messages("/message")) == 1 and down.messages() == []
        (first,) = [c for c in sender.book.channels("ana") if c.channel == 0]
        assert first.failing_since is not None and not first.refused
        # when it is back, a new message tries it first again (once fallback_after has passed)
        down.mode = "ok"
        time.sleep(2)
        evaluator.once(now_ms=T0 + 10 * 60_000, conditions=[])
        send_until(sender, T0 + 16 * 60_000, 1)
        assert len(down.messages()) == 1 and "RESOLVED" in down.messages()[0]["message"]
