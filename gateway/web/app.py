"""The gateway's HTTP app (FastAPI): the decision views as pages, and the JSON API with an
OpenAPI schema under them. Everything it serves ships with the package: no CDN, no internet."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from eil import __version__
from gateway.config import Clock
from gateway.store import Store
from gateway.web import api_library, api_signals, api_site
from gateway.web.auth import Auth

HERE = Path(__file__).parent
PUBLIC_PAGES = {"/": "index", "/garden": "garden", "/panel": "panel", "/library": "library",
                "/readings": "readings", "/signin": "signin", "/setup": "setup"}
SIGNED_IN_PAGES = {"/fleet": ("fleet", ("steward",)),
                   "/loans": ("loans", ("volunteer", "steward"))}
HEADERS = {  # pages and API alike: nothing from elsewhere, no framing, no sniffing
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' "
                               "'unsafe-inline'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


def create_app(store: Store, site: str = "site", clock: Clock | None = None) -> FastAPI:
    clock = clock or Clock()
    # no /docs or /redoc: FastAPI's versions load their scripts from a CDN
    app = FastAPI(title="EIL gateway", version=__version__, docs_url=None, redoc_url=None,
                  description="Decision views of an EIL site: impact signals, beds, fleet and "
                              "tool library. Public endpoints carry no member data.")
    data_dir = store.path.parent
    auth = Auth(data_dir)

    @app.middleware("http")
    async def security_headers(request: Request,
                               call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for k, v in HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    def page(name: str) -> Callable[[], FileResponse]:
        def serve() -> FileResponse:
            return FileResponse(HERE / "pages" / f"{name}.html")
        return serve

    def signed_in_page(path: str, name: str, roles: tuple[str, ...]
                       ) -> Callable[[Request], Response]:
        def serve(request: Request) -> Response:
            who = auth.who(request)
            if who is None or who.role not in roles:
                need = "need=" + roles[0] + "&" if who is not None else ""
                return RedirectResponse(f"/signin?{need}next={path}", status_code=303)
            return FileResponse(HERE / "pages" / f"{name}.html",
                                headers={"Cache-Control": "no-store"})
        return serve

    for path, name in PUBLIC_PAGES.items():
        app.add_api_route(path, page(name), include_in_schema=False)
    for path, (name, roles) in SIGNED_IN_PAGES.items():
        app.add_api_route(path, signed_in_page(path, name, roles), include_in_schema=False)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(auth.router())
    app.include_router(api_site.router(store, auth, clock))
    app.include_router(api_signals.router(store, site, clock))
    app.include_router(api_library.router(data_dir, auth, clock))
    return app
