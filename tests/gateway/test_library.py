"""The library ledger: catalogue import errors, loans from events in any arrival order, the
conflict rules, overdue by category, statistics without per-person figures, and erasure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract.topics import NodeId
from gateway.library.catalogue import CatalogueError, parse_catalogue
from gateway.library.ledger import DAY_MS, LoanEvent, ToolInfo, build
from gateway.library.library import Library
from gateway.store import DataDir, Store
from gateway.store.library_db import LibraryError
from gateway.store.rows import StoredReading

CSV = """tag,name,category,purchase_price,currency,embodied_co2e_kg,co2e_source
5500aa0001,Cordless drill,power-tools,129.00,EUR,24.5,Bosch EPD 2021
5500AA0002,Ladder 3 m,Access,89,eur,41,ICE database v3 (aluminium 8.2 kg)
5500AA0003,Tile saw,power-tools,240,EUR,60.2,manufacturer LCA summary
"""
DRILL, LADDER, SAW = "5500AA0001", "5500AA0002", "5500AA0003"


def test_catalogue_parses_and_normalises() -> None:
    tools = parse_catalogue(CSV, "tools.csv")
    assert [(t.tag, t.category, t.currency, t.co2e_kg) for t in tools] == [
        (DRILL, "power-tools", "EUR", 24.5), (LADDER, "access", "EUR", 41.0),
        (SAW, "power-tools", "EUR", 60.2)]


@pytest.mark.parametrize(("change", "error"), [
    (("129.00", "cheap"), "tools.csv: line 2, column purchase_price: 'cheap' is not a number"),
    (("Bosch EPD 2021", ""), "tools.csv: line 2, column co2e_source: empty"),
    (("5500AA0002", "5500AA0001"), "tools.csv: line 3, column tag: 5500AA0001 is already on line 2"),
    ((",EUR,60.2", ",EURO,60.2"), "tools.csv: line 4, column currency: 'EURO' is not an ISO 4217"),
    (("24.5", "-1"), "tools.csv: line 2, column embodied_co2e_kg: -1 must be zero or more"),
    (("embodied_co2e_kg,", "co2,"), "tools.csv: line 1: missing column(s) embodied_co2e_kg"),
])
def test_catalogue_errors_name_line_and_column(change: tuple[str, str], error: str) -> None:
    with pytest.raises(CatalogueError, match="^" + error.replace("(", r"\(").replace(")", r"\)")):
        parse_catalogue(CSV.replace(*change, 1), "tools.csv")


@given(st.text(max_size=400))
def test_any_text_is_a_catalogue_or_a_clean_error(text: str) -> None:
    try:
        parse_catalogue(CSV.splitlines()[0] + "\n" + text, "x.csv")
    except CatalogueError as exc:
        assert str(exc).startswith("x.csv: ")


TOOLS = {DRILL: ToolInfo("Cordless drill", "power-tools", "available"),
         LADDER: ToolInfo("Ladder", "access", "available"),
         SAW: ToolInfo("Tile saw", "power-tools", "maintenance")}
H = 3_600_000


def ev(t_h: float, kind: str, tool: str, member: str = "m-a", node: str = "st-1",
       seq: int = 0) -> LoanEvent:
    return LoanEvent(int(t_h * H), node, seq or int(t_h * 10), kind, tool, member)


def test_loans_overdue_by_category_and_statistics() -> None:
    events = [ev(0, "checkout", DRILL), ev(1, "checkout", LADDER, "m-b"),
              ev(30, "checkin", DRILL, "m-b"), ev(40, "refused", SAW)]
    ledger = build(events, TOOLS, {"power-tools": 1})  # drills for a day, ladders for 7
    assert [(loan.tool, loan.member, loan.in_ms) for loan in ledger.loans] == [
        (DRILL, "m-a", 30 * H), (LADDER, "m-b", None)]
    assert ledger.loans[0].overdue(0) and ledger.loans[0].due_ms == DAY_MS  # back after 30 h
    assert ledger.overdue(7 * DAY_MS) == [] and ledger.overdue(7 * DAY_MS + H + 1)[0].tool == LADDER
    assert ledger.tool_state(TOOLS) == {DRILL: "available", LADDER: "out", SAW: "maintenance"}
    assert [r.tool for r in ledger.refusals] == [SAW]
    stats = ledger.stats(TOOLS, now_ms=50 * H)
    assert stats["loans"] == 2 and stats["active_members"] == 2
    assert stats["loans_per_tool"] == {DRILL: 1, LADDER: 1}
    assert stats["tools_per_category"] == {"access": 1, "power-tools": 2}
    assert stats["loan_days_median"] == pytest.approx(30 / 24)
    assert "m-a" not in repr(stats)  # no per-person figures


def test_conflicts_are_resolved_by_rule_and_recorded() -> None:
    events = [ev(0, "checkout", DRILL, "m-a", "st-1"),
              ev(2, "checkout", DRILL, "m-b", "st-2"),  # st-1's check-in never came
              ev(3, "checkin", LADDER, "m-c"),  # nothing was out
              ev(4, "checkout", SAW, "m-c"),  # in maintenance: an offline station let it go
              ev(5, "checkout", "FFFF0000", "m-c")]
    ledger = build(events, TOOLS, {})
    assert [c.rule for c in ledger.conflicts] == [
        "checkout-while-out", "checkin-without-checkout", "checkout-while-maintenance",
        "unknown-tool"]
    first, second = ledger.loans[0], ledger.loans[1]
    assert first.implied_return and first.in_ms == 2 * H and second.member == "m-b"
    assert {loan.tool for loan in ledger.open_loans()} == {DRILL, SAW, "FFFF0000"}


kinds = st.sampled_from(["checkout", "checkin", "refused"])
tool_tags = st.sampled_from([DRILL, LADDER, SAW])
event_lists = st.lists(st.builds(ev, st.integers(0, 500), kinds, tool_tags,
                                 st.sampled_from(["m-a", "m-b"]),
                                 st.sampled_from(["st-1", "st-2"]), st.integers(1, 10**6)),
                       max_size=30, unique_by=lambda e: (e.node, e.seq))


@given(event_lists, st.randoms())
def test_late_arrival_order_never_changes_the_ledger(events: list[LoanEvent], rnd) -> None:  # type: ignore[no-untyped-def]
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert build(shuffled, TOOLS, {}) == build(events, TOOLS, {})
    ledger = build(events, TOOLS, {})
    assert len({loan.tool for loan in ledger.open_loans()}) == len(ledger.open_loans())


def store_events(data: Path, events: list[tuple[int, str, str | None, str | None]]) -> None:
    with Store(data / "eil.db") as store:
        node = NodeId("lib", "station-1")
        rows = [(node, StoredReading(i + 1, t_ms, name, "event", None, None, text, ref))
                for i, (t_ms, name, text, ref) in enumerate(events)]
        store.commit(rows, [], {}, {})


def test_enrol_forget_and_the_station_view(tmp_path: Path) -> None:
    store_events(tmp_path, [(1000, "card.unknown", None, "m-00000000000000aa"),
                            (2000, "loan.checkout", DRILL, "m-00000000000000aa"),
                            (3000, "loan.checkout", LADDER, "m-00000000000000bb")])
    lib = Library(DataDir(tmp_path))
    lib.db.import_catalogue(parse_catalogue(CSV, "tools.csv"))
    lib.db.mark(SAW, "maintenance", "blade")
    member = lib.enrol(None, "42", "Ada", "ada@example.org")  # the card tapped last, unknown
    assert member.pseudonym == "m-00000000000000aa"
    with pytest.raises(LibraryError, match="already enrolled"):
        lib.enrol("m-00000000000000aa", "43", None, None)
    view = lib.station_view(now_ms=4000)
    assert view == {"tools": {DRILL: "out", LADDER: "out", SAW: "maintenance"},
                    "members": {"m-00000000000000aa": {"overdue": False}}}
    said = lib.forget("42")
    assert said[0].startswith("membership record of member 42")
    assert "in 2 stored station event(s)" in said[1]
    assert lib.db.find_member("42") is None and lib.station_view(4000)["members"] == {}
    loans = lib.ledger().loans
    assert len(loans) == 2 and loans[0].member.startswith("anon-")  # statistics survive
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert b"m-00000000000000aa" not in raw and b"Ada" not in raw and b"ada@example" not in raw


def eil(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "eil", *args], capture_output=True, text=True,
                          timeout=60)


def test_cli_import_mark_loans(tmp_path: Path) -> None:
    (tmp_path / "tools.csv").write_text(CSV.replace("129.00", "cheap"))
    bad = eil("library", "import-catalog", str(tmp_path / "tools.csv"), "--data", str(tmp_path))
    assert bad.returncode == 2 and "line 2, column purchase_price" in bad.stderr
    (tmp_path / "tools.csv").write_text(CSV)
    ok = eil("library", "import-catalog", str(tmp_path / "tools.csv"), "--data", str(tmp_path))
    assert ok.stdout.startswith(f"{tmp_path / 'tools.csv'}: 3 tools: 3 added, 0 updated")
    store_events(tmp_path, [(1000, "loan.checkout", LADDER, "m-00000000000000bb")])
    assert eil("library", "category", "access", "--loan-days", "1", "--data",
               str(tmp_path)).returncode == 0
    out = eil("library", "loans", "--overdue", "--data", str(tmp_path)).stdout
    assert LADDER in out and "OVERDUE" in out and "m-00000000000000bb" in out
    unknown = eil("library", "tool", "ZZ99", "--status", "missing", "--data", str(tmp_path))
    assert unknown.returncode == 2 and "no tool with tag ZZ99" in unknown.stderr


def test_tool_library_signals_from_the_ledger(tmp_path: Path) -> None:
    from gateway.signals.config import load_config
    from gateway.signals.tools import tools

    day = 86_400_000
    now = 40 * day
    # two loans of the drill by one member (power tools), one ladder loan by another (access)
    store_events(tmp_path, [(now - 20 * day, "loan.checkout", DRILL, "m-a"),
                            (now - 18 * day, "loan.checkin", DRILL, "m-a"),
                            (now - 10 * day, "loan.checkout", DRILL, "m-a"),
                            (now - 5 * day, "loan.checkout", LADDER, "m-b")])
    lib = Library(DataDir(tmp_path))
    lib.db.import_catalogue(parse_catalogue(CSV, "tools.csv"))
    lib.close()
    v = {x.signal: x for x in tools(DataDir(tmp_path), load_config(None), now)}
    assert v["tools.sharing_ratio"].value == pytest.approx(2 / 3)
    assert v["tools.loans_per_tool"].value == pytest.approx(1.0)
    # on loan: 2 + 10 + 5 = 17 tool-days of 3 tools x 30 days
    assert v["tools.utilisation"].value == pytest.approx(17 / 90)
    # displacement 0.3: m-a power tools min(0.6, 1), m-b access min(0.3, 1) -> 0.9 purchases
    assert v["tools.avoided_purchases"].value == pytest.approx(0.9)
    # CO2e: m-a 2 x 0.3 x 24.5 = 14.7 (cap: power-tools mean (24.5 + 60.2) / 2 = 42.35),
    # m-b 0.3 x 41 = 12.3 (cap 41): 27.0 kg
    assert v["tools.co2e_avoided"].value == pytest.approx(27.0)
