"""Downloader middlewares for the hostile web: the fetch guard, redirects, robots.txt, Retry-After."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.asyncio import sleep
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from twisted.internet.defer import Deferred

from ingest.urls import FetchPolicy, canonicalize, may_fetch

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.robotstxt import RobotParser

logger = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Requests of these kinds may go to the hosts of the source's configured feeds and sitemaps.
DISCOVERY_KINDS = frozenset({"feed", "sitemap", "robots"})


class RefusedRequest(IgnoreRequest):
    """A request we refuse to send; `reason` is the recorded reason kind."""

    reason = "refused"

    def __init__(self, reason: str | None = None, detail: str = "") -> None:
        if reason is not None:
            self.reason = reason
        super().__init__(f"{self.reason}: {detail}" if detail else self.reason)


class OffsiteRedirect(RefusedRequest):
    """A redirect to a URL the source may not fetch; the target is never requested."""

    reason = "offsite-redirect"


class RedirectLoop(RefusedRequest):
    """A redirect back to a URL of the same chain (Scrapy's dupefilter would drop it silently)."""

    reason = "redirect-loop"


class RobotsUnavailable(RefusedRequest):
    """The host's robots.txt answered 5xx or not at all: RFC 9309 says complete disallow."""

    reason = "robots-unavailable"


class FetchGuardMiddleware:
    """Every request any part of the crawl sends passes here first, and `ingest.urls.may_fetch`
    decides: feeds, sitemaps and their children, robots.txt (ours and RobotsTxtMiddleware's),
    listings, articles, and each redirect of any of them (Scrapy schedules a redirect as a new
    request, so it comes through here again). The spider's ``fetch_policy`` is the rule; a spider
    without one may fetch nothing. A refusal raises RefusedRequest with the reason (never fatal).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request, spider: Any = None) -> None:
        policy: FetchPolicy | None = getattr(self.crawler.spider, "fetch_policy", None)
        discovery = request.meta.get("kind") in DISCOVERY_KINDS
        reason = "offsite-request" if policy is None else may_fetch(request.url, policy, discovery=discovery)
        if reason is None:
            return
        if reason == "offsite-request" and request.meta.get("redirect_urls"):
            raise OffsiteRedirect(detail=f"redirect to {request.url}")
        if self.crawler.stats:
            self.crawler.stats.inc_value(f"ingest/refused/{reason}")
        raise RefusedRequest(reason, request.url)


# Signal sent for every on-site redirect of an article request, with `url` (the first URL of the
# chain), `status` and `target`: the spider remembers the redirecting URL, because Scrapy's
# dupefilter drops a redirect target already fetched in the run, and the alias would otherwise
# stay unknown and be fetched again by every later run.
article_redirected = object()


class OffsiteRedirectMiddleware:
    """Judges a 3xx before RedirectMiddleware follows it: a Location the source may not fetch
    (``may_fetch``; a discovery document may also go to a configured feed/sitemap host) is
    refused as ``offsite-redirect`` (its scheme, private address or length as other reasons),
    and a Location already in the chain as ``redirect-loop``. The guard would refuse the first
    kind too when the redirect is scheduled; deciding here names the reason and sends nothing.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status not in REDIRECT_STATUSES:
            return response
        location = response.headers.get(b"Location")
        if not location:
            return response
        target = urljoin(request.url, location.decode("latin-1").strip())
        policy: FetchPolicy | None = getattr(self.crawler.spider, "fetch_policy", None)
        discovery = request.meta.get("kind") in DISCOVERY_KINDS
        reason = "offsite-request" if policy is None else may_fetch(target, policy, discovery=discovery)
        if reason == "offsite-request":
            raise OffsiteRedirect(detail=f"redirect to {target}")
        if reason is not None:
            raise RefusedRequest(reason, f"redirect to {target}")
        chain = {canonicalize(u) for u in (*request.meta.get("redirect_urls", ()), request.url)}
        if canonicalize(target) in chain:
            raise RedirectLoop(detail=f"redirect back to {target}")
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


# Sent when a robots.txt could not be had (5xx, timeout, refused): `url` (the robots.txt URL),
# `status` (0 when nothing answered) and `reason` (http-503, timeout, transport: ...).
robots_unavailable = object()


class UnavailableRobots:
    """The parser of a robots.txt that could not be fetched: RFC 9309 2.3.1.4, complete disallow."""

    def __init__(self, detail: str) -> None:
        self.detail = detail

    def allowed(self, url: str | bytes, user_agent: str | bytes) -> bool:
        return False

    def crawl_delay(self, user_agent: str | bytes) -> float | None:
        return None


class RobotsRulesMiddleware(RobotsTxtMiddleware):
    """Scrapy's RobotsTxtMiddleware with RFC 9309's error rules, for every host a crawl meets.

    Scrapy reads a 5xx answer's body as rules and treats a robots.txt that could not be fetched
    as "allow all", after retrying it. Here each host's robots.txt is requested once per run,
    never retried, within the source's download slot: 2xx is parsed; 4xx means allow all; 5xx,
    a timeout or no answer mean disallow all for the rest of the run, and every request to the
    host is refused as ``robots-unavailable`` (a temporary reason: later runs ask again). The
    spider primes the cache with the answer for its own host (NewsSpider._robots).
    """

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        if isinstance(rp, UnavailableRobots):
            self._stats.inc_value("robotstxt/unavailable_refused")
            raise RobotsUnavailable(detail=f"{request.url} ({rp.detail})")
        super().process_request_2(rp, request)

    def settle(self, netloc: str, parser: Any) -> None:
        """Set the rules for `netloc` (waking requests waiting for them)."""
        waiting = self._parsers.get(netloc)
        self._parsers[netloc] = parser
        if isinstance(waiting, Deferred):
            waiting.callback(parser)

    def parser_for(self, status: int, body: bytes, detail: str) -> Any:
        """The rules an answer gives: parsed (2xx/3xx), allow all (4xx), disallow all (5xx, none)."""
        if 0 < status < 400:
            return build_from_crawler(self._parserimpl, self.crawler, body)
        if 400 <= status < 500:
            return build_from_crawler(self._parserimpl, self.crawler, b"")
        return UnavailableRobots(detail)

    async def robot_parser(self, request: Request) -> RobotParser | None:
        url = urlparse_cached(request)
        netloc = url.netloc
        if netloc not in self._parsers:
            self._parsers[netloc] = Deferred()
            robotsurl = f"{url.scheme}://{url.netloc}/robots.txt"
            meta = {"dont_obey_robotstxt": True, "dont_retry": True, "kind": "robots"}
            if "download_slot" in request.meta:
                meta["download_slot"] = request.meta["download_slot"]
            robotsreq = Request(robotsurl, priority=self.DOWNLOAD_PRIORITY, meta=meta, callback=NO_CALLBACK)
            status, body, detail = 0, b"", ""
            try:
                resp = await self.crawler.engine.download_async(robotsreq)
                status, body, detail = resp.status, resp.body, f"http-{resp.status}"
            except Exception as exc:
                detail = _failure_detail(exc)
            self._stats.inc_value("robotstxt/request_count")
            parser = self.parser_for(status, body, detail)
            if isinstance(parser, UnavailableRobots):
                logger.info("robots.txt unavailable (%s): %s; nothing is fetched from that host", detail, robotsurl)
                self.crawler.signals.send_catch_log(robots_unavailable, url=robotsurl, status=status, reason=detail)
            self.settle(netloc, parser)
        parser = self._parsers[netloc]
        if isinstance(parser, Deferred):
            return await maybe_deferred_to_future(parser)
        return parser


def _failure_detail(exc: BaseException) -> str:
    if isinstance(exc, RefusedRequest):
        return exc.reason
    name = type(exc).__name__
    return "timeout" if "Timeout" in name else f"transport: {name}"
