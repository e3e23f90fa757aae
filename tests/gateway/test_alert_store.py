"""alerts.db (gateway/store/alert_book.py) and `eil alerts`: routing, the outbox's claim /
attempt / delivered, single-use acknowledgement tokens, silences and acknowledgements refused
with their reason, and the command line over a real data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from eil.cli import main
from gateway.alerts import lifecycle
from gateway.store import DataDir
from gateway.store.alert_book import AlertBook, AlertError, token_hash
from gateway.store.alert_rows import CRITICAL, WARNING, Alert, Condition, Event

T0 = 1_780_000_000_000


def cond(i: int, severity: str = WARNING) -> Condition:
    return Condition(f"node.silent/n{i}", "node.silent", "node.silent", severity, f"n{i}",
                     "Node silent", f"n{i} is silent", "fleet")


def step(book: AlertBook, conds: list[Condition], now: int, route: list[str]) -> list[Event]:
    return book.record(lambda stored: lifecycle.step(stored, {c.id: c for c in conds}, now,
                                                     lambda _a: False),
                       lambda _e: route)


@pytest.fixture
def book(tmp_path: Path) -> AlertBook:
    return DataDir(tmp_path).alerts()


def test_a_resolution_goes_only_to_those_told_and_a_new_severity_to_followers_too(
        book: AlertBook) -> None:
    step(book, [cond(1)], T0, ["ana"])
    step(book, [cond(1, CRITICAL)], T0 + 1000, ["ana", "ben"])  # ben follows criticals
    step(book, [], T0 + 2000, ["ana", "ben", "cleo"])  # cleo never heard of it
    kinds = {r: [p.kind for p in book.pending(r)] for r in ("ana", "ben", "cleo")}
    assert kinds == {"ana": ["fire", "severity", "resolve"], "ben": ["severity", "resolve"],
                     "cleo": []}


def test_the_outbox_claims_attempts_and_delivers_in_order(book: AlertBook) -> None:
    step(book, [cond(1), cond(2)], T0, ["ana"])
    pending = book.pending("ana")
    mid = book.claim("ana", "site", tuple(pending), False, lambda m: ("title", f"body {m}"),
                     {token_hash("tok"): "node.silent/n1"}, T0, 1000)
    assert mid == "site/ana/1" and book.pending("ana") == []
    msg = book.open_message("ana")
    assert msg is not None and (msg.body, msg.in_flight, msg.attempts) == (
        "body site/ana/1", False, 0)
    book.attempt(mid, 0)  # a sender killed here sends it again: in flight says so
    assert book.open_message("ana").in_flight  # type: ignore[union-attr]
    book.failed(mid, "ana", 0, "refused: 401", True, 10.0, 15.0)
    (ch,) = book.channels("ana")
    assert ch.refused and ch.failing_since == 10.0
    book.delivered(mid, "ana", 1, 20.0)
    assert book.open_message("ana") is None
    assert {g: t for g, t in book.groups("ana").items()} == {"node.silent": T0}
    assert sorted(t.alert_id for t in book.told("ana", lambda _a: False)) == [
        "node.silent/n1", "node.silent/n2"]


def test_a_link_token_acknowledges_one_alert_once(book: AlertBook) -> None:
    step(book, [cond(1)], T0, ["ana"])
    book.claim("ana", "site", tuple(book.pending("ana")), False, lambda m: ("t", "b"),
               {token_hash("good"): "node.silent/n1", token_hash("late"): "node.silent/n1"},
               T0, 1000)
    assert book.token_alert("good") == "node.silent/n1"
    assert book.use_token("good", T0 + 10) == ("node.silent/n1", "ana")
    with pytest.raises(AlertError, match="used already"):
        book.use_token("good", T0 + 20)
    with pytest.raises(AlertError, match="expired"):
        book.use_token("late", T0 + 5000)
    with pytest.raises(AlertError, match="not known"):
        book.use_token("forged", T0)


def test_refusals_say_why(book: AlertBook) -> None:
    with pytest.raises(AlertError, match="no alert"):
        book.acknowledge("node.silent/n9", "ana", None, T0)
    step(book, [cond(1)], T0, [])
    a = book.acknowledge("node.silent/n1", "ana", "on it", T0 + 5)
    assert (a.state, a.ack_by, a.ack_note) == ("acknowledged", "ana", "on it")
    with pytest.raises(AlertError, match="acknowledged, not firing"):
        book.acknowledge("node.silent/n1", "ben", None, T0 + 6)
    with pytest.raises(AlertError, match="needs a reason"):
        book.silence("*", T0 + 10, " ", "ana", T0)
    with pytest.raises(AlertError, match="end in the future"):
        book.silence("*", T0 - 10, "works", "ana", T0)
    with pytest.raises(AlertError, match="no silence 7"):
        book.end_silence(7, T0)


def test_an_acknowledgement_is_not_overwritten_by_an_evaluation(book: AlertBook) -> None:
    step(book, [cond(1)], T0, [])

    def make(stored: dict[str, Alert]) -> tuple[list[Alert], list[Event]]:
        return lifecycle.step(stored, {cond(1).id: cond(1)}, T0 + 10, lambda _a: False)

    book.acknowledge("node.silent/n1", "ana", None, T0 + 5)
    book.record(make, lambda _e: [])
    assert book.alert("node.silent/n1").state == "acknowledged"


def test_eil_alerts_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    data = DataDir(tmp_path)
    with data.alerts() as book:
        step(book, [cond(1), cond(2)], T0, [])
    d = ["--data", str(tmp_path)]
    assert main(["alerts", "list", *d]) == 0
    out = capsys.readouterr().out
    assert "firing" in out and "node.silent/n1" in out and "n2 is silent" in out
    assert main(["alerts", "ack", "node.silent/n1", "--by", "sam", "--note", "fixing", *d]) == 0
    assert "acknowledged by sam" in capsys.readouterr().out
    assert main(["alerts", "ack", "node.silent/n1", "--by", "sam", *d]) == 2
    assert "not firing" in capsys.readouterr().err
    assert main(["alerts", "silence", "node.silent/*", "--for", "2h", "--reason", "moving the "
                 "nodes", "--by", "sam", *d]) == 0
    assert "silence 1:" in capsys.readouterr().out
    assert main(["alerts", "silence", "x", "--for", "soon", "--reason", "r", "--by", "s",
                 *d]) == 2
    assert "--for: 'soon' is not a duration" in capsys.readouterr().err
    assert main(["alerts", "list", *d]) == 0
    out = capsys.readouterr().out
    assert "acknowledged by sam: fixing" in out and "silence 1: node.silent/*" in out
    assert main(["alerts", "unsilence", "1", *d]) == 0
    assert "silence 1 ended" in capsys.readouterr().out
    assert main(["alerts", "history", "node.silent/n1", *d]) == 0
    hist = capsys.readouterr().out.splitlines()
    assert "node.silent/n1 ack by sam (not told): fixing" in hist[0] and "fire" in hist[1]
    assert main(["alerts", "stats", "--days", "1", *d]) == 0
    data.readings().close()  # a gateway's store: `eil status` ends with the alerts' line
    capsys.readouterr()
    assert main(["status", *d]) == 0
    assert "alerts: 1 firing, 1 acknowledged (eil alerts list); the notification sender has " \
           "never run" in capsys.readouterr().out
    assert main(["alerts", "list", "--data", str(tmp_path / "nowhere")]) == 2
    assert "holds no alerts.db" in capsys.readouterr().err


def test_a_source_with_a_for_fires_only_once_its_condition_lasted(tmp_path: Path) -> None:
    from core.clock import SystemClock
    from gateway.alerts.config import AlertsConfig
    from gateway.alerts.evaluator import AlertEvaluator

    stale = Condition("stream.quality/n1/soil.moisture", "stream.quality", "stream.quality",
                      "info", "n1", "Sensor stream", "n1: soil.moisture is stale")
    ev = AlertEvaluator(DataDir(tmp_path), AlertsConfig(None), SystemClock())
    assert ev.once(now_ms=T0, conditions=[stale]) == []
    assert ev.once(now_ms=T0 + 29 * 60_000, conditions=[stale]) == []
    assert ev.once(now_ms=T0 + 30 * 60_000, conditions=[]) == []  # gone: the wait restarts
    assert ev.once(now_ms=T0 + 31 * 60_000, conditions=[stale]) == []
    (fired,) = ev.once(now_ms=T0 + 61 * 60_000, conditions=[stale])
    assert fired.kind == "fire"


def test_the_gateway_clock_unsynchronised_for_an_hour_fires() -> None:
    from gateway.alerts.config import AlertsConfig
    from gateway.alerts.sources import clock_condition, clock_synchronised

    assert clock_synchronised() in (True, False)  # the kernel answers here (adjtimex)
    cfg = AlertsConfig(None)
    assert clock_condition(None, cfg, 10_000.0) == []
    assert clock_condition(7_000.0, cfg, 10_000.0) == []  # 50 min
    (c,) = clock_condition(6_000.0, cfg, 10_000.0)
    assert c.id == "clock.off/gateway" and "not been synchronised for 1.1 h" in c.text
