"""Grafana's file provisioning for the EIL dashboards: the data sources they name (by uid)
and a dashboard provider that loads the rendered JSON files from a folder. Grafana reads these
from /etc/grafana/provisioning/ at start; `$EIL_INFLUX_TOKEN` is expanded by Grafana from its
environment, so no secret is written here."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from dashboards.build import DATASOURCES

FOLDER_UID, FOLDER_TITLE = "eil", "EIL"


@dataclass(frozen=True)
class Targets:
    victoria_url: str = "http://127.0.0.1:8428"
    influx_url: str = "http://127.0.0.1:8086"
    influx_database: str = "eil"  # the bucket (InfluxDB 2: mapped for InfluxQL with a DBRP)
    dashboards_path: str = "/var/lib/grafana/dashboards/eil"  # where DIR/dashboards is copied
    flavor: str = "prometheus"  # which data source and dashboards Grafana loads


def datasources_yaml(t: Targets) -> str:
    vm_uid, vm_type, vm_name = DATASOURCES["prometheus"]
    ix_uid, ix_type, ix_name = DATASOURCES["influxql"]
    sources = [
        {"name": vm_name, "type": vm_type, "uid": vm_uid, "access": "proxy",
         "url": t.victoria_url, "isDefault": True, "editable": False,
         "jsonData": {"timeInterval": "60s", "httpMethod": "POST"}},
        {"name": ix_name, "type": ix_type, "uid": ix_uid, "access": "proxy",
         "url": t.influx_url, "editable": False,
         "jsonData": {"dbName": t.influx_database, "httpMode": "POST",
                      "httpHeaderName1": "Authorization"},
         "secureJsonData": {"httpHeaderValue1": "Token $EIL_INFLUX_TOKEN"}},
    ]
    chosen = [s for s in sources if s["uid"] == DATASOURCES[t.flavor][0]]
    return yaml.safe_dump({"apiVersion": 1, "datasources": chosen}, sort_keys=True)


def dashboards_yaml(t: Targets) -> str:
    doc = {"apiVersion": 1, "providers": [
        {"name": "eil", "type": "file", "folder": FOLDER_TITLE, "folderUid": FOLDER_UID,
         "disableDeletion": False, "allowUiUpdates": False, "updateIntervalSeconds": 60,
         "options": {"path": f"{t.dashboards_path}/{t.flavor}",
                     "foldersFromFilesStructure": False}}]}
    return yaml.safe_dump(doc, sort_keys=True)
