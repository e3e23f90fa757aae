"""What is wrong now, as conditions with a stable identity ("<source>/<subject>"), a severity and
words a person reads in a message (docs/alerts.md lists every source):

- `signal/<signal>@<scope>`: a signal's alert as the engine computed it (its threshold, the
  hysteresis and the on/off delays: gateway/signals/bands.py); a bed's soil-water deficit is
  said as the garden view says it ("Bed 3 (tomatoes): water today, about 12 litres");
- `scope/<signal>@<scope>`: a scope's roll-up outside its limits (a gateway of scopes);
- the fleet's health: `node.silent/<node>`, `battery.low/<node>`, `outbox.backlog/<node>`,
  `stream.quality/<node>/<quantity>`, `dead_letters/<node>`, `sequence.conflict/<node>`,
  `sink.failing/<sink>`, `disk.days/gateway`, `certificate.expiry/<file>`,
  `clock.off/gateway` (the kernel says the clock is not synchronised: a Pi has no real-time
  clock, and without a time server every reading after a power cut is stamped wrong),
  `sender.silent/gateway` (the notification sender's dead-man heartbeat),
  `backup.age/gateway` (backups configured, and none good for too long, or the last failed).

Pure functions of what the store, the signals' summaries and the files say."""

from __future__ import annotations

import ctypes
import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gateway.alerts.config import AlertsConfig, SourceRule
from gateway.store.alert_rows import CRITICAL, Condition

Json = dict[str, Any]
Beds = dict[str, tuple[str | None, str]]  # bed scope -> (its name, its crop)


def number(x: float | None) -> str:
    if x is None:
        return "no value"
    if x == 0 or abs(x) >= 100:
        return f"{x:.0f}"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def _unit(u: str | None) -> str:
    return {"/": "", "d": " days", "Cel": " °C", "l/h": " l/h", "kg": " kg", "l": " litres",
            "members/tool": " members per tool"}.get(u or "", f" {u}" if u else "")


def _against(s: Json) -> str:
    th = s.get("threshold") or {}
    lo, hi, unit = th.get("lower"), th.get("upper"), s.get("unit")
    if s.get("band") == "shortfall" and lo is not None:
        side = f"below the {number(lo)}{_unit(unit)} floor"
    elif s.get("band") == "overshoot" and hi is not None:
        side = f"above the {number(hi)}{_unit(unit)} ceiling"
    else:
        side = "back inside its limits, not yet for long enough to clear"
    return side + (f" (threshold: {th['source']})" if th.get("source") else "")


def signal_text(s: Json, by_id: dict[str, Json], beds: Beds) -> str:
    """A signal's state in the words of the view it belongs to."""
    if s["signal"] == "soil.depletion":
        name, crop = beds.get(s["scope"], (None, "the crop"))
        need = (by_id.get(f"soil.irrigation_need@{s['scope']}") or {}).get("value")
        litres = f", about {need:.0f} litres" if isinstance(need, int | float) and need > 0 else ""
        return (f"{name or s['scope']} ({crop}): water today{litres} (root-zone depletion "
                f"{number(s.get('value'))} of the readily available water; FAO-56)")
    value = s.get("value")
    unit = s.get("unit")
    return f"{s['title']} at {s['scope']}: {number(value)}{_unit(unit)}, {_against(s)}"


def _link(signal_id: str) -> str:
    return f"panel?explain={quote(signal_id, safe='@/')}"


def signal_conditions(signals: list[Json], cfg: AlertsConfig, beds: Beds) -> list[Condition]:
    rule = cfg.sources["signal"]
    if not rule.enabled:
        return []
    by_id = {s["id"]: s for s in signals}
    out = []
    for s in signals:
        if not s.get("alert"):
            continue
        severity = cfg.signals.get(s["signal"], rule.severity)
        out.append(Condition(f"signal/{s['id']}", "signal", f"signal/{s['signal']}", severity,
                             s["scope"], s["title"], signal_text(s, by_id, beds),
                             _link(s["id"])))
    return out


def scope_conditions(rollups: dict[str, list[Json]], cfg: AlertsConfig) -> list[Condition]:
    rule = cfg.sources["scope"]
    if not rule.enabled:
        return []
    out = []
    for scope, entries in rollups.items():
        for e in entries:
            if e.get("band") in ("shortfall", "overshoot"):
                out.append(Condition(f"scope/{e['id']}", "scope", f"scope/{e['signal']}",
                                     rule.severity, scope, e.get("title") or e["signal"],
                                     f"{e.get('title') or e['signal']} for {scope}: "
                                     f"{number(e.get('value'))}{_unit(e.get('unit'))}, "
                                     f"{_against(e)}", f"panel?scope={quote(scope)}"))
    return out


def _on(cfg: AlertsConfig, kind: str) -> SourceRule | None:
    rule = cfg.sources[kind]
    return rule if rule.enabled else None


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


