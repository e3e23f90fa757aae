"""The `eil` command line. Each command imports what it runs inside its function: a node's
commands load no gateway code (polars, FastAPI) and the gateway's none of the node's drivers."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import getpass
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contract.topics import NodeId
from core.errors import EilError
from eil.cli_alerts import add_parser as add_alerts_parser
from eil.cli_backup import add_gateway_parsers as add_backup_parsers
from eil.cli_grafana import add_parser as add_grafana_parser
from eil.cli_kit import add_parser as add_kit_parser
from eil.cli_library import add_parser as add_library_parser
from eil.cli_signals import add_parser as add_signals_parser
from eil.cli_site import add_parser as add_site_parser
from eil.times import parse_time, rfc3339

if TYPE_CHECKING:  # the node's CLI loads no gateway module
    from edge.agent import NodeAgent
    from gateway.store.readings import Storage
    from gateway.store.sink_cursors import SinkStatus


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def cmd_node_run(args: argparse.Namespace) -> int:
    from edge.agent import NodeAgent
    from edge.config import load_node_config
    from eil.hardware import hardware_for

    _logging(args.verbose)
    cfg = load_node_config(Path(args.config))
    _run_agent(NodeAgent(cfg, hardware=hardware_for(cfg.data_dir)), args.drain)
    return 0


def _run_agent(agent: NodeAgent, drain_s: float = 0.0) -> None:
    """Run a node agent until SIGTERM or SIGINT, then stop it (draining for `drain_s`)."""
    stop = _stop_on_signals()

    def relay() -> None:
        stop.wait()
        agent.stop.set()
        agent.wake.set()

    threading.Thread(target=relay, daemon=True).start()
    agent.run(drain_s=drain_s)


def _raw_pair(text: str) -> tuple[float, float]:
    raw, sep, ref = text.partition("=")
    try:
        if not sep:
            raise ValueError
        return float(raw), float(ref)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not RAW=REFERENCE, e.g. 4725=10") from None


def cmd_node_calibrate(args: argparse.Namespace) -> int:
    from edge.calibrate import Request, calibrate
    from edge.config import load_node_config
    from eil.hardware import hardware_for

    cfg = load_node_config(Path(args.config))
    hw = hardware_for(cfg.data_dir)
    req = Request(args.sensor, args.method, tuple(args.reference), tuple(args.raw),
                  args.note or "", args.samples)
    try:
        cal = calibrate(cfg, req, hw, None if args.yes or args.raw else input)
    finally:
        hw.close()
    print(f"calibration {cal.id} for {cal.sensor}: {cal.method}, gain {cal.gain:.6g}, offset "
          f"{cal.offset:.6g}" + (f", device reports {cal.device}" if cal.device else ""))
    print("readings from now on carry this identity; earlier readings keep theirs")
    return 0


def cmd_node_calibrations(args: argparse.Namespace) -> int:
    from edge.calibration import CalibrationBook
    from edge.config import load_node_config

    cfg = load_node_config(Path(args.config))
    book = CalibrationBook(cfg.data_dir / "calibrations.json")
    records = [c for c in book.records if args.sensor in (None, c.sensor)]
    if args.json:
        print(json.dumps([c.to_json() for c in records], indent=2))
        return 0
    for c in records:
        print(f"{c.id}  {rfc3339(round(c.at * 1000))}  {c.sensor:12} {c.method:11} "
              f"points {[list(p) for p in c.points]}  gain {c.gain:.6g} offset {c.offset:.6g}"
              + (f"  note: {c.note}" if c.note else ""))
    if not records:
        print("no calibrations recorded")
    return 0


def cmd_node_station_key(args: argparse.Namespace) -> int:
    from edge.station import new_site_key

    path = Path(args.path)
    try:
        created = new_site_key(path)
    except OSError as exc:
        raise EilError(f"cannot create {path}: {exc} (run as the node's user, with sudo if the "
                       "folder is /etc/eil)") from exc
    print(f"created {path} (mode 600)" if created else
          f"{path} exists: kept (a new key would give every member card a new pseudonym)")
    return 0


def cmd_node_probe(args: argparse.Namespace) -> int:
    from edge.calibration import CalibrationBook
    from edge.config import load_node_config
    from edge.probe import probe
    from edge.registry import attach
    from eil.hardware import hardware_for

    data_dir = Path(args.data_dir) if args.data_dir else Path.cwd()
    hw = hardware_for(data_dir)
    try:
        if args.config and hw.fake:  # simulate what the config describes, then look for it
            cfg = load_node_config(Path(args.config))
            for sc in cfg.sensors:
                attach(sc, hw, CalibrationBook(hw.data_dir / "probe-calibrations.json"))
        findings = probe(hw, serial=args.serial)
    finally:
        hw.close()
    print("# eil node probe: suggested [[sensors]] blocks (give each an id before use)")
    for f in findings:
        print(f"\n# found: {f.where}" + (f" ({', '.join(f.types)})" if f.types else ""))
        print(f.block)
    if not findings:
        print("# nothing found: is I2C enabled (dtparam=i2c_arm=on) and 1-Wire (dtoverlay=w1-gpio)?")
    return 0


def cmd_gateway_run(args: argparse.Namespace) -> int:
    from gateway.config import load_gateway_config
    from gateway.service import Gateway

    _logging(args.verbose)
    gw = Gateway(load_gateway_config(Path(args.config)))
    gw.run(_stop_on_signals())
    return 0


def cmd_gateway_forward(args: argparse.Namespace) -> int:
    from eil.forwarder import forwarder
    from gateway.config import load_gateway_config

    _logging(args.verbose)
    cfg = load_gateway_config(Path(args.config))
    if cfg.upstream is None:
        raise EilError(f"{args.config} has no [upstream] table: this site forwards to no scope "
                       "above it (docs/federation.md)")
    _run_agent(forwarder(cfg, cfg.upstream))
    return 0


def cmd_account(args: argparse.Namespace) -> int:
    """eil gateway account add|remove|list: who may open the steward and volunteer views."""

    data = Path(args.data)
    if not data.is_dir():
        raise EilError(f"--data: {data} is not a gateway data directory")
    accounts = _data(args.data).accounts()
    try:
        if args.what == "list":
            for name, role, _ in accounts.list():
                print(f"{name:24} {role}")
            return 0
        if args.what == "remove":
            accounts.remove(args.name)
            print(f"removed {args.name}")
            return 0
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass(f"password for {args.name}: ")
            if getpass.getpass("again: ") != password:
                raise EilError("the two passwords differ")
        accounts.add(args.name, args.role, password)
        print(f"added {args.role} {args.name}")
    finally:
        accounts.close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from eil.demo import DemoPlan, default_data_dir, run_demo

    if args.nodes < 1:
        raise EilError("--nodes must be at least 1 (4 gives one node of every kind)")
    if args.speed <= 0:
        raise EilError("--speed must be > 0")
    plan = DemoPlan(data=Path(args.data).resolve() if args.data else default_data_dir(),
                    site=args.site, nodes=args.nodes, speed=args.speed,
                    duration=args.duration, http_port=args.http_port)
    return run_demo(plan, _stop_on_signals())


def _data(arg: str):  # type: ignore[no-untyped-def]
    """The gateway data directory --data names (or the directory of the store file it names).
    Gateway code is imported here, when a gateway command runs, not with the node's commands."""
    from gateway.store import DataDir

    path = Path(arg)
    return DataDir(path if path.is_dir() or not path.exists() else path.parent)


