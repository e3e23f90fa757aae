"""`eil grafana render DIR`: every file Grafana needs, the same bytes on every run.

    DIR/provisioning/datasources/eil.yaml
    DIR/provisioning/dashboards/eil.yaml
    DIR/dashboards/prometheus/<uid>.json    (PromQL, on VictoriaMetrics)
    DIR/dashboards/influxql/<uid>.json      (InfluxQL, on InfluxDB)
"""

from __future__ import annotations

from pathlib import Path

from dashboards.build import FLAVORS, all_dashboards, to_json
from dashboards.provisioning import Targets, dashboards_yaml, datasources_yaml


def files(targets: Targets) -> dict[str, str]:
    """Relative path -> content."""
    out = {"provisioning/datasources/eil.yaml": datasources_yaml(targets),
           "provisioning/dashboards/eil.yaml": dashboards_yaml(targets)}
    for flavor in FLAVORS:
        for uid, model in all_dashboards(flavor).items():
            out[f"dashboards/{flavor}/{uid}.json"] = to_json(model)
    return out


def render(directory: Path, targets: Targets) -> tuple[list[Path], int]:
    """Write every file (each replaced atomically); returns them and how many changed (an
    unchanged file is not rewritten and keeps its mtime)."""
    paths, changed = [], 0
    for rel, text in files(targets).items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_text(text)
            tmp.replace(path)
            changed += 1
        paths.append(path)
    return paths, changed