def node_conditions(nodes: list[Json], latest: list[Json], signals: list[Json],
                    cfg: AlertsConfig, now_s: float) -> list[Condition]:
    """The nodes' health: silence, battery, backlog, streams' quality, dead letters,
    sequence conflicts. `nodes`: the store's node summary; `latest`: its newest readings."""
    out: list[Condition] = []

    def add(kind: str, subject: str, scope: str, title: str, text: str,
            severity: str | None = None) -> None:
        rule = cfg.sources[kind]
        out.append(Condition(f"{kind}/{subject}", kind, kind, severity or rule.severity, scope,
                             title, text, "fleet"))

    battery = {(str(x["node"]), str(x["name"])): x for x in latest
               if str(x["name"]).endswith(("battery.soc", "battery.voltage"))}
    for n in nodes:
        node = str(n["node"])
        if n.get("retired"):
            continue
        seen = n.get("last_seen")
        if (rule := _on(cfg, "node.silent")) and isinstance(seen, int | float) and \
                now_s - seen > (rule.limit or 900):
            add("node.silent", node, node, "Node silent",
                f"{node} has sent nothing for {_ago(now_s - seen)} (expected within "
                f"{_ago(rule.limit or 900)}); its readings wait in its outbox if it still runs")
        if (rule := _on(cfg, "outbox.backlog")) and isinstance(n.get("outbox"), int) and \
                n["outbox"] > (rule.limit or 1000):
            add("outbox.backlog", node, node, "Outbox backlog",
                f"{node} holds {n['outbox']} readings the gateway has not acknowledged "
                f"(more than {number(rule.limit)})")
        if _on(cfg, "sequence.conflict") and n.get("conflicts"):
            add("sequence.conflict", node, node, "Sequence conflict",
                f"{node}: {n['conflicts']} readings arrived twice with other content (two "
                "devices with one identity?); `eil gateway sequence` resolves them")
    if rule := _on(cfg, "battery.low"):
        for (node, name), x in sorted(battery.items()):
            v = x.get("value")
            if not isinstance(v, int | float):
                continue
            soc = name.endswith("battery.soc")
            low = v < (rule.limit or 20.0) if soc else v < 3.3
            if low:
                add("battery.low", node, node, "Battery low",
                    f"{node}: battery at {number(v)}{' %' if soc else ' V'}")
    if rule := _on(cfg, "stream.quality"):
        for s in signals:
            for series, label in (s.get("inputs") or {}).items():
                if label in ("fail", "missing"):
                    node, _, name = series.partition("/")
                    state = "stale (no recent readings)" if label == "missing" else \
                        "failing its quality checks"
                    add("stream.quality", series, node, "Sensor stream",
                        f"{node}: {name} is {state} (signal {s['id']} leaves it out)")
    return list({c.id: c for c in out}.values())


def dead_letter_conditions(letters: list[Json], cfg: AlertsConfig, now_s: float
                           ) -> list[Condition]:
    rule = _on(cfg, "dead_letters")
    if rule is None:
        return []
    recent: dict[str, list[Json]] = {}
    for d in letters:
        if isinstance(d.get("last_at"), int | float) and now_s - d["last_at"] < (rule.limit or 3600):
            recent.setdefault(str(d.get("node") or d.get("topic")), []).append(d)
    return [Condition(f"dead_letters/{who}", "dead_letters", "dead_letters", rule.severity, who,
                      "Messages refused",
                      f"{who}: {sum(int(d['count']) for d in ds)} messages refused in the last "
                      f"{_ago(rule.limit or 3600)}, latest because {ds[0]['reason']}", "fleet")
            for who, ds in sorted(recent.items())]


def sink_conditions(sinks: Iterable[Any], cfg: AlertsConfig, now_s: float,
                    seen_failing: dict[str, float]) -> list[Condition]:
    """`sinks`: the store's SinkStatus of each configured sink. A sink fails since its last
    success, or (never one) since `seen_failing` first saw it failing, which this updates."""
    rule = _on(cfg, "sink.failing")
    if rule is None:
        return []
    out = []
    for st in sinks:
        if not st.failing:
            seen_failing.pop(st.sink, None)
            continue
        since = st.last_ok if st.last_ok is not None else seen_failing.setdefault(st.sink, now_s)
        if st.removed is None and now_s - since >= (rule.limit or 3600):
            out.append(Condition(f"sink.failing/{st.sink}", "sink.failing", "sink.failing",
                                 rule.severity, "gateway", "Sink failing",
                                 f"sink {st.sink} has failed for {_ago(now_s - since)}: "
                                 f"{st.last_error}; {st.behind} readings wait for it (kept)",
                                 "fleet"))
    return out


def disk_condition(free_bytes: int, bytes_per_day: float | None, cfg: AlertsConfig
                   ) -> list[Condition]:
    rule = _on(cfg, "disk.days")
    if rule is None or not bytes_per_day or bytes_per_day <= 0:
        return []
    days = free_bytes / bytes_per_day
    if days >= (rule.limit or 30):
        return []
    return [Condition("disk.days/gateway", "disk.days", "disk.days", rule.severity, "gateway",
                      "Gateway disk filling",
                      f"the gateway's card has {free_bytes / 1e9:.1f} GB free: about "
                      f"{days:.0f} days at today's {bytes_per_day / 1e6:.1f} MB a day", "fleet")]


