"""Tool-library signals from the ledger: how much the tools are shared, and the embodied
emissions of the purchases that sharing avoids. Counts only; no per-person figures."""

from __future__ import annotations

from collections import defaultdict

from gateway.library.library import Library
from gateway.signals.catalogue import DAY_MS, Value
from gateway.signals.config import SignalConfig
from gateway.store.data_dir import DataDir

WINDOW_DAYS = 30


def tools(data: DataDir, cfg: SignalConfig, now_ms: int) -> list[Value]:
    if not data.has_library():
        return []
    library = Library(data)
    try:
        catalogue = {str(row["tag"]): (str(row["category"]), float(row["co2e_kg"]))  # type: ignore[arg-type]
                     for row in library.db.catalogue()}
        loans = [loan for loan in library.ledger().loans
                 if now_ms - WINDOW_DAYS * DAY_MS <= loan.out_ms <= now_ms]
    finally:
        library.close()
    scope = "library"
    ratio = Value("tools.sharing_ratio", scope, None)
    avoided = Value("tools.co2e_avoided", scope, None)
    use = Value("tools.utilisation", scope, None)
    per_tool = Value("tools.loans_per_tool", scope, None)
    purchases = Value("tools.avoided_purchases", scope, None)
    every = [ratio, avoided, use, per_tool, purchases]
    if not catalogue:
        for v in every:
            v.note = "the catalogue is empty"
        return every
    window_start = now_ms - WINDOW_DAYS * DAY_MS
    on_loan_days = sum((min(loan.in_ms or now_ms, now_ms) - max(loan.out_ms, window_start))
                       / DAY_MS for loan in loans)
    use.value = on_loan_days / (len(catalogue) * WINDOW_DAYS)
    use.numbers = {"tool_days_on_loan_30d": on_loan_days, "tool_days": float(
        len(catalogue) * WINDOW_DAYS)}
    per_tool.value = len(loans) / len(catalogue)
    per_tool.numbers = {"loans_30d": float(len(loans)), "tools": float(len(catalogue))}
    members = {loan.member for loan in loans}
    ratio.value = len(members) / len(catalogue)
    ratio.numbers = {"active_members_30d": float(len(members)), "tools": float(len(catalogue)),
                     "loans_30d": float(len(loans))}
    displacement = float(cfg.site["tool_displacement"])
    by_category: dict[str, list[float]] = defaultdict(list)
    for category, co2e in catalogue.values():
        by_category[category].append(co2e)
    claimed: dict[tuple[str, str], float] = defaultdict(float)
    borrowed: dict[tuple[str, str], int] = defaultdict(int)
    for loan in loans:
        if loan.tool in catalogue:
            category, co2e = catalogue[loan.tool]
            claimed[(loan.member, category)] += displacement * co2e
            borrowed[(loan.member, category)] += 1
    purchases.value = sum(min(displacement * n, 1.0) for n in borrowed.values())
    purchases.numbers = {"displacement": displacement, "member_category_pairs": float(
        len(borrowed)), "loans_30d": float(len(loans))}
    cap = {c: sum(v) / len(v) for c, v in by_category.items()}  # one tool of the kind
    total = sum(min(kg, cap[category]) for (_, category), kg in claimed.items())
    avoided.value = total
    avoided.numbers = {"displacement": displacement, "loans_30d": float(len(loans)),
                       "member_category_pairs": float(len(claimed)),
                       "uncapped_kg": sum(claimed.values())}
    return every