def _store(data: str):  # type: ignore[no-untyped-def]
    return _data(data).readings(readonly=True)


def cmd_export(args: argparse.Namespace) -> int:
    store = _store(args.data)
    rows = store.export(node=args.node, name=args.name,
                        since_ms=parse_time(args.since, "--since"),
                        until_ms=parse_time(args.until, "--until"))
    fields = ["site", "node", "seq", "time", "name", "kind", "value", "unit", "ref", "cal", "q"]
    out = sys.stdout
    writer = csv.writer(out, lineterminator="\n") if args.format == "csv" else None
    if writer:
        writer.writerow(fields)
    for r in rows:
        rec = {"site": r.site, "node": r.node, "seq": r.seq, "time": rfc3339(r.t_ms),
               "name": r.name, "kind": r.kind, "value": r.value if r.text is None else r.text,
               "unit": r.unit, "ref": r.ref, "cal": r.cal, "q": r.q}
        if writer:
            writer.writerow(["" if rec[f] is None else rec[f] for f in fields])
        else:
            out.write(json.dumps(rec, separators=(",", ":")) + "\n")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    store = _store(args.data)
    nodes = store.node_summary()
    if args.json:
        print(json.dumps({"nodes": nodes, "dead_letters": store.dead_letters(20),
                          "conflicts": store.sequences.conflicts(20),
                          "storage": dataclasses.asdict(store.storage()),
                          "sinks": [{**dataclasses.asdict(st),
                                     "refusals": store.sinks.refusals(st.sink, 20)}
                                    for st in store.sinks.status(int(time.time() * 1000))]},
                         indent=2))
        return 0
    now = time.time()
    head = f"{'node':24} {'state':8} {'last seen':>10} {'last seq':>9} {'acked':>9} " \
           f"{'stored':>9} {'outbox':>7} {'dead':>5}"
    print(head)
    print("-" * len(head))
    for n in nodes:
        seen = "never" if n["last_seen"] is None else f"{now - float(n['last_seen']):.0f} s ago"
        print(f"{str(n['site']) + '/' + str(n['node']):24} {n['state']:8} {seen:>10} "
              f"{n['last_seq'] if n['last_seq'] is not None else '-':>9} {n['acked']:>9} "
              f"{n['readings']:>9} {n['outbox'] if n['outbox'] is not None else '?':>7} "
              f"{n['dead_letters']:>5}")
    print(_storage_text(store.storage()))
    sinks = store.sinks.status(int(now * 1000))
    if sinks:
        print("\nsinks:")
    for st in sinks:
        print("  " + _sink_text(st, now))
    dead = store.dead_letters(10)
    print(f"\n{store.dead_letter_total()} dead letters"
          + (":" if dead else ""))
    for d in dead:
        print(f"  {d['node'] or '?'}: {d['reason']} (x{d['count']})")
    for n in nodes:
        problems = [str(n["sequence"])] if n["sequence"] != "ok" else []
        problems += [_anomaly_text(a) for a in n["anomalies"]]  # type: ignore[attr-defined]
        if n["conflicts"]:
            problems.append(f"{n['conflicts']} sequence numbers arrived twice with different "
                            "content (two devices under one identity?): eil status --json")
        if problems:
            print(f"\n{n['node']}: sequence needs a steward:")
            print("".join(f"  {p}\n" for p in problems), end="")
    print("\n" + _alerts_text(_data(args.data), now))
    print(_backup_text(_data(args.data).backup_state(), now))
    return 0


