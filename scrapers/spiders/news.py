"""NewsSpider: crawls one configured Source through its feeds, sitemaps and listing pages.

Flow: robots.txt first (its Sitemap: lines are a discovery channel, and it primes Scrapy's
robots cache), then feeds, sitemaps and listings in parallel. Every article candidate is
canonicalised, filtered (article pattern, allowed domains, crawl window, seen this run), then
asked of the frontier in batches; only unseen URLs are fetched. Every fetch of any kind is
recorded in the frontier; article pages go to the sink undecoded.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import DownloadCancelledError, DownloadTimeoutError, IgnoreRequest
from scrapy.http import Request, Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.misc import build_from_crawler
from twisted.internet.error import TimeoutError as TxTimeoutError
from twisted.python.failure import Failure

from ingest.config import Listing, Source
from ingest.crawl import CrawlWindow, PageSink, SourceReport
from ingest.frontier import FetchOutcome, Frontier, UrlKind, Validators
from ingest.records import FetchedPage, Rejection
from ingest.urls import canonicalize, host_key, same_site
from scrapers import discovery
from scrapers.middlewares import OffsiteRedirect, article_redirected

logger = logging.getLogger(__name__)

FRONTIER_BATCH = 500  # URLs per frontier.unseen_articles call
RECORD_BATCH = 50  # outcomes per frontier.record call
MAX_SITEMAP_DEPTH = 3  # index -> index -> urlset is the deepest seen in the wild, plus one
NORMAL_RUN_CHILDREN = 2  # newest sitemap-index children followed in an incremental run
MAX_CHILDREN = 2000  # sitemap-index children followed in a backfill
MAX_CRAWL_DELAY = 60.0  # a robots.txt Crawl-delay above this would make the source uncrawlable
SITEMAP_MAXSIZE = 64 * 1024 * 1024  # sitemaps may be 50 MB; article pages stay at max_page_bytes
# Discovery before articles, so frontier batches fill early and pagination decisions come first.
PRIORITY = {"robots": 100, "feed": 30, "sitemap": 20, "homepage": 20, "listing": 10, "article": 0}


@dataclass(frozen=True, slots=True)
class _Candidate:
    url: str
    title: str | None
    published: datetime | None


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
    if isinstance(exc, OffsiteRedirect):
        return 0, "offsite-redirect", str(exc)
    if isinstance(exc, IgnoreRequest):
        # Scrapy signals these with plain IgnoreRequest; its message is the only discriminator.
        msg = str(exc)
        if "robots.txt" in msg:
            return 0, "robots-disallowed", msg
        if "max redirections" in msg:
            return 0, "too-many-redirects", msg
        if "offsite" in msg.lower():
            return 0, "offsite-redirect", msg
        return 0, "ignored", msg
    if isinstance(exc, DownloadCancelledError) and "max size" in str(exc):
        return 0, "too-large", str(exc)
    if isinstance(exc, DownloadTimeoutError | TxTimeoutError | TimeoutError):
        return 0, "timeout", str(exc)
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
        self.window = window
        self.backfill = window is not None and window.since is not None
        self.on_close = on_close
        # OffsiteMiddleware's rule is "domain or subdomain"; strip www. so it matches same_site().
        self.allowed_domains = sorted({host_key(d) for d in source.allowed_domains})
        self.report = SourceReport(source=source.name)
        self._considered: set[str] = set()  # article URLs seen this run (dedup across channels)
        self._channel_urls: dict[str, set[str]] = {"feed": set(), "sitemap": set(), "listing": set()}
        self._discovery_queued: set[str] = set()  # feed/sitemap/listing URLs already requested
        self._outcomes: list[FetchOutcome] = []
        self._discovery_started = False
        self.crawl_delay: float | None = None  # from robots.txt, when the site asks for one

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> NewsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._redirected, signal=article_redirected)
        return spider

    def _redirected(self, url: str, status: int, target: str) -> None:
        self._record(url, "article", status, None, f"redirect to {target}")

    # ------------------------------------------------------------------------------ requests

    def _request(
        self,
        url: str,
        kind: UrlKind,
        callback: Callable[..., Any],
        *,
        conditional: bool = False,
        allow_offsite: bool = False,
        meta: dict[str, Any] | None = None,
    ) -> Request:
        headers: dict[str, str] = {}
        if conditional:
            v = self.frontier.validators(url)
            if v.etag:
                headers["If-None-Match"] = v.etag
            if v.last_modified:
                headers["If-Modified-Since"] = v.last_modified
        m: dict[str, Any] = {"kind": kind, "download_slot": self.source.name, **(meta or {})}
        if self.crawl_delay is not None:  # AutoThrottle must not shorten a delay the site asked for
            m["autothrottle_dont_adjust_delay"] = True
        if allow_offsite:
            m["allow_offsite"] = True
        if kind in ("feed", "sitemap"):
            m["download_maxsize"] = max(SITEMAP_MAXSIZE, self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
        return Request(url, callback=callback, errback=self._failed, headers=headers, meta=m, priority=PRIORITY[kind])

    def _discovery(self, url: str, kind: UrlKind, callback: Callable[..., Any], **kw: Any) -> Iterator[Request]:
        canon = canonicalize(url)
        if canon in self._discovery_queued:
            return
        self._discovery_queued.add(canon)
        yield self._request(canon, kind, callback, **kw)

    async def start(self) -> Any:
        robots = _origin(canonicalize(self.source.homepage)) + "/robots.txt"
        yield self._request(robots, "robots", self._robots, meta={"dont_obey_robotstxt": True})

    def _start_discovery(self, robots_sitemaps: Iterable[str]) -> Iterator[Request]:
        if self._discovery_started:
            return
        self._discovery_started = True
        for url in self.source.feeds:
            yield from self._discovery(url, "feed", self._feed, conditional=True, allow_offsite=True)
        if not self.source.feeds and self.source.discover_feeds:
            yield from self._discovery(self.source.homepage, "homepage", self._homepage)
        for url in self.source.sitemaps:
            yield from self._discovery(url, "sitemap", self._sitemap, conditional=True, allow_offsite=True)
        for url in robots_sitemaps:
            yield from self._discovery(url, "sitemap", self._sitemap, conditional=True, allow_offsite=True)
        for index, listing in enumerate(self.source.listings):
            yield from self._discovery(listing.url, "listing", self._listing, meta={"listing": index, "page": 1})

    # ------------------------------------------------------------------------------ recording

    def _record(
        self, url: str, kind: UrlKind, status: int, response: Response | None = None, error: str | None = None
    ) -> None:
        validators = Validators()
        content_hash = None
        if response is not None:
            etag = response.headers.get(b"ETag")
            lm = response.headers.get(b"Last-Modified")
            validators = Validators(etag.decode("latin-1") if etag else None, lm.decode("latin-1") if lm else None)
            if error is None:
                content_hash = hashlib.sha1(response.body).hexdigest()
        self._outcomes.append(
            FetchOutcome(url, self.source.name, kind, status, datetime.now(UTC), validators, content_hash, error)
        )
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

    def _candidates(
        self, channel: str, found: Iterable[tuple[str, str | None, datetime | None]]
    ) -> tuple[int, list[_Candidate]]:
        """Canonicalise and filter discovered links: (how many are article URLs, the new-this-run
        candidates in order)."""
        matched = 0
        out: list[_Candidate] = []
        for url, title, published in found:
            canon = canonicalize(url)
            if not same_site(canon, self.allowed_domains) or not self._is_article(canon):
                continue
            if self.window is not None and not self.window.contains(published):
                continue
            matched += 1
            self._channel_urls[channel].add(canon)
            if canon in self._considered:
                continue
            self._considered.add(canon)
            out.append(_Candidate(canon, title, published))
        return matched, out

    def _article_requests(self, candidates: list[_Candidate]) -> list[Request]:
        """Ask the frontier which candidates to fetch (in batches) and build their requests."""
        requests: list[Request] = []
        now = datetime.now(UTC)
        for i in range(0, len(candidates), FRONTIER_BATCH):
            batch = candidates[i : i + FRONTIER_BATCH]
            unseen = self.frontier.unseen_articles(self.source.name, [c.url for c in batch], now)
            self.report.skipped_known += len(batch) - len(unseen & {c.url for c in batch})
            for c in batch:
                if c.url in unseen:
                    meta = {"hint_title": c.title, "hint_published": c.published}
                    requests.append(self._request(c.url, "article", self._article, meta=meta))
        return requests

    # ------------------------------------------------------------------------------ callbacks

    def _robots(self, response: Response) -> Iterator[Request]:
        self._record(response.request.url if response.request else response.url, "robots", response.status, response)
        self._prime_robots_cache(response)
        if response.status == 200:
            self._honour_crawl_delay(response.body)
        yield from self._start_discovery(discovery.robots_sitemaps(response.body, response.url))

    def _honour_crawl_delay(self, body: bytes) -> None:
        """A site's own Crawl-delay wins over our default: it becomes the source's fixed delay."""
        user_agent = str(self.crawler.settings.get("USER_AGENT", ""))
        asked = discovery.robots_crawl_delay(body, user_agent)
        if asked is None:
            return
        self.crawl_delay = min(asked, MAX_CRAWL_DELAY)
        slot = self.crawler.engine.downloader.slots.get(self.source.name) if self.crawler.engine else None
        if slot is not None:
            slot.delay = max(slot.delay, self.crawl_delay)
            # Scrapy jitters slot delays by +-50% by default: a site's delay is a floor, not a mean.
            slot.jitter = 0.0
        logger.info("%s: robots.txt asks for a crawl delay of %.1f s", self.source.name, self.crawl_delay)

    def _prime_robots_cache(self, response: Response) -> None:
        """Hand our robots.txt to RobotsTxtMiddleware so it does not fetch the same file again.

        Uses the middleware's parser cache (``_parsers``, private); if a Scrapy release renames it,
        the only cost is one more robots.txt request per host.
        """
        mw = self.crawler.get_downloader_middleware(RobotsTxtMiddleware)
        parsers = getattr(mw, "_parsers", None)
        impl = getattr(mw, "_parserimpl", None)
        if mw is None or not isinstance(parsers, dict) or impl is None or response.meta.get("redirect_urls"):
            return
        netloc = urlsplit(response.url).netloc
        if netloc not in parsers:
            parsers[netloc] = build_from_crawler(impl, self.crawler, response.body)

    def _homepage(self, response: Response) -> Iterator[Request]:
        self._record(self._requested(response), "homepage", response.status, response)
        feeds = discovery.feed_links(response.body, response.url)
        for url in feeds:
            yield from self._discovery(url, "feed", self._feed, conditional=True, allow_offsite=True)
        if not feeds:
            yield from self._guess_feeds()
        # The homepage is the first listing page of every news site: its links are free.
        page = discovery.parse_listing(response.body, response.url, default_tz=self.source.tz)
        yield from self._article_requests(self._candidates("listing", ((u, None, None) for u in page.links))[1])

    def _guess_feeds(self) -> Iterator[Request]:
        origin = _origin(canonicalize(self.source.homepage))
        for path in discovery.FEED_GUESSES:
            yield from self._discovery(origin + path, "feed", self._feed, conditional=True, meta={"probe": True})

    def _feed(self, response: Response) -> Iterator[Request]:
        self._record(self._requested(response), "feed", response.status, response)
        entries = discovery.parse_feed(response.body, response.url, self.source.tz)
        if not entries and not discovery.is_feed(response.body) and not response.meta.get("probe"):
            self.report.error("not-a-feed")
        found = ((e.url, e.title, e.published) for e in entries)
        yield from self._article_requests(self._candidates("feed", found)[1])

    def _sitemap(self, response: Response) -> Iterator[Request]:
        self._record(self._requested(response), "sitemap", response.status, response)
        doc = discovery.parse_sitemap(response.body, response.url, self.source.tz)
        if doc.kind == "unknown":
            self.report.error("not-a-sitemap")
            return
        if doc.kind == "index":
            depth = response.meta.get("sitemap_depth", 0) + 1
            if depth > MAX_SITEMAP_DEPTH:
                self.report.error("sitemap-too-deep")
                return
            for child in self._children(doc.entries):
                yield from self._discovery(
                    child.url, "sitemap", self._sitemap, conditional=True,
                    allow_offsite=bool(response.meta.get("allow_offsite")), meta={"sitemap_depth": depth},
                )  # fmt: skip
            return
        found = ((e.url, e.title, e.published or e.lastmod) for e in doc.entries)
        yield from self._article_requests(self._candidates("sitemap", found)[1])

    def _children(self, children: list[discovery.SitemapEntry]) -> list[discovery.SitemapEntry]:
        """Which sitemap-index children to fetch this run.

        Backfill: every child whose lastmod is not before the window (a child's lastmod is its
        newest entry). Incremental: every child never fetched before (so the first run of a
        source reads all its sitemaps, once), plus the news sitemaps, else the newest few by
        lastmod. Either way, a child whose lastmod is not after our last fetch of it is skipped
        (counted not_modified).
        """
        if self.backfill:
            assert self.window is not None and self.window.since is not None
            chosen = [c for c in children if c.lastmod is None or c.lastmod >= self.window.since][:MAX_CHILDREN]
        else:
            news = [c for c in children if "news" in c.url.lower()]
            dated = sorted((c for c in children if c.lastmod), key=lambda c: c.lastmod or 0, reverse=True)
            unknown = [c for c in children if not self.frontier.fetched_before(canonicalize(c.url))]
            recent = news or dated[:NORMAL_RUN_CHILDREN] or children[:NORMAL_RUN_CHILDREN]
            chosen = list({c.url: c for c in [*recent, *unknown]}.values())[:MAX_CHILDREN]
        out: list[discovery.SitemapEntry] = []
        for child in chosen:
            last = discovery.parse_date(self.frontier.validators(canonicalize(child.url)).last_modified)
            if child.lastmod is not None and last is not None and child.lastmod <= last:
                self.report.not_modified += 1
                continue
            out.append(child)
        return out

    def _listing(self, response: Response) -> Iterator[Request]:
        self._record(self._requested(response), "listing", response.status, response)
        index: int = response.meta["listing"]
        page_no: int = response.meta["page"]
        listing = self.source.listings[index]
        page = discovery.parse_listing(response.body, response.url, listing.next, self.source.tz)
        articles_on_page, candidates = self._candidates("listing", ((u, None, None) for u in page.links))
        requests = self._article_requests(candidates)
        yield from requests
        if self._listing_goes_on(listing, page_no, articles_on_page, len(requests), page):
            next_url = discovery.listing_page_url(listing.page_url, page_no + 1) if listing.page_url else page.next_url
            if next_url and same_site(next_url, self.allowed_domains):
                # _discovery() refuses a URL already requested: a next link back to an earlier
                # page (calendar traps, broken pagers) ends the walk.
                yield from self._discovery(
                    next_url, "listing", self._listing, meta={"listing": index, "page": page_no + 1}
                )

    def _listing_goes_on(
        self, listing: Listing, page_no: int, articles_on_page: int, new: int, page: discovery.ListingPage
    ) -> bool:
        if page_no >= listing.max_pages:  # the hard cap: infinite pagination cannot hold the crawl
            return False
        if articles_on_page == 0:  # past the last page
            return False
        if self.backfill:
            assert self.window is not None and self.window.since is not None
            # Dated items all older than the window start: we have walked far enough back.
            return not (page.dates and max(page.dates) < self.window.since)
        return new > 0  # incremental: a page of nothing new means we have caught up

    def _article(self, response: Response) -> None:
        url = self._requested(response)
        ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        if not discovery.is_html(ctype, response.body[:1024]):
            self._refuse(url, response, "not-html", ctype or "no content-type")
            return
        if not same_site(response.url, self.allowed_domains):  # belt and braces: the guard runs first
            self._refuse(url, response, "offsite-redirect", response.url)
            return
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
        else:
            # A guessed feed path may not exist, and a site without robots.txt allows everything.
            expected_absence = status in (404, 410) and (request.meta.get("probe") or kind == "robots")
            if not expected_absence:
                self.report.error(reason)
            self._record(url, kind, status, response, reason)
        if kind == "robots":
            yield from self._start_discovery(())
        elif kind == "homepage":
            yield from self._guess_feeds()

    def closed(self, reason: str) -> None:
        self._flush_outcomes()
        self.report.finish_reason = reason
        stats = self.crawler.stats
        self.report.requests = int(stats.get_value("downloader/request_count", 0) or 0) if stats else 0
        self.report.articles_seen = len(self._considered)
        self.report.discovery = {channel: len(urls) for channel, urls in self._channel_urls.items()}
        if self.on_close is not None:
            self.on_close(self.report)
