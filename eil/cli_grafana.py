"""`eil grafana render DIR` and `eil grafana push`: the dashboards of dashboards/ as files for
Grafana's provisioning, or straight into a running Grafana (docs/sinks.md)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.errors import EilError


def cmd_render(args: argparse.Namespace) -> int:
    from dashboards.provisioning import Targets
    from dashboards.render import render

    targets = Targets(victoria_url=args.victoria_url, influx_url=args.influx_url,
                      influx_database=args.influx_database, dashboards_path=args.dashboards_path,
                      flavor=args.flavor)
    paths, changed = render(Path(args.dir), targets)
    print(f"{changed} written, {len(paths) - changed} unchanged in {args.dir}: copy "
          f"{args.dir}/provisioning/* to /etc/grafana/provisioning/ and {args.dir}/dashboards/* "
          f"to {args.dashboards_path}/")
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    from dashboards.push import push

    try:
        token = Path(args.token_file).read_text().strip()
    except OSError as exc:
        raise EilError(f"--token-file {args.token_file}: cannot read: {exc.strerror}") from exc
    if not token:
        raise EilError(f"--token-file {args.token_file} is empty: put a Grafana service "
                       "account token in it")
    from grafana_client.client import GrafanaException

    try:
        done = push(args.url, token, args.flavor)
    except GrafanaException as exc:
        raise EilError(f"Grafana at {args.url} refused: {exc}") from exc
    except OSError as exc:
        raise EilError(f"cannot reach Grafana at {args.url}: {exc}") from exc
    print(("folder EIL created; " if done.folder_created else "") +
          f"{len(done.created)} dashboards created, {len(done.updated)} updated, "
          f"{len(done.unchanged)} unchanged")
    return 0


def add_parser(sub: Any) -> None:
    g = sub.add_parser("grafana", help="Grafana dashboards as code: render files, or push")
    gsub = g.add_subparsers(dest="grafana_cmd", required=True)
    r = gsub.add_parser("render", help="write dashboards and provisioning files into DIR")
    r.add_argument("dir")
    r.add_argument("--flavor", choices=["prometheus", "influxql"], default="prometheus",
                   help="which data source Grafana's provisioning loads (both are rendered)")
    r.add_argument("--victoria-url", default="http://127.0.0.1:8428")
    r.add_argument("--influx-url", default="http://127.0.0.1:8086")
    r.add_argument("--influx-database", default="eil")
    r.add_argument("--dashboards-path", default="/var/lib/grafana/dashboards/eil",
                   help="where Grafana finds the dashboard files")
    r.set_defaults(func=cmd_render)
    p = gsub.add_parser("push", help="create or update the EIL folder and dashboards by uid")
    p.add_argument("--url", required=True, help="Grafana's address, e.g. http://grafana:3000")
    p.add_argument("--token-file", required=True, help="a service account token, in a file")
    p.add_argument("--flavor", choices=["prometheus", "influxql"], default="prometheus")
    p.set_defaults(func=cmd_push)
