"""alerts.toml, beside gateway.toml: who hears what, through which channels, and the sources'
severities and limits (a sample: gateway/alerts/alerts.sample.toml; docs/alerts.md).

Everything is checked when the gateway starts, and a mistake stops it naming the file, the key
and the reason: a channel URL no channel understands, a recipient without a channel, an
escalation to nobody or in a loop, a time zone or quiet hours that do not parse."""

from __future__ import annotations

import fnmatch
import logging
import re
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core.config import ConfigError, Table, read_toml
from gateway.alerts import channel_check
from gateway.alerts.lifecycle import Policy, Timing
from gateway.alerts.quiet import QuietHours, QuietHoursError
from gateway.store.alert_rows import SEVERITIES, WARNING, Event, rank

log = logging.getLogger("eil.alerts")
FILE = "alerts.toml"
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")


@dataclass(frozen=True)
class SourceRule:
    """One kind of fleet source: on or off, its severity, its limit (what `limit` means is
    the source's: minutes of silence, volts, readings, days; docs/alerts.md)."""

    enabled: bool = True
    severity: str = WARNING
    limit: float | None = None
    hold_s: float = 0.0  # ("for") the condition must last this long before it fires


# the fleet's sources, their default severity and limit (sources.py says what each watches)
SOURCES: dict[str, SourceRule] = {
    "node.silent": SourceRule(limit=900.0),  # seconds without a message
    "battery.low": SourceRule(limit=20.0, hold_s=900.0),  # % state of charge (or 3.3 V)
    "outbox.backlog": SourceRule(limit=1000.0, hold_s=900.0),  # readings not yet acknowledged
    "stream.quality": SourceRule(severity="info", hold_s=1800.0),  # stale or failing checks
    "dead_letters": SourceRule(severity="info", limit=3600.0),  # new ones within (s)
    "sequence.conflict": SourceRule(),
    "sink.failing": SourceRule(limit=3600.0),  # seconds failing
    "disk.days": SourceRule(severity="critical", limit=30.0),  # days left at today's rate
    "certificate.expiry": SourceRule(limit=30.0),  # days before a certificate expires
    "sender.silent": SourceRule(severity="critical", limit=120.0),  # seconds without a beat
    "clock.off": SourceRule(limit=3600.0),  # seconds the kernel's clock is unsynchronised
    "backup.age": SourceRule(limit=36 * 3600.0),  # seconds since the last good backup
    "scope": SourceRule(),  # a scope's roll-up outside its limits (scopes above a site)
    "signal": SourceRule(),  # a signal's alert, as the engine computes it
}


@dataclass(frozen=True)
class Recipient:
    name: str
    channels: tuple[str, ...]  # Apprise URLs, tried in order (a failing one falls back)
    follow: tuple[str, ...] = ("*",)  # alert ids they hear of (shell patterns)
    min_severity: str = WARNING
    quiet: QuietHours | None = None
    critical_breaks_quiet: bool = True
    escalate_to: str | None = None
    escalate_after_s: float = 1800.0
    fallback_after_s: float = 900.0  # a channel failing this long: the next one is used
    account: str | None = None  # the signed-in person this recipient is
    raw: tuple[tuple[str, Any], ...] = ()  # as alerts.toml gave it (settings go over it)

    @property
    def policy(self) -> Policy:
        return Policy(self.quiet, self.critical_breaks_quiet)

    def follows(self, alert_id: str, severity: str) -> bool:
        return rank(severity) >= rank(self.min_severity) and any(
            fnmatch.fnmatchcase(alert_id, p) for p in self.follow)


@dataclass(frozen=True)
class AlertsConfig:
    path: Path | None
    recipients: dict[str, Recipient] = field(default_factory=dict)
    sources: dict[str, SourceRule] = field(default_factory=lambda: dict(SOURCES))
    signals: dict[str, str] = field(default_factory=dict)  # signal -> severity
    timing: Timing = Timing()
    base_url: str = ""  # where the links in messages point (the gateway's web views)
    evaluate_every_s: float = 10.0  # real seconds between evaluations
    send_timeout_s: float = 30.0  # one channel's send, at most
    retry_max_s: float = 600.0  # the back-off between a failing message's attempts, at most
    zone: str = "UTC"  # the site's time zone: times in messages, quiet hours' default

    def route(self, e: Event) -> list[str]:
        """The recipients who follow the alert of `e`."""
        return [r.name for r in self.recipients.values() if r.follows(e.alert_id, e.severity)]

    def followers(self, alert_id: str, severity: str) -> list[str]:
        return [r.name for r in self.recipients.values() if r.follows(alert_id, severity)]

    @property
    def chain(self) -> dict[str, tuple[str, int]]:
        return {r.name: (r.escalate_to, int(r.escalate_after_s * 1000))
                for r in self.recipients.values() if r.escalate_to}


