"""The dashboards as data. Every panel has a PromQL query (a Prometheus-type data source on
VictoriaMetrics) and an InfluxQL one (an InfluxDB data source), over what the InfluxDB sink
writes (docs/sinks.md): eil_reading (value, q) tagged site, node, quantity, unit, kind, cal;
eil_signal (value, alert, lower, upper and a soil bed's levels) tagged site, signal, scope,
unit, and node and quantity of the series it is computed from; eil_sink (behind, behind_s)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Query:
    promql: str
    influxql: str
    legend: str  # Prometheus style, {{label}}; the InfluxQL alias is made from it


@dataclass(frozen=True)
class PanelSpec:
    title: str
    description: str
    unit: str  # Grafana's unit id
    queries: tuple[Query, ...]
    kind: str = "timeseries"  # or "stat", "table"
    width: int = 12
    repeat: str | None = None  # a variable: one panel per value


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    promql: str  # label_values(...)
    influxql: str  # SHOW TAG VALUES ...
    multi: bool = False  # several values at once (and "All"): a repeated panel's variable


@dataclass(frozen=True)
class DashboardSpec:
    uid: str
    title: str
    description: str
    tags: tuple[str, ...]
    variables: tuple[Variable, ...]
    panels: tuple[PanelSpec, ...]
    time_from: str = "now-7d"


SITE = Variable("site", "Site", "label_values(eil_reading_value, site)",
                'SHOW TAG VALUES FROM "eil_reading" WITH KEY = "site"')
BED = Variable("node", "Bed node",
               'label_values(eil_signal_field_capacity{site="$site"}, node)',
               'SHOW TAG VALUES FROM "eil_signal" WITH KEY = "node" WHERE "site" = \'$site\' '
               'AND "signal" = \'soil.depletion\'', multi=True)
GROUP = 'GROUP BY time($__interval), "node", "quantity" fill(none)'


def readings(quantity: str, title: str = "", fn: str = "") -> Query:
    r"""A quantity of every node of the site (`quantity`: the name's end, a regex such as
    r'soil\.moisture'; a sensor prefix like 'bed-1.' may come before it). `fn`: 'increase'
    for a counter's growth per hour."""
    promql_re = quantity.replace("\\", "\\\\")  # a backslash in a PromQL string is doubled
    sel = f'eil_reading_value{{site="$site",quantity=~"(.+\\\\.)?{promql_re}"}}'
    where = f'"site" = \'$site\' AND "quantity" =~ /(^|\\.){quantity}$/ AND $timeFilter'
    if fn == "increase":
        return Query(f"increase({sel}[1h])",
                     f'SELECT non_negative_difference(last("value")) FROM "eil_reading" WHERE '
                     f'{where} GROUP BY time(1h), "node", "quantity" fill(none)',
                     title or "{{node}} {{quantity}}")
    return Query(sel, f'SELECT mean("value") FROM "eil_reading" WHERE {where} {GROUP}',
                 title or "{{node}} {{quantity}}")


def signal_field(field: str, where: str, legend: str, by: str = '"signal", "scope"') -> Query:
    promql_where = ",".join(f'{k}="{v}"' for k, v in _pairs(where))
    return Query(f"eil_signal_{field}{{site=\"$site\"{',' if promql_where else ''}{promql_where}}}",
                 f'SELECT mean("{field}") FROM "eil_signal" WHERE "site" = \'$site\''
                 + "".join(f' AND "{k}" = \'{v}\'' for k, v in _pairs(where))
                 + f" AND $timeFilter GROUP BY time($__interval), {by} fill(none)", legend)


def _pairs(where: str) -> list[tuple[str, str]]:
    return [tuple(p.split("=", 1)) for p in where.split(";") if p]  # type: ignore[misc]


OVERVIEW = DashboardSpec(
    "eil-site-overview", "EIL · Site overview",
    "Every impact signal of the site against its documented threshold (docs/signals.md).",
    ("eil",), (SITE,), (
        PanelSpec("Signals against their thresholds",
                  "Each signal with the limits of its safe operating space (dashed).", "short",
                  (signal_field("value", "", "{{signal}} {{scope}}"),
                   signal_field("upper", "", "{{signal}} {{scope}} upper limit"),
                   signal_field("lower", "", "{{signal}} {{scope}} lower limit")), width=24),
        PanelSpec("Signals in alert", "How many signals are outside their threshold now.",
                  "none", (Query('sum(last_over_time(eil_signal_alert{site="$site"}[1d]))',
                                 'SELECT sum("alert") FROM (SELECT last("alert") AS "alert" '
                                 'FROM "eil_signal" WHERE "site" = \'$site\' AND $timeFilter '
                                 'GROUP BY "signal", "scope")', "in alert"),), kind="stat"),
        PanelSpec("Energy self-sufficiency", "Share of the load the site's own PV covers, "
                  "against the share it should cover.", "percentunit",
                  (signal_field("value", "signal=energy.self_sufficiency", "{{scope}}"),
                   signal_field("lower", "signal=energy.self_sufficiency",
                                "{{scope}} minimum")))))

