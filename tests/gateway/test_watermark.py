from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.ingest.watermark import Watermark


@given(st.integers(1, 300).flatmap(lambda n: st.permutations(range(1, n + 1)).map(
    lambda p: (n, p))), st.integers(1, 20))
def test_any_arrival_order_ends_at_the_last_seq(case: tuple[int, list[int]], chunk: int) -> None:
    n, order = case
    wm = Watermark()
    for i in range(0, n, chunk):
        before = wm.acked
        wm.commit(order[i:i + chunk])
        assert wm.acked >= before  # never moves back
        assert set(range(1, wm.acked + 1)) <= set(order[:i + chunk])  # never acks a gap
    assert wm.acked == n and wm.above == []


def test_gap_holds_the_watermark_until_filled() -> None:
    wm = Watermark()
    assert wm.commit([1, 2, 3, 7, 8]) == 3
    assert wm.commit([5, 6]) == 3
    assert wm.commit([4]) == 8


def test_floor_lets_the_watermark_jump_over_what_the_node_no_longer_holds() -> None:
    wm = Watermark(acked=0)  # e.g. a gateway whose store was replaced
    assert wm.commit([501, 502], floor=501) == 502
    assert wm.commit([400], floor=300) == 502  # an old floor never moves it back