def duration_s(t: Table, key: str, default: float) -> float:
    """A duration as seconds (a number) or with a unit: "30s", "5m", "4h", "2d"."""
    value = t.get(key, (int, float, str), default)
    if isinstance(value, str):
        m = _DURATION.match(value.strip())
        if not m:
            raise t.fail(key, f"{value!r} is not a duration such as 30s, 5m, 4h or 2d")
        value = float(m.group(1)) * _UNITS[m.group(2)]
    if value <= 0:
        raise t.fail(key, f"must be more than 0, got {value}")
    return float(value)


def _count(t: Table, key: str, default: int) -> int:
    value = t.get(key, int, default)
    if value < 2:
        raise t.fail(key, f"must be 2 or more, got {value}")
    return int(value)


def _severity(t: Table, key: str, default: str) -> str:
    value = t.get(key, str, default)
    if value not in SEVERITIES:
        raise t.fail(key, f"{value!r} is not one of {', '.join(SEVERITIES)}")
    return str(value)


def _recipient(t: Table, name: str, zone: str) -> Recipient:
    known = {"channels", "follow", "min_severity", "quiet_hours", "timezone",
             "critical_breaks_quiet", "escalate_to", "escalate_after", "fallback_after",
             "account"}
    unknown = sorted(set(t.data) - known)
    if unknown:
        raise t.fail(unknown[0], f"unknown option; a recipient takes {', '.join(sorted(known))}")
    channels = t.get("channels", list, [])
    if not channels:
        raise t.fail("channels", "a recipient needs at least one channel URL")
    for i, url in enumerate(channels):
        if not isinstance(url, str):
            raise t.fail(f"channels[{i}]", f"expected a URL, got {url!r}")
    follow = t.get("follow", list, ["*"])
    if not follow or not all(isinstance(p, str) and p for p in follow):
        raise t.fail("follow", "a list of alert id patterns, e.g. [\"signal/*\", "
                               "\"node.silent/*\"]")
    quiet = None
    if "quiet_hours" in t.data:
        try:
            quiet = QuietHours.parse(t.get("quiet_hours", str), t.get("timezone", str, zone))
        except QuietHoursError as exc:
            raise t.fail("timezone" if "zone" in str(exc) else "quiet_hours", str(exc)) from None
    return Recipient(
        name, tuple(channels), tuple(follow), _severity(t, "min_severity", WARNING), quiet,
        t.get("critical_breaks_quiet", bool, True), t.get("escalate_to", str, None),
        duration_s(t, "escalate_after", 1800.0), duration_s(t, "fallback_after", 900.0),
        t.get("account", str, None), tuple(t.data.items()))


# what a person may set for themselves on the web (escalations stay in the steward's file)
SETTINGS = ("channels", "follow", "min_severity", "quiet_hours", "timezone",
            "critical_breaks_quiet")


def with_settings(cfg: AlertsConfig, name: str, settings: dict[str, Any], *,
                  check: bool = False) -> Recipient:
    """The recipient `name` with `settings` over alerts.toml's; ConfigError (naming the
    setting and the reason) for one that would not work. `check`: ask Apprise about changed
    channel URLs too (when a person saves them; they are kept only once they passed)."""
    r = cfg.recipients[name]
    unknown = sorted(set(settings) - set(SETTINGS))
    t = Table(Path(f"{name}'s alert settings"), {**dict(r.raw), **settings})
    if unknown:
        raise t.fail(unknown[0], f"not a setting a person chooses; they are {', '.join(SETTINGS)}")
    if "quiet_hours" in settings and settings["quiet_hours"] in ("", None):
        t.data.pop("quiet_hours")
    r = _recipient(t, name, cfg.zone)
    if check and "channels" in settings:
        check_channels(Table(t.path, {name: t.data}), [r])
    return r


def effective(cfg: AlertsConfig, prefs: dict[str, dict[str, Any]]) -> AlertsConfig:
    """alerts.toml with the settings people chose on the web (their channel URLs were checked
    when they were saved); a stored setting that no longer parses against the file (a recipient
    gone from it, a time zone unknown to this system) is left out and logged, so one person's
    mistake never stops anyone else's alerts."""
    recipients = dict(cfg.recipients)
    for name, settings in prefs.items():
        if name not in recipients:
            continue
        try:
            recipients[name] = with_settings(cfg, name, settings)
        except ConfigError as exc:
            log.error("%s: ignored", exc)
    return replace(cfg, recipients=recipients)