GARDEN = DashboardSpec(
    "eil-garden", "EIL · Garden", "Soil moisture of every bed with its field capacity, "
    "readily available water and wilting point (FAO-56; gateway/signals/soil.py).",
    ("eil", "garden"), (SITE, BED), (
        PanelSpec("Soil moisture of $node and its levels",
                  "Above readily available: no stress. Below it: water. Wilting point: "
                  "plants die.", "percent", (
                      Query('eil_reading_value{site="$site",node="$node",'
                            'quantity=~"(.+\\\\.)?soil\\\\.moisture"}',
                            'SELECT mean("value") FROM "eil_reading" WHERE "site" = \'$site\' '
                            'AND "node" = \'$node\' AND "quantity" =~ /(^|\\.)soil\\.moisture$/ '
                            f'AND $timeFilter {GROUP}', "{{quantity}}"),
                      signal_field("field_capacity", "node=$node", "field capacity", '"scope"'),
                      signal_field("readily_available", "node=$node", "readily available",
                                   '"scope"'),
                      signal_field("wilting_point", "node=$node", "wilting point", '"scope"')),
                  width=24, repeat="node"),
        PanelSpec("Soil moisture, every bed", "", "percent", (readings(r"soil\.moisture"),)),
        PanelSpec("Soil temperature", "", "celsius", (readings(r"soil\.temperature"),)),
        PanelSpec("Irrigation need", "Litres each bed needs now (0: none).", "litre",
                  (signal_field("value", "signal=soil.irrigation_need", "{{scope}}"),))))

WATER = DashboardSpec(
    "eil-water", "EIL · Water", "Irrigation flow and volume, rain tank content.",
    ("eil", "water"), (SITE,), (
        PanelSpec("Irrigation flow", "", "suffix: l/s", (readings(r"water\.flow"),)),
        PanelSpec("Irrigation per hour", "Growth of the volume counter in each hour.", "litre",
                  (readings(r"water\.volume", fn="increase"),)),
        PanelSpec("Rain tank", "", "litre", (readings(r"water\.tank"),), width=24)))

ENERGY = DashboardSpec(
    "eil-energy", "EIL · Energy", "PV output, consumption, battery.", ("eil", "energy"),
    (SITE,), (
        PanelSpec("PV and load power", "", "watt", (readings(r"(pv|load)\.power"),)),
        PanelSpec("PV energy per hour", "Growth of the PV energy counter in each hour.",
                  "watth", (readings(r"pv\.energy", fn="increase"),)),
        PanelSpec("Battery voltage", "", "volt", (readings(r"battery\.voltage"),),
                  width=24)))

FLEET = DashboardSpec(
    "eil-fleet", "EIL · Fleet health", "When each node last sent a reading, batteries, and "
    "how far each sink is behind the gateway's store.", ("eil", "fleet"), (SITE,), (
        PanelSpec("Last reading", "Seconds since each node's newest reading.", "s", (
            Query('time() - max by (node) (timestamp(eil_reading_value{site="$site"}))',
                  'SELECT last("value") FROM "eil_reading" WHERE "site" = \'$site\' AND '
                  '$timeFilter GROUP BY "node"', "{{node}}"),), kind="table"),
        PanelSpec("Battery", "", "volt", (readings(r"battery\.(voltage|soc)"),)),
        PanelSpec("Sink lag", "Readings stored at the gateway and not yet written to this "
                  "database, and the age of the oldest.", "short", (
                      Query('eil_sink_behind{site="$site"}',
                            'SELECT last("behind") FROM "eil_sink" WHERE "site" = \'$site\' AND '
                            '$timeFilter GROUP BY time($__interval), "sink" fill(none)',
                            "{{sink}} readings behind"),
                      Query('eil_sink_behind_s{site="$site"}',
                            'SELECT last("behind_s") FROM "eil_sink" WHERE "site" = \'$site\' '
                            'AND $timeFilter GROUP BY time($__interval), "sink" fill(none)',
                            "{{sink}} seconds behind")), width=24)))

DASHBOARDS = (OVERVIEW, GARDEN, WATER, ENERGY, FLEET)
