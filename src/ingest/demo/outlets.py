"""The six outlets of the sample web, each with its own templates, chrome and URL scheme."""

from __future__ import annotations

import gzip
from datetime import datetime
from typing import Any

from ingest.demo import corpus, dates
from ingest.demo import feeds as xmldoc
from ingest.demo.corpus import Article
from ingest.demo.site import Response, Route, Site, html, newest, xml
from ingest.demo.templates import (
    analytics,
    comment_box_counter,
    comment_form_en,
    comment_form_fr,
    comment_form_wp,
    cookie_banner,
    e,
    follow_us,
    head,
    inline_links,
    most_read,
    nav,
    newsletter,
    page_data,
    paragraphs,
    related_block,
    share_bar,
    standings_widget,
)
from ingest.demo.urls import SECTION_FR


def _footer(title: str, extra: str = "") -> str:
    return (
        f'<footer class="site-footer">{extra}<p>جميع الحقوق محفوظة © 2025 {e(title)}</p>'
        '<ul class="footer-links"><li><a href="/page/about/">من نحن</a></li>'
        '<li><a href="/page/contact/">اتصل بنا</a></li></ul></footer>'
    )


def _next_link(nxt: str | None, cls: str, label: str = "التالي »") -> str:
    return f'<a class="{cls}" href="{e(nxt)}">{label}</a>' if nxt else ""


