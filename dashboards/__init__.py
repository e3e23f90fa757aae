"""Grafana dashboards as code, for sites that also run Grafana on the database a sink feeds
(gateway/sinks/, docs/sinks.md).

    catalog.py       the five dashboards as data: panels, units, a PromQL and an InfluxQL query
    influxql.py      an InfluxQL query type for grafana-foundation-sdk (it has none)
    build.py         catalog -> grafana-foundation-sdk builders -> dashboard JSON, laid out
    provisioning.py  Grafana's file provisioning: data sources and the dashboard provider
    render.py        `eil grafana render DIR`: every file, byte-identical from run to run
    push.py          `eil grafana push`: folder and dashboards through Grafana's HTTP API

The gateway's own views (gateway/web/) need none of this.
"""