def _backup_text(state: dict[str, Any], now: float) -> str:
    """The last good backup (age, size, target) and the last attempt if it failed."""
    ok, last = state.get("last_ok"), state.get("last") or {}
    text = "backup: none yet (eil gateway backup, docs/backup.md)" if not ok else (
        f"backup: the last good one {(now - ok['at']) / 3600:.1f} h ago, "
        f"{ok['bytes'] / 1e6:.1f} MB to {ok['target']}")
    if last.get("ok") is False:
        text += f"; the last attempt FAILED: {last.get('error')}"
    if "drill_ok" in state:
        text += "; restore drill " + ("passed" if state["drill_ok"] else
                                      f"FAILED: {state.get('drill_error')}")
    return text


def _alerts_text(data, now: float) -> str:  # type: ignore[no-untyped-def]
    """One line: what fires, and whether the sender is telling anybody."""
    if not data.has_alerts():
        return "alerts: none evaluated yet (the gateway has not run)"
    with data.alerts() as book:
        counts, beat = book.counts(), book.heartbeat("sender")
    sender = "the notification sender has never run" if beat is None else \
        f"the notification sender last ran {now - beat[1]:.0f} s ago"
    return (f"alerts: {counts['firing']} firing, {counts['acknowledged']} acknowledged "
            f"(eil alerts list); {sender}")


def _storage_text(s: Storage) -> str:
    def day(ms: int | None) -> str:
        return "-" if ms is None else time.strftime("%Y-%m-%d", time.gmtime(ms / 1000))

    total = s.hot + s.cold
    per = f", {s.bytes / total:.1f} bytes per reading" if total else ""
    return (f"\nstore: {s.hot} readings in rows (oldest {day(s.oldest_hot_ms)}), {s.cold} in "
            f"cold chunks (oldest {day(s.oldest_cold_ms)}), hourly roll-ups since "
            f"{day(s.oldest_rollup_ms)}; {s.bytes / 2**20:.1f} MiB on disk{per}; "
            f"{s.free_bytes / 2**30:.1f} GiB free" + (
                f", about {s.days_left:,.0f} days of it at the last day's {s.last_day:,} "
                "readings" if s.days_left is not None else "")
            + "\n(what is kept and deleted: gateway.toml [retention], docs/store.md)")


