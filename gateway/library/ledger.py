"""Loans, derived from the stations' events; pure, recomputed from all events each time.

Recomputing (rather than updating in place) is what makes late events safe: an offline station's
taps arrive hours later and simply take their place by the time they were made. A library's
events are thousands a year; the whole ledger builds in milliseconds.

Rules for events that do not fit (each is recorded as a conflict, never dropped):
  checkout-while-out       a tool checked out again while a loan is open (a missed check-in, or
                           two stations disagreeing): the open loan ends at that moment, marked
                           "returned (implied)", and the new loan starts.
  checkin-without-checkout a tool checked in with no open loan: the tool counts as in.
  checkout-while-<status>  a check-out of a tool marked maintenance or missing (an offline
                           station did not know): the loan is real and is recorded.
  unknown-tool             a tag not in the catalogue: the loan is recorded under the tag.
Order: by the time of the tap, then station and sequence number (a station's own order).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from gateway.store.rows import ToolInfo

DAY_MS = 86_400_000
DEFAULT_LOAN_DAYS = 7


@dataclass(frozen=True, order=True)
class LoanEvent:
    t_ms: int
    node: str
    seq: int
    kind: str  # checkout, checkin, refused
    tool: str
    member: str  # pseudonym (or an anonymous id after the member was forgotten)
    reason: str | None = None  # refused: why


@dataclass
class Loan:
    tool: str
    member: str
    out_ms: int
    due_ms: int
    station_out: str
    in_ms: int | None = None
    station_in: str | None = None
    implied_return: bool = False

    def overdue(self, now_ms: int) -> bool:
        return (self.in_ms if self.in_ms is not None else now_ms) > self.due_ms

    def duration_ms(self, now_ms: int) -> int:
        return (self.in_ms if self.in_ms is not None else now_ms) - self.out_ms


@dataclass(frozen=True)
class Conflict:
    t_ms: int
    node: str
    seq: int
    rule: str
    tool: str


@dataclass
class Ledger:
    loans: list[Loan] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    refusals: list[LoanEvent] = field(default_factory=list)

    def open_loans(self) -> list[Loan]:
        return [loan for loan in self.loans if loan.in_ms is None]

    def overdue(self, now_ms: int) -> list[Loan]:
        return [loan for loan in self.open_loans() if loan.overdue(now_ms)]

    def tool_state(self, tools: dict[str, ToolInfo]) -> dict[str, str]:
        """Each catalogued tool: out (an open loan) or its marking."""
        out = {loan.tool for loan in self.open_loans()}
        return {tag: "out" if tag in out else info.status for tag, info in tools.items()}

    def stats(self, tools: dict[str, ToolInfo], now_ms: int, since_ms: int = 0) -> dict[str, object]:
        """What the impact signals use: no per-person figures, only counts and durations."""
        loans = [loan for loan in self.loans if loan.out_ms >= since_ms]
        durations = sorted(loan.duration_ms(now_ms) / DAY_MS for loan in loans
                           if loan.in_ms is not None)
        per_tool = Counter(loan.tool for loan in loans)
        return {
            "loans": len(loans),
            "open_loans": len(self.open_loans()),
            "overdue_loans": len(self.overdue(now_ms)),
            "active_members": len({loan.member for loan in loans}),
            "loans_per_tool": dict(sorted(per_tool.items())),
            "tools_per_category": dict(sorted(Counter(t.category for t in tools.values()).items())),
            "loan_days_median": durations[len(durations) // 2] if durations else None,
            "loan_days_total": round(sum(durations), 3),
            "conflicts": len(self.conflicts),
        }


def build(events: list[LoanEvent], tools: dict[str, ToolInfo], loan_days: dict[str, int],
          default_days: int = DEFAULT_LOAN_DAYS) -> Ledger:
    ledger = Ledger()
    open_by_tool: dict[str, Loan] = {}
    for e in sorted(events):
        info = tools.get(e.tool)
        if e.kind == "refused":
            ledger.refusals.append(e)
            continue
        if e.kind == "checkout":
            previous = open_by_tool.pop(e.tool, None)
            if previous is not None:
                previous.in_ms, previous.station_in = e.t_ms, e.node
                previous.implied_return = True
                ledger.conflicts.append(Conflict(e.t_ms, e.node, e.seq, "checkout-while-out",
                                                 e.tool))
            if info is None:
                ledger.conflicts.append(Conflict(e.t_ms, e.node, e.seq, "unknown-tool", e.tool))
            elif info.status != "available":
                ledger.conflicts.append(Conflict(e.t_ms, e.node, e.seq,
                                                 f"checkout-while-{info.status}", e.tool))
            days = loan_days.get(info.category, default_days) if info else default_days
            loan = Loan(e.tool, e.member, e.t_ms, e.t_ms + days * DAY_MS, e.node)
            ledger.loans.append(loan)
            open_by_tool[e.tool] = loan
        elif e.kind == "checkin":
            loan_or_none = open_by_tool.pop(e.tool, None)
            if loan_or_none is None:
                ledger.conflicts.append(Conflict(e.t_ms, e.node, e.seq,
                                                 "checkin-without-checkout", e.tool))
            else:
                loan_or_none.in_ms, loan_or_none.station_in = e.t_ms, e.node
    return ledger