class Almasaa(Site):
    """WordPress (news theme): JSON-LD + OpenGraph, Yoast sitemap index with a gzip child."""

    name = "almasaa"
    title = "المساء اليوم"
    feeds = ("/feed/",)
    sitemaps = ("/sitemap_index.xml",)
    listings = (("/category/akhbar/", "a.next", 20),)
    robots_disallow = ("/wp-admin/", "/?s=")

    def listing_path(self, section: str | None, page: int) -> str:
        slug = "akhbar" if section is None else self.section_slug(section)
        return f"/category/{slug}/" if page == 1 else f"/category/{slug}/page/{page}/"

    def feed_link(self, a: Article) -> str:
        # This outlet's feed plugin tags every link for its analytics.
        return self.url(a.path) + "?utm_source=rss&utm_medium=feed&utm_campaign=rss"

    def sitemap_routes(self) -> dict[str, Route]:
        # Yoast: one post sitemap (split only past 1000 posts), here gzipped, plus a taxonomy sitemap.
        entries = self.sitemap_entries()
        latest = newest(entries) or self.now

        def index() -> Response:
            children = [(self.url("/post-sitemap1.xml.gz"), latest), (self.url("/category-sitemap.xml"), latest)]
            return xml(xmldoc.sitemap_index(children), latest)

        def gz() -> Response:
            doc = xmldoc.urlset((self.url(a.path), a.modified) for a in entries)
            body = gzip.compress(doc.encode(), mtime=0)
            return Response(body=body, ctype="application/x-gzip", last_modified=latest, conditional=True)

        def cats() -> Response:
            return xml(xmldoc.urlset((self.url(self.listing_path(s, 1)), latest) for s in self.sections()), latest)

        return {"/sitemap_index.xml": index, "/post-sitemap1.xml.gz": gz, "/category-sitemap.xml": cats}

    def _header(self) -> str:
        return (
            cookie_banner()
            + '<header id="theme-header"><div class="top-bar"><a href="/?s=%D8%A7%D9%84%D8%B7%D9%82%D8%B3">'
            'الطقس</a> <a href="/?s=%D8%A7%D9%84%D8%B1%D8%AC%D8%A7%D8%A1">الرجاء</a></div>'
            f'<div class="logo"><a href="/">{e(self.title)}</a></div>'
            + nav(self.nav_items())
            + '<form role="search" action="/"><input name="s" placeholder="بحث …"></form></header>'
        )

    def _sidebar(self) -> str:
        # The theme's sidebar is a plain <div>, not an <aside>: nothing marks it as chrome.
        return (
            '<div id="sidebar" class="sidebar">'
            + standings_widget()
            + most_read([(self.url(a.path), a.title) for a in self.live[:5]])
            + newsletter()
            + "</div>"
        )

    def _tail(self) -> str:
        return (
            _footer(self.title, follow_us())
            + '<a id="go-to-top" href="#">↑</a><div class="mobile-toggle"><a href="#" class="exit-mobile">'
            "Exit mobile version</a></div>" + analytics("G-ALMSA2025") + "</body></html>"
        )

    def render_article(self, a: Article) -> str:
        url = self.url(a.path)
        section = self.section_name(a.section)
        ld = {"@context": "https://schema.org", "@graph": [
            {"@type": "WebPage", "@id": url, "url": url, "name": f"{a.title} - {self.title}"},
            {"@type": "NewsArticle", "headline": a.title, "datePublished": dates.iso_local(a.published),
             "dateModified": dates.iso_local(a.modified), "author": {"@type": "Person", "name": a.author or
             "هيئة التحرير"}, "articleSection": [section], "image": self.url(f"/wp-content/uploads/2025/05/"
             f"{a.slug}.jpg"), "mainEntityOfPage": url, "inLanguage": "ar"}]}  # fmt: skip
        metas = [
            ("property", "og:type", "article"),
            ("property", "og:title", f"{a.title} - {self.title}"),
            ("property", "og:url", url),
            ("property", "og:site_name", self.title),
            ("property", "article:published_time", dates.iso_local(a.published)),
            ("property", "article:modified_time", dates.iso_local(a.modified)),
        ]
        rel = self.related(a)
        body = list(a.paragraphs)
        read_also = (
            f'<p class="read-also"><strong>اقرأ أيضا:</strong> {self.link(rel[0])}</p>' if rel and len(body) > 3 else ""
        )
        content = paragraphs(body[:2]) + read_also + paragraphs(body[2:])
        prev_next = (
            f'<div class="post-navigation"><span>المقال السابق</span> {self.link(rel[-1])}'
            f"<span>المقال التالي</span> {self.link(rel[0])}</div>"
            if rel
            else ""
        )
        return (
            head(
                f"{a.title} - {self.title}",
                canonical=url,
                metas=metas,
                jsonld=ld,
                feeds=[("application/rss+xml", self.url("/feed/"))],
            )
            + '<body class="post-template-default single single-post">'
            + self._header()
            + f'<div id="main-content"><nav class="breadcrumb"><a href="/">الرئيسية</a> » '
            f'<a href="{e(self.listing_path(a.section, 1))}">{e(section)}</a></nav>'
            f'<article id="post-{a.num}" class="post"><h1 class="entry-title post-title">{e(a.title)}</h1>'
            f'<div class="post-meta"><span class="author">بواسطة {e(a.author or "هيئة التحرير")}</span> '
            f'<span class="date">{dates.ar_moroccan(a.published, weekday=False, clock=False)}</span></div>'
            f'<div class="entry-content">{content}</div>'
            + share_bar(url, a.title)
            + prev_next
            + related_block([(self.url(r.path), r.title, r.excerpt) for r in rel])
            + comment_form_wp(a.num)
            + "</article>"
            + self._sidebar()
            + "</div>"
            + self._tail()
        )

    def render_listing(self, section: str | None, n: int, items: list[Article], nxt: str | None) -> str:
        label = "آخر الأخبار" if section is None else self.section_name(section)
        lis = "".join(
            f'<article class="post-item"><h2 class="post-title">{self.link(a)}</h2>'
            f'<span class="date">{dates.ar_moroccan(a.published, weekday=False, clock=False)}</span>'
            f"<p>{e(a.excerpt)}</p></article>"
            for a in items
        )
        pager = '<div class="pages-nav">' + _next_link(nxt, "next page-numbers") + "</div>"
        return (
            head(f"{label} - {self.title}", canonical=self.url(self.listing_path(section, n)))
            + "<body>"
            + self._header()
            + f'<main><h1 class="page-title">{e(label)}</h1>{lis}{pager}</main>'
            + self._sidebar()
            + self._tail()
        )


