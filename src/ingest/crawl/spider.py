"""NewsSpider: crawls one configured Source through its feeds, sitemaps and listing pages.

Flow: robots.txt first (its Sitemap: lines are a discovery channel, and it primes Scrapy's
robots cache; a robots.txt that answers 5xx or not at all stops the source for this run, RFC
9309), then feeds, sitemaps and listings in parallel. Every article candidate is canonicalised,
filtered (article pattern, `may_fetch`, crawl window, seen this run), then asked of the frontier
in batches; only unseen URLs are fetched, at most INGEST_MAX_LINKS_PER_PAGE from one listing
page or feed and INGEST_MAX_ARTICLES_PER_RUN in the run (the rest is counted ``links-capped`` and
its document read again next run). Every fetch of any kind is recorded in the frontier; article
pages go to the sink undecoded. What may be requested at all is `ingest.urls.may_fetch`'s call,
enforced for every request (redirects included) by ingest.crawl.middlewares.FetchGuardMiddleware.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, DownloadCancelledError, DownloadTimeoutError, IgnoreRequest
from scrapy.http import Request, Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.error import TimeoutError as TxTimeoutError
from twisted.internet.threads import deferToThread
from twisted.python.failure import Failure

from ingest.config import Listing, Source
from ingest.crawl import discovery
from ingest.crawl.contracts import CrawlWindow, PageSink, ResolvedWindow, SourceReport
from ingest.crawl.frontier import OUTSIDE_WINDOW, FetchOutcome, Frontier, UrlKind, Validators
from ingest.crawl.middlewares import (
    DISCOVERY_KINDS,
    RefusedRequest,
    RobotsRulesMiddleware,
    article_redirected,
    robots_unavailable,
)
from ingest.crawl.resolver import refused_address
from ingest.records import FetchedPage, Rejection
from ingest.urls import canonicalize, may_fetch

logger = logging.getLogger(__name__)

FRONTIER_BATCH = 500  # URLs per frontier.unseen_articles call
RECORD_BATCH = 50  # outcomes per frontier.record call
MAX_SITEMAP_DEPTH = 3  # index -> index -> urlset is the deepest seen in the wild, plus one
NORMAL_RUN_CHILDREN = 2  # newest sitemap-index children followed in an incremental run
MAX_CHILDREN = 2000  # sitemap-index children followed in a backfill
MAX_CRAWL_DELAY = 60.0  # a robots.txt Crawl-delay above this would make the source uncrawlable
SITEMAP_MAXSIZE = 64 * 1024 * 1024  # sitemaps may be 50 MB; article pages stay at max_page_bytes
DOCUMENT_KINDS = frozenset({"feed", "sitemap", "listing", "homepage"})
T = TypeVar("T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Reasons the fetch guard (or the resolver) gives: the request was never sent.
REFUSALS = frozenset({"offsite-request", "private-address", "bad-scheme", "bad-url", "url-too-long"})
# Discovery before articles, so frontier batches fill early and pagination decisions come first.
DATING_KINDS = frozenset({"feed", "sitemap", "homepage"})  # documents that date article links
PRIORITY = {"robots": 100, "feed": 30, "sitemap": 20, "homepage": 20, "listing": 10, "article": 0}


@dataclass(frozen=True, slots=True)
class _Candidate:
    url: str
    title: str | None
    published: datetime | None


@dataclass(slots=True)
class _Walk:
    """A listing page of a backfill whose next page waits until its articles have been fetched:
    their own dates tell whether the walk has gone past the window."""

    pending: int  # article requests not yet answered
    dates: list[datetime | None]
    listing: int
    page_no: int
    next_url: str | None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _headers(response: Response) -> dict[str, str]:
    """Lower-case keys, latin-1 values, a repeated header keeps its last value."""
    out: dict[str, str] = {}
    for key in response.headers:
        values = response.headers.getlist(key)
        if values:
            out[key.decode("latin-1").lower()] = values[-1].decode("latin-1")
    return out


def classify_failure(failure: Failure) -> tuple[int, str, str]:
    """(status, reason kind, detail) for an errback failure; status 0 when nothing answered."""
    exc = failure.value
    if isinstance(exc, HttpError):
        status = exc.response.status
        return status, f"http-{status}", ""
    if isinstance(exc, RefusedRequest):  # the fetch guard, the redirect check, robots unavailable
        return 0, exc.reason, str(exc)
    if isinstance(exc, IgnoreRequest):
        # Scrapy signals these with plain IgnoreRequest; its message is the only discriminator.
        msg = str(exc)
        if "robots.txt" in msg:
            return 0, "robots-disallowed", msg
        if "max redirections" in msg:
            return 0, "too-many-redirects", msg
        if "DOWNLOAD_MAXSIZE" in msg:  # HttpCompressionMiddleware: a Content-Encoding bomb
            return 0, "too-large", msg
        if "offsite" in msg.lower():
            return 0, "offsite-redirect", msg
        return 0, "ignored", msg
    if isinstance(exc, DownloadCancelledError | CancelledError):
        # A Content-Length over download_maxsize says "max size"; a body that grows past it as
        # it streams in is cancelled without a message. Nothing else cancels our downloads
        # (timeouts arrive as DownloadTimeoutError; we never stop a download from a signal).
        return 0, "too-large", str(exc) or "body over the size limit"
    if isinstance(exc, DownloadTimeoutError | TxTimeoutError | TimeoutError):
        return 0, "timeout", str(exc)
    request = getattr(failure, "request", None)
    host = urlsplit(request.url).hostname if request is not None else None
    address = refused_address(host) if host else None
    if address is not None:  # our resolver refused it (Scrapy reports a plain DNS failure)
        return 0, "private-address", f"{host} resolves to {address}"
    return 0, "transport", f"{type(exc).__name__}: {exc}"


class NewsSpider(scrapy.Spider):
    name = "news"

    def __init__(
        self,
        source: Source,
        sink: PageSink,
        frontier: Frontier,
        window: CrawlWindow | None = None,
        on_close: Callable[[SourceReport], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=source.name, **kwargs)
        self.source = source
        self.sink = sink
        self.frontier = frontier
        # The window in this source's own days (its time zone), or None for an incremental run.
        self.window: ResolvedWindow | None = window.for_source(source.tz) if window is not None else None
        self.backfill = self.window is not None
        self.oldest_first = window is not None and window.oldest_first
        self.on_close = on_close
        self.fetch_policy = source.fetch_policy()  # what FetchGuardMiddleware lets through
        self.max_links_per_page = 1000  # set from the crawler's settings in from_crawler
        self.max_articles_per_run = 10_000
        self._queued_articles = 0  # article requests built this run (against max_articles_per_run)
        self.report = SourceReport(source=source.name)
        self._considered: set[str] = set()  # article URLs seen this run (dedup across channels)
        self._channel_urls: dict[str, set[str]] = {"feed": set(), "sitemap": set(), "listing": set()}
        self._discovery_queued: set[str] = set()  # feed/sitemap/listing URLs already requested
        self._outcomes: list[FetchOutcome] = []
        self._read_whole: dict[str, FetchOutcome] = {}  # documents read whole, recorded if the crawl finishes
        self._discovery_started = False
        self._walks: dict[int, _Walk] = {}  # backfill: listing pages waiting for their articles
        self._walk_seq = 0
        self._dating = 0  # backfill: feeds, sitemaps and homepages requested and not yet read
        self._held_listings: list[int] = []  # backfill: listing walks waiting for them
        self._held_articles: list[tuple[int, Request]] = []  # backfill: sitemap children's, with their rank
        self._link_dates: dict[str, datetime] = {}  # backfill: article URL -> date a channel gave it
        self.crawl_delay: float | None = None  # from robots.txt, when the site asks for one

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> NewsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._redirected, signal=article_redirected)
        crawler.signals.connect(spider._robots_unavailable, signal=robots_unavailable)
        crawler.signals.connect(spider._idle, signal=signals.spider_idle)
        settings = crawler.settings
        spider.fetch_policy = spider.source.fetch_policy(settings.getint("URLLENGTH_LIMIT") or None)
        spider.max_links_per_page = settings.getint("INGEST_MAX_LINKS_PER_PAGE", spider.max_links_per_page)
        spider.max_articles_per_run = settings.getint("INGEST_MAX_ARTICLES_PER_RUN", spider.max_articles_per_run)
        return spider

    def _idle(self) -> None:
        """Nothing in flight while listing walks or articles are still held (a feed or sitemap
        request that ended without a callback): start them rather than end the backfill without them."""
        if (self._held_listings or self._held_articles) and self.crawler.engine is not None:
            self._queue_held_articles()
            for request in self._release_listings():
                self.crawler.engine.crawl(request)
            raise DontCloseSpider

    def _redirected(self, url: str, status: int, target: str) -> None:
        self._record(url, "article", status, None, f"redirect to {target}")

    def _robots_unavailable(self, url: str, status: int, reason: str) -> None:
        """RobotsRulesMiddleware could not get another host's robots.txt: nothing is fetched there."""
        self.report.error("robots-unavailable")
        self._record(url, "robots", status, None, f"robots-unavailable: {reason}")

    # ------------------------------------------------------------------------------ requests

    def _request(
        self,
        url: str,
        kind: UrlKind,
        callback: Callable[..., Any],
        *,
        conditional: bool = False,
        meta: dict[str, Any] | None = None,
    ) -> Request:
        headers: dict[str, str] = {}
        # A backfill reads every document whole: a 304 says nothing of the window's articles.
        if conditional and self.window is None:
            v = self.frontier.validators(url)
            if v.etag:
                headers["If-None-Match"] = v.etag
            if v.last_modified:
                headers["If-Modified-Since"] = v.last_modified
        m: dict[str, Any] = {"kind": kind, "download_slot": self.source.name, **(meta or {})}
        if self.crawl_delay is not None:  # AutoThrottle must not shorten a delay the site asked for
            m["autothrottle_dont_adjust_delay"] = True
        if kind in ("feed", "sitemap"):
            m["download_maxsize"] = max(SITEMAP_MAXSIZE, self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
        return Request(url, callback=callback, errback=self._failed, headers=headers, meta=m, priority=PRIORITY[kind])

    def _discovery(self, url: str, kind: UrlKind, callback: Callable[..., Any], **kw: Any) -> Iterator[Request]:
        canon = canonicalize(url)
        if canon in self._discovery_queued:
            return
        self._discovery_queued.add(canon)
        reason = may_fetch(canon, self.fetch_policy, discovery=kind in DISCOVERY_KINDS)
        if reason is not None:  # a sitemap child or robots line at file:, another host, 127.0.0.2...
            self.report.error(reason)
            if reason != "url-too-long":  # (the store's URL columns could not hold it)
                self._record(canon, kind, 0, None, reason)
            return
        if self._run_room() <= 0:  # every article this document could give would be capped
            return
        settled = self.frontier.settled_failure(canon, datetime.now(UTC))
        if settled is not None:  # an oversized document: not fetched (and paid for) again soon
            logger.info("%s: not fetching %s: %s on an earlier run", self.source.name, canon, settled)
            return
        if self.window is not None and kind in DATING_KINDS:
            self._dating += 1
        yield self._request(canon, kind, callback, **kw)

    def _dated(self, kind: str) -> Iterator[Request]:
        """A feed, sitemap or homepage of a backfill is read (or failed): once none is left, the
        held listing walks start, every link the feeds and sitemaps dated now known by its date."""
        if self.window is None or kind not in DATING_KINDS:
            return
        self._dating -= 1
        if self._dating <= 0:
            self._queue_held_articles()
            yield from self._release_listings()

    def _queue_held_articles(self) -> None:
        """Hand the sitemap children's articles to the scheduler in the backfill's order, one
        after the other: Scrapy processes a callback's output in parallel, and yielded, they went
        out in no order (a test's 15 May articles before the 13th's, oldest first asked). The
        scheduler then serves them by priority; the few the downloader takes at once
        (CONCURRENT_REQUESTS) may still overtake one another."""
        held, self._held_articles = self._held_articles, []
        if self.crawler.engine is None:
            return
        for _, request in sorted(held, key=lambda item: item[0]):
            self.crawler.engine.crawl(request)

    def _release_listings(self) -> Iterator[Request]:
        held, self._held_listings = self._held_listings, []
        for index in held:
            listing = self.source.listings[index]
            yield from self._discovery(listing.url, "listing", self._listing, meta={"listing": index, "page": 1})

    async def start(self) -> Any:
        robots = _origin(canonicalize(self.source.homepage)) + "/robots.txt"
        # Asked once per run (RFC 9309): an error means "disallow all", not "ask again".
        yield self._request(robots, "robots", self._robots, meta={"dont_obey_robotstxt": True, "dont_retry": True})

    def _start_discovery(self, robots_sitemaps: Iterable[str]) -> Iterator[Request]:
        if self._discovery_started:
            return
        self._discovery_started = True
        for url in self.source.feeds:
            yield from self._discovery(url, "feed", self._feed, conditional=True)
        if not self.source.feeds and self.source.discover_feeds:
            yield from self._discovery(self.source.homepage, "homepage", self._homepage)
        for url in self.source.sitemaps:
            yield from self._discovery(url, "sitemap", self._sitemap, conditional=True)
        for url in robots_sitemaps:
            yield from self._discovery(url, "sitemap", self._sitemap, conditional=True)
        if self.window is not None:  # a backfill walks listings once the feeds and sitemaps dated their links
            self._held_listings = list(range(len(self.source.listings)))
            if self._dating == 0:
                yield from self._release_listings()
            return
        for index, listing in enumerate(self.source.listings):
            yield from self._discovery(listing.url, "listing", self._listing, meta={"listing": index, "page": 1})

    # ------------------------------------------------------------------------------ recording

    def _record(
        self, url: str, kind: UrlKind, status: int, response: Response | None = None, error: str | None = None
    ) -> None:
        validators = Validators()
        content_hash = None
        if kind not in ("article", "robots") and error is None and 200 <= status < 300:
            self.report.documents_read += 1
        if response is not None:
            etag = response.headers.get(b"ETag")
            lm = response.headers.get(b"Last-Modified")
            validators = Validators(etag.decode("latin-1") if etag else None, lm.decode("latin-1") if lm else None)
            if error is None:
                content_hash = hashlib.sha1(response.body).hexdigest()
        outcome = FetchOutcome(url, self.source.name, kind, status, datetime.now(UTC), validators, content_hash, error)
        if kind in DOCUMENT_KINDS:
            # A document's validators say "unchanged" to the next run: not before its articles are stored.
            if error is None and 200 <= status < 300:
                self._read_whole[url] = outcome
                return
            self._read_whole.pop(url, None)  # not read whole after all (links capped, XML error)
        self._outcomes.append(outcome)
        if len(self._outcomes) >= RECORD_BATCH:
            self._flush_outcomes()

    def _flush_outcomes(self) -> None:
        if self._outcomes:
            batch, self._outcomes = self._outcomes, []
            self.frontier.record(batch)

    # ------------------------------------------------------------------------------ candidates

    def _is_article(self, url: str) -> bool:
        # Patterns may be written against raw Arabic or against the percent-encoded form.
        return self.source.is_article_url(url) or self.source.is_article_url(unquote(url))

    def _in_window(self, url: str, published: datetime | None) -> bool:
        """A link's known date (this channel's, another channel's, else the day its path names)
        meets the window. Dates given are remembered: a listing that links the URL undated later
        is known by it."""
        assert self.window is not None
        if published is not None:
            self._link_dates[url] = published
        published = published or self._link_dates.get(url)
        if published is not None:
            return self.window.contains(published)
        span = discovery.url_date_span(url, self.source.tz)
        return span is None or self.window.overlaps(*span)

    def _known_date(self, url: str) -> datetime | None:
        """The date a channel gave an article URL this run, else the last instant its path names."""
        span = discovery.url_date_span(url, self.source.tz)
        return self._link_dates.get(url) or (span[1] if span else None)

    def _run_room(self) -> int:
        return self.max_articles_per_run - self._queued_articles

    def _take(
        self, channel: str, found: Iterable[tuple[str, str | None, datetime | None]], per_doc: int | None
    ) -> tuple[list[Request], int, int]:
        """Canonicalise and filter discovered links, ask the frontier which are unseen (in
        batches) and build requests for them, at most `per_doc` of them and what is left of the
        run's quota: (requests, how many links are article URLs, how many were left by a cap).

        Links are read lazily, so a page of 100,000 links costs only what the caps let through;
        the links left (counted, roughly: the rest is counted by the article pattern alone) are
        not marked seen, so another document may still offer them, and the next run reads the
        document again (its fetch is recorded ``links-capped``) and takes the next ones, the
        frontier skipping those fetched before.
        """
        room = self._run_room() if per_doc is None else min(per_doc, self._run_room())
        requests: list[Request] = []
        matched = capped = 0
        batch: list[_Candidate] = []

        def flush() -> None:
            nonlocal capped
            if not batch:
                return
            in_window = self.window.contains if self.window is not None else None
            unseen = self.frontier.unseen_articles(
                self.source.name, [c.url for c in batch], datetime.now(UTC), in_window
            )
            for c in batch:
                if c.url not in unseen:
                    self.report.skipped_known += 1
                elif len(requests) < room:
                    meta = {"hint_title": c.title, "hint_published": c.published}
                    requests.append(self._request(c.url, "article", self._article, meta=meta))
                else:
                    capped += 1
                    self._considered.discard(c.url)
            batch.clear()

        links = iter(found)
        for url, title, published in links:
            if len(requests) >= room:
                capped += 1 + sum(1 for u, _, _ in links if self._is_article(u))
                break
            canon = canonicalize(url)
            if not self._is_article(canon):
                continue
            reason = may_fetch(canon, self.fetch_policy)
            if reason == "url-too-long":  # Scrapy would drop it silently
                self.report.error(reason)
                continue
            if reason is not None:  # another site's article, or not fetchable: not ours to count
                continue
            matched += 1
            if self.window is not None and not self._in_window(canon, published):
                continue
            self._channel_urls[channel].add(canon)
            if canon in self._considered:
                continue
            self._considered.add(canon)
            batch.append(_Candidate(canon, title, published))
            if len(batch) >= min(FRONTIER_BATCH, max(room - len(requests), 1)):
                flush()
        flush()
        self._queued_articles += len(requests)
        if capped:
            self.report.error("links-capped", capped)
        return requests, matched, capped

    async def _off_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a parser in the reactor's thread pool: a big sitemap must not stall every source."""
        return await maybe_deferred_to_future(deferToThread(fn, *args))

    def _doc_problem(self, url: str, kind: UrlKind, response: Response, problem: str | None, capped: int) -> None:
        """Record what stopped a feed or sitemap from being read whole (after its plain fetch record).

        ``too-large`` (over 50,000 entries or 50 MB of XML: a bomb) is remembered by the frontier
        and the document is not fetched again for a while; ``links-capped`` and ``xml-error``
        are recorded without validators, so the next run reads the whole document again.
        """
        if problem is not None:
            self.report.error(problem)
        error = "too-large" if problem == "too-large" else ("links-capped" if capped else problem)
        if error is not None:
            self._record(url, kind, response.status, None, error)

    # ------------------------------------------------------------------------------ callbacks

    def _robots(self, response: Response) -> Iterator[Request]:
        url = self._requested(response)
        self._record(url, "robots", response.status, response)
        self._prime_robots_cache(url, response.status, response.body)
        if response.status == 200:
            self._honour_crawl_delay(response.body)
        yield from self._start_discovery(discovery.robots_sitemaps(response.body, response.url))

    def _honour_crawl_delay(self, body: bytes) -> None:
        """A site's own Crawl-delay wins over our default: it becomes the source's fixed delay."""
        user_agent = str(self.crawler.settings.get("USER_AGENT", ""))
        asked = discovery.robots_crawl_delay(body, user_agent)
        if asked is None:
            return
        self.crawl_delay = self.report.crawl_delay = min(asked, MAX_CRAWL_DELAY)
        slot = self.crawler.engine.downloader.slots.get(self.source.name) if self.crawler.engine else None
        if slot is not None:
            slot.delay = max(slot.delay, self.crawl_delay)  # a floor: the slot has no jitter (download_slots)
        logger.info("%s: robots.txt asks for a crawl delay of %.1f s", self.source.name, self.crawl_delay)

    def _prime_robots_cache(self, url: str, status: int, body: bytes, detail: str = "") -> None:
        """Hand our robots.txt answer to RobotsRulesMiddleware so it does not ask again: the
        rules of a 2xx (reached through redirects or not: RFC 9309 applies them to the host
        asked), allow-all for a 4xx, disallow-all for a 5xx or no answer."""
        mw = self.crawler.get_downloader_middleware(RobotsRulesMiddleware)
        if mw is None:
            return
        netloc = urlsplit(url).netloc
        if netloc in mw._parsers and not isinstance(mw._parsers[netloc], Deferred):
            return  # the middleware already has this host's rules
        mw.settle(netloc, mw.parser_for(status, body, detail or f"http-{status}"))

    def _homepage(self, response: Response) -> Iterator[Request]:
        yield from self._read_homepage(response)
        yield from self._dated("homepage")

    def _read_homepage(self, response: Response) -> Iterator[Request]:
        self._record(self._requested(response), "homepage", response.status, response)
        feeds = discovery.feed_links(response.body, response.url)
        for url in feeds:
            yield from self._discovery(url, "feed", self._feed, conditional=True)
        if not feeds:
            yield from self._guess_feeds()
        if self.window is not None:  # a backfill reaches back through the listings, not the newest page
            return
        # The homepage is the first listing page of every news site: its links are free.
        page = discovery.parse_listing(response.body, response.url, default_tz=self.source.tz)
        links = ((u, None, None) for u in page.links)
        yield from self._take("listing", links, self.max_links_per_page)[0]

    def _guess_feeds(self) -> Iterator[Request]:
        origin = _origin(canonicalize(self.source.homepage))
        for path in discovery.FEED_GUESSES:
            yield from self._discovery(origin + path, "feed", self._feed, conditional=True, meta={"probe": True})

    async def _feed(self, response: Response) -> AsyncIterator[Request]:
        async for request in self._read_feed(response):
            yield request
        for request in self._dated("feed"):
            yield request

    async def _read_feed(self, response: Response) -> AsyncIterator[Request]:
        url = self._requested(response)
        self._record(url, "feed", response.status, response)
        doc = await self._off_thread(discovery.read_feed, response.body, response.url, self.source.tz)
        if doc.kind == "unknown" and not doc.entries and not response.meta.get("probe"):
            self.report.error("not-a-feed")
        found = ((e.url, e.title, e.published) for e in doc.entries)
        requests, _, capped = self._take("feed", found, self.max_links_per_page)
        self._doc_problem(url, "feed", response, doc.problem, capped)
        for request in requests:
            yield request

    async def _sitemap(self, response: Response) -> AsyncIterator[Request]:
        async for request in self._read_sitemap(response):
            yield request
        for request in self._dated("sitemap"):
            yield request

    async def _read_sitemap(self, response: Response) -> AsyncIterator[Request]:
        url = self._requested(response)
        self._record(url, "sitemap", response.status, response)
        doc = await self._off_thread(discovery.parse_sitemap, response.body, response.url, self.source.tz)
        if doc.kind == "unknown":
            self.report.error("not-a-sitemap")
            self._doc_problem(url, "sitemap", response, doc.problem if doc.problem == "too-large" else None, 0)
            return
        if doc.kind == "index":
            self._doc_problem(url, "sitemap", response, doc.problem, 0)
            depth = response.meta.get("sitemap_depth", 0) + 1
            if depth > MAX_SITEMAP_DEPTH:
                self.report.error("sitemap-too-deep")
                return
            for rank, child in enumerate(self._children(doc.entries)):
                meta = {"sitemap_depth": depth, "child_rank": rank}
                for request in self._discovery(child.url, "sitemap", self._sitemap, conditional=True, meta=meta):
                    yield request
            return
        found = ((e.url, e.title, e.published or e.lastmod) for e in doc.entries)
        requests, _, capped = self._take("sitemap", found, None)
        self._doc_problem(url, "sitemap", response, doc.problem, capped)
        place: int | None = response.meta.get("child_rank")
        if self.window is not None and place is not None:
            # A backfill holds a child's articles until every feed and sitemap is read, then
            # queues them in its order: the articles of the first child come first, and so on.
            for request in requests:
                request.priority = PRIORITY["article"] - 1 - place
                self._held_articles.append((place, request))
            return
        for request in requests:
            yield request

    def _children(self, children: list[discovery.SitemapEntry]) -> list[discovery.SitemapEntry]:
        """Which sitemap-index children to fetch this run.

        Backfill: every child whose lastmod is not before the window (a child's lastmod is its
        newest entry). Incremental: every child never fetched before (so the first run of a
        source reads all its sitemaps, once), plus the news sitemaps, else the newest few by
        lastmod. Either way, a child whose lastmod is not after our last fetch of it is skipped
        (counted not_modified).
        """
        if self.window is not None:
            chosen = self._in_order([c for c in children if self._child_in_window(c)])[:MAX_CHILDREN]
            chosen += self._child_before_window(children)
        else:
            news = [c for c in children if "news" in c.url.lower()]
            dated = sorted((c for c in children if c.lastmod), key=lambda c: c.lastmod or 0, reverse=True)
            unknown = [c for c in children if not self.frontier.fetched_before(canonicalize(c.url))]
            recent = news or dated[:NORMAL_RUN_CHILDREN] or children[:NORMAL_RUN_CHILDREN]
            chosen = list({c.url: c for c in [*recent, *unknown]}.values())[:MAX_CHILDREN]
        if self.window is not None:  # a child read by an earlier run still lists this window's articles
            return chosen
        out: list[discovery.SitemapEntry] = []
        for child in chosen:
            last = discovery.parse_date(self.frontier.validators(canonicalize(child.url)).last_modified)
            if child.lastmod is not None and last is not None and child.lastmod <= last:
                self.report.not_modified += 1
                continue
            out.append(child)
        return out

    def _in_order(self, children: list[discovery.SitemapEntry]) -> list[discovery.SitemapEntry]:
        """A backfill's children by lastmod, newest first (or oldest first, as the window asks),
        undated ones last: the order their articles are fetched in, and what MAX_CHILDREN keeps."""
        dated = sorted((c for c in children if c.lastmod), key=lambda c: c.lastmod or _EPOCH)
        if not self.oldest_first:
            dated.reverse()
        return dated + [c for c in children if not c.lastmod]

    def _child_before_window(self, children: list[discovery.SitemapEntry]) -> list[discovery.SitemapEntry]:
        """The newest child whose lastmod is before the window: its entries date the listing links
        just older than the window, which the walk would otherwise fetch undated to learn it went
        past. One document against the rest of a listing page: on the many-outlet web (listing
        pages of 20 undated links, one sitemap child a day) a one-day backfill made 1.31 article
        requests per article of the day for an outlet whose day began mid-page, 1.00 with it."""
        assert self.window is not None
        before = [c for c in children if c.lastmod is not None and self.window.before(c.lastmod)]
        return [max(before, key=lambda c: c.lastmod or _EPOCH)] if before else []

    def _child_in_window(self, child: discovery.SitemapEntry) -> bool:
        """A sitemap child may list window articles: its lastmod (its newest entry) is not before the
        window, and the period its URL names (post-sitemap-2015-07.xml), if any, meets it."""
        assert self.window is not None
        if self.window.before(child.lastmod):
            return False
        span = discovery.url_date_span(child.url, self.source.tz)
        return span is None or self.window.overlaps(*span)

    def _listing(self, response: Response) -> Iterator[Request]:
        url = self._requested(response)
        self._record(url, "listing", response.status, response)
        index: int = response.meta["listing"]
        page_no: int = response.meta["page"]
        listing = self.source.listings[index]
        page = discovery.parse_listing(response.body, response.url, listing.next, self.source.tz)
        dates = self._page_dates(page)
        if self.window is not None and dates and self.window.before(max(dates)):
            # Backfill: every date this page shows is older than the window; its undated links,
            # among them on a newest-first listing, are too (fetched, 2 of 4 on a test page were).
            logger.info("%s: listing walk stops at page %d: its dated links are older than the window",
                        self.source.name, page_no)  # fmt: skip
            return
        links = ((u, None, None) for u in page.links)
        requests, articles_on_page, capped = self._take("listing", links, self.max_links_per_page)
        if capped:
            self._record(url, "listing", response.status, None, "links-capped")
        goes_on = self._listing_goes_on(listing, page_no, articles_on_page, len(requests), dates)
        next_url = discovery.listing_page_url(listing.page_url, page_no + 1) if listing.page_url else page.next_url
        if goes_on and self.window is not None and requests:
            # Backfill: the next page waits for this page's articles, whose dates say whether to go on.
            key = self._walk_seq = self._walk_seq + 1
            self._walks[key] = _Walk(len(requests), [], index, page_no, next_url)
            for request in requests:
                request.meta["walk"] = key
            goes_on = False
        yield from requests
        if goes_on:
            yield from self._next_listing_page(index, page_no, next_url)

    def _next_listing_page(self, index: int, page_no: int, next_url: str | None) -> Iterator[Request]:
        if next_url and may_fetch(canonicalize(next_url), self.fetch_policy) is None:
            # _discovery() refuses a URL already requested: a next link back to an earlier
            # page (calendar traps, broken pagers) ends the walk.
            yield from self._discovery(next_url, "listing", self._listing, meta={"listing": index, "page": page_no + 1})

    def _walked(self, meta: dict[str, Any], published: datetime | None) -> Iterator[Request]:
        """One article of a backfill's listing page is done; after the page's last one, the walk
        goes on unless every dated article the page led to is older than the window."""
        walk = self._walks.get(meta.get("walk", -1))
        if walk is None:
            return
        walk.pending -= 1
        walk.dates.append(published)
        if walk.pending > 0:
            return
        del self._walks[meta["walk"]]
        dated = [d for d in walk.dates if d is not None]
        assert self.window is not None
        if dated and all(self.window.before(d) for d in dated):
            logger.info("%s: listing walk stops after page %d: its articles are older than the window",
                        self.source.name, walk.page_no)  # fmt: skip
            return
        yield from self._next_listing_page(walk.listing, walk.page_no, walk.next_url)

    def _page_dates(self, page: discovery.ListingPage) -> list[datetime]:
        """What a listing page dates: its <time> elements and, in a backfill, its article links
        whose dates a feed, a sitemap or their path gave."""
        if self.window is None:
            return page.dates
        links = (canonicalize(u) for u in page.links)
        return page.dates + [d for u in links if self._is_article(u) and (d := self._known_date(u)) is not None]

    def _listing_goes_on(
        self, listing: Listing, page_no: int, articles_on_page: int, new: int, dates: list[datetime]
    ) -> bool:
        if page_no >= listing.max_pages:  # the hard cap: infinite pagination cannot hold the crawl
            return False
        if self._run_room() <= 0:  # the run's article quota is spent
            return False
        if articles_on_page == 0:  # past the last page
            return False
        if self.window is not None:
            # Dated items all older than the window start: we have walked far enough back.
            return not (dates and self.window.before(max(dates)))
        return new > 0  # incremental: a page of nothing new means we have caught up

    async def _article(self, response: Response) -> AsyncIterator[Request]:
        url = self._requested(response)
        ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        published: datetime | None = None
        if (why := discovery.not_html(ctype, response.body)) is not None:
            self._refuse(url, response, "not-html", why)
        elif may_fetch(response.url, self.fetch_policy) is not None:  # belt and braces: the guard runs first
            self._refuse(url, response, "offsite-redirect", response.url)
        elif self.window is None:
            self._accept(url, response)
        else:
            published = await self._page_date(response)
            if self.window.contains(published):
                self._accept(url, response)
            else:
                self._outside_window(url, response, published)
        for request in self._walked(response.meta, published):
            yield request

    async def _page_date(self, response: Response) -> datetime | None:
        """The page's own date, else the date its link came with, else its canonical page's link date."""
        found = await self._off_thread(discovery.page_published, response.body, response.url, self.source.tz)
        published, canonical = found
        published = published or response.meta.get("hint_published")
        if published is None and canonical is not None:
            published = self._link_dates.get(canonicalize(canonical))
        return published

    def _outside_window(self, url: str, response: Response, published: datetime | None) -> None:
        """A backfill does not store a page its own date puts outside the window; the frontier
        remembers the date, so a backfill of the same window does not fetch it again."""
        self.report.outside_window += 1
        when = published.isoformat() if published else "?"
        self._record(url, "article", response.status, response, f"{OUTSIDE_WINDOW}: published {when}")

    def _accept(self, url: str, response: Response) -> None:
        self._record(url, "article", response.status, response)
        page = FetchedPage(
            url=url,
            final_url=response.url,
            status=response.status,
            headers=_headers(response),
            body=response.body,  # undecoded: the extractor reads charsets declared in <meta>
            source=self.source.name,
            fetched_at=datetime.now(UTC),
            hint_title=response.meta.get("hint_title"),
            hint_published=response.meta.get("hint_published"),
        )
        try:
            self.sink.accept(page)
        except Exception:
            logger.exception("sink.accept failed for %s", url)
            self.report.error("sink-error")
            return
        self.report.pages += 1

    def _refuse(self, url: str, response: Response | None, reason: str, detail: str, status: int = 0) -> None:
        self.report.error(reason)
        self.report.article_errors += 1
        self._record(url, "article", response.status if response is not None else status, response, reason)
        try:
            self.sink.reject(Rejection(url, self.source.name, reason, detail))
        except Exception:
            logger.exception("sink.reject failed for %s", url)

    @staticmethod
    def _requested(response: Response) -> str:
        """The URL we asked for (canonical), not the one that answered after redirects."""
        first = response.meta.get("redirect_urls")
        return first[0] if first else (response.request.url if response.request else response.url)

    def _failed(self, failure: Failure) -> Iterator[Request]:
        request: Request = failure.request  # type: ignore[attr-defined]
        kind: UrlKind = request.meta.get("kind", "article")
        url = request.meta.get("redirect_urls", [request.url])[0]
        status, reason, detail = classify_failure(failure)
        response = failure.value.response if isinstance(failure.value, HttpError) else None
        if status == 304:
            self.report.not_modified += 1
            # Keep the validators we sent when the 304 does not repeat them (the last outcome wins).
            sent = Validators(
                (request.headers.get(b"If-None-Match") or b"").decode("latin-1") or None,
                (request.headers.get(b"If-Modified-Since") or b"").decode("latin-1") or None,
            )
            etag = response.headers.get(b"ETag") if response is not None else None
            lm = response.headers.get(b"Last-Modified") if response is not None else None
            validators = Validators(
                etag.decode("latin-1") if etag else sent.etag,
                lm.decode("latin-1") if lm else sent.last_modified,
            )
            self._outcomes.append(FetchOutcome(url, self.source.name, kind, 304, datetime.now(UTC), validators))
        elif kind == "article":
            self._refuse(url, response, reason, detail, status)
            yield from self._walked(request.meta, None)
        elif kind == "robots":
            yield from self._robots_failed(url, status, reason, response)
            return
        else:
            # A guessed feed path may not exist.
            if not (status in (404, 410) and request.meta.get("probe")):
                self.report.error(reason)
            self._record(url, kind, status, response, reason)
        if kind == "homepage":
            yield from self._guess_feeds()
        yield from self._dated(kind)

    def _robots_failed(self, url: str, status: int, reason: str, response: Response | None) -> Iterator[Request]:
        """Our own robots.txt did not answer 2xx (RFC 9309): a 4xx allows everything (a site
        without robots.txt, the usual 404, is not an error); a 5xx, a timeout or no answer at all
        disallow everything, so this run stops here and counts ``robots-unavailable``."""
        if 400 <= status < 500:
            if status not in (404, 410):
                self.report.error(reason)
            self._record(url, "robots", status, response, reason)
            self._prime_robots_cache(url, status, b"")
            yield from self._start_discovery(())
            return
        refused = reason in REFUSALS  # not ours to fetch at all (a homepage on a private address)
        self.report.error(reason if refused else "robots-unavailable")
        self._record(url, "robots", status, response, reason if refused else f"robots-unavailable: {reason}")
        self._prime_robots_cache(url, status, b"", reason)
        logger.warning("%s: robots.txt unavailable (%s): nothing is crawled this run", self.source.name, reason)

    def closed(self, reason: str) -> None:
        self._flush_outcomes()
        if reason == "finished":  # a crawl cut short reads its documents whole again next run
            self.frontier.record_read_whole(self._read_whole.values())
        self.report.finish_reason = reason
        stats = self.crawler.stats
        self.report.requests = int(stats.get_value("downloader/request_count", 0) or 0) if stats else 0
        self.report.articles_seen = len(self._considered)
        self.report.discovery = {channel: len(urls) for channel, urls in self._channel_urls.items()}
        if self.on_close is not None:
            self.on_close(self.report)
