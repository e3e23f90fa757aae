"""The gateway's HTTP app (FastAPI: a JSON API with an OpenAPI schema, and static pages)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from fastapi import FastAPI, HTTPException, Query
from fastapi import Path as Path_
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

    data_dir = store.path.parent

    @app.get("/api/v1/signals")
    def signals(scope: str | None = Query(None, max_length=100,
                                          description="a scope, or a node's prefix")
                ) -> list[dict[str, object]]:
        """The latest impact signals (as the gateway last computed and published them): value,
        unit, band, threshold and its source, alert, time to threshold, input quality."""
        from gateway.signals.publish import LATEST_FILE

        path = data_dir / LATEST_FILE
        if not path.exists():
            return []
        out = json.loads(path.read_text())
        if scope:
            out = [s for s in out if s["scope"] == scope or s["scope"].startswith(scope + "/")]
        return list(out)

    @app.get("/api/v1/signals/{signal_id}/history")
    def signal_history(signal_id: str = Path_(max_length=200),
                       hours: float = Query(48.0, gt=0, le=24 * 366)) -> dict[str, object]:
        """A signal's stored values (time ms, value, band) over the last `hours`."""
        from gateway.signals.history import SignalStore

        path = data_dir / "signals.db"
        if not path.exists():
            raise HTTPException(404, f"no signal history yet for {signal_id!r}")
        history = SignalStore(path)
        try:
            since = int((time.time() - hours * 3600) * 1000)
            rows = [r for r in history.history(signal_id) if r[0] >= since]
        finally:
            history.close()
        if not rows:
            raise HTTPException(404, f"no stored values of {signal_id!r} in the last {hours:g} h")
        return {"id": signal_id, "values": [{"t": t, "value": v, "band": b} for t, v, b in rows]}

    @app.get("/api/v1/library/catalogue")
    def library_catalogue() -> list[dict[str, object]]:
        """The tool library's catalogue with each tool's availability (public: no member data,
        no loan dates)."""
        if not (data_dir / "library.db").exists():
            return []
        from gateway.library.library import Library

        library = Library(data_dir)
        try:
            states = library.ledger().tool_state(library.db.tools())
            return [{"tag": t["tag"], "name": t["name"], "category": t["category"],
                     "available": states.get(str(t["tag"])) == "available",
                     "state": states.get(str(t["tag"]))} for t in library.db.catalogue()]
        finally:
            library.close()

    return app
