"""A request's query string read into a story filter and a page; bad input is a one-line 422."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException

from ingest.bounds import parse_instant
from ingest.store.query import StoryFilter

PER_PAGE = 20
MAX_PER_PAGE = 100  # the request limit on result size: a page never holds more stories
MAX_PAGE = 10_000  # deeper pages cost an ever longer scan; a date filter reaches old stories
MAX_TEXT = 200
MAX_SOURCES = 20
MAX_ID = 2**31 - 1  # story ids are 32-bit integers: a larger one is unknown, not a database error


def bad(message: str) -> HTTPException:
    return HTTPException(422, message)


@dataclass(frozen=True)
class Listing:
    """What a list request asks for: the filter `ingest query` would apply, and which page of it."""

    filter: StoryFilter
    page: int
    per_page: int

    def query(self) -> StoryFilter:
        """One story more than the page holds: whether it exists says whether a next page does."""
        return replace(self.filter, limit=self.per_page + 1, offset=(self.page - 1) * self.per_page)


def parse_listing(params: QueryParams) -> Listing:
    unknown = set(params) - {"since", "until", "source", "min_sources", "contains", "page", "per_page"}
    if unknown:
        raise bad(f"unknown parameter {sorted(unknown)[0]!r}")
    sources = tuple(s.strip() for s in params.getlist("source") if s.strip())
    if len(sources) > MAX_SOURCES:
        raise bad(f"at most {MAX_SOURCES} source parameters")
    contains = (params.get("contains") or "").strip() or None
    if contains and len(contains) > MAX_TEXT:
        raise bad(f"contains: at most {MAX_TEXT} characters")
    f = StoryFilter(
        since=parse_date(params.get("since"), "since"),
        until=parse_date(params.get("until"), "until", end=True),
        sources=sources,
        contains=contains,
        min_sources=_int(params, "min_sources", 1, 1, 10_000),
    )
    return Listing(f, _int(params, "page", 1, 1, MAX_PAGE), _int(params, "per_page", PER_PAGE, 1, MAX_PER_PAGE))


def parse_date(value: str | None, name: str, *, end: bool = False) -> datetime | None:
    """As `ingest query` reads --since/--until: YYYY-MM-DD (that whole day, UTC) or ISO 8601."""
    try:
        return parse_instant(value, end=end)
    except ValueError as e:
        raise bad(f"{name}: {e}") from None


def _int(params: QueryParams, name: str, default: int, lo: int, hi: int) -> int:
    raw = (params.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad(f"{name}: {raw[:20]!r} is not a whole number") from None
    if not lo <= value <= hi:
        raise bad(f"{name}: must be between {lo} and {hi}")
    return value


def story_id(raw: int) -> int:
    """A path's story id, or 404 when no story can have it."""
    if not 1 <= raw <= MAX_ID:
        raise HTTPException(404, f"no story {raw}")
    return raw
