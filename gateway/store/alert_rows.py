"""The rows of alerts (alert_book.py) and the data the lifecycle (gateway/alerts/lifecycle.py)
works on. Times are milliseconds on the site's clock (the demo's and the tests' simulated
timeline run faster than real time, and alerts follow it)."""

from __future__ import annotations

from dataclasses import dataclass, field

INFO, WARNING, CRITICAL = "info", "warning", "critical"
SEVERITIES = (INFO, WARNING, CRITICAL)
FIRING, ACKNOWLEDGED, RESOLVED = "firing", "acknowledged", "resolved"
# what a recorded transition is
FIRE, RESOLVE, SEVERITY, CHATTER, ESCALATE, ACK, REPEAT = (
    "fire", "resolve", "severity", "chatter", "escalate", "ack", "repeat")


def rank(severity: str) -> int:
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class Condition:
    """Something wrong now, as a source sees it."""

    id: str  # stable identity, "<source>/<subject>": "signal/water.tank_autonomy@site"
    source: str  # the kind of source: "signal", "node.silent", "sink.failing", ...
    group: str  # what is told together in one section: a signal, a kind of fleet fault
    severity: str
    scope: str  # where: "site", a node, "node/bed", a scope above the site
    title: str  # what: "Rainwater tank autonomy"
    text: str  # how much and against what, in the words of the view it comes from
    link: str = ""  # the page (path and query) that explains it


@dataclass
class Alert:
    """An alert source's stored state: its current episode and what recipients were told."""

    id: str
    source: str
    group: str
    severity: str
    scope: str
    title: str
    text: str
    link: str
    state: str  # FIRING, ACKNOWLEDGED or RESOLVED
    since_ms: int  # when the current state began
    told: str | None = None  # the last state queued to recipients (FIRING/RESOLVED), if any
    flips: tuple[int, ...] = ()  # recent transition times, for chattering
    shelved_from: int | None = None  # chattering: muted from, until
    shelved_until: int | None = None
    ack_by: str | None = None
    ack_ms: int | None = None
    ack_note: str | None = None

    @property
    def active(self) -> bool:
        return self.state != RESOLVED

    @staticmethod
    def new(c: Condition, now_ms: int) -> Alert:
        return Alert(c.id, c.source, c.group, c.severity, c.scope, c.title, c.text, c.link,
                     RESOLVED, now_ms)


@dataclass(frozen=True)
class Event:
    """A transition as recorded in the alert's history; `notify` queues it for the recipients
    who follow the alert (or only `to`, for an escalation)."""

    alert_id: str
    kind: str
    t_ms: int
    severity: str
    state: str
    text: str
    notify: bool
    to: tuple[str, ...] = ()
    by: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Pending:
    """A notification waiting for one recipient: a queued transition, or a repeat of a firing
    alert nobody acknowledged (`seq` None)."""

    seq: int | None
    alert_id: str
    kind: str
    t_ms: int
    severity: str
    group: str
    scope: str
    title: str
    text: str
    link: str = ""
    note: str | None = None
    before: str | None = None  # what the recipient was last told of this alert


@dataclass(frozen=True)
class Told:
    """An open alert a recipient was told is firing, for repeats."""

    alert_id: str
    group: str
    last_ms: int
    text: str  # the alert now
    severity: str
    scope: str
    title: str
    link: str = ""
    before: str | None = None  # what the recipient was last told
    repeats: int = 0  # repeats told since it fired (each waits twice as long)


@dataclass(frozen=True)
class Message:
    """What one send carries: items in order, grouped by `group` in the text."""

    items: tuple[Pending, ...]
    digest: bool = False  # held back by quiet hours or a flood, then sent together

    @property
    def groups(self) -> list[str]:
        return list(dict.fromkeys(p.group for p in self.items))


@dataclass(frozen=True)
class Plan:
    messages: list[Message] = field(default_factory=list)
    wake_ms: int | None = None  # when planning again may send something (None: on new input)
