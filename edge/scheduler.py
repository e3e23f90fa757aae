"""Sampling schedule: which sensors are due at a given clock time. Pure, no sleeping."""

from __future__ import annotations

import heapq
from collections.abc import Sequence


class Schedule:
    """Sensor i is due every intervals[i] seconds, first at `start`. Missed slots (the node was
    off, or the clock jumped) are skipped, not replayed: a reading is taken when it can be."""

    def __init__(self, intervals: Sequence[float], start: float) -> None:
        self.intervals = list(intervals)
        self.heap = [(start, i) for i in range(len(intervals))]
        heapq.heapify(self.heap)

    def next_due(self) -> float:
        return self.heap[0][0]

    def pop_due(self, now: float) -> list[int]:
        due: list[int] = []
        while self.heap and self.heap[0][0] <= now:
            when, i = heapq.heappop(self.heap)
            due.append(i)
            nxt = when + self.intervals[i]
            if nxt <= now:  # skip slots we were too late for
                nxt += ((now - nxt) // self.intervals[i] + 1) * self.intervals[i]
            heapq.heappush(self.heap, (nxt, i))
        return sorted(due)
