"""The one adapter through which ingest uses Scrapy: ``run_crawl`` and the types it speaks.

Nothing else under ``src/ingest`` imports Scrapy; Scrapy itself is imported only when
``run_crawl`` runs, so importing this module (for PageSink, CrawlWindow, SourceReport) is cheap.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol

from ingest.config import Settings, Source
from ingest.frontier import Frontier
from ingest.records import FetchedPage, Rejection

__all__ = ["CrawlWindow", "PageSink", "ResolvedWindow", "SourceReport", "run_crawl"]


class PageSink(Protocol):
    def accept(self, page: FetchedPage) -> None:
        """An article page was fetched (2xx, HTML-ish). Must be cheap: the sink queues work."""
        ...

    def reject(self, rejection: Rejection) -> None:
        """A fetch of an article candidate failed or was refused, with a reason kind."""
        ...


Bound = date | datetime  # a day (in each source's time zone) or an instant


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

    @classmethod
    def parse(cls, since: str | None, until: str | None) -> CrawlWindow:
        """From `--since/--until` text (YYYY-MM-DD or ISO 8601); ValueError names the bad one."""
        window = cls(_parse_bound(since, "since"), _parse_bound(until, "until"))
        probe = window.for_source(UTC)
        if probe.start and probe.end and probe.start > probe.end:
            raise ValueError(f"--since {since} is after --until {until}")
        return window

    def for_source(self, tz: tzinfo) -> ResolvedWindow:
        """The window in instants, for a source whose days run in `tz`."""
        return ResolvedWindow(_instant(self.since, tz, end=False), _instant(self.until, tz, end=True))

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


def _parse_bound(text: str | None, name: str) -> Bound | None:
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--{name} {text!r} is not a date (YYYY-MM-DD) or ISO 8601 timestamp") from None
    return parsed.date() if len(text.strip()) == 10 else parsed


def _instant(bound: Bound | None, tz: tzinfo, *, end: bool) -> datetime | None:
    if bound is None:
        return None
    if isinstance(bound, datetime):
        return (bound if bound.tzinfo else bound.replace(tzinfo=tz)).astimezone(UTC)
    return datetime.combine(bound, time.max if end else time.min, tzinfo=tz).astimezone(UTC)


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


_ran = False
_ran_lock = threading.Lock()

# Scrapy loggers that report one failed page each (a 500 after its retries, a body over the size
# cap, before or after decompression) at WARNING/ERROR. The run summary counts these by reason;
# logged too, a crawl of a site with 500 bad pages printed 500 error lines. They stay visible at
# --log-level info.
PAGE_FAILURE_LOGGERS = (
    "scrapy.downloadermiddlewares.retry",
    "scrapy.core.downloader.handlers.http11",
    "scrapy.downloadermiddlewares.httpcompression",  # a Content-Encoding bomb: counted `too-large`
)


def _as_info(record: logging.LogRecord) -> bool:
    if record.levelno > logging.INFO:
        record.levelno, record.levelname = logging.INFO, "INFO"
    return True


def run_crawl(
    sources: list[Source],
    settings: Settings,
    sink: PageSink,
    frontier: Frontier,
    window: CrawlWindow | None = None,
    progress: Callable[[SourceReport], None] | None = None,
    *,
    log_level: str = "INFO",
) -> list[SourceReport]:
    """Run one crawl of these sources in this process (blocks until done); reports in `sources` order.

    All sources run concurrently, one NewsSpider (and one Scrapy crawler) each. `progress` is
    called with a source's final report as soon as that source finishes. Callable once per process
    (Twisted's reactor cannot restart): a second call raises RuntimeError. Sink and frontier are
    called on the crawl thread, one call at a time.
    """
    global _ran
    with _ran_lock:
        if _ran:
            raise RuntimeError("run_crawl runs once per process (Twisted's reactor cannot restart)")
        _ran = True
    if not sources:
        return []

    # Imported here, at a shallow stack, not by the downloader inside the running reactor: the
    # module builds deprecated classes whose `inspect.stack()` reads the source of every frame
    # (0.13 CPU-s here, 0.38 under 55 more frames).
    import scrapy.core.downloader.handlers.http11  # noqa: F401
    from scrapy.crawler import AsyncCrawlerProcess

    from scrapers.settings import download_slots, resolver_settings, scrapy_settings
    from scrapers.spiders.news import NewsSpider

    config = scrapy_settings(settings, log_level=log_level)
    config["DOWNLOAD_SLOTS"] = download_slots(settings, [s.name for s in sources])
    config.update(resolver_settings(sources))
    # Leave logging alone when the host application has configured it.
    config["LOG_INSTALL_ROOT_HANDLER"] = not logging.getLogger().handlers
    process = AsyncCrawlerProcess(config)
    # Scrapy's DEFAULT_LOGGING sets the `scrapy` logger to DEBUG whatever LOG_LEVEL says (LOG_LEVEL
    # only sets the root handler it installs, and ours is installed already): a sample-web crawl
    # printed 502 stderr lines at WARNING. Records below the level are now not even created.
    logging.getLogger("scrapy").setLevel(log_level.upper())
    for name in PAGE_FAILURE_LOGGERS:
        logging.getLogger(name).addFilter(_as_info)
    reports: dict[str, SourceReport] = {}

    def finished(report: SourceReport) -> None:
        reports[report.source] = report
        if progress is not None:
            try:
                progress(report)
            except Exception:  # a failing progress hook must not stop the other sources
                logging.getLogger(__name__).exception("progress callback failed for %s", report.source)

    for source in sources:
        process.crawl(NewsSpider, source=source, sink=sink, frontier=frontier, window=window, on_close=finished)
    process.start(install_signal_handlers=threading.current_thread() is threading.main_thread())
    return [reports.get(s.name) or SourceReport(source=s.name, errors={"crawl-failed": 1}) for s in sources]
