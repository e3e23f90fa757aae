"""`eil alerts`: what fires and who was told, from the command line: list, acknowledge,
silence (and end a silence), history, messages and their delivery, and noise statistics."""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path
from typing import Any

from core.errors import EilError
from eil.times import rfc3339

_FOR = re.compile(r"^(\d+(?:\.\d+)?)(m|h|d)$")


def _site(args: argparse.Namespace) -> tuple[Any, int, float]:
    """(DataDir, the site's now in ms, the real now in s): from gateway.toml (--config), whose
    clock may run faster than real time (the demo's), or a data directory (--data)."""
    from core.clock import clock_ms
    from gateway.config import load_gateway_config
    from gateway.store import DataDir

    if args.config:
        cfg = load_gateway_config(Path(args.config))
        return cfg.data, clock_ms(cfg.clock), time.time()
    if not args.data:
        raise EilError("--config gateway.toml or --data DIR: the gateway's data is needed")
    data = DataDir(Path(args.data))
    if not data.has_alerts():
        raise EilError(f"--data: {args.data} holds no alerts.db (a gateway's data directory "
                       "has one once the gateway ran)")
    return data, int(time.time() * 1000), time.time()


def _age(ms: int) -> str:
    s = ms / 1000
    return f"{s / 60:.0f} min" if s < 5400 else f"{s / 3600:.1f} h" if s < 172800 else \
        f"{s / 86400:.0f} d"


def cmd_list(args: argparse.Namespace) -> int:
    data, now_ms, now_s = _site(args)
    with data.alerts() as book:
        alerts = sorted(book.alerts().values(), key=lambda a: (a.state, a.id))
        silences = book.silences(now_ms)
        beat = book.heartbeat("sender")
        chans = [c for c in book.channels() if c.failing_since is not None]
    shown = [a for a in alerts if args.all or a.active]
    if args.json:
        print(json.dumps([{"id": a.id, "state": a.state, "severity": a.severity,
                           "since_ms": a.since_ms, "text": a.text, "ack_by": a.ack_by,
                           "ack_note": a.ack_note} for a in shown], indent=1))
        return 0
    for a in shown:
        ack = f" — acknowledged by {a.ack_by}" + (f": {a.ack_note}" if a.ack_note else "") \
            if a.ack_by else ""
        print(f"{a.state:12} {a.severity:8} {a.id}  for {_age(now_ms - a.since_ms)}{ack}\n"
              f"{'':22}{a.text}")
    if not shown:
        print("no alert firing" if not args.all else "no alert recorded")
    for s in silences:
        print(f"silence {s['id']}: {s['pattern']} until {rfc3339(s['until_ms'])} by {s['by']}: "
              f"{s['reason']}")
    if beat:
        print(f"sender: last ran {now_s - beat[1]:.0f} s ago (pid {beat[0]})")
    for c in chans:
        print(f"channel {c.channel + 1} of {c.recipient}: "
              f"{'refusing' if c.refused else 'failing'} for {now_s - c.failing_since:.0f} s: "  # type: ignore[operator]
              f"{c.last_error}")
    return 0


def cmd_ack(args: argparse.Namespace) -> int:
    data, now_ms, _ = _site(args)
    with data.alerts() as book:
        a = book.acknowledge(args.id, args.by, args.note, now_ms)
    print(f"{a.id} acknowledged by {a.ack_by}: no repeats and no escalation until it fires "
          "again")
    return 0


def _duration_ms(text: str) -> int:
    m = _FOR.match(text)
    if not m:
        raise EilError(f"--for: {text!r} is not a duration such as 90m, 2h or 3d")
    return int(float(m.group(1)) * {"m": 60_000, "h": 3_600_000, "d": 86_400_000}[m.group(2)])


def cmd_silence(args: argparse.Namespace) -> int:
    data, now_ms, _ = _site(args)
    with data.alerts() as book:
        n = book.silence(args.pattern, now_ms + _duration_ms(args.for_), args.reason, args.by,
                         now_ms)
    print(f"silence {n}: alerts matching {args.pattern} are recorded but nobody is told until "
          f"{rfc3339(now_ms + _duration_ms(args.for_))}; `eil alerts unsilence {n}` ends it")
    return 0


