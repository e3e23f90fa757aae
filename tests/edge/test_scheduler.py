from __future__ import annotations

from core.clock import ManualClock
from edge.scheduler import Schedule


def test_sensors_fire_at_their_own_intervals_without_sleeping() -> None:
    clock = ManualClock(1000.0)
    sched = Schedule([10.0, 25.0], clock.now())
    fired: list[tuple[float, list[int]]] = []
    while clock.now() <= 1050.0:
        due = sched.pop_due(clock.now())
        if due:
            fired.append((clock.now(), due))
        clock.wait_until(sched.next_due(), stop=None, max_real_s=0)  # type: ignore[arg-type]
    assert fired == [(1000.0, [0, 1]), (1010.0, [0]), (1020.0, [0]), (1025.0, [1]),
                     (1030.0, [0]), (1040.0, [0]), (1050.0, [0, 1])]


def test_missed_slots_are_skipped_not_replayed() -> None:
    sched = Schedule([10.0], 0.0)
    assert sched.pop_due(0.0) == [0]
    assert sched.pop_due(95.0) == [0]  # one reading after a long stall, not nine
    assert sched.next_due() == 100.0
