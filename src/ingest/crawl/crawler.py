"""The one adapter through which ingest runs Scrapy: ``run_crawl``.

Nothing outside ``ingest.crawl`` imports Scrapy; Scrapy itself is imported only when ``run_crawl``
runs, so importing this module is cheap.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ingest.config import Settings, Source
from ingest.crawl.contracts import CrawlWindow, PageSink, SourceReport
from ingest.crawl.frontier import Frontier

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

    from ingest.crawl.settings import download_slots, resolver_settings, scrapy_settings
    from ingest.crawl.spider import NewsSpider

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