class Rifpress(Site):
    """Custom CMS with numeric ids; section label above the headline; visible text date only."""

    name = "rifpress"
    title = "ريف بريس"
    feeds = ("/rss.xml",)
    sitemaps = ("/sitemap.xml",)
    listings = (("/section/all", "li.next a", 20),)
    per_page = 8
    robots_disallow = ("/print/",)

    def listing_path(self, section: str | None, page: int) -> str:
        slug = "all" if section is None else self.section_slug(section)
        return f"/section/{slug}" if page == 1 else f"/section/{slug}?page={page}"

    def extra_routes(self) -> dict[str, Route]:
        # Print versions: disallowed by robots.txt, yet linked from every article and matching
        # the article pattern; a crawler that ignores robots.txt fetches them.
        return {"/print" + a.path: self._print_route(a) for a in self.live}

    def _print_route(self, a: Article) -> Route:
        def build() -> Response:
            return html(
                head(a.title)
                + f'<body onload="print()"><h1>{e(a.title)}</h1>'
                + paragraphs(a.paragraphs)
                + "</body></html>"
            )

        return build

    def _chrome_top(self) -> str:
        today = dates.ar_moroccan(self.now, clock=False)
        return (
            f'<body><div class="topbar"><span class="today">{today}</span></div>'
            f'<div class="masthead"><a href="/" class="logo">{e(self.title)}</a>'
            '<span class="slogan">جريدة إلكترونية مستقلة</span></div>' + nav(self.nav_items(), "menu")
        )

    def render_article(self, a: Article) -> str:
        url = self.url(a.path)
        body = list(a.paragraphs)
        # The CMS leaves the editor's gallery shortcode unrendered in the body.
        gallery = f'<p>[gallery id="{a.num % 97}" columns="3"]</p>'
        content = paragraphs(body[:3]) + (gallery if len(body) > 3 else "") + paragraphs(body[3:])
        rel = self.related(a, 5)
        return (
            head(
                f"{a.title} | {self.title}",
                canonical=url,
                metas=[
                    ("property", "og:title", a.title),
                    ("property", "og:url", url),
                    ("name", "description", a.excerpt),
                ],
                feeds=[("application/rss+xml", self.url("/rss.xml"))],
            )
            + self._chrome_top()
            + '<div class="container"><div class="news-details">'
            f'<div class="section-label"><a href="{e(self.listing_path(a.section, 1))}">'
            f"{e(self.section_name(a.section))}</a></div>"
            f'<h1 class="news-title">{e(a.title)}</h1>'
            f'<div class="news-date">{dates.ar_moroccan(a.published)}</div>'
            f'<div class="tools"><a href="/print{a.path}" rel="nofollow">نسخة للطباعة</a></div>'
            # The CMS appends other articles' headlines, as bare links, inside the body itself.
            f'<div class="news-body">{content}{inline_links([(self.url(r.path), r.title) for r in rel])}</div>'
            + share_bar(url, a.title)
            + comment_box_counter(0)
            + "</div></div>"
            + _footer(self.title)
            + analytics("UA-48210-1")
            + "</body></html>"
        )

    def render_listing(self, section: str | None, n: int, items: list[Article], nxt: str | None) -> str:
        def when(a: Article) -> str:
            age = self.now - a.published
            return dates.relative_ar(age) if age.days < 1 else dates.ar_moroccan(a.published)

        rows = "".join(
            f'<div class="news-row"><h3>{self.link(a)}</h3><span class="date">{when(a)}</span></div>' for a in items
        )
        pager = f'<ul class="pagination"><li class="active">{n}</li>'
        pager += f'<li class="next"><a href="{e(nxt)}">»</a></li>' if nxt else ""
        label = "كل الأخبار" if section is None else self.section_name(section)
        return (
            head(f"{label} | {self.title}")
            + self._chrome_top()
            + f"<h1>{e(label)}</h1>"
            + rows
            + pager
            + "</ul>"
            + _footer(self.title)
            + "</body></html>"
        )


