"""The crawl's contracts: what a crawl is given (a window, a sink for pages, a frontier) and what it
reports per source. The spider and the service both speak these; neither imports the other here,
and nothing in this module imports Scrapy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Protocol

from ingest.bounds import Bound, instant, parse_bound
from ingest.records import FetchedPage, Rejection

__all__ = ["CrawlWindow", "PageSink", "ResolvedWindow", "SourceReport"]


class PageSink(Protocol):
    def accept(self, page: FetchedPage) -> None:
        """An article page was fetched (2xx, HTML-ish). Must be cheap: the sink queues work."""
        ...

    def reject(self, rejection: Rejection) -> None:
        """A fetch of an article candidate failed or was refused, with a reason kind."""
        ...


@dataclass
class CrawlWindow:
    """Backfill: only articles published in [since, until]. None = incremental run.

    As given on the command line, a bound is a day (a `date`: that day in each source's own
    time zone, inclusive) or an instant (an aware `datetime`, taken as given; a naive one is read
    in the source's time zone). `for_source` turns it into the instants one source is crawled
    with: an outlet's day runs in its time zone (read in UTC, the first and last hour of a
    Moroccan day fell on the wrong side).
    """

    since: Bound | None = None
    until: Bound | None = None
    # Which end of the window a backfill fetches first (sitemap-index children in this order,
    # their articles too), and keeps when the children are more than the spider follows.
    oldest_first: bool = False

    @classmethod
    def parse(cls, since: str | None, until: str | None, *, oldest_first: bool = False) -> CrawlWindow:
        """From `--since/--until` text (YYYY-MM-DD or ISO 8601); ValueError names the bad one."""
        window = cls(_bound(since, "since"), _bound(until, "until"), oldest_first)
        probe = window.for_source(UTC)
        if probe.start and probe.end and probe.start > probe.end:
            raise ValueError(f"--since {since} is after --until {until}")
        return window

    def for_source(self, tz: tzinfo) -> ResolvedWindow:
        """The window in instants, for a source whose days run in `tz`."""
        return ResolvedWindow(instant(self.since, tz, end=False), instant(self.until, tz, end=True))

    def describe(self) -> dict[str, str | None]:
        return {"since": _text(self.since), "until": _text(self.until)}

    def days(self, today: date) -> list[str]:
        """The window's days (ISO), for progress: since's day through until's (or today's); empty
        without a `since` (an incremental run has no window to get through)."""
        if self.since is None:
            return []
        first, last = _day(self.since), _day(self.until) if self.until is not None else today
        return [(first + timedelta(days=k)).isoformat() for k in range((last - first).days + 1)]


def _day(bound: Bound) -> date:
    return bound.date() if isinstance(bound, datetime) else bound


@dataclass(frozen=True)
class ResolvedWindow:
    """One source's window in aware instants, both inclusive; None = open on that side."""

    start: datetime | None = None
    end: datetime | None = None

    def contains(self, when: datetime | None) -> bool:
        """True when `when` is inside the window, or unknown (an undated URL is not excluded)."""
        return self.overlaps(when, when)

    def overlaps(self, first: datetime | None, last: datetime | None) -> bool:
        """Whether [first, last] (a day or month a URL names, say) meets the window; unknown = yes."""
        if first is None or last is None:
            return True
        if self.start is not None and last < self.start:
            return False
        return not (self.end is not None and first > self.end)

    def before(self, when: datetime | None) -> bool:
        """`when` is known and older than the window's start (a listing walked past it)."""
        return when is not None and self.start is not None and when < self.start


def _bound(text: str | None, name: str) -> Bound | None:
    try:
        return parse_bound(text)
    except ValueError as e:
        raise ValueError(f"--{name} {e}") from None


def _text(bound: Bound | None) -> str | None:
    return None if bound is None else bound.isoformat()


@dataclass
class SourceReport:
    """Per source, for the run summary and health."""

    source: str
    requests: int = 0  # HTTP requests sent (robots, discovery, articles, retries, redirects)
    pages: int = 0  # article pages handed to sink.accept
    articles_seen: int = 0  # distinct canonical article URLs discovered this run
    skipped_known: int = 0  # of those, not fetched because the frontier knows them
    not_modified: int = 0  # feeds/sitemaps answered 304, or sitemap children skipped by lastmod
    article_errors: int = 0  # article fetches that failed or were refused (could not be reached)
    documents_read: int = 0  # feeds, sitemaps, listings and homepages read (2xx)
    outside_window: int = 0  # backfill: article pages fetched whose own date is outside the window
    errors: dict[str, int] = field(default_factory=dict)  # reason kind -> count
    discovery: dict[str, int] = field(default_factory=dict)  # channel (feed/sitemap/listing) -> urls
    finish_reason: str = "finished"  # Scrapy's close reason: "shutdown" when stopped by a signal
    crawl_delay: float | None = None  # seconds between requests, when robots.txt asked for it

    def error(self, kind: str, count: int = 1) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + count
