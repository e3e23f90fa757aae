"""Cumulative acknowledgement bookkeeping per node, and the rules that keep one pack from
corrupting it. Pure.

The watermark is the highest sequence number N such that every reading of the node up to N has
been committed (stored, dead-lettered or recorded as a conflict). Ranges committed above a gap
wait (the store keeps them, see gateway/store/readings.py) until the gap is filled.

A pack also says where the node's outbox starts (`floor`): everything below it was acknowledged
earlier. That claim is taken only from a node this store knows nothing of yet (first contact, or
a gateway whose store was replaced): once the store holds a node's history, its watermark moves
only by what was really committed. Otherwise one pack (a careless integrator, a stolen
credential, a cloned SD card) could set `bfloor` far ahead, and every later reading of the real
node would fall below the watermark and its acknowledgements would claim readings never stored.
A floor that is not taken is returned as an anomaly for the steward (docs/contract.md,
"Sequence rules").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from contract.senml import contiguous_ranges


@dataclass(frozen=True, slots=True)
class Anomaly:
    """A claim about a node's sequence that the gateway did not act on."""

    kind: str  # "floor": bfloor beyond the watermark; "ahead": seqs too far beyond it
    claimed: int  # the floor, or the highest seq, the message claimed
    watermark: int  # the node's watermark when it arrived


class Watermark:
    def __init__(self, acked: int = 0, above: Iterable[tuple[int, int]] = (), *,
                 fresh: bool = False) -> None:
        self.acked = acked
        self.above: list[tuple[int, int]] = list(above)  # disjoint ranges above acked + 1
        self.fresh = fresh  # the store holds nothing of this node yet: its floor is believed
        self.anomalies: list[Anomaly] = []

    def commit(self, seqs: Iterable[int], floor: int | None = None) -> int:
        if floor is not None and floor - 1 > self.acked:
            if self.fresh:
                self.acked = floor - 1
            else:
                self.anomalies.append(Anomaly("floor", floor, self.acked))
        self.fresh = False
        ranges = sorted(self.above + contiguous_ranges(filter(self.acked.__lt__, seqs)))
        merged: list[tuple[int, int]] = []
        for a, b in ranges:
            if merged and a <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
            else:
                merged.append((a, b))
        while merged and merged[0][0] <= self.acked + 1:
            self.acked = max(self.acked, merged.pop(0)[1])
        self.above = merged
        return self.acked


def too_far_ahead(seqs: Iterable[int], floor: int | None, acked: int, fresh: bool,
                  max_ahead: int) -> int | None:
    """The highest of `seqs` if the message jumps more than `max_ahead` beyond what the node
    has had acknowledged (from its believed floor on first contact), else None.

    A real node publishes from its oldest unacknowledged reading within its window, so its
    sequence numbers stay close to the watermark; one far beyond it is not this node's stream
    and would occupy (node, seq) identities the real node will use later."""
    top = max(seqs, default=0)
    base = max(acked, floor - 1) if fresh and floor is not None else acked
    return top if top - base > max_ahead else None
