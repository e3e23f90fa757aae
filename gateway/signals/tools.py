"""Tool-library signals from the ledger: how much the tools are shared, and the embodied
emissions of the purchases that sharing avoids. Counts only; no per-person figures."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from gateway.signals.catalogue import DAY_MS, Value
from gateway.signals.config import SignalConfig

WINDOW_DAYS = 30


def tools(data_dir: Path, cfg: SignalConfig, now_ms: int) -> list[Value]:
    if not (data_dir / "library.db").exists():
        return []
    from gateway.library.library import Library

    library = Library(data_dir)
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
    if not catalogue:
        ratio.note = avoided.note = "the catalogue is empty"
        return [ratio, avoided]
    members = {loan.member for loan in loans}
    ratio.value = len(members) / len(catalogue)
    ratio.numbers = {"active_members_30d": float(len(members)), "tools": float(len(catalogue)),
                     "loans_30d": float(len(loans))}
    displacement = float(cfg.site["tool_displacement"])
    by_category: dict[str, list[float]] = defaultdict(list)
    for category, co2e in catalogue.values():
        by_category[category].append(co2e)
    claimed: dict[tuple[str, str], float] = defaultdict(float)
    for loan in loans:
        if loan.tool in catalogue:
            category, co2e = catalogue[loan.tool]
            claimed[(loan.member, category)] += displacement * co2e
    cap = {c: sum(v) / len(v) for c, v in by_category.items()}  # one tool of the kind
    total = sum(min(kg, cap[category]) for (_, category), kg in claimed.items())
    avoided.value = total
    avoided.numbers = {"displacement": displacement, "loans_30d": float(len(loans)),
                       "member_category_pairs": float(len(claimed)),
                       "uncapped_kg": sum(claimed.values())}
    return [ratio, avoided]
