"""Time bounds a user gives (`--since/--until`, `?since=&until=`): one reading for every command.

A bound is a day (YYYY-MM-DD) or an instant (ISO 8601). A day stays a day until it is placed in a
time zone: a crawl window reads it in each source's zone (a Casablanca day is not a Riyadh day),
`ingest query` and the story browser in UTC. Three copies of this reading (the CLI's query, the
browser's parameters, the crawl window) had drifted in their error messages; this is the one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo

__all__ = ["Bound", "instant", "parse_bound", "parse_instant"]

Bound = date | datetime  # a day (in a time zone chosen later) or an instant


def parse_bound(text: str | None) -> Bound | None:
    """A day or an instant from user text; None for nothing; ValueError saying what is wrong."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not a date (YYYY-MM-DD) or ISO 8601 timestamp") from None
    return parsed.date() if len(text) == 10 else parsed


def instant(bound: Bound | None, tz: tzinfo, *, end: bool) -> datetime | None:
    """The bound as an aware UTC instant: a day starts (or, with `end`, ends) in `tz`; a naive
    instant is read in `tz`."""
    if bound is None:
        return None
    if isinstance(bound, datetime):
        return (bound if bound.tzinfo else bound.replace(tzinfo=tz)).astimezone(UTC)
    return datetime.combine(bound, time.max if end else time.min, tzinfo=tz).astimezone(UTC)


def parse_instant(text: str | None, *, end: bool = False) -> datetime | None:
    """A query bound: a day is that whole UTC day; a naive timestamp is UTC."""
    return instant(parse_bound(text), UTC, end=end)