def _sink_text(st: SinkStatus, now: float) -> str:
    from gateway.config import UPSTREAM_READER

    behind = "up to date" if not st.behind else f"{st.behind:,} readings behind" + (
        f" (the oldest {st.behind_s / 60:,.0f} min old)" if st.behind_s is not None else "")
    if st.sink == UPSTREAM_READER:  # the forwarder's cursors (docs/federation.md)
        return f"forwarder of [upstream] series: {behind} (in its outbox once committed)"
    if st.removed is not None:
        return (f"{st.sink}: removed from gateway.toml {now - st.removed:,.0f} s ago, holds "
                f"nothing back; `eil gateway sink remove {st.sink}` forgets it")
    ok = "never" if st.last_ok is None else f"{now - st.last_ok:,.0f} s ago"
    text = f"{st.sink}: {behind}; {st.written:,} written, {st.refused:,} refused; last success {ok}"
    if st.last_error is not None and st.error_at is not None:
        text += (f"; {'FAILING' if st.failing else 'last error'} {now - st.error_at:,.0f} s ago: "
                 f"{st.last_error}")
    return text


def _anomaly_text(a: dict[str, object]) -> str:
    if a["kind"] == "floor":
        what = f"a pack claimed its outbox starts at {a['claimed']} (bfloor)"
    else:
        what = f"a pack jumped to seq {a['claimed']} and was refused"
    return f"{what} while the watermark was {a['watermark']} (x{a['count']})"


def cmd_sequence(args: argparse.Namespace) -> int:
    """eil gateway sequence NODE: a node's acknowledgement watermark, its conflicts, and their
    repair."""
    data = _data(args.data)
    writes = args.set is not None or args.conflict is not None
    if (args.conflict is None) != (args.keep is None):
        raise EilError("--conflict SEQ and --keep first|other go together")
    with data.readings(readonly=not writes) as store:
        found = [n for n in store.node_summary() if n["node"] == args.node]
        if not found:
            raise EilError(f"the store at {data.readings_path} has no node {args.node!r}")
        n = found[0]
        node = NodeId(str(n["site"]), args.node)
        if args.set is not None:
            old, new = store.sequences.set_watermark(node, args.set, accept_gap=args.accept_gap)
            print(f"{args.node}: watermark {old} -> {new}; the gateway acknowledges it with the "
                  "node's next pack")
            return 0
        if args.conflict is not None:
            by = args.by or getpass.getuser()
            choice = store.sequences.keep(node, args.conflict, args.keep, by, time.time(),
                                          args.id)
            what = "the version that arrived first" if choice.kept == "first" else \
                f"the other version (conflict {choice.conflict})"
            print(f"{args.node} seq {choice.seq}: the store now keeps {what}; recorded as "
                  f"chosen by {by}. Sinks write it again. `--keep "
                  f"{'other' if choice.kept == 'first' else 'first'}` reverses it")
            return 0
        shown = {k: "–" if n[k] is None else n[k] for k in ("node_last_seq", "node_acked",
                                                             "ack_refused", "floor")}
        print(f"node {n['site']}/{args.node}")
        print(f"  gateway watermark (acknowledged)   {n['acked']}")
        print(f"  stored seqs                        {n['first_seq']}..{n['last_seq']} "
              f"({n['readings']} readings)")
        print(f"  floor of its newest pack           {shown['floor']}")
        print(f"  node reports: newest seq {shown['node_last_seq']}, acknowledged "
              f"{shown['node_acked']}, refused acknowledgement {shown['ack_refused']}")
        print(f"  state: {n['sequence']}")
        for a in n["anomalies"]:  # type: ignore[attr-defined]
            print(f"  {_anomaly_text(a)}")
        conflicts = store.sequences.conflicts(1000, args.node)
        print(f"  conflicts: {n['conflicts']}")
        for c in sorted(conflicts, key=lambda c: (c["seq"], c["id"])):  # type: ignore[arg-type,return-value]
            print(f"    seq {c['seq']} (conflict {c['id']}, arrived x{c['count']}): first "
                  f"{_version_text(c['stored'])}; other {_version_text(c['arriving'])}; "
                  f"stored: {c['kept']}")
        for x in store.sequences.choices(args.node):
            when = rfc3339(round(float(x["at"]) * 1000))  # type: ignore[arg-type]
            print(f"  {when} {x['by']} kept the {x['kept']} version of seq {x['seq']}")
        if conflicts:
            print("  (to keep the other version of a seq: --conflict SEQ --keep other; "
                  "--keep first reverses it)")
    return 0