def check_channels(t: Table, recipients: list[Recipient]) -> None:
    """Every channel URL of `recipients` as Apprise reads it (one child process for all);
    ConfigError naming the first that no channel can use. `t`: their [recipients] table."""
    urls = [(r.name, i, u) for r in recipients for i, u in enumerate(r.channels)]
    for (name, i, _), v in zip(urls, channel_check.check([u for _, _, u in urls]), strict=True):
        if v.error:
            raise t.table(name).fail(f"channels[{i}]", v.error)


def _check_escalations(root: Table, recipients: dict[str, Recipient]) -> None:
    for r in recipients.values():
        seen = [r.name]
        cur = r
        while cur.escalate_to:
            t = root.table("recipients").table(cur.name)
            if cur.escalate_to not in recipients:
                raise t.fail("escalate_to", f"no recipient {cur.escalate_to!r} in this file")
            if cur.escalate_to in seen:
                loop = " -> ".join([*seen, cur.escalate_to])
                raise t.fail("escalate_to", f"escalation loop: {loop}")
            seen.append(cur.escalate_to)
            cur = recipients[cur.escalate_to]


def load_alerts_config(path: Path, *, zone: str = "UTC", base_url: str = "") -> AlertsConfig:
    """alerts.toml at `path`; without the file, alerts are still evaluated, recorded and shown
    (views, `eil alerts`, Home Assistant), and nobody is sent anything."""
    if not path.exists():
        return AlertsConfig(None, base_url=base_url, zone=zone)
    root = Table(path, read_toml(path))
    top = {"base_url", "timing", "sources", "signals", "recipients", "timezone"}
    unknown = sorted(set(root.data) - top)
    if unknown:
        raise root.fail(unknown[0], f"unknown option; alerts.toml takes {', '.join(sorted(top))}")
    zone = root.get("timezone", str, zone)
    try:
        QuietHours.parse("00:00-01:00", zone)
    except QuietHoursError as exc:
        raise root.fail("timezone", str(exc)) from None
    tm = root.table("timing")
    timing = Timing(
        group_wait_ms=int(duration_s(tm, "group_wait", 30) * 1000),
        group_interval_ms=int(duration_s(tm, "group_interval", 300) * 1000),
        repeat_interval_ms=int(duration_s(tm, "repeat_interval", 4 * 3600) * 1000),
        repeat_max_ms=int(duration_s(tm, "repeat_max", 86400) * 1000),
        shelve_ms=int(duration_s(tm, "chatter_shelve", 3600) * 1000),
        shelve_max_ms=int(duration_s(tm, "chatter_shelve_max", 86400) * 1000),
        flood_count=_count(tm, "flood_count", 10),
        flood_window_ms=int(duration_s(tm, "flood_window", 600) * 1000),
        chatter_count=_count(tm, "chatter_count", 3),
        flap_count=_count(tm, "flap_count", 6))
    sources = dict(SOURCES)
    st = root.table("sources")
    for kind in st.data:
        if kind not in SOURCES:
            raise st.fail(kind, f"no such source; the sources are {', '.join(SOURCES)}")
        s = st.table(kind)
        base = SOURCES[kind]
        unknown = sorted(set(s.data) - {"enabled", "severity", "limit", "for"})
        if unknown or ("limit" in s.data and base.limit is None):
            raise s.fail((unknown or ["limit"])[0], "unknown option; a source takes enabled, "
                         "severity, for" + (", limit" if base.limit is not None else ""))
        sources[kind] = SourceRule(s.get("enabled", bool, True),
                                   _severity(s, "severity", base.severity),
                                   float(s.get("limit", (int, float), base.limit))
                                   if base.limit is not None else None,
                                   duration_s(s, "for", base.hold_s) if "for" in s.data
                                   else base.hold_s)
    sg = root.table("signals")
    signals = {name: _severity(sg, name, WARNING) for name in sg.data}
    rt = root.table("recipients")
    recipients = {}
    for name in rt.data:
        if not _NAME.match(name):
            raise rt.fail(name, "a recipient's name: 1-32 of a-z, 0-9, '.', '_', '-'")
        recipients[name] = _recipient(rt.table(name), name, zone)
    _check_escalations(root, recipients)
    check_channels(rt, list(recipients.values()))
    if recipients and path.stat().st_mode & stat.S_IRWXO:
        log.warning("%s holds channel URLs (tokens, passwords) and is readable by others: "
                    "chmod 600 it", path)
    return AlertsConfig(path, recipients, sources, signals, timing,
                        root.get("base_url", str, base_url).rstrip("/") + "/",
                        duration_s(tm, "evaluate_every", 10), duration_s(tm, "send_timeout", 30),
                        duration_s(tm, "retry_max", 600), zone)