class Madar24(Site):
    """Aggregator: OpenGraph dates only, Mashriq month names, AI banner, Atom feed, Google News sitemap.

    Its "latest" listing paginates forever (page N always links to N+1): a crawl trap.
    """

    name = "madar24"
    title = "مدار 24"
    feeds = ("/atom.xml",)
    sitemaps = ("/news-sitemap.xml",)
    listings = (("/latest?page=1", "a[rel=next]", 15),)
    per_page = 9
    robots_disallow = ("/search/",)

    def listing_path(self, section: str | None, page: int) -> str:
        return f"/latest?page={page}" if section is None else f"/section/{self.section_slug(section)}?page={page}"

    def feed_routes(self) -> dict[str, Route]:
        def build() -> Response:
            doc = xmldoc.atom(self.title, self.url("/"), self.url("/atom.xml"), self.feed_items())
            return xml(doc, newest(self.live[:10]), "application/atom+xml; charset=UTF-8")

        return {"/atom.xml": build}

    def sitemap_routes(self) -> dict[str, Route]:
        def build() -> Response:
            entries = self.sitemap_entries()
            doc = xmldoc.news_urlset(self.title, "ar", ((self.url(a.path), a.published, a.title) for a in entries))
            return xml(doc, newest(entries))

        return {"/news-sitemap.xml": build}

    def dynamic(self, path: str, query: dict[str, list[str]]) -> Response | None:
        if path != "/latest":
            return None
        try:
            n = max(1, int(query.get("page", ["1"])[0]))
        except ValueError:
            return None
        chunk = self.live[(n - 1) * self.per_page : n * self.per_page]
        return html(self.render_listing(None, n, chunk, self.listing_path(None, n + 1)))

    def listing_routes(self) -> dict[str, Route]:
        # The "latest" pages are served by dynamic() so that they never end.
        return {k: v for k, v in super().listing_routes().items() if not k.startswith("/latest")}

    def _top(self) -> str:
        tags = "".join(f'<a class="chip" href="/search/?q={t}">{t}</a>' for t in ("المغرب", "الحكومة", "البطولة"))
        return (
            f'<body><header class="hdr"><a href="/" class="brand">{e(self.title)}</a>'
            + nav(self.nav_items(), "nav")
            + f'<div class="chips">{tags}</div></header>'
            '<div class="ai-banner"><strong>جرب ميزات الذكاء الاصطناعي لدينا</strong>'
            "<button>ملخص المقال بالذكاء الاصطناعي</button></div>"
        )

    def render_article(self, a: Article) -> str:
        url = self.url(a.path)
        metas = [
            ("property", "og:title", f"{a.title} - {self.title}"),
            ("property", "og:type", "article"),
            ("property", "og:url", url),
            ("property", "article:published_time", dates.iso_utc(a.published)),
            ("property", "og:description", a.excerpt),
            ("name", "twitter:card", "summary_large_image"),
        ]
        rel = [
            (self.url(r.path), r.title, f"{dates.relative_ar(abs(a.published - r.published))} · {r.excerpt}")
            for r in self.related(a, 4)
        ]
        data = {"id": a.num, "section": a.section, "words": len(a.text.split()), "ads": ["top", "inread"]}
        return (
            head(
                f"{a.title} | {self.title}",
                canonical=url,
                metas=metas,
                feeds=[("application/atom+xml", self.url("/atom.xml"))],
                extra=page_data(data),
            )
            + self._top()
            + f'<main class="article"><h1>{e(a.title)}</h1>'
            f'<div class="meta"><span class="date">{dates.ar_mashriq(a.published)}</span>'
            f'<span class="cat">{e(self.section_name(a.section))}</span></div>'
            f'<div class="article-content">{paragraphs(a.paragraphs)}</div>'
            + share_bar(url, a.title)
            + '<div class="comments-box"><h4>تعليقات ( 0 )</h4></div>'
            + related_block(rel)
            + "</main>"
            + _footer(self.title)
            + analytics("G-MDR24")
            + "</body></html>"
        )

    def render_listing(self, section: str | None, n: int, items: list[Article], nxt: str | None) -> str:
        rows = "".join(
            f"<li>{self.link(a)} <small>{dates.relative_ar(self.now - a.published)}</small></li>" for a in items
        )
        empty = "" if items else '<p class="empty">لا توجد مقالات أخرى</p>'
        more = f'<a rel="next" class="load-more" href="{e(nxt)}">المزيد</a>' if nxt else ""
        return (
            head(f"آخر الأخبار | {self.title}")
            + self._top()
            + f'<ul class="feed">{rows}</ul>{empty}{more}'
            + _footer(self.title)
            + "</body></html>"
        )


