"""The gateway's HTTP app (FastAPI: a JSON API with an OpenAPI schema, and static pages)."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import FileResponse

from eil import __version__
from gateway.store import Store

STATIC = Path(__file__).parent
OFFLINE_AFTER_S = 300.0  # no message for this long and no retained status: shown offline


def create_app(store: Store) -> FastAPI:
    app = FastAPI(title="EIL gateway", version=__version__)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> FileResponse:
        if name not in ("app.js", "style.css"):
            raise HTTPException(404, f"no static file {name!r}")
        return FileResponse(STATIC / name)

    @app.get("/api/v1/nodes")
    def nodes() -> list[dict[str, object]]:
        """Every node: online state (retained MQTT status, or silence), last seen, ack lag."""
        now = time.time()
        out = store.node_summary()
        for n in out:
            last_seen = n["last_seen"]
            silent = not isinstance(last_seen, float) or now - last_seen > OFFLINE_AFTER_S
            n["online"] = n["state"] == "online" and not silent
        return out

    @app.get("/api/v1/latest")
    def latest() -> list[dict[str, object]]:
        """The newest stored value of every quantity of every node, with its unit."""
        return store.latest()

    @app.get("/api/v1/dead-letters")
    def dead_letters(limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, object]]:
        """Messages and records the gateway refused, newest first, with the reason."""
        return store.dead_letters(limit)

    return app
