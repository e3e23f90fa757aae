"""`eil library ...`: the tool library's catalogue, loans and members at the gateway."""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import EilError


def _library(args: argparse.Namespace) -> Any:
    from gateway.library.library import Library
    from gateway.store import DataDir

    data = Path(args.data)
    if not data.is_dir():
        raise EilError(f"--data: {data} is not a gateway data directory")
    return Library(DataDir(data))


def _when(t_ms: int | None) -> str:
    if t_ms is None:
        return "-"
    return datetime.fromtimestamp(t_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def cmd_import(args: argparse.Namespace) -> int:
    from gateway.library.catalogue import parse_catalogue

    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8-sig")  # spreadsheets like to add a BOM
    except (OSError, UnicodeDecodeError) as exc:
        raise EilError(f"cannot read {path}: {exc}") from exc
    tools = parse_catalogue(text, str(path))
    library = _library(args)
    added, updated, absent = library.db.import_catalogue(tools)
    print(f"{path}: {len(tools)} tools: {added} added, {updated} updated")
    if absent:
        print(f"kept {len(absent)} catalogued tool(s) not in this file: {', '.join(absent)}")
    return 0


def cmd_loans(args: argparse.Namespace) -> int:
    library = _library(args)
    now_ms = int(time.time() * 1000)
    ledger, tools, members = library.ledger(), library.db.tools(), library.db.members()
    loans = ledger.loans if args.history else (
        ledger.overdue(now_ms) if args.overdue else ledger.open_loans())

    def who(pseudonym: str) -> str:
        m = members.get(pseudonym)
        return f"#{m.member_no}" if m else pseudonym

    rows = [{"tool": loan.tool, "name": tools[loan.tool].name if loan.tool in tools else None,
             "member": who(loan.member), "out": _when(loan.out_ms), "due": _when(loan.due_ms),
             "returned": _when(loan.in_ms), "overdue": loan.overdue(now_ms),
             "implied_return": loan.implied_return, "station": loan.station_out}
            for loan in loans]
    if args.json:
        print(json.dumps({"loans": rows, "conflicts": [c.__dict__ for c in ledger.conflicts]},
                         indent=2))
        return 0
    if not rows:
        print("no overdue loans" if args.overdue else "no loans")
    for r in rows:
        flag = "  OVERDUE" if r["overdue"] and r["returned"] == "-" else ""
        back = f"  back {r['returned']}" if r["returned"] != "-" else ""
        print(f"{r['tool']:12} {str(r['name'] or '?')[:24]:24} {r['member']:20} out {r['out']}  "
              f"due {r['due']}{back}{flag}")
    if ledger.conflicts:
        print(f"\n{len(ledger.conflicts)} conflict(s) resolved by rule "
              "(eil library loans --json lists them)")
    return 0


def cmd_enrol(args: argparse.Namespace) -> int:
    member = _library(args).enrol(args.pseudonym, args.member_no, args.name, args.contact)
    print(f"enrolled member {member.member_no}: card {member.pseudonym}")
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    said = _library(args).forget(args.id)
    print("deleted:")
    for line in said:
        print(f"  - {line}")
    print("loan statistics are kept, anonymised")
    return 0


def cmd_members(args: argparse.Namespace) -> int:
    library = _library(args)
    for m in sorted(library.db.members().values(), key=lambda m: m.member_no):
        print(f"#{m.member_no:8} {m.pseudonym}  {m.name or ''}")
    unknown = library.unknown_cards()
    if unknown:
        print("\nunknown cards tapped (enrol with --last-unknown or --pseudonym):")
        for t_ms, pseudonym in unknown[:10]:
            print(f"  {_when(t_ms)}  {pseudonym}")
    return 0


def cmd_tool(args: argparse.Namespace) -> int:
    from gateway.library.catalogue import normalise_tag

    library = _library(args)
    tag = normalise_tag(args.tag)
    library.db.mark(tag, args.status, args.reason)
    print(f"{tag}: {args.status}" + (f" ({args.reason})" if args.reason else ""))
    return 0


def cmd_category(args: argparse.Namespace) -> int:
    _library(args).db.set_loan_days(args.category, args.loan_days)
    print(f"{args.category.lower()}: loans last {args.loan_days} days")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    library = _library(args)
    stats = library.ledger().stats(library.db.tools(), int(time.time() * 1000))
    print(json.dumps(stats, indent=2))
    return 0


def add_parser(sub: Any) -> None:
    lib = sub.add_parser("library", help="tool library: catalogue, loans, members") \
        .add_subparsers(dest="action", required=True)

    def command(name: str, func: Any, help: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = lib.add_parser(name, help=help)
        p.add_argument("--data", required=True, help="gateway data directory")
        p.set_defaults(func=func)
        return p

    imp = command("import-catalog", cmd_import, "import or update the catalogue from CSV")
    imp.add_argument("file", help="CSV: tag,name,category,purchase_price,currency,"
                                  "embodied_co2e_kg,co2e_source")
    loans = command("loans", cmd_loans, "open loans (or overdue ones, or all)")
    loans.add_argument("--overdue", action="store_true")
    loans.add_argument("--history", action="store_true", help="every loan, returned or not")
    loans.add_argument("--json", action="store_true")
    member = lib.add_parser("member", help="memberships").add_subparsers(dest="what",
                                                                        required=True)
    enrol = member.add_parser("enrol", help="link a card's pseudonym to a membership")
    enrol.add_argument("--data", required=True, help="gateway data directory")
    card = enrol.add_mutually_exclusive_group(required=True)
    card.add_argument("--pseudonym", help="the card's pseudonym (from `member list`)")
    card.add_argument("--last-unknown", dest="pseudonym", action="store_const", const=None,
                      help="the card most recently tapped that is not enrolled")
    enrol.add_argument("--member-no", required=True)
    enrol.add_argument("--name")
    enrol.add_argument("--contact")
    enrol.set_defaults(func=cmd_enrol)
    forget = member.add_parser("forget", help="delete everything personal about a member")
    forget.add_argument("id", help="member number or card pseudonym")
    forget.add_argument("--data", required=True, help="gateway data directory")
    forget.set_defaults(func=cmd_forget)
    lst = member.add_parser("list", help="members, and unknown cards tapped recently")
    lst.add_argument("--data", required=True, help="gateway data directory")
    lst.set_defaults(func=cmd_members)
    tool = command("tool", cmd_tool, "mark a tool available, in maintenance or missing")
    tool.add_argument("tag")
    tool.add_argument("--status", required=True, choices=("available", "maintenance", "missing"))
    tool.add_argument("--reason")
    cat = command("category", cmd_category, "set a category's loan period")
    cat.add_argument("category")
    cat.add_argument("--loan-days", type=int, required=True)
    command("stats", cmd_stats, "figures for the impact signals (no per-person data)")
