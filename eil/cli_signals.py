"""`eil signals`: the impact signals, each with its band, threshold and source; `explain`: how
one came about, down to the stored readings."""

from __future__ import annotations

import argparse
import json
import time
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import EilError
from eil.times import parse_time

if TYPE_CHECKING:  # gateway code stays off the node's command line (imported when run)
    from gateway.store import DataDir


def _now_ms(data: DataDir, at: str | None) -> int:
    """Real time, or with --at latest the newest stored reading (a demo's simulated clock)."""
    if at is None:
        return int(time.time() * 1000)
    if at != "latest":
        parsed = parse_time(at, "--at")
        assert parsed is not None
        return parsed
    if not data.has_readings():
        raise EilError(f"--data: no store in {data.root}")
    with data.readings(readonly=True) as store:
        newest = store.newest_time_ms()
    if newest is None:
        raise EilError(f"--at latest: the store in {data.root} holds no readings")
    return newest


def _results(args: argparse.Namespace) -> list[Any]:
    from gateway.signals.engine import evaluate
    from gateway.store import DataDir

    if not args.data:
        raise EilError("--data: the gateway data directory is needed")
    if not Path(args.data).is_dir():
        raise EilError(f"--data: {args.data} is not a gateway data directory")
    data = DataDir(Path(args.data))
    results = evaluate(data, _now_ms(data, args.at))
    if getattr(args, "scope", None):
        results = [r for r in results if r.scope == args.scope or
                   r.scope.startswith(args.scope + "/")]
    return results


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:.3g} {unit}" if unit not in ("/",) else f"{value:.2f}"


def _threshold_text(r: Any) -> str:
    if r.limits is None:
        return "-"
    parts = []
    if r.limits.lower is not None:
        parts.append(f">= {r.limits.lower:g}")
    if r.limits.upper is not None:
        parts.append(f"<= {r.limits.upper:g}")
    return " and ".join(parts)


def cmd_signals(args: argparse.Namespace) -> int:
    results = _results(args)
    if args.json:  # the same summary the gateway publishes, so sites can roll them up
        from gateway.signals.result import result_json
        from gateway.store import DataDir

        now_ms = _now_ms(DataDir(Path(args.data)), args.at)
        print(json.dumps([result_json(r, now_ms) for r in results], indent=2, default=str))
        return 0
    print(f"{'signal':44} {'value':>12} {'band':10} {'threshold':16} source")
    for r in results:
        source = r.threshold.source[:60] if r.threshold else ""
        band = ("ALERT " if r.alert else "") + (
            r.band or ("-" if r.value is not None else "no value"))
        print(f"{r.id:44} {_fmt(r.value, r.unit):>12} {band:10} {_threshold_text(r):16} {source}")
        if r.note:
            print(f"{'':44}   ({r.note})")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    results = {r.id: r for r in _results(args)}
    r = results.get(args.id)
    if r is None:
        raise EilError(f"no signal {args.id!r}; there are: {', '.join(sorted(results))}")
    from gateway.signals.catalogue import DEFS

    print(f"{r.title} ({r.id}; scope: {r.scope if r.scope == 'site' else DEFS[r.signal].scope})")
    print(f"  value      {_fmt(r.value, r.unit)}" + (f"   band: {r.band}" if r.band else ""))
    if r.distance:
        print(f"  distance   {r.distance:.1%} past the threshold")
    if r.note:
        print(f"  note       {r.note}")
    print(f"  formula    {r.formula}")
    print("  inputs")
    for i in r.inputs:
        q = i.quality
        print(f"    {i.series}: {q.readings} readings, quality {q.label} ({q.suspect} suspect, "
              f"{q.failed} failed), stored seq {i.first_seq}..{i.last_seq}")
    if not r.inputs:
        print("    the tool library's ledger (eil library loans --history)")
    if r.numbers:
        print("  numbers    " + ", ".join(f"{k} = {v:.4g}" for k, v in r.numbers.items()))
    if r.threshold is not None:
        t = r.threshold
        print(f"  threshold  {_threshold_text(r)} {t.unit}" +
              ("  (this bed's crop)" if r.limits != t.limits else ""))
        print(f"    source     {t.source}")
        print(f"    rationale  {t.rationale}")
        print(f"    set by     {t.set_by}, {t.set_at}")
        if t.reason:
            print(f"    override   {t.reason} (default was {t.replaces.limits if t.replaces else '?'}"
                  f" from {t.replaces.source if t.replaces else '?'})")
    if r.trend is not None:
        eta = (f", reaches the threshold in {r.trend.time_to_threshold_s / 3600:.1f} h"
               if r.trend.time_to_threshold_s is not None else "")
        per_h = "per h" if r.unit == "/" else f"{r.unit}/h"
        print(f"  trend      {r.trend.slope_per_s * 3600:+.3g} {per_h} over {r.trend.points} "
              f"hourly values, R² {r.trend.r2:.2f}{eta}")
    print(f"  alert      {'on' if r.alert else 'off'}")
    return 0


def cmd_rollup(scope: str, files: list[str], thresholds: str | None) -> int:
    """eil signals rollup SCOPE FILE...: a neighbourhood's or municipality's totals from the
    signal summaries its sites published (one JSON file per site, named after the site)."""
    from gateway.signals.config import SignalConfigError
    from gateway.signals.rollup import read_limits, read_summary, rollup

    try:
        sites = {Path(f).stem: read_summary(Path(f)) for f in files}
        limits = {}
        if thresholds:
            try:
                raw = tomllib.loads(Path(thresholds).read_text()).get("thresholds", {})
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise EilError(f"{thresholds}: {exc}") from exc
            limits = read_limits(raw, f"{thresholds}: thresholds")
    except SignalConfigError as exc:
        raise EilError(str(exc)) from exc
    for entry in rollup(sites, scope, limits):
        band = entry["band"] or "-"
        print(f"{entry['id']:44} {_fmt(entry['value'], entry['unit']):>12} {band:10} "
              f"from {len(entry['sites'])} site(s)" +
              (f"; missing: {', '.join(entry['missing'])}" if entry["missing"] else ""))
    return 0


def cmd(args: argparse.Namespace) -> int:
    if not args.words:
        return cmd_signals(args)
    if args.words[0] == "explain" and len(args.words) == 2:
        args.id = args.words[1]
        return cmd_explain(args)
    if args.words[0] == "rollup" and len(args.words) >= 3:
        return cmd_rollup(args.words[1], args.words[2:], args.thresholds)
    raise EilError("usage: eil signals [explain SIGNAL@SCOPE] --data DIR, or eil signals rollup "
                   "SCOPE SITE.json... [--thresholds FILE]")


def add_parser(sub: Any) -> None:
    sig = sub.add_parser("signals", help="impact signals against their thresholds; "
                                         "`eil signals explain ID` shows how one came about")
    sig.add_argument("words", nargs="*", metavar="explain ID | rollup SCOPE FILE...",
                     help="explain one signal (signal@scope, as listed); or roll up the "
                          "summaries of several sites (eil signals --json saved per site)")
    sig.add_argument("--data", help="gateway data directory")
    sig.add_argument("--scope", help="only this scope (a node, a bed, site, library)")
    sig.add_argument("--thresholds", help="rollup: TOML with [thresholds.\"<signal>\"] lower/"
                                          "upper and source for the rolled-up scope")
    sig.add_argument("--at", help="RFC 3339 time, or 'latest' (the newest stored reading)")
    sig.add_argument("--json", action="store_true")
    sig.set_defaults(func=cmd)