class Souss24(Site):
    """Regional WordPress (second theme): <time datetime>, Arabic-Indic digits, photo file names.

    Its calendar widget links day archives that link the previous and next day forever (a trap).
    """

    name = "souss24"
    title = "سوس 24"
    feeds = ("/feed/",)
    sitemaps = ("/wp-sitemap.xml",)
    # The second listing walks the day archives backwards: the calendar trap, entered on purpose.
    listings = (("/category/akhbar-souss/", "a.next", 20), ("/2025/06/01/", "a.prev-day", 10))
    per_page = 10
    robots_disallow = ("/wp-admin/", "/wp-login.php")

    def listing_path(self, section: str | None, page: int) -> str:
        slug = "akhbar-souss" if section is None else self.section_slug(section)
        return f"/category/{slug}/" if page == 1 else f"/category/{slug}/page/{page}/"

    def sitemap_routes(self) -> dict[str, Route]:
        entries = self.sitemap_entries()

        def index() -> Response:
            return xml(
                xmldoc.sitemap_index([(self.url("/wp-sitemap-posts-post-1.xml"), newest(entries) or self.now)]),
                newest(entries),
            )

        def posts() -> Response:
            return xml(xmldoc.urlset((self.url(a.path), a.modified) for a in entries), newest(entries))

        return {"/wp-sitemap.xml": index, "/wp-sitemap-posts-post-1.xml": posts}

    def dynamic(self, path: str, query: dict[str, list[str]]) -> Response | None:
        parts = path.strip("/").split("/")
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            try:
                day = datetime(int(parts[0]), int(parts[1]), int(parts[2]), 12, tzinfo=dates.CASA)
            except ValueError:
                return None
            return html(self.render_day(day))
        return None

    def _day_path(self, d: datetime) -> str:
        return f"/{d:%Y}/{d:%m}/{d:%d}/"

    def render_day(self, day: datetime) -> str:
        from datetime import timedelta

        items = [a for a in self.live if dates.local(a.published).date() == day.date()]
        prev_d, next_d = day - timedelta(days=1), day + timedelta(days=1)
        rows = "".join(f"<li>{self.link(a)}</li>" for a in items) or "<li>لا توجد مقالات</li>"
        return (
            head(f"أرشيف {day:%Y/%m/%d} – {self.title}")
            + "<body>"
            + self._top()
            + f"<h1>أرشيف يوم {dates.indic(f'{day.day}')}</h1><ul>{rows}</ul>"
            f'<a class="prev-day" href="{self._day_path(prev_d)}">اليوم السابق</a> '
            f'<a class="next-day" href="{self._day_path(next_d)}">اليوم التالي</a>' + self._footer() + "</body></html>"
        )

    def _top(self) -> str:
        # An English theme nobody translated: its own strings stay English around the Arabic articles.
        return (
            f'<div class="top-bar"><span class="breaking-title">Breaking News</span> '
            f'<span class="today">{self.now:%A, %B} {self.now.day}, {self.now.year}</span> '
            '<a class="login" href="/wp-login.php">Sign in</a></div>'
            f'<div class="site-header"><a class="site-title" href="/">{e(self.title)}</a></div>' + nav(self.nav_items())
        )

    def _footer(self) -> str:
        return (
            '<footer class="site-footer"><div class="about"><h4>About Us</h4><p>Souss24 is an independent news '
            "website covering Agadir, Inezgane, Taroudant, Tiznit and the regions of the south of Morocco.</p>"
            "</div><p>© 2025 Souss24. All rights reserved. Powered by WordPress.</p></footer>" + cookie_banner("en")
        )

    def _calendar(self, around: datetime) -> str:
        d = dates.local(around)
        cells = "".join(
            f'<td><a href="/{d:%Y}/{d:%m}/{day:02d}/">{dates.indic(str(day))}</a></td>' for day in range(1, 29)
        )
        return f'<table id="wp-calendar"><caption>{dates.MA_MONTHS[d.month - 1]}</caption><tr>{cells}</tr></table>'

    def render_article(self, a: Article) -> str:
        url = self.url(a.path)
        d = dates.local(a.published)
        shown = dates.indic(f"{d.day} {dates.MA_MONTHS[d.month - 1]} {d.year}")
        photo = f"IMG_{d:%Y%m%d}_{(a.num * 7919) % 240000:06d}"
        figure = (
            f'<figure class="wp-caption"><img src="/wp-content/uploads/{d:%Y/%m}/{photo}.jpg" alt="{photo}">'
            f"<figcaption>{photo}</figcaption></figure>"
        )
        rel = self.related(a, 3)
        return (
            head(
                f"{a.title} – {self.title}",
                lang="en-US",
                canonical=url,
                metas=[("property", "og:title", a.title), ("property", "og:site_name", self.title)],
                feeds=[("application/rss+xml", self.url("/feed/"))],
            )
            + '<body class="single">'
            + self._top()
            + f'<article class="post-{a.num}"><header><h1 class="entry-title">{e(a.title)}</h1>'
            f'<time class="entry-date published" datetime="{dates.iso_local(a.published)}">{shown}</time>'
            f' <a href="{self._day_path(d)}" class="day-link">{dates.indic(str(d.day))}</a></header>'
            f'<div class="entry-content">{figure}{paragraphs(a.paragraphs)}</div>'
            '<div class="post-author-box"><h4>About the author</h4><p>The Souss24 newsroom reports on local news '
            "from Agadir, Inezgane, Taroudant and Tiznit, with correspondents across the region who follow the "
            "stories that matter to their readers every day. Send your news, photos and videos to the editorial "
            "team through the contact page, and follow us on social media for breaking news.</p></div>"
            + share_bar(url, a.title, "en")
            + related_block([(self.url(r.path), r.title, "") for r in rel], "Related Posts")
            + comment_form_en(a.num)
            + "</article>"
            + f'<aside class="widget">{self._calendar(a.published)}</aside>'
            + newsletter("en")
            + self._footer()
            + analytics("G-SOUSS24")
            + "</body></html>"
        )

    def render_listing(self, section: str | None, n: int, items: list[Article], nxt: str | None) -> str:
        rows = "".join(
            f'<div class="item"><h2>{self.link(a)}</h2><time datetime="{dates.iso_local(a.published)}">'
            f"{dates.indic(dates.numeric(a.published))}</time></div>"
            for a in items
        )
        return (
            head(f"أخبار سوس – {self.title}")
            + "<body>"
            + self._top()
            + rows
            + f'<div class="nav-links">{_next_link(nxt, "next page-numbers")}</div>'
            + f'<aside class="widget">{self._calendar(self.now)}</aside>'
            + self._footer()
            + "</body></html>"
        )


