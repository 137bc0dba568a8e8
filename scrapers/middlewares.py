"""Downloader middlewares for the hostile web: offsite redirects and Retry-After."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.utils.asyncio import sleep

from ingest.urls import same_site

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


# Signal sent for every on-site redirect of an article request, with `url` (the first URL of the
# chain), `status` and `target`: the spider remembers the redirecting URL, because Scrapy's
# dupefilter drops a redirect target already fetched in the run, and the alias would otherwise
# stay unknown and be fetched again by every later run.
article_redirected = object()


class OffsiteRedirect(IgnoreRequest):
    """A redirect that leaves the source's allowed domains; the target is never requested."""


class OffsiteRedirectMiddleware:
    """Refuses a 3xx whose Location is outside the spider's ``allowed_domains`` (www ignored).

    Scrapy's OffsiteMiddleware would also drop the redirected request, but with a generic
    IgnoreRequest; this one runs before RedirectMiddleware so the errback gets a precise reason.
    Requests with ``meta["allow_offsite"]`` (configured feeds on a feed host) are left alone.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status not in REDIRECT_STATUSES or request.meta.get("allow_offsite"):
            return response
        location = response.headers.get(b"Location")
        if not location:
            return response
        target = urljoin(request.url, location.decode("latin-1").strip())
        allowed = getattr(self.crawler.spider, "allowed_domains", None) or []
        if allowed and not same_site(target, allowed):
            raise OffsiteRedirect(f"redirect to {target}")
        if request.meta.get("kind") == "article":
            first = request.meta.get("redirect_urls", [request.url])[0]
            self.crawler.signals.send_catch_log(article_redirected, url=first, status=response.status, target=target)
        return response


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110 10.2.3); None if unreadable."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RetryAfterMiddleware:
    """Waits for Retry-After on 429/503 before RetryMiddleware retries (it ignores the header).

    Sits just above RetryMiddleware, so it sees the response first: it sleeps (without holding
    a download slot) and hands the response on; RetryMiddleware then schedules the retry. A
    Retry-After longer than RETRY_AFTER_MAX_DELAY is not waited for: the request is not retried
    in this run (the frontier records the failure and the next run tries again).
    """

    STATUSES = frozenset({429, 503})

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_delay = crawler.settings.getfloat("RETRY_AFTER_MAX_DELAY", 60.0)
        self.retry_times = crawler.settings.getint("RETRY_TIMES")
        self.enabled = crawler.settings.getbool("RETRY_ENABLED")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_response(self, request: Request, response: Response) -> Response:
        if not self.enabled or response.status not in self.STATUSES or request.meta.get("dont_retry"):
            return response
        delay = retry_after_seconds(response.headers.get(b"Retry-After"))
        if delay is None:
            return response
        max_times = request.meta.get("max_retry_times", self.retry_times)
        if request.meta.get("retry_times", 0) >= max_times:
            return response  # RetryMiddleware gives up anyway: do not wait for nothing
        if delay > self.max_delay:
            logger.info("Not retrying %s: Retry-After %.0fs exceeds %.0fs", request.url, delay, self.max_delay)
            request.meta["dont_retry"] = True
            return response
        if delay > 0:
            logger.debug("Retry-After %.1fs for %s", delay, request.url)
            await sleep(delay)
        return response
