"""The council panel's shaping of signals, on literal data: site totals as they are, per-node
signals grouped under their worst member, and the CSV export giving every member its row."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from gateway.store.signal_history import SignalStore
from gateway.web.api_signals import _csv, site_panel, spark


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
    panel = site_panel(SIGNALS, None, 0)
    assert [e["id"] for e in panel] == ["water.use@site", "soil.sowing_temperature@*",
                                        "weather.frost@wx"]
    group = panel[1]
    assert group["worst"] == "soil.sowing_temperature@bed-2" and group["value"] == 9.0
    assert group["counts"] == {"shortfall": 1, "safe": 1, "overshoot": 0, "none": 1}
    assert [m["scope"] for m in group["members"]] == ["bed-1", "bed-2", "bed-3"]
    assert panel[2]["scope"] == "wx" and not panel[2].get("group")  # one member: as it is


def test_csv_export_has_a_row_per_member_with_its_own_threshold() -> None:
    panel = {"signals": site_panel(SIGNALS, None, 0)}
    rows = list(csv.DictReader(io.StringIO(_csv(panel, {s["id"]: s for s in SIGNALS}))))
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
        store.db.executemany("INSERT INTO signal_values VALUES (?,?,'s','x',?,'%',NULL,0,NULL)", rows)
        young = spark(store, "soil.depletion@bed-1", now)
        assert [v for _, v in young] == [15.0, 14.0, 13.0, 12.0, 11.0, 10.0]  # every run its point
        old = spark(store, "water.use@site", now)
        assert len(old) == 60 and old[0][0] >= now - 30 * 24 * hour  # 30 days, 12-hour means
        assert old[-1] == [now - 6 * hour, 3.0] and old[0][1] == (720 + 714 + 708) / 3
        assert spark(store, "no.such@signal", now) == []
