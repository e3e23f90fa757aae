"""Hand-off of readings buffered upstream of the node, on a microcontroller, which may free them
only once the node has committed them to its outbox.

A driver that takes such readings stages a mark with them (for the firmware bridge: the MCU boot
and the sequence number after the last reading returned). The agent commits the staged marks in
the same outbox transaction as the readings, then tells the driver, which tells the MCU. After a
kill -9 the outbox holds either both the readings and their mark or neither, so a restarted node
resumes exactly where its committed data ends: nothing lost, nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

Mark = tuple[int, int]  # (upstream boot id, next sequence number)


class Handoff:
    def __init__(self, committed: Mapping[str, Mark] | None = None) -> None:
        self.marks: dict[str, Mark] = dict(committed or {})
        self.staged: dict[str, Mark] = {}
        self.listeners: dict[str, Callable[[Mark], None]] = {}

    def mark(self, source: str) -> Mark | None:
        """Where the committed data of `source` ends (None: nothing committed yet)."""
        return self.marks.get(source)

    def latest(self, source: str) -> Mark | None:
        """Where the data of `source` taken so far ends: its staged mark (taken, not yet
        committed) or else its committed one. A source reading again before the agent's next
        commit starts here, so it takes nothing twice."""
        return self.staged.get(source) or self.marks.get(source)

    def stage(self, source: str, mark: Mark) -> None:
        self.staged[source] = mark

    def take_staged(self) -> dict[str, Mark]:
        staged, self.staged = self.staged, {}
        return staged

    def committed(self, marks: Mapping[str, Mark]) -> None:
        self.marks.update(marks)
        for source, mark in marks.items():
            if (listener := self.listeners.get(source)) is not None:
                listener(mark)

    def listen(self, source: str, listener: Callable[[Mark], None]) -> None:
        self.listeners[source] = listener

    def unlisten(self, source: str) -> None:
        self.listeners.pop(source, None)
