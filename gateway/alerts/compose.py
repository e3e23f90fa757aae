"""A message's words: what, where, how much and since when, in the words of the view each
alert comes from, what changed since the recipient's last message about it, a link to its
explanation and, for a firing alert, a link that acknowledges it and can do nothing else (a
single-use token, of which the store keeps only a hash). The message's identity closes it, so
a receiver (or a person) can tell a repeat delivery from a new message."""

from __future__ import annotations

import datetime as dt
import secrets
from zoneinfo import ZoneInfo

from gateway.store.alert_book import token_hash
from gateway.store.alert_rows import (
    CHATTER,
    CRITICAL,
    ESCALATE,
    FIRE,
    REPEAT,
    RESOLVE,
    SEVERITY,
    Message,
    Pending,
)

_FIRING_KINDS = (FIRE, SEVERITY, REPEAT, ESCALATE)
LISTED = 25  # alerts a group lists in one message; the rest are counted, and /alerts has them


def listed(msg: Message) -> dict[str, list[Pending]]:
    """Group -> the items a message lists of it: every item of its first LISTED alerts (a
    storm stays readable on a phone and within what the channels carry; an alert listed has
    all its transitions, in order)."""
    out: dict[str, list[Pending]] = {}
    alerts: dict[str, set[str]] = {}
    for p in msg.items:
        seen = alerts.setdefault(p.group, set())
        if p.alert_id in seen or len(seen) < LISTED:
            seen.add(p.alert_id)
            out.setdefault(p.group, []).append(p)
        else:
            out.setdefault(p.group, [])
    return out


def _when(t_ms: int, zone: ZoneInfo) -> str:
    return dt.datetime.fromtimestamp(t_ms / 1000, zone).strftime("%a %d %b %H:%M")


def _line(p: Pending, zone: ZoneInfo) -> str:
    at = _when(p.t_ms, zone)
    if p.kind == FIRE:
        return f"FIRING ({p.severity}) since {at}: {p.text}"
    if p.kind == RESOLVE:
        return f"RESOLVED at {at}: {p.title} at {p.scope} is back within its limits"
    if p.kind == SEVERITY:
        return f"NOW {p.severity.upper()} ({at}): {p.text}"
    if p.kind == ESCALATE:
        return f"ESCALATED to you ({at}): nobody acknowledged it in time. {p.text}"
    if p.kind == CHATTER:
        return f"CHATTERING ({at}): {p.title} at {p.scope} keeps changing state; {p.note}"
    changed = f" (your last message said: {p.before})" if p.before and p.before != p.text else ""
    return f"STILL FIRING, not acknowledged: {p.text}{changed}"


class Composer:
    """Composes one recipient's messages of one site."""

    def __init__(self, site: str, base_url: str, zone: ZoneInfo) -> None:
        self.site, self.base_url, self.zone = site, base_url, zone

    def tokens(self, msg: Message) -> dict[str, str]:
        """A fresh acknowledgement token per firing alert of `msg`: alert id -> token."""
        return {p.alert_id: secrets.token_urlsafe(18) for items in listed(msg).values()
                for p in items if p.kind in _FIRING_KINDS}

    def title(self, msg: Message) -> str:
        alerts = {p.alert_id: p for p in msg.items}
        firing = [p for p in alerts.values() if p.kind in _FIRING_KINDS]
        resolved = [p for p in alerts.values() if p.kind == RESOLVE]
        if len(alerts) == 1:
            (p,) = alerts.values()
            state = {RESOLVE: "resolved", CHATTER: "chattering"}.get(p.kind, "firing")
            head = f"{p.title} at {p.scope}: {state}"
        else:
            parts = [f"{len(firing)} firing" if firing else "",
                     f"{len(resolved)} resolved" if resolved else "",
                     f"{len(alerts) - len(firing) - len(resolved)} other"
                     if len(alerts) > len(firing) + len(resolved) else ""]
            head = ", ".join(x for x in parts if x) + " alerts"
        crit = any(p.severity == CRITICAL for p in firing)
        return f"[EIL {self.site}]{' CRITICAL' if crit else ''} {head}" + (
            " (digest)" if msg.digest else "")

    def body(self, msg: Message, message_id: str, tokens: dict[str, str]) -> str:
        lines: list[str] = []
        if msg.digest:
            lines += ["Held back while you were in quiet hours or receiving many messages:", ""]
        shown = listed(msg)
        for g in msg.groups:
            items = [p for p in msg.items if p.group == g]
            first = items[0]
            n = len({p.alert_id for p in items})
            lines.append(f"== {first.title}" + (f" ({n} places)" if n > 1 else ""))
            for p in shown[g]:
                lines.append(f"- {_line(p, self.zone)}")
                if p.link and p.kind != RESOLVE:
                    lines.append(f"  Explain: {self.base_url}{p.link}")
                if p.alert_id in tokens and p.kind in _FIRING_KINDS:
                    lines.append(f"  Acknowledge: {self.base_url}alerts/ack?token="
                                 f"{tokens.pop(p.alert_id)}")
            rest = [p for p in items if p not in shown[g]]
            if rest:
                firing = sum(p.kind in _FIRING_KINDS for p in rest)
                lines.append(f"- ... and {firing} more firing, {len(rest) - firing} other "
                             f"changes: {self.base_url}alerts")
            lines.append("")
        lines.append(f"Message {message_id}. Manage what you receive: {self.base_url}alerts")
        return "\n".join(lines)


def hashes(tokens: dict[str, str]) -> dict[bytes, str]:
    """What the store keeps of the tokens: hash -> alert id."""
    return {token_hash(t): aid for aid, t in tokens.items()}

