"""The alert lifecycle on literal data: transitions, chattering, silences, escalation, and the
planning of a recipient's messages (grouping, repeats, quiet hours across a daylight-saving
change, floods)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.alerts.lifecycle import HOUR, MINUTE, Policy, Timing, escalations, plan, step
from gateway.alerts.quiet import QuietHours, QuietHoursError
from gateway.store.alert_rows import (
    CHATTER,
    CRITICAL,
    FIRE,
    FIRING,
    REPEAT,
    RESOLVE,
    RESOLVED,
    SEVERITY,
    WARNING,
    Alert,
    Condition,
    Event,
    Pending,
    Told,
)

T0 = 1_780_000_000_000
DEFAULT = Timing()


def never(_id: str) -> bool:
    return False


def cond(i: int = 1, severity: str = WARNING, group: str = "signal/soil.depletion") -> Condition:
    return Condition(f"signal/soil.depletion@bed-{i}", "signal", group, severity, f"bed-{i}",
                     "Soil water deficit", f"Bed {i} (tomatoes): water today, about 12 litres")


def run(alerts: dict[str, Alert], conds: list[Condition], now: int,
        muted: Callable[[str], bool] = never, t: Timing = DEFAULT
        ) -> tuple[dict[str, Alert], list[Event]]:
    changed, events = step(alerts, {c.id: c for c in conds}, now, muted, t)
    return {**alerts, **{a.id: a for a in changed}}, events


def test_fire_then_resolve_tells_both_and_only_once() -> None:
    alerts, ev = run({}, [cond()], T0)
    assert [(e.kind, e.notify) for e in ev] == [(FIRE, True)]
    a = alerts[cond().id]
    assert (a.state, a.told, a.since_ms) == (FIRING, FIRING, T0)
    alerts, ev = run(alerts, [cond()], T0 + MINUTE)
    assert ev == []  # still firing: no new transition
    alerts, ev = run(alerts, [], T0 + 2 * HOUR)
    assert [(e.kind, e.notify) for e in ev] == [(RESOLVE, True)]
    assert alerts[cond().id].state == RESOLVED
    alerts, ev = run(alerts, [], T0 + 3 * HOUR)
    assert ev == []


def test_severity_change_is_a_transition_told_to_those_told_of_the_alert() -> None:
    alerts, _ = run({}, [cond()], T0)
    alerts, ev = run(alerts, [cond(severity=CRITICAL)], T0 + MINUTE)
    assert [(e.kind, e.severity, e.notify) for e in ev] == [(SEVERITY, CRITICAL, True)]


def test_a_silenced_alert_is_recorded_not_told_and_told_when_the_silence_ends() -> None:
    silenced = lambda aid: aid.startswith("signal/")  # noqa: E731
    alerts, ev = run({}, [cond()], T0, silenced)
    assert [(e.kind, e.notify) for e in ev] == [(FIRE, False)]
    assert alerts[cond().id].told is None
    alerts, ev = run(alerts, [cond()], T0 + HOUR)  # silence over, still firing: told now
    assert [(e.kind, e.notify) for e in ev] == [(FIRE, True)]
    # resolved under a silence after being told: the "resolved" comes when it ends
    alerts, ev = run(alerts, [], T0 + 2 * HOUR, silenced)
    assert [(e.kind, e.notify) for e in ev] == [(RESOLVE, False)]
    alerts, ev = run(alerts, [], T0 + 3 * HOUR)
    assert [(e.kind, e.notify) for e in ev] == [(RESOLVE, True)]


def test_an_alert_never_told_resolves_without_a_message() -> None:
    silenced = lambda aid: True  # noqa: E731
    alerts, _ = run({}, [cond()], T0, silenced)
    alerts, ev = run(alerts, [], T0 + HOUR)
    assert [(e.kind, e.notify) for e in ev] == [(RESOLVE, False)]


def test_chattering_is_said_once_and_muted_until_it_settles() -> None:
    alerts: dict[str, Alert] = {}
    told = []
    t = T0
    for k in range(12):  # a change every 10 s: 3 within a minute at the third
        alerts, ev = run(alerts, [cond()] if k % 2 == 0 else [], t)
        told += [(e.kind, k) for e in ev if e.notify]
        t += 10_000
    assert told == [(FIRE, 0), (RESOLVE, 1), (CHATTER, 2)]
    a = alerts[cond().id]
    assert a.shelved_until == t - 10_000 + HOUR  # an hour after its last change
    # it settles firing; when the shelf ends, the recipients hear the state it is in
    alerts, ev = run(alerts, [cond()], t + 10 * MINUTE)
    alerts, ev = run(alerts, [cond()], a.shelved_until + HOUR)  # type: ignore[operator]
    assert [(e.kind, e.notify) for e in ev] == [(FIRE, True)]


def test_flapping_for_a_day_is_bounded() -> None:
    alerts: dict[str, Alert] = {}
    told = 0
    for k in range(24 * 12):  # every 5 minutes for a day
        alerts, ev = run(alerts, [cond()] if k % 2 == 0 else [], T0 + k * 5 * MINUTE)
        told += sum(e.notify for e in ev)
    assert told <= 8  # against 288 transitions (docs/alerts.md gives the measured count)


def test_escalation_follows_the_chain_in_time_and_once() -> None:
    a = replace(Alert.new(cond(), T0), state=FIRING, told=FIRING, since_ms=T0)
    chain = {"ana": ("ben", 30 * MINUTE), "ben": ("cleo", 30 * MINUTE)}
    assert escalations(a, ["ana"], chain, set(), T0 + 29 * MINUTE) == []
    assert escalations(a, ["ana"], chain, set(), T0 + 30 * MINUTE) == ["ben"]
    assert escalations(a, ["ana"], chain, {"ben"}, T0 + 61 * MINUTE) == ["cleo"]
    acked = replace(a, state="acknowledged")
    assert escalations(acked, ["ana"], chain, set(), T0 + 2 * HOUR) == []
    loop = {"ana": ("ben", MINUTE), "ben": ("ana", MINUTE)}  # refused by the config; no hang
    assert escalations(a, ["ana"], loop, set(), T0 + HOUR) == ["ben"]


def pending(i: int, t: int, kind: str = FIRE, severity: str = WARNING, seq: int | None = None,
            group: str = "signal/soil.depletion") -> Pending:
    return Pending(seq if seq is not None else i, f"signal/soil.depletion@bed-{i}", kind, t,
                   severity, group, f"bed-{i}", "Soil water deficit", f"Bed {i}: water today")


def test_a_storm_of_200_sources_over_a_minute_is_one_message() -> None:
    items = [pending(i, T0 + i * 300, group=f"g{i % 7}") for i in range(200)]  # 60 s
    p = plan(Policy(), items, {}, [], [], T0 + 60_000)
    # each group waits until none of its alerts joined for 30 s: the first is due 30 s
    # after the storm's last group's previous-to-last alert; everything goes then
    assert p.messages == [] and T0 + 60_000 < p.wake_ms <= T0 + 199 * 300 + 30_000  # type: ignore[operator]
    p = plan(Policy(), items, {}, [], [], p.wake_ms)  # type: ignore[arg-type]
    assert len(p.messages) == 1 and len(p.messages[0].items) == 200
    # once told, a new change in a group waits for the group interval
    p = plan(Policy(), [pending(1, T0 + 2 * MINUTE, RESOLVE, seq=201, group="g1")],
             {"g1": T0 + 90_000}, [], [T0 + 90_000], T0 + 3 * MINUTE)
    assert p.messages == [] and p.wake_ms == T0 + 90_000 + 5 * MINUTE


def test_repeats_after_the_repeat_interval_unless_acknowledged() -> None:
    told = [Told("signal/x", "g", T0, "now 3", WARNING, "site", "X", before="was 2")]
    assert plan(Policy(), [], {}, told, [], T0 + HOUR).wake_ms == T0 + 4 * HOUR
    p = plan(Policy(), [], {}, told, [], T0 + 4 * HOUR)
    (msg,) = p.messages
    assert [(x.kind, x.text, x.before) for x in msg.items] == [(REPEAT, "now 3", "was 2")]
    # each repeat waits twice as long as the one before, a day at most: a standing alert
    # is not told 42 times a week
    waits = [plan(Policy(), [], {}, [replace(told[0], repeats=k)], [], T0).wake_ms - T0  # type: ignore[operator]
             for k in range(5)]
    assert waits == [4 * HOUR, 8 * HOUR, 16 * HOUR, 24 * HOUR, 24 * HOUR]


def test_a_flood_becomes_one_digest_per_window() -> None:
    sent = [T0 + k * 30_000 for k in range(10)]  # 10 messages in 5 minutes
    now = T0 + 6 * MINUTE
    items = [pending(1, now - MINUTE)]
    p = plan(Policy(), items, {}, [], sent, now)
    assert p.messages == [] and p.wake_ms == sent[-1] + 10 * MINUTE
    p = plan(Policy(), items, {}, [], sent, sent[-1] + 10 * MINUTE)
    assert len(p.messages) == 1


PARIS = "Europe/Paris"


def paris(y: int, mo: int, d: int, h: int, mi: int = 0) -> int:
    return int(dt.datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(PARIS)).timestamp() * 1000)


def test_quiet_hours_hold_back_and_let_critical_through_across_a_dst_change() -> None:
    quiet = QuietHours.parse("22:00-07:00", PARIS)
    # the night of 28-29 March 2026: clocks go from 02:00 to 03:00 in Paris
    night = paris(2026, 3, 29, 1, 30)
    assert quiet.contains(night) and quiet.end_after(night) == paris(2026, 3, 29, 7)
    assert quiet.end_after(night) - night == (7 - 1.5 - 1) * HOUR  # the lost hour
    # 25 October 2026: 03:00 back to 02:00, an hour longer
    assert quiet.end_after(paris(2026, 10, 25, 1)) - paris(2026, 10, 25, 1) == 7 * HOUR
    warn = [pending(1, night - 2 * MINUTE)]
    p = plan(Policy(quiet, critical_breaks_quiet=True), warn, {}, [], [], night)
    assert p.messages == [] and p.wake_ms == paris(2026, 3, 29, 7)
    crit = [pending(2, night - 2 * MINUTE, severity=CRITICAL)]
    assert len(plan(Policy(quiet, True), crit, {}, [], [], night).messages) == 1
    assert plan(Policy(quiet, False), crit, {}, [], [], night).messages == []
    after = plan(Policy(quiet, True), warn, {}, [], [], paris(2026, 3, 29, 7))
    assert len(after.messages) == 1 and after.messages[0].digest


def test_quiet_hours_refuse_what_they_cannot_read() -> None:
    with pytest.raises(QuietHoursError, match="HH:MM-HH:MM"):
        QuietHours.parse("10pm-7am", PARIS)
    with pytest.raises(QuietHoursError, match="time zone"):
        QuietHours.parse("22:00-07:00", "Europe/Atlantis")


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 23), st.integers(0, 59), st.integers(0, 23), st.integers(0, 59),
       st.sampled_from(["Europe/Paris", "America/Santiago", "Australia/Lord_Howe", "UTC",
                        "Asia/Kolkata"]),
       st.integers(1_700_000_000_000, 1_900_000_000_000))
def test_quiet_hours_end_where_they_say_in_any_zone(h1: int, m1: int, h2: int, m2: int,
                                                    zone: str, t: int) -> None:
    """Whatever the window, zone and instant (daylight-saving changes included): the end found
    is in the future, within two days, outside the window, and the instant before it is inside
    whenever `t` was."""
    window = f"{h1:02}:{m1:02}-{h2:02}:{m2:02}"
    if (h1, m1) == (h2, m2):
        with pytest.raises(QuietHoursError):
            QuietHours.parse(window, zone)
        return
    q = QuietHours.parse(window, zone)
    end = q.end_after(t)
    assert t < end <= t + 2 * 86_400_000
    assert not q.contains(end)
    if q.contains(t):
        # inside: quiet until the end (an hour skipped by a clock change may end it early)
        assert all(q.contains(x) for x in range(t, end, max(1, (end - t) // 7)))


def test_standing_alerts_repeat_together() -> None:
    a = Told("signal/a", "ga", T0, "a", WARNING, "site", "A")
    soon = Told("signal/b", "gb", T0 + 3 * HOUR, "b", WARNING, "site", "B")  # due in 3 h
    late = Told("signal/c", "gc", T0 + 3 * HOUR + 10 * MINUTE, "c", WARNING, "site", "C")
    p = plan(Policy(), [], {}, [a, soon, late], [], T0 + 4 * HOUR + HOUR)
    # a is due; b is due in 2 h, within half its interval: it goes along; c, due in 2 h 10
    # min, waits for its own time
    (msg,) = p.messages
    assert sorted(x.alert_id for x in msg.items) == ["signal/a", "signal/b"]
