"""The council panel's shaping of signals, on literal data: site totals as they are, per-node
signals grouped under their worst member, and the CSV export giving every member its row."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from gateway.signals.panel import panel_csv, site_panel
from gateway.store.rows import SignalValue
from gateway.store.signal_history import SignalStore


def sig(sid: str, value: float | None, band: str | None, distance: float | None = None,
        lower: float | None = None) -> dict:  # type: ignore[type-arg]
    signal, _, scope = sid.partition("@")
    return {"id": sid, "signal": signal, "scope": scope, "value": value, "unit": "Cel",
            "band": band, "alert": band == "shortfall", "distance": distance,
            "threshold": None if lower is None else {"lower": lower, "upper": None,
                                                     "source": f"minimum {lower}"},
            "time_to_threshold_s": None, "note": None, "title": "Soil temperature for sowing"}


SIGNALS = [sig("water.use@site", 120.0, None),
           sig("soil.sowing_temperature@bed-1", 14.0, "safe", 0.0, 10.0),
           sig("soil.sowing_temperature@bed-2", 9.0, "shortfall", 0.4, 15.6),
           sig("soil.sowing_temperature@bed-3", None, None),
           sig("weather.frost@wx", 4.0, "safe", 0.0, 0.0)]


def test_groups_lead_with_the_worst_member_and_totals_come_first() -> None:
    panel = site_panel(SIGNALS, lambda sid: [])
    assert [e["id"] for e in panel] == ["water.use@site", "soil.sowing_temperature@*",
                                        "weather.frost@wx"]
    group = panel[1]
    assert group["worst"] == "soil.sowing_temperature@bed-2" and group["value"] == 9.0
    assert group["counts"] == {"shortfall": 1, "safe": 1, "overshoot": 0, "none": 1}
    assert [m["scope"] for m in group["members"]] == ["bed-1", "bed-2", "bed-3"]
    assert panel[2]["scope"] == "wx" and not panel[2].get("group")  # one member: as it is


def test_csv_export_has_a_row_per_member_with_its_own_threshold() -> None:
    panel = {"signals": site_panel(SIGNALS, lambda sid: [])}
    rows = list(csv.DictReader(io.StringIO(panel_csv(panel, {s["id"]: s for s in SIGNALS}))))
    assert [(r["scope"], r["signal"]) for r in rows] == [
        ("site", "water.use"), ("bed-1", "soil.sowing_temperature"),
        ("bed-2", "soil.sowing_temperature"), ("bed-3", "soil.sowing_temperature"),
        ("wx", "weather.frost")]
    bed2 = rows[2]
    assert (bed2["value"], bed2["band"], bed2["lower"], bed2["threshold_source"], bed2["alert"]
            ) == ("9.0", "shortfall", "15.6", "minimum 15.6", "1")
    assert rows[3]["value"] == "" and rows[3]["band"] == ""


def test_sparkline_spans_the_history_there_is_up_to_30_days(tmp_path: Path) -> None:
    hour = 3_600_000
    now = 400 * 24 * hour
    with SignalStore(tmp_path / "signals.db") as store:
        rows = [("soil.depletion@bed-1", now - k * hour, 10.0 + k) for k in range(6)]  # 5 h young
        rows.append(("soil.depletion@bed-1", now - 6 * hour, None))  # a run without a value
        rows += [("water.use@site", now - k * hour, float(k)) for k in range(0, 24 * 40, 6)]
        store.load((t, SignalValue(sid, "s", "x", v, "%", None, False, None)) for sid, t, v in rows)
        young = store.sparkline("soil.depletion@bed-1", now)
        assert [v for _, v in young] == [15.0, 14.0, 13.0, 12.0, 11.0, 10.0]  # every run its point
        old = store.sparkline("water.use@site", now)
        assert len(old) == 60 and old[0][0] >= now - 30 * 24 * hour  # 30 days, 12-hour means
        assert old[-1] == [now - 6 * hour, 3.0] and old[0][1] == (720 + 714 + 708) / 3
        assert store.sparkline("no.such@signal", now) == []


def test_a_groups_sparkline_is_its_worst_members() -> None:
    sparks = {"soil.sowing_temperature@bed-2": [[1.0, 9.0]], "water.use@site": [[1.0, 120.0]]}
    panel = site_panel(SIGNALS, lambda sid: sparks.get(sid, []))
    assert [e["history"] for e in panel] == [[[1.0, 120.0]], [[1.0, 9.0]], []]


def test_garden_view_on_literal_signals_and_moisture() -> None:
    from gateway.signals.config import load_config
    from gateway.signals.garden import garden_view

    hour = 3_600_000
    signals = [
        {"id": "soil.depletion@soil-1", "signal": "soil.depletion", "scope": "soil-1", "t": 9,
         "value": 1.2, "band": "overshoot", "numbers": {"p": 0.45}},
        {"id": "soil.irrigation_need@soil-1", "signal": "soil.irrigation_need",
         "scope": "soil-1", "t": 9, "value": 31.0, "band": None},
        {"id": "weather.frost@wx", "signal": "weather.frost", "scope": "wx", "t": 9,
         "value": -1.0, "band": "shortfall"}]
    # hourly moisture: a rise of 3 %-points between the 2nd and 3rd hour is a wetting
    moisture = {("soil-1", "soil.moisture"): ("%", [0, hour, 2 * hour], [20.0, 19.5, 22.5])}
    g = garden_view(signals, load_config(None), 10 * hour,
                    lambda node, name, since, until, points: moisture[(node, name)])
    (bed,) = g["beds"]
    assert bed["water_now"] is True and bed["litres"] == 31.0
    assert bed["moisture"]["latest"] == 22.5 and bed["last_wetting_ms"] == 2 * hour
    # loam (FAO-56 Table 19: 0.25 / 0.12) with the signal's own p of 0.45
    assert bed["moisture"]["readily_available"] == (0.25 - 0.45 * (0.25 - 0.12)) * 100
    assert g["frost"]["value"] == -1.0 and g["computed_ms"] == 9
