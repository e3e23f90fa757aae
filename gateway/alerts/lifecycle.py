"""The alert lifecycle as pure functions of stored state, conditions and a clock (no I/O):

- `step`: which transitions a set of conditions makes: fire, resolve, a change of severity; a
  source changing state too often is chattering and muted (shelved) for a bounded time, said
  once; a silenced or shelved alert is still recorded but not told, and when the silence or the
  shelf ends its recipients are told the state it is in then (`told` keeps what they were told,
  so nobody gets a "resolved" for an alert they never heard of, and everyone who heard of one
  hears it resolve);
- `escalations`: who must be told because nobody acknowledged a firing alert in time;
- `plan`: when a recipient's pending notifications go out and together with what: a new group
  waits until no new alert joined it for `group_wait` (at most `group_interval`), a group told
  before waits `group_interval` after its last message, an alert firing and unacknowledged is
  told again after `repeat_interval`, then after twice that, and so on up to `repeat_max` (an
  alert standing for a week is not 42 messages); whatever is due at one instant goes in one message (a
  storm of 200 sources is one message, not 200); quiet hours hold back all but what the
  recipient lets break through and send it as one digest when they end; a recipient in a flood
  (`flood_count` messages within `flood_window`) gets one digest per `flood_window`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from gateway.alerts.quiet import QuietHours
from gateway.store.alert_rows import (
    CHATTER,
    CRITICAL,
    FIRE,
    FIRING,
    REPEAT,
    RESOLVE,
    RESOLVED,
    SEVERITY,
    Alert,
    Condition,
    Event,
    Message,
    Pending,
    Plan,
    Told,
)

MINUTE, HOUR = 60_000, 3_600_000


@dataclass(frozen=True)
class Timing:
    """Alertmanager's defaults for grouping and repeats; EEMUA 191's flood (10 alarms in 10
    minutes); chattering as ISA-18.2 describes it (3 transitions in a minute), or flapping
    (6 in 3 hours)."""

    group_wait_ms: int = 30_000
    group_interval_ms: int = 5 * MINUTE
    repeat_interval_ms: int = 4 * HOUR
    repeat_max_ms: int = 24 * HOUR
    flood_count: int = 10
    flood_window_ms: int = 10 * MINUTE
    chatter_count: int = 3
    chatter_window_ms: int = MINUTE
    flap_count: int = 6
    flap_window_ms: int = 3 * HOUR
    shelve_ms: int = HOUR  # a chattering source stays muted this long after its last change
    shelve_max_ms: int = 24 * HOUR  # and never longer than this in one go


@dataclass(frozen=True)
class Policy:
    """What planning needs of a recipient."""

    quiet: QuietHours | None = None
    critical_breaks_quiet: bool = True


def _chattering(flips: tuple[int, ...], now: int, t: Timing) -> bool:
    fast = sum(1 for f in flips if f > now - t.chatter_window_ms)
    return fast >= t.chatter_count or len(flips) >= t.flap_count


def _shelved(a: Alert, now: int) -> bool:
    return a.shelved_until is not None and now < a.shelved_until


def _event(a: Alert, kind: str, now: int, notify: bool, note: str | None = None) -> Event:
    return Event(a.id, kind, now, a.severity, a.state, a.text, notify, note=note)


def _transition(a: Alert, state: str, now: int, muted: bool, t: Timing) -> list[Event]:
    a.flips = tuple(f for f in a.flips if f > now - t.flap_window_ms) + (now,)
    a.state, a.since_ms = state, now
    if state == FIRING:
        a.ack_by = a.ack_ms = a.ack_note = None
    events = []
    if _chattering(a.flips, now, t):
        first = a.shelved_from is None or now - a.shelved_from >= t.shelve_max_ms
        if first:
            a.shelved_from = now
        a.shelved_until = min(a.shelved_from + t.shelve_max_ms,  # type: ignore[operator]
                              max(a.shelved_until or 0, now + t.shelve_ms))
        if first:
            events.append(_event(a, CHATTER, now, not muted, note=(
                f"{len(a.flips)} changes in the last {t.flap_window_ms // HOUR} h: muted "
                "until it settles, then told the state it is in")))
    # what the recipients were told differs from the new state: tell them, unless muted
    wanted = state != a.told and (state == FIRING or a.told == FIRING)
    notify = wanted and not muted and not _shelved(a, now)
    if notify:
        a.told = state
    events.insert(0, _event(a, FIRE if state == FIRING else RESOLVE, now, notify))
    return events


def step(alerts: dict[str, Alert], conditions: dict[str, Condition], now: int,
         muted: Callable[[str], bool], t: Timing = Timing()) -> tuple[list[Alert], list[Event]]:
    """The transitions `conditions` make against the stored `alerts` at `now`: the alerts that
    changed and the events to record (those with `notify` are queued). `muted(id)`: a silence
    matches the alert now."""
    changed: list[Alert] = []
    events: list[Event] = []
    watch = set(conditions) | {i for i, a in alerts.items()
                               if a.active or a.told == FIRING or a.shelved_until is not None}
    for aid in sorted(watch):
        c, old = conditions.get(aid), alerts.get(aid)
        a = replace(old) if old is not None else Alert.new(c, now)  # type: ignore[arg-type]
        quiet = muted(aid)
        if c is not None:
            a.source, a.group, a.scope, a.title, a.text, a.link = (
                c.source, c.group, c.scope, c.title, c.text, c.link)
        if a.shelved_until is not None and now >= a.shelved_until:
            a.shelved_until = None  # the shelf ended: reconciled below
        if c is not None and not a.active:
            a.severity = c.severity
            events += _transition(a, FIRING, now, quiet, t)
        elif c is None and a.active:
            events += _transition(a, RESOLVED, now, quiet, t)
        else:
            if c is not None and c.severity != a.severity:
                a.severity = c.severity
                events.append(_event(a, SEVERITY, now, a.told == FIRING and not quiet
                                     and not _shelved(a, now)))
            # a silence or a shelf ended with the recipients told something else: tell them now
            current = FIRING if a.active else RESOLVED
            if not quiet and not _shelved(a, now) and current != a.told and (
                    a.active or a.told == FIRING):
                a.told = current
                events.append(_event(a, FIRE if a.active else RESOLVE, now, True,
                                     note="told now: it was muted when it changed"))
        if a != old:
            changed.append(a)
    return changed, events


def escalations(a: Alert, followers: list[str], chain: dict[str, tuple[str, int]],
                done: set[str], now: int) -> list[str]:
    """Recipients to tell now that `a` has fired unacknowledged for too long: along each
    follower's chain (`chain[r]` = (next recipient, after how long)), everyone whose time has
    come and who was not told by escalation yet (`done`)."""
    if a.state != FIRING or a.told != FIRING:
        return []
    out: list[str] = []
    for first in followers:
        at, cur, seen = a.since_ms, first, {first}
        while cur in chain:
            nxt, after = chain[cur]
            at += after
            if at > now or nxt in seen:  # loops are refused by the config; never spin here
                break
            seen.add(nxt)
            if nxt not in done and nxt not in out:
                out.append(nxt)
            cur = nxt
    return out


def _held(policy: Policy, now: int, severity: str) -> bool:
    return (policy.quiet is not None and policy.quiet.contains(now)
            and not (severity == CRITICAL and policy.critical_breaks_quiet))


def plan(policy: Policy, pending: list[Pending], groups: dict[str, int], told: list[Told],
         sent_ms: list[int], now: int, t: Timing = Timing()) -> Plan:
    """What one recipient is sent now. `pending`: their queued notifications, oldest first;
    `groups`: when each group was last in a message to them; `told`: the open alerts they were
    told of (firing, unacknowledged, not silenced); `sent_ms`: when their recent messages went."""
    wake: list[int] = []
    quiet_end = policy.quiet.end_after(now) if policy.quiet and policy.quiet.contains(now) \
        else None
    # held back by quiet hours, unless a later notification of the same alert breaks through
    # (then the alert's earlier ones go first, in order)
    through = {p.alert_id for p in pending if not _held(policy, now, p.severity)}
    visible = [p for p in pending if p.alert_id in through]
    if len(visible) < len(pending) and quiet_end is not None:
        wake.append(quiet_end)
    due_now = False
    by_group: dict[str, list[Pending]] = {}
    for p in visible:
        by_group.setdefault(p.group, []).append(p)
    for g, items in by_group.items():
        first, newest = min(p.t_ms for p in items), max(p.t_ms for p in items)
        last = groups.get(g)
        if last is None or first - last >= t.group_interval_ms:
            due = min(newest + t.group_wait_ms, first + t.group_interval_ms)
        else:
            due = last + t.group_interval_ms
        if due <= now:
            due_now = True
        else:
            wake.append(due)
    repeats, early = [], []
    queued = {p.alert_id for p in pending}
    for x in told:
        if x.alert_id in queued:
            continue
        every = min(t.repeat_max_ms, t.repeat_interval_ms * 2 ** min(x.repeats, 30))
        due = x.last_ms + every
        item = Pending(None, x.alert_id, REPEAT, now, x.severity, x.group, x.scope, x.title,
                       x.text, x.link, before=x.before)
        if _held(policy, now, x.severity):
            if due <= now and quiet_end is not None:
                wake.append(quiet_end)
            elif due > now:
                wake.append(due)
        elif due <= now:
            repeats.append(item)
        else:
            wake.append(due)
            if due - now <= every // 2:  # goes along with a message sent now anyway: standing
                early.append(item)        # alerts fall into step instead of one message each
    due_now = due_now or bool(repeats)
    repeats += early
    if not due_now:
        return Plan([], min(wake, default=None))
    recent = sorted(s for s in sent_ms if s > now - t.flood_window_ms)
    if len(recent) >= t.flood_count and recent[-1] + t.flood_window_ms > now:
        return Plan([], min([recent[-1] + t.flood_window_ms, *wake]))
    told_now = tuple(visible) + tuple(repeats)  # all due or not yet: one message, not many
    digest = len(recent) >= t.flood_count or (
        policy.quiet is not None and any(policy.quiet.contains(p.t_ms) for p in visible))
    return Plan([Message(told_now, digest)], None)
