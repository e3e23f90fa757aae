"""The gateway's HTTP app (FastAPI): the decision views as pages, and the JSON API with an
OpenAPI schema under them. Everything it serves ships with the package: no CDN, no internet."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from string import Template

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from core import __version__
from core.clock import Clock, SystemClock
from gateway.alerts.config import AlertsConfig
from gateway.store import DataDir
from gateway.web import api_alerts, api_library, api_signals, api_site
from gateway.web.auth import Auth

HERE = Path(__file__).parent
UPLOT = "vendor/uplot/uPlot.iife.min.js"


@dataclass(frozen=True)
class Page:
    name: str  # pages/<name>.html holds what goes inside <main>
    title: str
    scripts: tuple[str, ...] = ()  # under /static/, after common.js
    roles: tuple[str, ...] = ()  # empty: public


PAGES = {
    "/": Page("index", "EIL — decision views"),
    "/garden": Page("garden", "Garden — does a bed need water?", (UPLOT, "garden.js")),
    "/panel": Page("panel", "Impact panel", ("panel.js",)),
    "/library": Page("library", "Tool library", ("library.js",)),
    "/readings": Page("readings", "Readings — nodes and latest values", ("readings.js",)),
    "/signin": Page("signin", "Sign in", ("signin.js",)),
    "/setup": Page("setup", "First run", ("signin.js",)),
    "/fleet": Page("fleet", "Fleet", ("fleet.js",), ("steward",)),
    "/alerts": Page("alerts", "Alerts", ("alerts.js",)),
    "/alerts/ack": Page("ack", "Acknowledge an alert", ("ack.js",)),
    "/loans": Page("loans", "Tool library — loans", ("loans.js",), ("volunteer", "steward")),
}


def render(page: Page) -> str:
    """One layout for every page: head, navigation, the page's own <main> content."""
    layout = Template((HERE / "pages" / "_layout.html").read_text())
    head = ('<link rel="stylesheet" href="/static/vendor/uplot/uPlot.min.css">\n'
            if UPLOT in page.scripts else "")
    scripts = "".join(f'<script src="/static/{s}" defer></script>\n' for s in page.scripts)
    return layout.substitute(title=page.title, head=head, scripts=scripts,
                             main=(HERE / "pages" / f"{page.name}.html").read_text())
HEADERS = {  # pages and API alike: nothing from elsewhere, no framing, no sniffing
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' "
                               "'unsafe-inline'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


def create_app(data: DataDir, site: str = "site", clock: Clock | None = None,
               alerts: AlertsConfig | None = None) -> FastAPI:
    """The views of the gateway whose data directory is `data`; they read its store through a
    read-only connection of their own. `alerts`: the gateway's alerts.toml, for the settings
    people manage on the web."""
    clock = clock or SystemClock()
    # no /docs or /redoc: FastAPI's versions load their scripts from a CDN
    app = FastAPI(title="EIL gateway", version=__version__, docs_url=None, redoc_url=None,
                  description="Decision views of an EIL site: impact signals, beds, fleet and "
                              "tool library. Public endpoints carry no member data.")
    store = data.readings(readonly=True)
    auth = Auth(data)

    @app.middleware("http")
    async def security_headers(request: Request,
                               call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for k, v in HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    def serve(path: str, page: Page) -> Callable[[Request], Response]:
        html = render(page)  # once, at start

        def handler(request: Request) -> Response:
            if not page.roles:
                return HTMLResponse(html)
            who = auth.who(request)
            if who is None or who.role not in page.roles:  # the sign-in page says which
                why = "role" if who is not None else "signin"
                return RedirectResponse(f"/signin?why={why}&need={'+'.join(page.roles)}&"
                                        f"next={path}", status_code=303)
            return HTMLResponse(html, headers={"Cache-Control": "no-store"})
        return handler

    for path, page in PAGES.items():
        app.add_api_route(path, serve(path, page), include_in_schema=False)
    icon = (HERE / "static" / "favicon.svg").read_bytes()
    app.add_api_route("/favicon.ico", lambda: Response(icon, media_type="image/svg+xml", headers={
        "Cache-Control": "max-age=86400"}), include_in_schema=False)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(auth.router())
    app.include_router(api_site.router(data, store, auth, clock))
    app.include_router(api_signals.router(data, store, site, clock))
    app.include_router(api_library.router(data, auth, clock))
    app.include_router(api_alerts.router(data, auth, clock, alerts or AlertsConfig(None)))
    return app
