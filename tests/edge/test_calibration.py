"""Calibration fitting, identities and the book."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.calibration import Calibration, CalibrationBook, CalibrationError, fit


def test_methods_fit_the_hand_computed_maps() -> None:
    assert fit("two_point", [(2.8, 5.0), (1.4, 45.0)]) == pytest.approx((-28.5714285, 85.0))
    # pH 4 / 7 / 10 buffers read 4.1 / 7.2 / 10.3: least squares gain 30/31, offset 7 - 7.2*g
    gain, offset = fit("multi_point", [(4.1, 4.0), (7.2, 7.0), (10.3, 10.0)])
    assert gain == pytest.approx(3 / 3.1) and offset == pytest.approx(7.0 - 7.2 * 3 / 3.1)
    assert fit("k_factor", [(4725.0, 10.0)]) == pytest.approx((10.0 / 4725.0, 0.0))


@pytest.mark.parametrize(("method", "points", "reason"), [
    ("two_point", [(1.0, 1.0)], "exactly two points"),
    ("two_point", [(1.0, 1.0), (1.0, 5.0)], "same raw value"),
    ("k_factor", [(0.0, 10.0)], "positive raw count"),
    ("k_factor", [(1.0, 1.0), (2.0, 2.0)], "one point"),
    ("spline", [(1.0, 1.0)], "unknown method 'spline'"),
])
def test_bad_points_are_refused_with_the_reason(method: str, points: list, reason: str) -> None:
    with pytest.raises(CalibrationError, match=reason):
        fit(method, points)


@given(st.floats(-1e3, 1e3), st.floats(0.01, 1e3), st.floats(-1e3, 1e3), st.floats(0.01, 100))
def test_two_points_are_reproduced_exactly(raw1: float, span: float, ref1: float,
                                           ref_span: float) -> None:
    raw2, ref2 = raw1 + span, ref1 + ref_span
    gain, offset = fit("two_point", [(raw1, ref1), (raw2, ref2)])
    assert gain * raw1 + offset == pytest.approx(ref1, abs=1e-6 * (1 + abs(ref1)) + 1e-6)
    assert gain * raw2 + offset == pytest.approx(ref2, abs=1e-6 * (1 + abs(ref2)) + 1e-6)


def test_identity_is_a_hash_of_the_content(tmp_path: Path) -> None:
    a = Calibration("s", "t", "k_factor", ((450.0, 1.0),), 1 / 450, 0.0, at=5.0, note="bucket")
    b = Calibration("s", "t", "k_factor", ((450.0, 1.0),), 1 / 450, 0.0, at=5.0, note="bucket")
    c = Calibration("s", "t", "k_factor", ((451.0, 1.0),), 1 / 451, 0.0, at=5.0, note="bucket")
    assert a.id == b.id != c.id and a.id.startswith("c-") and len(a.id) == 14
    book = CalibrationBook(tmp_path / "cal.json")
    book.add(a)
    doc = json.loads((tmp_path / "cal.json").read_text())
    assert doc["calibrations"][0]["points"] == [[450.0, 1.0]]
    assert Calibration.from_json(doc["calibrations"][0]) == a


def test_a_damaged_book_is_an_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "cal.json").write_text("{not json")
    with pytest.raises(CalibrationError, match="cal.json: not a calibration book"):
        CalibrationBook(tmp_path / "cal.json")
