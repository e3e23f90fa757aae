"""`eil alerts stats`: how noisy the alerts are, in the figures alarm management uses (EEMUA
191, ISA-18.2): alerts per day, each recipient's share of time in a flood (10 or more messages
within 10 minutes), and the sources that fired most (the first to fix or re-tune)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from gateway.alerts.lifecycle import Timing
from gateway.store.alert_rows import FIRE

DAY_MS = 86_400_000
DEFAULT = Timing()


def flood_share(sent_ms: list[int], since_ms: int, until_ms: int, t: Timing = DEFAULT
                ) -> float:
    """The share of [since, until) during which the last `flood_window` held `flood_count` or
    more messages (union of the flood intervals)."""
    sent = sorted(sent_ms)
    spans: list[tuple[int, int]] = []
    for i in range(t.flood_count - 1, len(sent)):
        if sent[i] - sent[i - t.flood_count + 1] < t.flood_window_ms:
            start = sent[i]
            end = sent[i - t.flood_count + 1] + t.flood_window_ms
            if spans and start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], end))
            else:
                spans.append((start, end))
    covered = sum(max(0, min(e, until_ms) - max(s, since_ms)) for s, e in spans)
    return covered / max(1, until_ms - since_ms)


def stats(events: list[dict[str, Any]], messages: list[dict[str, Any]], since_ms: int,
          until_ms: int, top: int = 10) -> dict[str, Any]:
    fires = [e for e in events if e["kind"] == FIRE and since_ms <= e["t_ms"] < until_ms]
    days = max(1.0, (until_ms - since_ms) / DAY_MS)
    per_day = Counter((e["t_ms"] - since_ms) // DAY_MS for e in fires)
    by_recipient: dict[str, list[int]] = {}
    for m in messages:
        if since_ms <= m["created_ms"] < until_ms:
            by_recipient.setdefault(m["recipient"], []).append(m["created_ms"])
    return {
        "since_ms": since_ms, "until_ms": until_ms, "alerts": len(fires),
        "alerts_per_day": round(len(fires) / days, 2),
        "per_day": [per_day.get(d, 0) for d in range(int(days + 0.999))],
        "messages": {r: len(ts) for r, ts in sorted(by_recipient.items())},
        "flood_share": {r: round(flood_share(ts, since_ms, until_ms), 4)
                        for r, ts in sorted(by_recipient.items())},
        "top": Counter(e["alert"] for e in fires).most_common(top)}
