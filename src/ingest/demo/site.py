"""The generic outlet: routing, caching, feeds, sitemaps, listings. Templates live in outlets.py."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from urllib.parse import parse_qs, urlsplit

from ingest.demo import corpus
from ingest.demo import feeds as xmldoc
from ingest.demo.corpus import Article
from ingest.demo.templates import e, head
from ingest.demo.urls import ARTICLE_PATTERNS, SECTION_AR, SECTION_SLUGS

Route = Callable[[], "Response"]


@dataclass
class Response:
    """A prepared answer. `first` is served instead on the first request to the path only."""

    status: int = 200
    body: bytes = b""
    ctype: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    last_modified: datetime | None = None
    conditional: bool = False  # honour If-None-Match / If-Modified-Since with 304
    delay: float = 0.0
    slow: bool = False  # delay taken from SampleWeb.slow_seconds at serve time
    first: tuple[int, dict[str, str]] | None = None

    @cached_property
    def etag(self) -> str:
        return '"' + hashlib.blake2b(self.body, digest_size=10).hexdigest() + '"'


def html(text: str, **kw: object) -> Response:
    return Response(body=text.encode("utf-8"), **kw)  # type: ignore[arg-type]


def xml(text: str, modified: datetime | None, ctype: str = "application/xml; charset=UTF-8") -> Response:
    return Response(body=text.encode("utf-8"), ctype=ctype, last_modified=modified, conditional=True)


def newest(articles: list[Article]) -> datetime | None:
    return max((a.modified for a in articles), default=None)


class Site:
    """One outlet on one origin. Subclasses set the class attributes and the templates."""

    name = ""
    title = ""
    languages: tuple[str, ...] = ("ar",)
    feeds: tuple[str, ...] = ("/feed/",)
    sitemaps: tuple[str, ...] = ("/sitemap.xml",)
    listings: tuple[tuple[str, str, int], ...] = ()  # (path, next selector, max_pages)
    per_page = 10
    robots_disallow: tuple[str, ...] = ()

    def __init__(self, origin: Callable[[str], str]) -> None:
        self._origin = origin
        self._cache: dict[str, Response] = {}
        self.all_articles = corpus.by_outlet(self.name)
        # Newest first, as sites list them; hostile pages stay out of feeds and generic listings.
        self.live = sorted(
            (a for a in self.all_articles if a.kind == "article" and a.in_feeds),
            key=lambda a: a.published,
            reverse=True,
        )
        self.now = max(a.published for a in corpus.articles()) + timedelta(hours=2)

    # -- addressing -------------------------------------------------------------------------
    @property
    def base(self) -> str:
        return self._origin(self.name).rstrip("/")

    def url(self, path: str) -> str:
        return self.base + path

    def section_name(self, key: str) -> str:
        return SECTION_AR.get(key, "أخبار")

    @classmethod
    def source_entry(cls, base: str) -> dict[str, object]:
        """This outlet's entry in a sources file."""
        base = base.rstrip("/")
        return {
            "name": cls.name,
            "title": cls.title,
            "homepage": base + "/",
            "feeds": [base + p for p in cls.feeds],
            "sitemaps": [base + p for p in cls.sitemaps],
            "listings": [{"url": base + p, "next": n, "max_pages": m} for p, n, m in cls.listings],
            "article_url_pattern": ARTICLE_PATTERNS[cls.name],
            "languages": list(cls.languages),
        }

    # -- serving ----------------------------------------------------------------------------
    @cached_property
    def routes(self) -> dict[str, Route]:
        table: dict[str, Route] = {"/robots.txt": self.robots, "/": self.home}
        for a in self.all_articles:
            table[a.path] = self._article_route(a)
        table.update(self.feed_routes())
        table.update(self.sitemap_routes())
        table.update(self.listing_routes())
        table.update(self.extra_routes())
        return table

    def resolve(self, target: str) -> Response:
        """The response for a request target (path + query); cached when the route is static."""
        hit = self._cache.get(target)
        if hit is not None:
            return hit
        parts = urlsplit(target)
        route = self.routes.get(target)
        if route is None and parts.query and parts.path in self.article_paths:
            route = self.routes[parts.path]  # tracking parameters are ignored, as WordPress does
        if route is not None:
            self._cache[target] = resp = route()
            return resp
        dyn = self.dynamic(parts.path, parse_qs(parts.query))
        return dyn if dyn is not None else self.not_found()

    @cached_property
    def article_paths(self) -> frozenset[str]:
        return frozenset(a.path for a in self.all_articles if a.kind == "article")

    def _article_route(self, a: Article) -> Route:
        def build() -> Response:
            return html(self.render_article(a), last_modified=a.modified)

        return build

    def dynamic(self, path: str, query: dict[str, list[str]]) -> Response | None:
        """Pages computed per request (crawl traps, search). None: not found."""
        return None

    def not_found(self) -> Response:
        page = head("الصفحة غير موجودة - " + self.title) + (
            '<body><h1>404</h1><p>عذرا، الصفحة المطلوبة غير موجودة.</p><a href="/">الرئيسية</a></body></html>'
        )
        return html(page, status=404)

    # -- robots, feeds, sitemaps ------------------------------------------------------------
    def robots(self) -> Response:
        lines = ["User-agent: *", *(f"Disallow: {p}" for p in self.robots_disallow), ""]
        lines += [f"Sitemap: {self.url(p)}" for p in self.sitemaps]
        return Response(body=("\n".join(lines) + "\n").encode(), ctype="text/plain; charset=utf-8")

    def feed_items(self, lang: str | None = None) -> list[xmldoc.FeedItem]:
        pool = [a for a in self.live if lang is None or a.lang == lang][:10]  # WordPress: latest 10 only
        return [
            xmldoc.FeedItem(
                a.title,
                self.feed_link(a),
                a.published,
                a.excerpt,
                self.section_name(a.section),
                self.url(f"/?p={a.num}"),
            )
            for a in pool
        ]

    def feed_link(self, a: Article) -> str:
        return self.url(a.path)

    def feed_routes(self) -> dict[str, Route]:
        def build() -> Response:
            items = self.feed_items()
            doc = xmldoc.rss(self.title, self.url("/"), self.url(self.feeds[0]), self.languages[0], items)
            return xml(doc, newest(self.live[:10]), "application/rss+xml; charset=UTF-8")

        return {self.feeds[0]: build}

    def sitemap_entries(self) -> list[Article]:
        return sorted(self.live, key=lambda a: a.published, reverse=True)

    def sitemap_routes(self) -> dict[str, Route]:
        def build() -> Response:
            entries = self.sitemap_entries()
            return xml(xmldoc.urlset((self.url(a.path), a.modified) for a in entries), newest(entries))

        return {self.sitemaps[0]: build}

    # -- listings ---------------------------------------------------------------------------
    def listing_path(self, section: str | None, page: int) -> str:
        raise NotImplementedError

    def listing_items(self, section: str | None) -> list[Article]:
        return [a for a in self.live if section is None or a.section == section]

    def sections(self) -> list[str]:
        return sorted({a.section for a in self.live})

    def listing_routes(self) -> dict[str, Route]:
        table: dict[str, Route] = {}
        for section in [None, *self.sections()]:
            items = self.listing_items(section)
            pages = max(1, -(-len(items) // self.per_page))
            for n in range(1, pages + 1):
                chunk = items[(n - 1) * self.per_page : n * self.per_page]
                nxt = self.listing_path(section, n + 1) if n < pages else None
                table[self.listing_path(section, n)] = self._listing_route(section, n, chunk, nxt)
        return table

    def _listing_route(self, section: str | None, n: int, chunk: list[Article], nxt: str | None) -> Route:
        def build() -> Response:
            return html(self.render_listing(section, n, chunk, nxt))

        return build

    def nav_items(self) -> list[tuple[str, str]]:
        items = [("/", "الرئيسية")]
        items += [(self.listing_path(s, 1), self.section_name(s)) for s in self.sections()]
        return items

    def extra_routes(self) -> dict[str, Route]:
        return {}

    # -- templates (overridden) -------------------------------------------------------------
    def related(self, a: Article, n: int = 4) -> list[Article]:
        others = [o for o in self.live if o.path != a.path]
        others.sort(key=lambda o: abs((o.published - a.published).total_seconds()))
        return others[:n]

    def render_article(self, a: Article) -> str:
        raise NotImplementedError

    def render_listing(self, section: str | None, n: int, items: list[Article], nxt: str | None) -> str:
        raise NotImplementedError

    def render_home(self) -> str:
        return self.render_listing(None, 1, self.live[: self.per_page], self.listing_path(None, 2))

    def home(self) -> Response:
        return html(self.render_home())

    def section_slug(self, key: str) -> str:
        return SECTION_SLUGS.get(key, "akhbar")

    def link(self, a: Article) -> str:
        return f'<a href="{e(self.url(a.path))}">{e(a.title)}</a>'
