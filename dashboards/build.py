"""The catalog's dashboards built with grafana-foundation-sdk, for one data source flavour:
"prometheus" (PromQL, a Prometheus-type data source on VictoriaMetrics) or "influxql" (an
InfluxDB data source). Panels are laid out in rows of 24 grid units, two halves or one whole,
so nothing overlaps; uids are fixed, so a dashboard keeps its address and its history."""

from __future__ import annotations

import json
import re
from typing import Any

from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef, GridPos

from dashboards.catalog import DASHBOARDS, DashboardSpec, PanelSpec, Query, Variable
from dashboards.influxql import InfluxQL

FLAVORS = ("prometheus", "influxql")
DATASOURCES = {  # uid, plugin type, name: provisioning.py declares exactly these
    "prometheus": ("eil-victoriametrics", "prometheus", "EIL VictoriaMetrics"),
    "influxql": ("eil-influxdb", "influxdb", "EIL InfluxDB (InfluxQL)"),
}
PANEL_HEIGHT = 8


def datasource(flavor: str) -> DataSourceRef:
    uid, kind, _ = DATASOURCES[flavor]
    return DataSourceRef(type_val=kind, uid=uid)


def uid(spec: DashboardSpec, flavor: str) -> str:
    return spec.uid if flavor == "prometheus" else f"{spec.uid}-influxql"


def _alias(legend: str) -> str:
    """Prometheus legend {{node}} -> InfluxQL alias $tag_node."""
    return re.sub(r"\{\{(\w+)\}\}", r"$tag_\1", legend)


def _target(q: Query, ref: str, flavor: str, instant: bool) -> Any:
    if flavor == "prometheus":
        prom = (prometheus.Dataquery().expr(q.promql).legend_format(q.legend).ref_id(ref)
                .datasource(datasource(flavor)))
        return prom.instant() if instant else prom
    influx = InfluxQL().query(q.influxql).alias(_alias(q.legend)).ref_id(ref).datasource(
        datasource(flavor))
    return influx.table() if instant else influx


def _panel(p: PanelSpec, flavor: str, pos: GridPos, panel_id: int) -> Any:
    builder: Any
    if p.kind == "stat":
        builder = stat.Panel()
    elif p.kind == "table":
        builder = table.Panel()
    else:
        builder = timeseries.Panel().line_width(1).fill_opacity(10).span_nulls(True)
    builder = (builder.id(panel_id).title(p.title).description(p.description).unit(p.unit)
               .datasource(datasource(flavor)).grid_pos(pos))
    for i, q in enumerate(p.queries):
        builder = builder.with_target(_target(q, chr(ord("A") + i), flavor,
                                              p.kind in ("stat", "table")))
    if p.repeat is not None:  # one panel per value of the variable, side by side
        builder = builder.repeat(p.repeat).repeat_direction("h")
    return builder


def _variable(v: Variable, flavor: str) -> Any:
    query = v.promql if flavor == "prometheus" else v.influxql
    var = (gd.QueryVariable(v.name).label(v.label).query(query).datasource(datasource(flavor))
           .refresh(gd.dashboard.VariableRefresh.ON_TIME_RANGE_CHANGED)
           .sort(gd.dashboard.VariableSort.ALPHABETICAL_ASC))
    return var.multi(True).include_all(True) if v.multi else var


def layout(panels: tuple[PanelSpec, ...]) -> list[GridPos]:
    """Left to right, top to bottom: a half-width panel beside the next half-width one."""
    out, x, y = [], 0, 0
    for p in panels:
        if x + p.width > 24:
            x, y = 0, y + PANEL_HEIGHT
        out.append(GridPos(h=PANEL_HEIGHT, w=p.width, x=x, y=y))
        x += p.width
    return out


def build(spec: DashboardSpec, flavor: str) -> dict[str, Any]:
    """The dashboard's JSON model (a dict, as Grafana's API and file provisioning take it)."""
    d = (gd.Dashboard(spec.title).uid(uid(spec, flavor)).description(spec.description)
         .tags([*spec.tags, flavor]).time(spec.time_from, "now").refresh("1m")
         .timezone("browser").editable())
    for v in spec.variables:
        d = d.with_variable(_variable(v, flavor))
    for i, (p, pos) in enumerate(zip(spec.panels, layout(spec.panels), strict=True)):
        d = d.with_panel(_panel(p, flavor, pos, i + 1))
    model: dict[str, Any] = json.loads(json.dumps(d.build(), cls=JSONEncoder))
    for panel in model["panels"]:
        if panel.get("options") is None:  # unset in the builder: Grafana's defaults apply
            panel.pop("options", None)
    return model


def all_dashboards(flavor: str) -> dict[str, dict[str, Any]]:
    """uid -> model, for every dashboard of the catalog."""
    return {uid(spec, flavor): build(spec, flavor) for spec in DASHBOARDS}


def to_json(model: dict[str, Any]) -> str:
    """The bytes a rendered dashboard file holds: sorted keys, so a render is reproducible."""
    return json.dumps(model, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
