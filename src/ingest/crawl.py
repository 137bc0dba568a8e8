"""The one adapter through which ingest uses Scrapy: ``run_crawl`` and the types it speaks.

Nothing else under ``src/ingest`` imports Scrapy; Scrapy itself is imported only when
``run_crawl`` runs, so importing this module (for PageSink, CrawlWindow, SourceReport) is cheap.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from ingest.config import Settings, Source
from ingest.frontier import Frontier
from ingest.records import FetchedPage, Rejection

__all__ = ["CrawlWindow", "PageSink", "SourceReport", "run_crawl"]


class PageSink(Protocol):
    def accept(self, page: FetchedPage) -> None:
        """An article page was fetched (2xx, HTML-ish). Must be cheap: the sink queues work."""
        ...

    def reject(self, rejection: Rejection) -> None:
        """A fetch of an article candidate failed or was refused, with a reason kind."""
        ...


@dataclass
class CrawlWindow:
    """Backfill: only articles published (or lastmod) in [since, until]. None = incremental run."""

    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        # A naive bound is read as UTC, so comparisons with feed/sitemap dates never raise.
        if self.since is not None and self.since.tzinfo is None:
            self.since = self.since.replace(tzinfo=UTC)
        if self.until is not None and self.until.tzinfo is None:
            self.until = self.until.replace(tzinfo=UTC)

    def contains(self, when: datetime | None) -> bool:
        """True when `when` is inside the window, or unknown (an undated URL is not excluded)."""
        if when is None:
            return True
        if self.since is not None and when < self.since:
            return False
        return not (self.until is not None and when > self.until)


@dataclass
class SourceReport:
    """Per source, for the run summary and health."""

    source: str
    requests: int = 0  # HTTP requests sent (robots, discovery, articles, retries, redirects)
    pages: int = 0  # article pages handed to sink.accept
    articles_seen: int = 0  # distinct canonical article URLs discovered this run
    skipped_known: int = 0  # of those, not fetched because the frontier knows them
    not_modified: int = 0  # feeds/sitemaps answered 304, or sitemap children skipped by lastmod
    errors: dict[str, int] = field(default_factory=dict)  # reason kind -> count
    discovery: dict[str, int] = field(default_factory=dict)  # channel (feed/sitemap/listing) -> urls
    finish_reason: str = "finished"  # Scrapy's close reason: "shutdown" when stopped by a signal
    crawl_delay: float | None = None  # seconds between requests, when robots.txt asked for it

    def error(self, kind: str, count: int = 1) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + count


_ran = False
_ran_lock = threading.Lock()

# Scrapy loggers that report one failed page each (a 500 after its retries, a body over the size
# cap) at WARNING/ERROR. The run summary counts these by reason; logged too, a crawl of a site with
# 500 bad pages printed 500 error lines. They stay visible at --log-level info.
PAGE_FAILURE_LOGGERS = ("scrapy.downloadermiddlewares.retry", "scrapy.core.downloader.handlers.http11")


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