class Casapost(Site):
    """Bilingual (ar/fr) modern CMS: JSON-LD with articleBody, <time>, AMP versions at <url>/amp."""

    name = "casapost"
    title = "كازا بوست"
    title_fr = "Casa Post"
    languages = ("ar", "fr")
    feeds = ("/rss/ar.xml", "/rss/fr.xml")
    sitemaps = ("/sitemap.xml",)
    listings = (("/ar/latest", "a.pager-next", 20), ("/fr/latest", "a.pager-next", 20))
    per_page = 8
    robots_disallow = ("/api/", "/ar/search", "/fr/search")

    def listing_path(self, section: str | None, page: int) -> str:
        lang = section or "ar"  # listings are per language here, not per section
        return f"/{lang}/latest" if page == 1 else f"/{lang}/latest?page={page}"

    def sections(self) -> list[str]:
        return []

    def listing_routes(self) -> dict[str, Route]:
        table: dict[str, Route] = {}
        for lang in ("ar", "fr"):
            items = [a for a in self.live if a.lang == lang]
            pages = max(1, -(-len(items) // self.per_page))
            for n in range(1, pages + 1):
                nxt = self.listing_path(lang, n + 1) if n < pages else None
                chunk = items[(n - 1) * self.per_page : n * self.per_page]
                table[self.listing_path(lang, n)] = self._listing_route(lang, n, chunk, nxt)
        return table

    def nav_items(self) -> list[tuple[str, str]]:
        return [
            ("/", "الرئيسية"),
            ("/ar/latest", "آخر الأخبار"),
            ("/fr/latest", "Français"),
            ("/ar/search?q=", "بحث"),
        ]

    def feed_routes(self) -> dict[str, Route]:
        def make(lang: str) -> Route:
            def build() -> Response:
                items = self.feed_items(lang)
                title = self.title if lang == "ar" else self.title_fr
                doc = xmldoc.rss(title, self.url("/"), self.url(f"/rss/{lang}.xml"), lang, items)
                return xml(
                    doc,
                    newest([a for a in self.live if a.lang == lang][:10]),
                    "application/rss+xml; charset=UTF-8",
                )

            return build

        return {"/rss/ar.xml": make("ar"), "/rss/fr.xml": make("fr")}

    def extra_routes(self) -> dict[str, Route]:
        return {a.path + "/amp": self._amp_route(a) for a in self.all_articles if a.kind == "article"}

    def _amp_route(self, a: Article) -> Route:
        def build() -> Response:
            url = self.url(a.path)
            page = (
                f'<!doctype html>\n<html amp lang="{a.lang}"><head><meta charset="utf-8">'
                f"<title>{e(a.title)} | {self.site_title(a)}</title>"
                f'<link rel="canonical" href="{e(url)}"><script async src="https://cdn.ampproject.org/v0.js">'
                "</script><style amp-boilerplate>body{visibility:hidden}</style></head><body>"
                f'<header class="amp-header"><a href="{e(url)}">{self.site_title(a)}</a></header>'
                f"<article><h1>{e(a.title)}</h1>{paragraphs(a.paragraphs)}</article>"
                f"<footer>{'Tous droits réservés' if a.lang == 'fr' else 'جميع الحقوق محفوظة'}</footer>"
                "</body></html>"
            )
            return html(page, last_modified=a.modified)

        return build

    def site_title(self, a: Article) -> str:
        return self.title_fr if a.lang == "fr" else self.title

    def render_article(self, a: Article) -> str:
        url = self.url(a.path)
        fr = a.lang == "fr"
        section = SECTION_FR.get(a.section, "Actualité") if fr else self.section_name(a.section)
        ld: dict[str, Any] = {
            "@context": "https://schema.org", "@type": "NewsArticle", "headline": a.title,
            "datePublished": dates.iso_local(a.published), "dateModified": dates.iso_local(a.modified),
            "author": [{"@type": "Organization", "name": a.author or self.site_title(a)}],
            "articleSection": section, "image": [self.url(f"/media/{a.num}.webp")], "inLanguage": a.lang,
            "articleBody": " ".join(a.paragraphs),
            "publisher": {"@type": "Organization", "name": self.site_title(a)},
        }  # fmt: skip
        shown = dates.fr_long(a.published) if fr else dates.ar_moroccan(a.published)
        toolbar = (
            "" if fr else '<div class="reader-tools">الخط : A- A+ <button class="listen">إستمع للمقال</button></div>'
        )
        same_lang = sorted(
            (r for r in self.live if r.lang == a.lang and r.path != a.path),
            key=lambda r: abs((r.published - a.published).total_seconds()),
        )
        rel = [(self.url(r.path), r.title, r.excerpt) for r in same_lang[:3]]
        heading = "À lire aussi" if fr else "أخبار ذات صلة"
        return (
            head(
                f"{a.title} | {self.site_title(a)}",
                lang=a.lang,
                canonical=url,
                jsonld=ld,
                metas=[
                    ("property", "og:title", a.title),
                    ("property", "og:locale", "fr_MA" if fr else "ar_MA"),
                ],
                feeds=[("application/rss+xml", self.url(f"/rss/{a.lang}.xml"))],
                extra=f'<link rel="amphtml" href="{e(url)}/amp">',
            )
            + "<body>"
            + cookie_banner(a.lang)
            + f'<header><a class="logo" href="/">{self.site_title(a)}</a>'
            + nav(self.nav_items())
            + "</header>"
            + f'<main><article><span class="kicker">{e(section)}</span><h1>{e(a.title)}</h1>'
            f'<time datetime="{dates.iso_local(a.published)}">{shown}</time>{toolbar}'
            f'<div class="article-text">{paragraphs(a.paragraphs)}</div></article>'
            + share_bar(url, a.title, "fr" if fr else "ar")
            + related_block(rel, heading)
            + (comment_form_fr() if fr else comment_form_wp(a.num))
            + "</main>"
            + newsletter(a.lang)
            + (f"<footer><p>© 2025 {self.title_fr}. Tous droits réservés.</p></footer>" if fr else _footer(self.title))
            + analytics("G-CASAPOST")
            + "</body></html>"
        )

    def render_listing(self, section: str | None, n: int, items: list[Article], nxt: str | None) -> str:
        rows = "".join(
            f'<div class="card"><h3>{self.link(a)}</h3><time datetime="{dates.iso_local(a.published)}">'
            f"{dates.numeric(a.published)}</time></div>"
            for a in items
        )
        more = _next_link(nxt, "pager-next", "Suivant" if section == "fr" else "التالي")
        if section in (None, "ar") and n == 1:
            # The same story linked through its AMP URL (a hostile alias: store it once).
            amp = corpus.by_outlet(self.name)[2]
            rows += f'<div class="card amp"><h3><a href="{e(self.url(amp.path))}/amp">{e(amp.title)}</a></h3></div>'

        return (
            head(f"{self.title} - آخر الأخبار", lang=section or "ar")
            + "<body>"
            + nav(self.nav_items())
            + rows
            + more
            + _footer(self.title)
            + "</body></html>"
        )
