"""The gateway's HTTP app (FastAPI: a JSON API with an OpenAPI schema, and static pages)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query
from fastapi import Path as Path_
from fastapi.responses import FileResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from eil import __version__
from gateway.accounts import Accounts
from gateway.store import Store

STATIC = Path(__file__).parent
OFFLINE_AFTER_S = 300.0  # no message for this long and no retained status: shown offline


BASIC = HTTPBasic(auto_error=False, description="a steward's or volunteer's account "
                                                "(eil gateway account add)")


def create_app(store: Store) -> FastAPI:
    app = FastAPI(title="EIL gateway", version=__version__)
    data_dir = store.path.parent

    def member_of(*roles: str):  # type: ignore[no-untyped-def]
        """A dependency: the request must come from an account with one of `roles`."""
        def check(credentials: Annotated[HTTPBasicCredentials | None, Depends(BASIC)]) -> str:
            accounts = Accounts(data_dir / "accounts.db")
            try:
                if accounts.count() == 0:
                    raise HTTPException(503, "no account exists yet: create the first one on "
                                             "the gateway with `eil gateway account add`")
                role = None if credentials is None else accounts.check(
                    credentials.username, credentials.password)
            finally:
                accounts.close()
            if role is None:
                raise HTTPException(401, "sign in with a steward's or volunteer's account",
                                    headers={"WWW-Authenticate": 'Basic realm="EIL gateway"'})
            if role not in roles:
                raise HTTPException(403, f"this needs a {' or '.join(roles)} account")
            return role
        return check

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

    @app.get("/api/v1/signals/{signal_id}/explain")
    def signal_explain(signal_id: str = Path_(max_length=200)) -> dict[str, object]:
        """How a signal's value came about, computed now: formula, inputs with their quality
        and the stored sequence numbers used, the numbers, and the threshold's provenance."""
        from gateway.signals.engine import evaluate

        result = next((r for r in evaluate(data_dir, int(time.time() * 1000))
                       if r.id == signal_id), None)
        if result is None:
            raise HTTPException(404, f"no signal {signal_id!r} at this site")
        th = result.threshold
        return {
            "id": result.id, "title": result.title, "value": result.value, "unit": result.unit,
            "band": result.band, "distance": result.distance, "note": result.note,
            "formula": result.formula, "numbers": result.numbers, "alert": result.alert,
            "inputs": [{"series": i.series, "quality": i.quality.label,
                        "readings": i.quality.readings, "suspect": i.quality.suspect,
                        "failed": i.quality.failed, "first_seq": i.first_seq,
                        "last_seq": i.last_seq} for i in result.inputs],
            "threshold": None if result.limits is None else {
                "lower": result.limits.lower, "upper": result.limits.upper,
                "source": th.source if th else None, "rationale": th.rationale if th else None,
                "set_by": th.set_by if th else None, "set_at": th.set_at if th else None,
                "reason": th.reason if th else None},
            "trend": None if result.trend is None else {
                "slope_per_s": result.trend.slope_per_s, "r2": result.trend.r2,
                "time_to_threshold_s": result.trend.time_to_threshold_s}}

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

    volunteer = Depends(member_of("volunteer", "steward"))
    steward = Depends(member_of("steward"))

    @app.get("/api/v1/fleet", dependencies=[steward])
    def fleet() -> list[dict[str, object]]:
        """Stewards: every node's state, last seen, backlog (outbox, unacknowledged sequence
        numbers), dead letters, the quality of its streams as the signals last saw them, and
        when each calibration came into use."""
        from gateway.signals.publish import LATEST_FILE

        now = time.time()
        quality: dict[str, dict[str, str]] = {}
        path = data_dir / LATEST_FILE
        for signal in (json.loads(path.read_text()) if path.exists() else []):
            for series, label in signal.get("inputs", {}).items():
                node, _, name = series.partition("/")
                quality.setdefault(node, {})[name] = label
        calibrations: dict[str, dict[str, object]] = {}
        for row in store.events_named(["calibration"]):
            node, _, t_ms, name, _, ref = row
            sensor = name.rsplit(".calibration", 1)[0] if name != "calibration" else ""
            known = calibrations.setdefault(node, {})
            if sensor not in known or int(known[sensor]["since_ms"]) < t_ms:  # type: ignore[index,call-overload]
                known[sensor] = {"id": ref, "since_ms": t_ms,
                                 "age_days": round((now * 1000 - t_ms) / 86_400_000, 1)}
        out = []
        for n in store.node_summary():
            last_seen = n["last_seen"]
            silent = not isinstance(last_seen, float) or now - last_seen > OFFLINE_AFTER_S
            node = str(n["node"])
            streams = quality.get(node, {})
            out.append({**n, "online": n["state"] == "online" and not silent,
                        "unacknowledged": None if n["node_last_seq"] is None else
                        max(0, int(n["node_last_seq"]) - int(n["acked"])),  # type: ignore[call-overload]
                        "streams": streams,
                        "attention": sorted(k for k, v in streams.items() if v != "pass"),
                        "calibrations": calibrations.get(node, {})})
        return out

    @app.get("/api/v1/library/loans", dependencies=[volunteer])
    def library_loans(overdue: bool = False) -> list[dict[str, object]]:
        """Open (or only overdue) loans with the member's number: volunteers and stewards only."""
        if not (data_dir / "library.db").exists():
            return []
        from gateway.library.library import Library

        library = Library(data_dir)
        try:
            now_ms = int(time.time() * 1000)
            ledger, tools, members = library.ledger(), library.db.tools(), library.db.members()
            loans = ledger.overdue(now_ms) if overdue else ledger.open_loans()
            return [{"tool": loan.tool, "name": tools[loan.tool].name if loan.tool in tools
                     else None, "member_no": members[loan.member].member_no
                     if loan.member in members else None, "out_ms": loan.out_ms,
                     "due_ms": loan.due_ms, "overdue": loan.overdue(now_ms)} for loan in loans]
        finally:
            library.close()

    return app
