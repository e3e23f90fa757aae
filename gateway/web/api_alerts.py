"""Alerts on the web: what fires and its state (public for the signals' alerts, everything for
a signed-in person), acknowledging, silences (stewards), the delivery of messages (stewards),
each person's own alert settings, and the single-use acknowledgement links of messages."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from core.clock import Clock, clock_ms
from core.config import ConfigError
from gateway.alerts import channel_check
from gateway.alerts.config import SETTINGS, AlertsConfig, effective, with_settings
from gateway.alerts.evaluator import SENDER
from gateway.store import DataDir
from gateway.store.alert_book import AlertBook, AlertError
from gateway.store.alert_rows import Alert
from gateway.web.auth import Auth, Who

Json = dict[str, Any]
PUBLIC_SOURCES = ("signal", "scope")  # the fleet's faults are for signed-in people


class Ack(BaseModel):
    note: str | None = Field(None, max_length=500)


class TokenAck(BaseModel):
    token: str = Field(max_length=100)
    note: str | None = Field(None, max_length=500)


class NewSilence(BaseModel):
    pattern: str = Field(min_length=1, max_length=200, description="alert ids, shell-style")
    hours: float = Field(gt=0, le=24 * 90)
    reason: str = Field(min_length=1, max_length=500)


def _alert(a: Alert, signed_in: bool) -> Json:
    out: Json = {"id": a.id, "source": a.source, "state": a.state, "severity": a.severity,
                 "scope": a.scope, "title": a.title, "text": a.text, "link": a.link,
                 "since_ms": a.since_ms, "acknowledged": a.ack_by is not None,
                 "shelved_until_ms": a.shelved_until}
    if signed_in:
        out |= {"ack_by": a.ack_by, "ack_ms": a.ack_ms, "ack_note": a.ack_note}
    return out


def router(data: DataDir, auth: Auth, clock: Clock, cfg: AlertsConfig) -> APIRouter:
    r = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
    book: AlertBook = data.alerts()
    signed_in = Depends(auth.require("steward", "volunteer"))
    steward = Depends(auth.require("steward"))
    refused: dict[int | str, Json] = {401: {"description": "not signed in"},
                                      403: {"description": "not allowed"}}

    @r.get("")
    def alerts(request: Request, all: bool = Query(False, description="resolved ones too")
               ) -> list[Json]:
        """Alerts firing or acknowledged, newest first: the signals' and scopes' for everyone,
        every source's for a signed-in person (with who acknowledged them)."""
        who = auth.who(request)
        out = [a for a in book.alerts().values() if (all and who is not None) or a.active]
        if who is None:
            out = [a for a in out if a.source in PUBLIC_SOURCES]
        return [_alert(a, who is not None) for a in sorted(out, key=lambda a: -a.since_ms)]

    @r.get("/{alert_id:path}/history", dependencies=[signed_in], responses=refused)
    def history(alert_id: str, limit: int = Query(100, ge=1, le=1000)) -> list[Json]:
        """The alert's transitions and acts, newest first."""
        return book.history(alert_id, limit)

    @r.post("/{alert_id:path}/ack", responses=refused | {409: {"description": "not firing"}})
    def ack(alert_id: str, body: Ack, who: Who = signed_in) -> Json:
        """Take a firing alert on: no repeats, no escalation until it fires again."""
        try:
            return _alert(book.acknowledge(alert_id, who.name, body.note, clock_ms(clock)), True)
        except AlertError as exc:
            raise HTTPException(409, str(exc)) from exc

    @r.get("/link", responses={404: {"description": "unknown or used link"}})
    def link(token: str = Query(max_length=100)) -> Json:
        """The alert a message's acknowledgement link is for (the link is not spent)."""
        aid = book.token_alert(token)
        if aid is None:
            raise HTTPException(404, "this acknowledgement link is unknown, used or expired")
        return _alert(book.alert(aid), False)

    @r.post("/link", responses={409: {"description": "unknown, used or expired link"}})
    def link_ack(body: TokenAck) -> Json:
        """Acknowledge with a message's single-use link: it acknowledges that one alert, once,
        and can do nothing else (no session, no other alert)."""
        now = clock_ms(clock)
        try:
            aid, recipient = book.use_token(body.token, now)
            return _alert(book.acknowledge(aid, f"{recipient} (message link)", body.note, now),
                          False)
        except AlertError as exc:
            raise HTTPException(409, str(exc)) from exc

    @r.get("/silences", dependencies=[signed_in], responses=refused)
    def silences() -> list[Json]:
        return book.silences(clock_ms(clock))

    @r.post("/silences", responses=refused | {422: {"description": "bad silence"}})
    def silence(body: NewSilence, who: Who = steward) -> Json:
        """Stewards: mute alerts whose id matches `pattern` for `hours` (they are still
        recorded; whoever follows them is told the state they are in when it ends)."""
        now = clock_ms(clock)
        try:
            n = book.silence(body.pattern, now + int(body.hours * 3_600_000), body.reason,
                             who.name, now)
        except AlertError as exc:
            raise HTTPException(422, str(exc)) from exc
        return {"id": n}

    @r.delete("/silences/{number}", status_code=204, dependencies=[steward], responses=refused)
    def unsilence(number: int) -> None:
        try:
            book.end_silence(number, clock_ms(clock))
        except AlertError as exc:
            raise HTTPException(404, str(exc)) from exc

    @r.get("/delivery", dependencies=[steward], responses=refused)
    def delivery() -> Json:
        """Stewards: the sender's heartbeat, every channel that fails or refuses, and the
        latest messages with their delivery."""
        beat = book.heartbeat(SENDER)
        return {"sender": None if beat is None else {"pid": beat[0], "age_s": time.time() -
                                                      beat[1]},
                "recipients": sorted(cfg.recipients),
                "channels": [{"recipient": c.recipient, "channel": c.channel + 1,
                              "failing_s": None if c.failing_since is None else
                              time.time() - c.failing_since, "refused": c.refused,
                              "error": c.last_error} for c in book.channels()],
                "messages": [{k: m[k] for k in ("id", "recipient", "created_ms", "title",
                                                "alerts", "digest", "delivered", "attempts",
                                                "last_error")} for m in book.messages(None, 50)]}

    def _may(who: Who, name: str) -> None:
        if name not in cfg.recipients:
            raise HTTPException(404, f"no recipient {name!r} in alerts.toml")
        if who.role != "steward" and cfg.recipients[name].account != who.name:
            raise HTTPException(403, "only your own alert settings (or a steward)")

    @r.get("/settings", responses=refused)
    def settings(who: Who = signed_in) -> list[Json]:
        """The alert settings of the recipients this person is (a steward: everyone's), with
        channel secrets hidden."""
        eff = effective(cfg, book.prefs())
        shown = [x for x in eff.recipients.values()
                 if who.role == "steward" or x.account == who.name]
        private = iter(v.private for v in channel_check.check(
            [u for x in shown for u in x.channels]))  # Apprise's privacy form, secrets hidden
        return [{"name": x.name, "channels": [next(private) for _ in x.channels],
                 "follow": list(x.follow), "min_severity": x.min_severity,
                 "quiet_hours": None if x.quiet is None else
                 f"{x.quiet.start:%H:%M}-{x.quiet.end:%H:%M}",
                 "timezone": str(x.quiet.zone) if x.quiet else cfg.zone,
                 "critical_breaks_quiet": x.critical_breaks_quiet,
                 "escalate_to": x.escalate_to, "escalate_after_s": x.escalate_after_s,
                 "account": x.account} for x in shown]

    @r.put("/settings/{name}", responses=refused | {422: {"description": "a setting that "
                                                                          "would not work"}})
    def set_settings(name: str, body: dict[str, Any], who: Who = signed_in) -> Json:
        """Change a recipient's settings (yours, or anyone's as a steward): any of channels,
        follow, min_severity, quiet_hours ("" for none), timezone, critical_breaks_quiet.
        Checked as alerts.toml is; escalation stays in the steward's file."""
        _may(who, name)
        current = book.prefs().get(name, {})
        merged = {**current, **body}
        try:
            with_settings(cfg, name, merged, check=True)
        except ConfigError as exc:
            raise HTTPException(422, str(exc)) from exc
        book.set_prefs(name, {k: v for k, v in merged.items() if k in SETTINGS}, who.name,
                       clock_ms(clock))
        return {"saved": sorted(merged)}

    return r
