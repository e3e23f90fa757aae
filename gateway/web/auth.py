"""Who may see the steward and volunteer views: browser sign-ins (an HttpOnly, SameSite=Strict
cookie), HTTP Basic for scripts, and the first-run step that creates the first account.

There is no default account. While none exists the gateway keeps a one-time token in
`first-run-token` (mode 600) in its data directory: whoever can read that file on the gateway
may create the first steward at /setup. The file is deleted as soon as an account exists.
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, Field

from gateway.store import DataDir
from gateway.store.accounts import SESSION_S, AccountError, Accounts

COOKIE = "eil_session"
# Failed sign-ins are counted per (client address, account name): 10 in 15 minutes lock that name
# from that address only, so a stranger's guesses cannot lock a steward out of their own device;
# 30 from one address, whatever the names, lock that address. (Behind a reverse proxy on the
# same machine, uvicorn takes the client's address from X-Forwarded-For.)
MAX_FAILURES, MAX_ADDRESS_FAILURES, FAILURE_WINDOW_S = 10, 30, 900.0
BASIC = HTTPBasic(auto_error=False, description="a steward's or volunteer's account")


class SignIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class FirstRun(SignIn):
    token: str = Field(min_length=1, max_length=128)


class Who(BaseModel):
    name: str
    role: str


def first_run_token(data: DataDir) -> Path | None:
    """Make the one-time first-run token if no account exists yet (and remove a stale one)."""
    path = data.first_run_token
    with _accounts(data) as accounts:
        if accounts.count():
            path.unlink(missing_ok=True)
            return None
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(24) + "\n")
    return path


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@contextmanager
def _accounts(data: DataDir) -> Iterator[Accounts]:
    accounts = data.accounts()
    try:
        yield accounts
    finally:
        accounts.close()


class Auth:
    def __init__(self, data: DataDir) -> None:
        self.data = data
        self.failures: dict[tuple[str, str], list[float]] = {}  # (address, name) -> times

    def who(self, request: Request, basic: HTTPBasicCredentials | None = None) -> Who | None:
        token = request.cookies.get(COOKIE)
        with _accounts(self.data) as accounts:
            if token:
                found = accounts.session(token)
                if found:
                    return Who(name=found[0], role=found[1])
            if basic is not None:
                role = self.check(accounts, basic.username, basic.password, _address(request))
                return Who(name=basic.username, role=role) if role else None
        return None

    def check(self, accounts: Accounts, name: str, password: str, address: str) -> str | None:
        now = time.monotonic()
        if len(self.failures) > 5000:  # forget stale keys, so a spray cannot grow this for ever
            self.failures = {k: v for k, v in self.failures.items() if now - v[-1] < FAILURE_WINDOW_S}
        key = (address, name)
        recent = [t for t in self.failures.pop(key, []) if now - t < FAILURE_WINDOW_S]
        from_address = sum(len([t for t in times if now - t < FAILURE_WINDOW_S])
                           for (a, _), times in self.failures.items() if a == address)
        if len(recent) >= MAX_FAILURES or from_address + len(recent) >= MAX_ADDRESS_FAILURES:
            self.failures[key] = recent
            raise HTTPException(429, f"too many failed sign-ins for {name!r} from {address}: "
                                     f"try again in {FAILURE_WINDOW_S / 60:.0f} minutes")
        role = accounts.check(name, password)
        if role is None:  # only keys with recent failures are kept: guessed names cost nothing
            self.failures[key] = [*recent, now]
        return role

    def require(self, *roles: str) -> Callable[..., Who]:
        """A dependency: the request must come from an account with one of `roles`."""
        def check(request: Request, basic: Annotated[HTTPBasicCredentials | None,
                                                      Depends(BASIC)]) -> Who:
            who = self.who(request, basic)
            if who is None:
                with _accounts(self.data) as accounts:
                    if accounts.count() == 0:
                        raise HTTPException(503, "no account exists yet: create the first one "
                                                 "at /setup or with `eil gateway account add`")
                raise HTTPException(401, "sign in with a steward's or volunteer's account",
                                    headers={"WWW-Authenticate": 'Basic realm="EIL gateway"'})
            if who.role not in roles:
                raise HTTPException(403, f"this needs a {' or '.join(roles)} account")
            return who
        return check

    def router(self) -> APIRouter:
        r = APIRouter(prefix="/api/v1", tags=["sign-in"])

        def set_cookie(response: Response, request: Request, token: str) -> None:
            response.set_cookie(COOKIE, token, max_age=int(SESSION_S), httponly=True,
                                samesite="strict", path="/",
                                secure=request.url.scheme == "https")

        @r.post("/session", responses={401: {"description": "wrong name or password"}})
        def sign_in(body: SignIn, request: Request, response: Response) -> Who:
            """Sign in: sets the session cookie the steward and volunteer pages use."""
            with _accounts(self.data) as accounts:
                role = self.check(accounts, body.name, body.password, _address(request))
                if role is None:
                    raise HTTPException(401, "wrong account name or password")
                set_cookie(response, request, accounts.open_session(body.name))
            return Who(name=body.name, role=role)

        @r.get("/session", responses={401: {"description": "not signed in"}})
        def session(request: Request) -> Who:
            """Who is signed in with this browser."""
            who = self.who(request)
            if who is None:
                raise HTTPException(401, "not signed in")
            return who

        @r.delete("/session", status_code=204)
        def sign_out(request: Request, response: Response) -> None:
            token = request.cookies.get(COOKIE)
            if token:
                with _accounts(self.data) as accounts:
                    accounts.close_session(token)
            response.delete_cookie(COOKIE, path="/")

        @r.post("/first-run", responses={403: {"description": "wrong token, or done already"}})
        def first_run(body: FirstRun, request: Request, response: Response) -> Who:
            """Create the first steward account with the one-time token from the gateway's data
            directory (only while no account exists)."""
            path = self.data.first_run_token
            with _accounts(self.data) as accounts:
                if accounts.count() or not path.exists():
                    raise HTTPException(403, "the first account exists already: sign in")
                expected = path.read_text().strip()
                if not hmac.compare_digest(body.token.strip().encode(), expected.encode()):
                    raise HTTPException(403, f"that is not the token in {path}")
                try:
                    accounts.add(body.name, "steward", body.password)
                except AccountError as exc:
                    raise HTTPException(422, str(exc)) from exc
                path.unlink(missing_ok=True)
                set_cookie(response, request, accounts.open_session(body.name))
            return Who(name=body.name, role="steward")

        return r
