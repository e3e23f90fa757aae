"""Readings and signal values as line-protocol points (docs/sinks.md has the mapping).

One point per reading, identified in the database by measurement, tags and the node's own
millisecond timestamp: writing it again overwrites it with the same value (InfluxDB), or is
removed by deduplication (VictoriaMetrics with -dedup.minScrapeInterval=1ms). Escaping is
influxdb-client's (Point).
"""

from __future__ import annotations

from dataclasses import dataclass

from influxdb_client import Point, WritePrecision

from gateway.store.rows import ExportRow, SignalValue

READING, EVENT, SIGNAL, SINK = "eil_reading", "eil_event", "eil_signal", "eil_sink"


@dataclass(frozen=True, slots=True)
class Line:
    what: str  # which reading or signal value, for a refusal's record
    text: str  # the point in line protocol


def reading_line(r: ExportRow, strings: bool) -> Line | None:
    """The reading as a point; None for a gauge or counter without a value, which is never
    written as 0 (ingest refuses such a reading, so the store holds none). `strings` False
    writes events without their text: VictoriaMetrics keeps numbers only."""
    if r.kind == "event":
        p = Point(EVENT).tag("site", r.site).tag("node", r.node).tag("name", r.name)
        p.field("value", 1.0)
        if strings and r.text is not None:
            p.field("text", r.text)
    else:
        p = Point(READING).tag("site", r.site).tag("node", r.node).tag("quantity", r.name)
        p.tag("unit", r.unit).tag("kind", r.kind)
        if r.cal is not None:
            p.tag("cal", r.cal)
        if r.value is None:
            return None
        p.field("value", float(r.value))
        if r.q is not None:
            p.field("q", int(r.q))
    p.time(r.t_ms, WritePrecision.MS)
    return Line(f"{r.node} seq {r.seq}", p.to_line_protocol())


def signal_line(site: str, t_ms: int, v: SignalValue, strings: bool) -> Line:
    p = Point(SIGNAL).tag("site", site).tag("signal", v.signal).tag("scope", v.scope)
    p.tag("unit", v.unit)
    if v.series is not None:  # the series it is computed from, labelled as readings are
        node, _, quantity = v.series.partition("/")
        p.tag("node", node).tag("quantity", quantity)
    if v.value is not None:
        p.field("value", float(v.value))
    p.field("alert", int(v.alert))
    if v.lower is not None:
        p.field("lower", float(v.lower))
    if v.upper is not None:
        p.field("upper", float(v.upper))
    for name, level in v.lines:
        p.field(name, float(level))
    if strings and v.band is not None:
        p.field("band", v.band)
    p.time(t_ms, WritePrecision.MS)
    return Line(f"signal {v.id} at {t_ms}", p.to_line_protocol())


def sink_line(site: str, sink: str, t_ms: int, behind: int, behind_s: float | None,
              written: int, refused: int) -> Line:
    """The sink's own state, written with its batches: fleet health shows its lag."""
    p = Point(SINK).tag("site", site).tag("sink", sink).field("behind", int(behind))
    p.field("behind_s", float(behind_s or 0.0)).field("written", int(written))
    p.field("refused", int(refused)).time(t_ms, WritePrecision.MS)
    return Line(f"sink {sink} at {t_ms}", p.to_line_protocol())
