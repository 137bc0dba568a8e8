"""The ASGI application: routes, templates, and the answers to bad requests.

Read-only by construction: there are only GET routes, and every transaction the app opens is
itself read-only (SQLite `query_only`, PostgreSQL `SET TRANSACTION READ ONLY`), so a bug here
cannot write to the store.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ingest.config import Source
from ingest.web import routes

HERE = Path(__file__).resolve().parent
log = logging.getLogger("ingest.web")


def create_app(engine: Engine, sources: list[Source]) -> Starlette:
    _read_only(engine)
    app = Starlette(
        routes=[
            Route("/", routes.stories_page),
            Route("/stories/{story_id:int}", routes.story_page),
            Route("/outlets", routes.outlets_page),
            Route("/api/stories", routes.api_stories),
            Route("/api/stories/{story_id:int}", routes.api_story),
            Route("/api/outlets", routes.api_outlets),
            Route("/healthz", routes.healthz),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ],
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
    )
    app.state.engine = engine
    app.state.sources = sources
    app.state.templates = templates()
    return app


def templates() -> Jinja2Templates:
    """Jinja2 with autoescaping (Starlette turns it on), plus the page's date and number filters."""
    t = Jinja2Templates(directory=HERE / "templates")
    t.env.filters.update(routes.FILTERS)
    return t


def _read_only(engine: Engine) -> None:
    """Every transaction of this engine refuses writes, on both backends."""

    def begin(conn: Connection) -> None:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        else:
            conn.exec_driver_sql("PRAGMA query_only = ON")

    event.listen(engine, "begin", begin)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/healthz"))


async def _http_error(request: Request, exc: Exception) -> Response:
    """One line, never a traceback: JSON for the API, a short page for a reader."""
    assert isinstance(exc, HTTPException)
    message = " ".join(str(exc.detail).split())
    if _is_api(request):
        return JSONResponse({"error": message}, status_code=exc.status_code)
    tpl: Any = request.app.state.templates
    return tpl.TemplateResponse(request, "error.html", {"message": message}, status_code=exc.status_code)


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    if _is_api(request):
        return JSONResponse({"error": "internal error"}, status_code=500)
    return PlainTextResponse("internal error", status_code=500)