def certificate_conditions(files: Iterable[Path], cfg: AlertsConfig, now: dt.datetime
                           ) -> list[Condition]:
    """Certificates the gateway uses (its broker's CA and client certificate) expiring within
    the limit (30 days): critical within a week."""
    rule = _on(cfg, "certificate.expiry")
    if rule is None:
        return []
    from cryptography import x509  # the gateway's extra

    out = []
    for path in files:
        try:
            certs = x509.load_pem_x509_certificates(path.read_bytes())
        except (OSError, ValueError):
            continue  # the broker's own start reports an unreadable certificate
        for cert in certs:
            left = (cert.not_valid_after_utc - now).total_seconds() / 86400
            if left < (rule.limit or 30):
                cn = cert.subject.rfc4514_string()
                out.append(Condition(
                    f"certificate.expiry/{path.name}", "certificate.expiry",
                    "certificate.expiry", CRITICAL if left < 7 else rule.severity, "gateway",
                    "Certificate expiring",
                    f"{path} ({cn}) " + (f"expires in {left:.0f} days" if left > 0 else
                                        "has expired") +
                    f", on {cert.not_valid_after_utc:%Y-%m-%d}; `eil site` renews it", "fleet"))
                break
    return out


def sender_condition(beat: tuple[int, float] | None, started_s: float, cfg: AlertsConfig,
                     now_s: float) -> list[Condition]:
    """The sender's dead-man heartbeat: silent for longer than the limit (counted from the
    gateway's start when it never beat)."""
    rule = _on(cfg, "sender.silent")
    if rule is None or not cfg.recipients:
        return []
    last = beat[1] if beat else started_s
    if now_s - last <= (rule.limit or 120):
        return []
    return [Condition("sender.silent/gateway", "sender.silent", "sender.silent", rule.severity,
                      "gateway", "Notification sender silent",
                      f"the notification sender has not run for {_ago(now_s - last)}: nobody is "
                      "being told of alerts", "fleet")]


_STA_UNSYNC = 0x0040  # struct timex status: the clock is not synchronised (adjtimex(2))
_TIME_ERROR = 5


def clock_synchronised() -> bool | None:
    """Whether the kernel's clock is synchronised to a time source (NTP, chrony, timesyncd,
    GPS), as adjtimex(2) reports it; None where it cannot be asked."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # the C library already loaded (no ldconfig)
        buf = ctypes.create_string_buffer(512)  # struct timex (208 bytes on 64-bit Linux)
        state = libc.adjtimex(buf)  # modes 0: only reads
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    status = int.from_bytes(buf.raw[5 * 8:5 * 8 + 4], "little", signed=True) \
        if ctypes.sizeof(ctypes.c_long) == 8 else \
        int.from_bytes(buf.raw[5 * 4:5 * 4 + 4], "little", signed=True)
    return not (state == _TIME_ERROR or status & _STA_UNSYNC)


def clock_condition(unsynced_since: float | None, cfg: AlertsConfig, now_s: float
                    ) -> list[Condition]:
    """The gateway's clock unsynchronised for `limit` seconds (real time, as the gateway's
    own clock counts it)."""
    rule = _on(cfg, "clock.off")
    if rule is None or unsynced_since is None or now_s - unsynced_since < (rule.limit or 3600):
        return []
    return [Condition("clock.off/gateway", "clock.off", "clock.off", rule.severity, "gateway",
                      "Gateway clock not synchronised",
                      f"the gateway's clock has not been synchronised for "
                      f"{_ago(now_s - unsynced_since)} (no time server reached): readings and "
                      "alerts may carry wrong times; give it a time server on the site's "
                      "network or a real-time clock", "fleet")]


def backup_condition(state: dict[str, Any], configured: bool, started_s: float,
                     cfg: AlertsConfig, now_s: float) -> list[Condition]:
    """`state`: the data directory's backup-state.json. With a [backup] target: no good
    backup for `limit` seconds (counted from the gateway's start when there never was one),
    or the last attempt failed."""
    rule = _on(cfg, "backup.age")
    if rule is None or not configured:
        return []
    ok, last = state.get("last_ok"), state.get("last") or {}
    since = ok["at"] if ok else started_s
    failed = last.get("ok") is False
    if now_s - since < (rule.limit or 129600) and not failed:
        return []
    age = f"the last good backup is {_ago(now_s - ok['at'])} old" if ok else \
        "there has been no good backup"
    why = f"; the last attempt failed: {last.get('error')}" if failed else ""
    return [Condition("backup.age/gateway", "backup.age", "backup.age", rule.severity,
                      "gateway", "Backup", f"{age}{why} (eil gateway backup, docs/backup.md)",
                      "fleet")]
