"""Scrapy settings built from ``ingest.config.Settings``: never a global settings module lookup."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scrapy.settings import default_settings

from ingest.config import Settings, Source
from ingest.crawl.resolver import ALLOW_SETTING
from ingest.urls import MAX_URL_LENGTH

# Scrapy's own retry list; 429 and 503 are honoured with Retry-After by RetryAfterMiddleware.
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
REDIRECT_MAX_TIMES = 5  # a news article never needs more; redirect chains beyond are traps
RETRY_AFTER_CAP = 60.0  # seconds; a longer Retry-After is treated as "try again next run"
# Scrapy 2.19 renamed DNS_RESOLVER (and warns when the old name is set); 2.13 knows only the old one.
RESOLVER_SETTING = "TWISTED_DNS_RESOLVER" if hasattr(default_settings, "TWISTED_DNS_RESOLVER") else "DNS_RESOLVER"
# A delay is a floor, not a mean: no jitter (`download_slots`). Scrapy 2.19 names it as a magnitude,
# 2.13 as a boolean, for the whole crawler and for each DOWNLOAD_SLOTS entry.
_JITTER_NAMED = hasattr(default_settings, "DOWNLOAD_DELAY_JITTER")
_NO_JITTER_SLOT: dict[str, Any] = {"jitter": 0.0} if _JITTER_NAMED else {"randomize_delay": False}
_NO_JITTER_SETTING: dict[str, Any] = (
    {"DOWNLOAD_DELAY_JITTER": 0.0} if _JITTER_NAMED else {"RANDOMIZE_DOWNLOAD_DELAY": False}
)


def scrapy_settings(settings: Settings, *, log_level: str = "INFO") -> dict[str, Any]:
    """The Scrapy settings dict for one crawl run with these service settings."""
    return {
        "BOT_NAME": "ingest",
        "USER_AGENT": settings.user_agent,
        # Politeness: robots.txt always, per-source slot (see download_slots), honest UA.
        "ROBOTSTXT_OBEY": True,
        "CONCURRENT_REQUESTS": settings.concurrent_requests,
        "CONCURRENT_REQUESTS_PER_DOMAIN": settings.concurrent_per_source,
        "DOWNLOAD_DELAY": settings.download_delay,
        **_NO_JITTER_SETTING,
        "AUTOTHROTTLE_ENABLED": settings.autothrottle,
        # AutoThrottle never goes below DOWNLOAD_DELAY; start close to it instead of the 5 s default.
        "AUTOTHROTTLE_START_DELAY": max(settings.download_delay, 0.5),
        "AUTOTHROTTLE_MAX_DELAY": 30.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(min(2, settings.concurrent_per_source)),
        # Hostile web.
        "DOWNLOAD_TIMEOUT": settings.download_timeout,
        "DNS_TIMEOUT": min(settings.download_timeout, 20.0),
        "DOWNLOAD_MAXSIZE": settings.max_page_bytes,
        "DOWNLOAD_WARNSIZE": settings.max_page_bytes // 2,
        "REDIRECT_MAX_TIMES": REDIRECT_MAX_TIMES,
        "URLLENGTH_LIMIT": MAX_URL_LENGTH,  # the spider refuses (and counts) longer URLs before Scrapy drops them
        "INGEST_MAX_LINKS_PER_PAGE": settings.max_links_per_page,
        "INGEST_MAX_ARTICLES_PER_RUN": settings.max_articles_per_run,
        # Only http and https are ever fetched (the guard refuses other schemes first).
        "DOWNLOAD_HANDLERS": {"file": None, "data": None, "s3": None, "ftp": None},
        RESOLVER_SETTING: "ingest.crawl.resolver.PrivateAddressResolver",
        # A meta refresh is a redirect our offsite guard cannot see; articles do not need it.
        "METAREFRESH_ENABLED": False,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": settings.retry_times,
        "RETRY_HTTP_CODES": RETRY_HTTP_CODES,
        "RETRY_AFTER_MAX_DELAY": RETRY_AFTER_CAP,
        # Stateless: cookies only cause consent walls and session-bound URLs.
        "COOKIES_ENABLED": False,
        # The frontier is our memory; no HTTP cache.
        "HTTPCACHE_ENABLED": False,
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.httpcache.HttpCacheMiddleware": None,
            "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware": None,
            "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,
            # The fetch guard decides for every request (the allowed domains included) before any
            # other middleware can send one (RobotsTxtMiddleware sends robots.txt requests).
            "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
            "ingest.crawl.middlewares.FetchGuardMiddleware": 1,
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "ingest.crawl.middlewares.RobotsRulesMiddleware": 100,
            # process_response runs from high to low numbers: the redirect check sees a 3xx before
            # RedirectMiddleware (600) follows it, RetryAfter sees a 429 before RetryMiddleware (550).
            "ingest.crawl.middlewares.OffsiteRedirectMiddleware": 610,
            "ingest.crawl.middlewares.RetryAfterMiddleware": 560,
        },
        # Scrapy 2.19 processes up to CONCURRENT_ITEMS outputs of a callback in parallel tasks; our
        # callbacks yield a few requests each, and 1 measured ~1.5x faster on a loopback crawl.
        "CONCURRENT_ITEMS": 1,
        "TELNETCONSOLE_ENABLED": False,
        "EXTENSIONS": {
            "scrapy.extensions.telnet.TelnetConsole": None,
            "scrapy.extensions.memdebug.MemoryDebugger": None,
            "scrapy.extensions.feedexport.FeedExporter": None,
            "scrapy.extensions.spiderstate.SpiderState": None,
            "scrapy.extensions.remote_control.RemoteControl": None,
        },
        "STATS_DUMP": False,  # the SourceReport is the run summary
        "LOG_LEVEL": log_level,
        "LOG_COLOR": False,
    }


def download_slots(settings: Settings, source_names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """DOWNLOAD_SLOTS: one slot per source (requests carry ``meta["download_slot"] = source.name``),
    so a source's www host, CDN host and feed host share one concurrency and delay budget.

    Without jitter: Scrapy's default draws each wait from 0.5-1.5x the delay, so a source saw
    requests 0.05 s apart under a 0.1 s "minimum", and it draws again each time the slot wakes,
    which lengthens the mean gap to ~1.22x (a simulation; `bench/crawl_many.py --polite` measured
    gaps of 119-126 ms for a 0.1 s delay, hence a crawl 26% over its delays)."""
    slot = {"concurrency": settings.concurrent_per_source, "delay": settings.download_delay, **_NO_JITTER_SLOT}
    return {name: dict(slot) for name in source_names}


def resolver_settings(sources: Iterable[Source]) -> dict[str, Any]:
    """The process-wide DNS resolver's allow list: every host some source allows to be private."""
    return {ALLOW_SETTING: sorted({h for s in sources for h in s.allow_private_hosts})}
