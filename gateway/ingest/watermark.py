"""Cumulative acknowledgement bookkeeping per node. Pure.

The watermark is the highest sequence number N such that every reading of the node up to N has
been committed (stored or dead-lettered). The node's pack says where its outbox starts (`floor`):
everything below it was acknowledged earlier, so the watermark may jump there (this also heals a
gateway whose store was replaced). Ranges committed above a gap wait (the store keeps them, see
gateway/store.py) until the gap is filled.
"""

from __future__ import annotations

from collections.abc import Iterable

from contract.senml import contiguous_ranges


class Watermark:
    def __init__(self, acked: int = 0) -> None:
        self.acked = acked
        self.above: list[tuple[int, int]] = []  # disjoint committed ranges above acked + 1

    def commit(self, seqs: Iterable[int], floor: int | None = None) -> int:
        if floor is not None and floor - 1 > self.acked:
            self.acked = floor - 1
        ranges = sorted(self.above + contiguous_ranges(s for s in seqs if s > self.acked))
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
