"""An InfluxQL query for Grafana's InfluxDB data source, in grafana-foundation-sdk's terms:
grafana-foundation-sdk builds Prometheus queries but has no InfluxDB query type."""

from __future__ import annotations

import typing

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models.dashboard import DataSourceRef


class InfluxQLQuery(cogvariants.Dataquery):
    """A raw InfluxQL query ("rawQuery": Grafana sends it as written, with $timeFilter and
    $__interval filled in)."""

    def __init__(self) -> None:
        self.ref_id = ""
        self.query = ""
        self.alias: str | None = None
        self.result_format = "time_series"
        self.datasource: DataSourceRef | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"refId": self.ref_id, "query": self.query, "rawQuery": True,
                                  "resultFormat": self.result_format}
        if self.alias is not None:
            out["alias"] = self.alias
        if self.datasource is not None:
            out["datasource"] = self.datasource
        return out


class InfluxQL(cogbuilder.Builder[InfluxQLQuery]):
    def __init__(self) -> None:
        self._internal = InfluxQLQuery()

    def build(self) -> InfluxQLQuery:
        return self._internal

    def query(self, query: str) -> typing.Self:
        self._internal.query = query
        return self

    def ref_id(self, ref_id: str) -> typing.Self:
        self._internal.ref_id = ref_id
        return self

    def alias(self, alias: str) -> typing.Self:
        self._internal.alias = alias
        return self

    def table(self) -> typing.Self:
        self._internal.result_format = "table"
        return self

    def datasource(self, ref: DataSourceRef) -> typing.Self:
        self._internal.datasource = ref
        return self