def cmd_unsilence(args: argparse.Namespace) -> int:
    data, now_ms, _ = _site(args)
    with data.alerts() as book:
        book.end_silence(args.number, now_ms)
    print(f"silence {args.number} ended: what is firing is told at the next evaluation")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    data, _, _ = _site(args)
    with data.alerts() as book:
        rows = book.history(args.id, args.limit)
    for e in rows:
        who = f" by {e['by']}" if e["by"] else ""
        told = "" if e["notify"] else " (not told)"
        print(f"{rfc3339(e['t_ms'])} {e['alert']} {e['kind']}{who}{told}: {e['note'] or e['text']}")
    return 0


def cmd_messages(args: argparse.Namespace) -> int:
    data, _, _ = _site(args)
    with data.alerts() as book:
        rows = book.messages(args.recipient, args.limit)
    for m in rows:
        state = "delivered" if m["delivered"] else f"waiting ({m['attempts']} attempts" + (
            f", last: {m['last_error']})" if m["last_error"] else ")")
        print(f"{rfc3339(m['created_ms'])} {m['id']} to {m['recipient']}: {m['title']} — {state}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from gateway.alerts.stats import stats

    data, now_ms, _ = _site(args)
    since = now_ms - int(args.days * 86_400_000)
    with data.alerts() as book:
        out = stats(book.history(limit=1_000_000, since_ms=since), book.messages(limit=1_000_000),
                    since, now_ms)
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"{out['alerts']} alerts in {args.days:g} days: {out['alerts_per_day']} a day "
          f"(per day: {', '.join(map(str, out['per_day']))})")
    for r, n in out["messages"].items():
        print(f"{r}: {n} messages, {out['flood_share'][r] * 100:.1f} % of the time in a flood")
    for aid, n in out["top"]:
        print(f"  {n:4}  {aid}")
    return 0


def add_parser(sub: Any) -> None:
    al = sub.add_parser("alerts", help="alerts: list, acknowledge, silence, history, stats")
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--config", help="the gateway's gateway.toml (its data and clock)")
    where.add_argument("--data", help="the gateway's data directory (real time)")
    acts = al.add_subparsers(dest="action", required=True)
    ls = acts.add_parser("list", parents=[where], help="alerts firing or acknowledged")
    ls.add_argument("--all", action="store_true", help="resolved ones too")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)
    ack = acts.add_parser("ack", parents=[where], help="take a firing alert on")
    ack.add_argument("id")
    ack.add_argument("--by", required=True, help="who takes it on")
    ack.add_argument("--note", help="what is being done")
    ack.set_defaults(func=cmd_ack)
    sil = acts.add_parser("silence", parents=[where], help="mute alerts matching a pattern")
    sil.add_argument("pattern", help="alert ids, shell-style: node.silent/*, signal/*@bed-3")
    sil.add_argument("--for", dest="for_", required=True, help="90m, 2h, 3d")
    sil.add_argument("--reason", required=True)
    sil.add_argument("--by", required=True)
    sil.set_defaults(func=cmd_silence)
    uns = acts.add_parser("unsilence", parents=[where], help="end a silence")
    uns.add_argument("number", type=int)
    uns.set_defaults(func=cmd_unsilence)
    hist = acts.add_parser("history", parents=[where], help="transitions and acts, newest first")
    hist.add_argument("id", nargs="?")
    hist.add_argument("--limit", type=int, default=50)
    hist.set_defaults(func=cmd_history)
    msg = acts.add_parser("messages", parents=[where], help="messages sent and waiting")
    msg.add_argument("--recipient")
    msg.add_argument("--limit", type=int, default=30)
    msg.set_defaults(func=cmd_messages)
    st = acts.add_parser("stats", parents=[where], help="alerts per day, floods, top sources")
    st.add_argument("--days", type=float, default=7.0)
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_stats)