def _version_text(v: object) -> str:
    d = v if isinstance(v, dict) else {}
    value = d.get("text") if d.get("value") is None else d.get("value")
    unit = f" {d['unit']}" if d.get("unit") else ""
    return f"{d.get('name')}={value}{unit} at {rfc3339(int(d.get('time_ms') or 0))}"


def cmd_sink(args: argparse.Namespace) -> int:
    """eil gateway sink remove NAME: forget a sink taken out of gateway.toml."""
    with _data(args.data).readings() as store:
        refusals = store.sinks.remove(args.name, force=args.force)
    print(f"sink {args.name} forgotten: its cursors, counters and {refusals} recorded refusals "
          "are gone from the store")
    return 0


def cmd_retire(args: argparse.Namespace) -> int:
    """eil gateway retire NODE: a node that left the site (its readings stay)."""
    data = _data(args.data)
    with data.readings() as store:
        store.retire(args.node, not args.undo, time.time())
    if args.undo:
        print(f"{args.node} is active again")
    else:
        print(f"{args.node} is retired: its readings stay in the store; views show it retired "
              "and Home Assistant removes its device. Revoke its credential too (eil site "
              "revoke-node) if it should send nothing more")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="eil", description="EIL stack: edge ecological monitoring")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    node = sub.add_parser("node", help="node agent").add_subparsers(dest="action", required=True)
    run = node.add_parser("run", help="run the node agent")
    run.add_argument("--config", required=True, help="node TOML config")
    run.add_argument("--drain", type=float, default=0.0, metavar="S",
                     help="on stop, keep publishing up to S seconds until all is acknowledged")
    run.set_defaults(func=cmd_node_run)
    cal = node.add_parser("calibrate", help="calibrate a sensor and record the calibration")
    cal.add_argument("sensor", help="the sensor's id (or type, when it has no id)")
    cal.add_argument("--config", required=True, help="node TOML config")
    cal.add_argument("--method", choices=("two_point", "multi_point", "k_factor"))
    cal.add_argument("--reference", type=float, action="append", default=[],
                     help="a reference value, in order (repeat); measured on the sensor now")
    cal.add_argument("--raw", type=_raw_pair, action="append", default=[], metavar="RAW=REF",
                     help="a point measured earlier (repeat); no measuring")
    cal.add_argument("--note", help="what, where, which standard / buffer lot")
    cal.add_argument("--samples", type=int, default=5, help="readings averaged per point")
    cal.add_argument("--yes", action="store_true", help="no prompts (scripts)")
    cal.set_defaults(func=cmd_node_calibrate)
    cals = node.add_parser("calibrations", help="list recorded calibrations")
    cals.add_argument("sensor", nargs="?")
    cals.add_argument("--config", required=True, help="node TOML config")
    cals.add_argument("--json", action="store_true")
    cals.set_defaults(func=cmd_node_calibrations)
    prb = node.add_parser("probe", help="find sensors and suggest their config")
    prb.add_argument("--serial", action="store_true",
                     help="also ask serial ports (sends a trigger byte and a Modbus request)")
    prb.add_argument("--config", help="with EIL_HW=fake: simulate this config's sensors first")
    prb.add_argument("--data-dir", help=argparse.SUPPRESS)
    prb.set_defaults(func=cmd_node_probe)
    key = node.add_parser("station-key", help="create the tool-library station's site key")
    key.add_argument("--path", default="/etc/eil/station.key",
                     help="where to keep it, outside the data directory")
    key.set_defaults(func=cmd_node_station_key)

    gw = sub.add_parser("gateway", help="gateway").add_subparsers(dest="action", required=True)
    grun = gw.add_parser("run", help="run ingest and web views")
    grun.add_argument("--config", required=True, help="gateway TOML config")
    grun.set_defaults(func=cmd_gateway_run)
    fwd = gw.add_parser("forward", help="forward the site's signal summaries to the gateway of "
                                        "the scope above ([upstream], docs/federation.md)")
    fwd.add_argument("--config", required=True, help="gateway TOML config with [upstream]")
    fwd.set_defaults(func=cmd_gateway_forward)
    acc = gw.add_parser("account", help="accounts for the steward and volunteer views")
    acc.add_argument("what", choices=("add", "remove", "list"))
    acc.add_argument("name", nargs="?", default="")
    acc.add_argument("--role", choices=("steward", "volunteer"), default="volunteer")
    acc.add_argument("--data", required=True, help="gateway data directory")
    acc.add_argument("--password-stdin", action="store_true",
                     help="read the password from standard input (scripts), not a prompt")
    acc.set_defaults(func=cmd_account)
    seq = gw.add_parser("sequence", help="a node's acknowledgement watermark, and its repair")
    seq.add_argument("node", help="node id")
    seq.add_argument("--data", required=True, help="gateway data directory (or eil.db)")
    seq.add_argument("--set", type=int, metavar="N",
                     help="set the watermark to N: lowering is always safe (the node resends); "
                          "raising needs --accept-gap")
    seq.add_argument("--accept-gap", action="store_true",
                     help="with --set above the watermark: readings up to N are gone for good")
    seq.add_argument("--conflict", type=int, metavar="SEQ",
                     help="a seq that arrived with two contents: choose which one is stored")
    seq.add_argument("--keep", choices=("first", "other"),
                     help="with --conflict: the version that arrived first, or the other one")
    seq.add_argument("--id", type=int, metavar="N",
                     help="with --keep other: which other version, when several arrived")
    seq.add_argument("--by", help="who chooses (recorded; default: your user name)")
    seq.set_defaults(func=cmd_sequence)
    add_backup_parsers(gw)
    snk = gw.add_parser("sink", help="forget a sink taken out of gateway.toml")
    snk.add_argument("what", choices=("remove",))
    snk.add_argument("name", help="the sink's name, as eil status lists it")
    snk.add_argument("--data", required=True, help="gateway data directory (or eil.db)")
    snk.add_argument("--force", action="store_true",
                     help="also when the gateway's last start still had it in gateway.toml")
    snk.set_defaults(func=cmd_sink)
    ret = gw.add_parser("retire", help="a node that left the site: its readings stay, Home "
                                       "Assistant removes its device")
    ret.add_argument("node", help="node id")
    ret.add_argument("--data", required=True, help="gateway data directory (or eil.db)")
    ret.add_argument("--undo", action="store_true", help="bring a retired node back")
    ret.set_defaults(func=cmd_retire)

    demo = sub.add_parser("demo", help="run a whole simulated site locally")
    demo.add_argument("--data", help="data directory (default ./eil-demo-data)")
    demo.add_argument("--site", default="demo-garden")
    demo.add_argument("--nodes", type=int, default=4, help="simulated nodes, kinds in turn")
    demo.add_argument("--speed", type=float, default=60.0, help="simulated seconds per second")
    demo.add_argument("--duration", type=float, help="stop after S real seconds")
    demo.add_argument("--http-port", type=int, default=8080)
    demo.set_defaults(func=cmd_demo)

    exp = sub.add_parser("export", help="stored readings, one per line")
    exp.add_argument("--data", required=True, help="gateway data directory (or eil.db)")
    exp.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    exp.add_argument("--node")
    exp.add_argument("--name")
    exp.add_argument("--since", help="RFC 3339 time, inclusive")
    exp.add_argument("--until", help="RFC 3339 time, exclusive")
    exp.set_defaults(func=cmd_export)

    st = sub.add_parser("status", help="per-node ingest status")
    st.add_argument("--data", required=True, help="gateway data directory (or eil.db)")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_status)
    add_library_parser(sub)
    add_site_parser(sub)
    add_signals_parser(sub)
    add_grafana_parser(sub)
    add_kit_parser(sub)
    add_alerts_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except EilError as exc:
        print(f"eil: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
