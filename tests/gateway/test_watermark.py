from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.store.watermark import Anomaly, Watermark, too_far_ahead


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
    wm = Watermark(acked=0, fresh=True)  # first contact, e.g. a gateway whose store was replaced
    assert wm.commit([501, 502], floor=501) == 502
    assert wm.commit([400], floor=300) == 502  # an old floor never moves it back
    assert wm.anomalies == []


def test_a_floor_far_ahead_of_a_known_node_moves_nothing_and_is_reported() -> None:
    """The forged pack of issue 13: seqs around 1,000,000 with bfloor to match, on the topic
    of a node the store already knows up to 392."""
    wm = Watermark(acked=392)
    assert wm.commit([1_000_000, 1_000_001], floor=1_000_000) == 392
    assert wm.anomalies == [Anomaly("floor", 1_000_000, 392)]
    assert wm.commit(range(393, 401), floor=393) == 400  # the real node goes on
    assert wm.above == [(1_000_000, 1_000_001)]


def test_only_the_first_message_of_an_unknown_node_is_believed() -> None:
    wm = Watermark(fresh=True)
    assert wm.commit([1, 2], floor=1) == 2
    assert wm.commit([900], floor=900) == 2  # no longer fresh
    assert [a.kind for a in wm.anomalies] == ["floor"]


@given(st.integers(0, 10**6), st.integers(1, 10**6), st.integers(1, 10**5), st.booleans())
def test_too_far_ahead_is_relative_to_what_the_store_believes(acked: int, jump: int,
                                                              limit: int, fresh: bool) -> None:
    seqs = [acked + jump]
    top = too_far_ahead(seqs, None, acked, fresh, limit)
    assert top == (acked + jump if jump > limit else None)
    # a fresh node's floor is believed, so a pack just above it is in range
    assert too_far_ahead(seqs, acked + jump, 0, True, limit) is None
    # a known node's floor is not
    assert too_far_ahead(seqs, acked + jump, acked, False, limit) == top
