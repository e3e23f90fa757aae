"""The tool library on the web: the public catalogue (availability only, no member data) and
the volunteers' open and overdue loans."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from core.clock import Clock, clock_ms
from gateway.library.library import Library
from gateway.store import DataDir
from gateway.web.auth import Auth

Json = dict[str, Any]


def router(data: DataDir, auth: Auth, clock: Clock) -> APIRouter:
    r = APIRouter(prefix="/api/v1/library", tags=["tool library"])

    @r.get("/catalogue")
    def catalogue() -> list[Json]:
        """Every tool with its availability (public: no member data, no loan dates)."""
        if not data.has_library():
            return []
        library = Library(data)
        try:
            states = library.ledger().tool_state(library.db.tools())
            return [{"tag": t["tag"], "name": t["name"], "category": t["category"],
                     "available": states.get(str(t["tag"])) == "available",
                     "state": states.get(str(t["tag"]))} for t in library.db.catalogue()]
        finally:
            library.close()

    @r.get("/loans", dependencies=[Depends(auth.require("volunteer", "steward"))],
           responses={401: {"description": "not signed in"},
                      503: {"description": "no account exists yet"}})
    def loans(overdue: bool = False) -> list[Json]:
        """Open (or only overdue) loans with the member's number: volunteers and stewards."""
        if not data.has_library():
            return []
        library = Library(data)
        try:
            now_ms = clock_ms(clock)
            ledger, tools, members = library.ledger(), library.db.tools(), library.db.members()
            found = ledger.overdue(now_ms) if overdue else ledger.open_loans()
            return [{"tool": loan.tool, "name": tools[loan.tool].name if loan.tool in tools
                     else None, "member_no": members[loan.member].member_no
                     if loan.member in members else None, "out_ms": loan.out_ms,
                     "due_ms": loan.due_ms, "overdue": loan.overdue(now_ms)} for loan in found]
        finally:
            library.close()

    return r
