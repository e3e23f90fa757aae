"""`eil grafana push --url URL --token-file F`: the EIL folder and dashboards into a running
Grafana through its HTTP API (grafana-client), by uid: created when missing, overwritten when
different, left alone when the same, so a second push changes nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from dashboards.build import all_dashboards
from dashboards.provisioning import FOLDER_TITLE, FOLDER_UID

log = logging.getLogger("eil.grafana")
# what Grafana adds to a stored dashboard: not ours to compare
_SERVER_KEYS = ("id", "version", "iteration")


@dataclass
class Pushed:
    folder_created: bool = False
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _ours(model: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in model.items() if k not in _SERVER_KEYS}


def push(url: str, token: str, flavor: str = "prometheus", timeout_s: float = 10.0) -> Pushed:
    from grafana_client import GrafanaApi
    from grafana_client.client import GrafanaClientError

    api = GrafanaApi.from_url(url, credential=token, timeout=timeout_s)
    out = Pushed()
    try:
        api.folder.get_folder(FOLDER_UID)
    except GrafanaClientError as exc:
        if exc.status_code != 404:
            raise
        api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID)
        out.folder_created = True
    for uid, model in all_dashboards(flavor).items():
        try:
            existing = api.dashboard.get_dashboard(uid)
        except GrafanaClientError as exc:
            if exc.status_code != 404:
                raise
            existing = None
        if existing is not None and _ours(existing["dashboard"]) == _ours(model) and \
                existing.get("meta", {}).get("folderUid") == FOLDER_UID:
            out.unchanged.append(uid)
            continue
        api.dashboard.update_dashboard({"dashboard": _ours(model), "folderUid": FOLDER_UID,
                                        "overwrite": True,
                                        "message": "eil grafana push (dashboards/)"})
        (out.updated if existing is not None else out.created).append(uid)
    return out
