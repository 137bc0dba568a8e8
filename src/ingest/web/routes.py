"""The pages and the API. Every story record comes from `ingest.store.query`, so `/api/stories` returns
exactly what `ingest query --format jsonl` prints for the same filters.

Handlers are plain functions: Starlette runs them in its thread pool, where blocking database
reads do not stall the event loop.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ingest.store.query import StoryFilter, StoryView, copy_texts, find_stories
from ingest.web.compare import compare, lag_text
from ingest.web.outlets import CHART_DAYS, chart_svg, outlet_report
from ingest.web.params import Listing, parse_listing, story_id

API_VERSION = 1


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _minutes(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} min" if value < 120 else f"{value / 60:.1f} h"


FILTERS = {"when": _when, "pct": _pct, "minutes": _minutes}


def _page(request: Request) -> tuple[Listing, list[StoryView], bool]:
    """The stories of the requested page, whether another follows; a page past the end is a 404."""
    listing = parse_listing(request.query_params)
    found = find_stories(request.app.state.engine, listing.query())
    if not found and listing.page > 1:
        raise HTTPException(404, f"page {listing.page} is past the end of the results")
    return listing, found[: listing.per_page], len(found) > listing.per_page


def _one(request: Request) -> StoryView:
    sid = story_id(request.path_params["story_id"])
    found = find_stories(request.app.state.engine, StoryFilter(ids=(sid,)))
    if not found:
        raise HTTPException(404, f"no story {sid}")
    return found[0]


def _render(request: Request, name: str, **context: Any) -> Response:
    response: Response = request.app.state.templates.TemplateResponse(request, name, context)
    return response


def _outlet_names(request: Request) -> list[str]:
    return sorted(s.name for s in request.app.state.sources)


def stories_page(request: Request) -> Response:
    listing, stories, more = _page(request)
    return _render(
        request,
        "stories.html",
        listing=listing,
        stories=stories,
        params=request.query_params,
        outlets=_outlet_names(request),
        prev_url=str(request.url.include_query_params(page=listing.page - 1)) if listing.page > 1 else None,
        next_url=str(request.url.include_query_params(page=listing.page + 1)) if more else None,
    )


def story_page(request: Request) -> Response:
    story = _one(request)
    texts = copy_texts(request.app.state.engine, story.id)
    copies = []
    for c in story.sources:
        own = texts.get(c.url)
        diff = compare(story.title, story.text, own.title, own.text) if own and c.url != story.url else None
        copies.append({"view": c, "lag": lag_text(c.published_at, story.published_at), "diff": diff})
    return _render(request, "story.html", story=story, copies=copies)


def outlets_page(request: Request) -> Response:
    outlets, end = outlet_report(request.app.state.engine, request.app.state.sources)
    charts = {o.name: chart_svg(o, end) for o in outlets}
    return _render(request, "outlets.html", outlets=outlets, charts=charts, end=end)


def api_stories(request: Request) -> Response:
    listing, stories, more = _page(request)
    nxt = str(request.url.include_query_params(page=listing.page + 1)) if more else None
    body = {"version": API_VERSION, "page": listing.page, "stories": [s.as_json() for s in stories], "next": nxt}
    return JSONResponse(body)


def api_story(request: Request) -> Response:
    return JSONResponse({"version": API_VERSION, "story": _one(request).as_json()})


def api_outlets(request: Request) -> Response:
    outlets, end = outlet_report(request.app.state.engine, request.app.state.sources)
    window = {"from": (end - timedelta(days=CHART_DAYS - 1)).isoformat(), "to": end.isoformat()}
    return JSONResponse({"version": API_VERSION, "window": window, "outlets": [o.as_json() for o in outlets]})


def healthz(request: Request) -> Response:
    """Up when the store answers a query; 503 (one line) when it does not."""
    try:
        with request.app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise HTTPException(503, f"store unreachable: {type(exc).__name__}") from None
    return JSONResponse({"status": "ok"})
