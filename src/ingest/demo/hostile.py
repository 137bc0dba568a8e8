"""وجدة سيتي (oujdacity): an old custom CMS, and the home of the hostile cases.

Its listing and sitemap link every case a crawler must survive: wrong encodings, redirects (plain,
chained, off-site, looping), error statuses, a slow and a huge page, a PDF posing as an article,
broken markup, tracking-parameter and fragment aliases, and pages that match the article URL
pattern without being articles. Its robots.txt and a sitemap index add the request-forgery cases
(local files, an internal service on another loopback address, the cloud metadata address, IP
literals in other spellings), a sitemap host whose robots.txt answers 503, a gzip bomb, a sitemap
cut by an XML error, a Content-Encoding bomb, a 5,000-character URL, and a page of 100,000 links.
The static description (HOSTILE_CASES) feeds the ground truth.
"""

from __future__ import annotations

import gzip
import re
import zlib
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from urllib.parse import urlsplit, urlunsplit

from ingest.demo import corpus, dates
from ingest.demo import feeds as xmldoc
from ingest.demo.corpus import Article
from ingest.demo.site import Response, Route, Site, html, newest, xml
from ingest.demo.templates import e, head, nav, paragraphs

HUGE_BYTES = 12 * 1024 * 1024
BOMB_BYTES = 96 * 1024 * 1024  # a gzip sitemap of zeros this big unpacked (1 MB packed): over the 64 MiB cap
ENCODING_BOMB_BYTES = 24 * 1024 * 1024  # an article gzip-encoded in transit, over max_page_bytes unpacked
FLOOD_LINKS = 100_000
# Hosts the hostile outlet points at: a stand-in internal service (another loopback address) and
# a sitemap host on the outlet's own address (another port) whose robots.txt answers 503.
HOSTILE_ADDRESSES = {"internal": "127.0.0.2", "oujdacity-cdn": "127.0.0.1"}
SSRF_INDEX = "/hostile/sitemap-index.xml"
FLOOD_PATH = "/hostile/flood.html"
ENCODING_BOMB_PATH = "/region/9401-qunbulat-aldught.html"
LONG_URL_PATH = "/region/9402-" + "t" * 5000 + ".html"
_LINK_TITLES = {
    "redirect-offsite": "عروض خاصة من شركائنا بمناسبة الصيف",
    "redirect-loop": "رابط قديم: حصيلة الموسم الرياضي بالجهة",
    "not-found": "مقال محذوف: اجتماع المجلس الجماعي لوجدة",
    "server-error": "برنامج الدورة الاستثنائية لمجلس العمالة",
}


@dataclass(frozen=True)
class Case:
    """One hostile case: where it is, what it is, what a correct pipeline does with it."""

    kind: str
    outlet: str
    path: str
    expect: str  # stored | rejected | not-fetched | bounded
    target: str | None = None  # "outlet:path" of the article it leads to, if any
    note: str = ""


def _fixed(kind: str, path: str, title: str, paras: tuple[str, ...]) -> Article:
    when = dates.parse_local("2025-05-27 09:00")
    return Article(
        outlet="oujdacity",
        story=None,
        title=title,
        paragraphs=paras,
        published=when,
        modified=when,
        lang="ar",
        section="regions",
        slug=path.rsplit("/", 1)[-1],
        num=0,
        expect="rejected",
        kind=kind,
        hostile=kind,
        in_feeds=False,
        path=path,
    )


# Pages that are not articles, though some match the article URL pattern.
TAG_PATH = "/tag/77-mahrajanat.html"
AUTHOR_PATH = "/auteur/12-hayat-attahrir.html"
VIDEO_PATH = "/video/9401-fidyo-maaradh-alkitab.html"
PDF_PATH = "/region/9302-taqrir-majlis-aljiha.html"
HUGE_PATH = "/dossiers/9301-malaf-almawsim-alfilahi.html"


@cache
def hostile_pages() -> tuple[Article, ...]:
    """The non-article (or oversized) pages, as ground-truth pages expected to be rejected."""
    return (
        _fixed("tag-page", TAG_PATH, "وسم: مهرجانات", ()),
        _fixed("author-page", AUTHOR_PATH, "مقالات هيئة التحرير", ()),
        _fixed(
            "video-page",
            VIDEO_PATH,
            "فيديو: أجواء اليوم الأول من معرض الكتاب الجهوي بوجدة",
            ("شاهد الفيديو",),
        ),
        _fixed("non-html", PDF_PATH, "تقرير مجلس الجهة حول تنفيذ الميزانية", ()),
        _fixed(
            "huge-page",
            HUGE_PATH,
            "ملف: الموسم الفلاحي بجهة الشرق بين الجفاف وآمال التساقطات",
            (
                "يعيش فلاحو جهة الشرق على إيقاع ترقب متواصل للتساقطات، بعد موسم اتسم بضعف المخزون المائي في السدود "
                "وتراجع المساحات المزروعة بالحبوب في سهول أنجاد وتافوغالت.",
                "ويطالب مهنيون بتسريع صرف الدعم المخصص للأعلاف ومراجعة برمجة مياه السقي، في انتظار ما ستسفر عنه "
                "الأسابيع المقبلة.",
            ),
        ),
    )


def _real(kind: str) -> Article:
    return next(a for a in corpus.by_outlet("oujdacity") if a.hostile == kind)


def _plain(n: int) -> Article:
    """The n-th ordinary oujdacity article, oldest first (targets of aliases and redirects)."""
    return [a for a in corpus.by_outlet("oujdacity") if a.hostile is None][n]


def _almasaa_target() -> Article:
    return corpus.by_outlet("almasaa")[0]


@cache
def hostile_cases() -> tuple[Case, ...]:
    """Every hostile case of the sample web (port-independent)."""
    o = "oujdacity"
    t = lambda a: f"{a.outlet}:{a.path}"  # noqa: E731
    p0, p1, p2, p3 = _plain(0), _plain(1), _plain(2), _plain(3)
    casa_amp = corpus.by_outlet("casapost")[2]
    rif = corpus.by_outlet("rifpress")[0]
    real = [
        Case(k, o, _real(k).path, "stored", t(_real(k)), n)
        for k, n in (
            (
                "windows-1256-meta",
                "windows-1256 bytes; charset only in <meta http-equiv>, header says text/html",
            ),
            (
                "windows-1256-wrong-header",
                "windows-1256 bytes; header wrongly says utf-8, <meta> says windows-1256",
            ),
            ("broken-markup", "unclosed <p>/<div>, stray </div>, no </body></html>"),
            ("slow", "answers after SampleWeb.slow_seconds (default 3 s)"),
            ("retry-503", "503 with Retry-After: 1 on the first request, then 200"),
            ("retry-429", "429 with Retry-After: 1 on the first request, then 200"),
        )
    ]
    return (*real,
        Case("redirect-301", o, f"/archive/{p0.num}-{p0.slug}.html", "stored", t(p0), "301 to the article"),
        Case("redirect-chain", o, f"/index.php?id={p1.num}", "stored", t(p1), "302 -> /go/ -> 301 -> article"),
        Case("redirect-offsite", o, "/partenaires/9001-aaraad-khassa.html", "not-fetched", t(_almasaa_target()),
             "302 to http://localhost:<almasaa port>/... : another host, outside allowed_domains"),
        Case("redirect-loop", o, "/loop/9101-a.html", "rejected", None, "9101-a -> 9102-b -> 9101-a"),
        Case("not-found", o, "/region/9201-maqal-mahdhouf.html", "rejected", None, "404 linked from the listing"),
        Case("server-error", o, "/region/9202-khata-fi-alkhadim.html", "rejected", None, "500"),
        Case("huge-page", o, HUGE_PATH, "rejected", None, f"{HUGE_BYTES} bytes of HTML (> max_page_bytes)"),
        Case("non-html", o, PDF_PATH, "rejected", None, "application/pdf behind an article-like URL"),
        Case("tag-page", o, TAG_PATH, "rejected", None, "matches the article pattern; a tag listing"),
        Case("author-page", o, AUTHOR_PATH, "rejected", None, "matches the article pattern; an author page"),
        Case("video-page", o, VIDEO_PATH, "rejected", None, "matches the article pattern; a video embed only"),
        Case("tracking-params", o, p2.path + "?utm_source=facebook&utm_medium=social&fbclid=IwAR0x", "stored",
             t(p2), "same article as its canonical URL: store once"),
        Case("fragment", o, p3.path + "#comments", "stored", t(p3), "same article: store once"),
        Case("amp-alias", "casapost", casa_amp.path + "/amp", "stored", t(casa_amp),
             "AMP copy, rel=canonical to the main page; linked from the Arabic listing: store once"),
        Case("robots-disallowed", "rifpress", "/print" + rif.path, "not-fetched", t(rif),
             "print version under Disallow: /print/, matches the article pattern, linked from every article"),
        Case("listing-trap", "madar24", "/latest?page=N", "bounded", None,
             "page N always links to N+1; empty pages after the end"),
        Case("calendar-trap", "souss24", "/YYYY/MM/DD/", "bounded", None,
             "day archives link the previous and next day forever"),
        Case("request-forgery", o, SSRF_INDEX, "not-fetched", None,
             "robots.txt Sitemap: lines and a sitemap index whose children are file:///etc/passwd, "
             "file:///dev/zero, the internal service on 127.0.0.2 (also as 2130706434 and 0177.0.0.2), "
             "localhost, [::1], 169.254.169.254, and a child redirecting to the internal service"),
        Case("robots-unavailable", o, "/hostile/cdn-sitemap", "not-fetched", None,
             "a Sitemap: line on a sitemap host whose robots.txt answers 503: disallow all there"),
        Case("gzip-bomb", o, "/hostile/bomb.xml.gz", "bounded", None,
             f"a gzip sitemap of {BOMB_BYTES} zero bytes unpacked: refused too-large, remembered"),
        Case("xml-error", o, "/hostile/broken.xml", "bounded", None,
             "a sitemap with an unescaped '&' and a cut end: counted xml-error, its entries read leniently"),
        Case("encoding-bomb", o, ENCODING_BOMB_PATH, "rejected", None,
             f"Content-Encoding: gzip of {ENCODING_BOMB_BYTES} bytes unpacked: too-large, not retried"),
        Case("long-url", o, LONG_URL_PATH, "not-fetched", None, "a 5,000-character article URL: counted"),
        Case("link-flood", o, FLOOD_PATH, "bounded", None,
             f"{FLOOD_LINKS} article links on one page (crawled as a listing by the test that reads it)"),
    )  # fmt: skip


def _break_markup(page: str) -> str:
    """What a hand-edited old template does: unclosed tags, a stray </div>, no document end."""
    page = page.replace("</p>", "", 3).replace('<div class="body">', '<div class="body"><div class="x"></div></div>')
    return re.sub(r"</body>\s*</html>\s*$", "", page) + "\n<!-- cache: miss -->"


class Oujdacity(Site):
    """Old PHP CMS: table layout, numeric visible dates only, no rel=canonical, the hostile cases."""

    name = "oujdacity"
    title = "وجدة سيتي"
    feeds = ("/feed.xml",)
    sitemaps = ("/sitemap.xml",)
    listings = (("/akhbar/", "a.next", 20),)
    per_page = 10
    robots_disallow = ("/search/",)

    def listing_path(self, section: str | None, page: int) -> str:
        return "/akhbar/" if page == 1 else f"/akhbar/page-{page}.html"

    def sections(self) -> list[str]:
        return []

    def listing_entries(self) -> list[tuple[str, str, str]]:
        """(href, title, date) rows: the articles, with the hostile links mixed in."""
        rows = [
            (a.path, a.title, dates.numeric(a.published))
            for a in sorted(self.all_articles, key=lambda a: a.published, reverse=True)
        ]
        extra = [
            (c.path, self._link_title(c), "27/05/2025 09:00")
            for c in hostile_cases()
            if c.outlet == self.name and c.path not in {a.path for a in self.all_articles}
        ]
        merged: list[tuple[str, str, str]] = []
        for i, row in enumerate(rows):
            merged.append(row)
            if i % 2 == 1 and extra:
                merged.append(extra.pop(0))
        return merged + extra

    def _link_title(self, case: Case) -> str:
        """What the listing shows for a hostile link: a headline, as a real listing would."""
        if case.target and case.target.startswith(self.name + ":"):
            return next(a.title for a in self.all_articles if f"{a.outlet}:{a.path}" == case.target)
        fixed = {p.path: p.title for p in hostile_pages()}
        return fixed.get(case.path) or _LINK_TITLES.get(case.kind, "مقال")

    def listing_routes(self) -> dict[str, Route]:
        rows = self.listing_entries()
        pages = -(-len(rows) // self.per_page)
        table: dict[str, Route] = {}
        for n in range(1, pages + 1):
            chunk = rows[(n - 1) * self.per_page : n * self.per_page]
            nxt = self.listing_path(None, n + 1) if n < pages else None
            table[self.listing_path(None, n)] = self._rows_route(n, chunk, nxt)
        return table

    def _rows_route(self, n: int, chunk: list[tuple[str, str, str]], nxt: str | None) -> Route:
        def build() -> Response:
            body = "".join(f'<tr><td><a href="{e(h)}">{e(t)}</a></td><td class="d">{d}</td></tr>' for h, t, d in chunk)
            more = f'<a class="next" href="{e(nxt)}">الصفحة التالية</a>' if nxt else ""
            page = (
                head(f"آخر الأخبار - {self.title}")
                + "<body>"
                + self._top()
                + f'<table class="list">{body}</table>{more}'
                + self._bottom()
            )
            return html(page)

        return build

    def render_home(self) -> str:
        return self._rows_route(1, self.listing_entries()[: self.per_page], self.listing_path(None, 2))().body.decode()

    def sitemap_routes(self) -> dict[str, Route]:
        def build() -> Response:
            arts = sorted(self.all_articles, key=lambda a: a.published, reverse=True)
            urls = [(self.url(a.path), a.modified) for a in arts]
            urls += [(self.url(h.path), h.modified) for h in hostile_pages()]
            urls += [(self.url("/region/9201-maqal-mahdhouf.html"), arts[0].modified)]
            return xml(xmldoc.urlset(urls), newest(arts))

        return {"/sitemap.xml": build}

    def _top(self, charset_note: str = "") -> str:
        links = [
            ("/", "الرئيسية"),
            ("/akhbar/", "آخر الأخبار"),
            (TAG_PATH, "مهرجانات"),
            (AUTHOR_PATH, "هيئة التحرير"),
        ]
        return (
            f'<table class="layout"><tr><td class="logo"><a href="/">{e(self.title)}</a>{charset_note}</td>'
            '<td><form action="/search/"><input name="q"></form><a href="/search/?q=%D9%88%D8%AC%D8%AF%D8%A9">'
            "وجدة</a></td></tr></table>" + nav(links, "topnav")
        )

    def _bottom(self) -> str:
        return '<div class="foot">جميع الحقوق محفوظة © 2025 وجدة سيتي — <a href="/search/">بحث</a></div></body></html>'

    def render_article(self, a: Article, charset: str = "utf-8") -> str:
        rel = [r for r in self.live if r.path != a.path][:3]
        links = "".join(f"<li>{self.link(r)}</li>" for r in rel)
        return (
            head(f"{a.title} - {self.title}", charset=charset)  # no rel=canonical on this CMS
            + "<body>"
            + self._top()
            + f'<table class="main"><tr><td class="content"><h1 class="title">{e(a.title)}</h1>'
            f'<div class="date">{dates.numeric(a.published)}</div>'
            f'<div class="body">{paragraphs(a.paragraphs)}</div>'
            f'<div class="share"><a href="https://www.facebook.com/sharer.php?u={e(self.url(a.path))}">facebook</a>'
            f'<span class="label">شارك المقال</span></div>'
            f'<div class="comment-form"><b>أضف تعليقك</b><textarea></textarea></div>'
            f'<div class="more"><b>المقال السابق</b><ul>{links}</ul></div></td></tr></table>' + self._bottom()
        )

    def _article_route(self, a: Article) -> Route:
        def build() -> Response:
            return self._hostile_article(a)

        return build

    def _hostile_article(self, a: Article) -> Response:
        kind = a.hostile
        if kind in ("windows-1256-meta", "windows-1256-wrong-header"):
            body = self.render_article(a, charset="windows-1256").encode("cp1256", errors="xmlcharrefreplace")
            ctype = "text/html" if kind == "windows-1256-meta" else "text/html; charset=utf-8"
            return Response(body=body, ctype=ctype, last_modified=a.modified)
        page = self.render_article(a)
        resp = html(_break_markup(page) if kind == "broken-markup" else page, last_modified=a.modified)
        if kind == "slow":
            resp.slow = True
        elif kind == "retry-503":
            resp.first = (503, {"Retry-After": "1"})
        elif kind == "retry-429":
            resp.first = (429, {"Retry-After": "1"})
        return resp

    def robots(self) -> Response:
        base = super().robots()
        lines = [
            "Sitemap: file:///etc/passwd",
            f"Sitemap: {self._origin('internal')}/sitemap.xml",
            f"Sitemap: {self._origin('oujdacity-cdn')}/sitemap.xml",
            f"Sitemap: {self.url(SSRF_INDEX)}",
        ]
        return Response(body=base.body + ("\n".join(lines) + "\n").encode(), ctype=base.ctype)

    def hostile_routes(self) -> dict[str, Route]:
        """The request-forgery index, the bombs, the broken sitemap, the long URL and the flood."""
        internal = self._origin("internal")
        port = internal.rsplit(":", 1)[1]
        own_port = self.base.rsplit(":", 1)[1]
        children = [
            "file:///etc/passwd",
            "file:///dev/zero",
            f"{internal}/secret.xml",
            f"http://2130706434:{port}/secret.xml",
            f"http://0177.0.0.2:{port}/secret.xml",
            f"http://localhost:{own_port}/sitemap.xml",
            f"http://[::1]:{own_port}/sitemap.xml",
            "http://169.254.169.254/latest/meta-data/",
            self.url("/hostile/to-internal.xml"),
            self.url("/hostile/bomb.xml.gz"),
            self.url("/hostile/broken.xml"),
            self.url("/hostile/long-url.xml"),
        ]
        arts = [self.url(a.path) for a in self.live[:4]]
        broken = xmldoc.urlset([(u, _when()) for u in arts[:2]]).replace("</urlset>", "")
        broken = broken.replace("</loc>", "</loc><changefreq>daily & hourly</changefreq>", 1)  # a bare '&', no end
        broken += "".join(f"<url><loc>{u}</loc></url>" for u in arts[2:])
        return {
            SSRF_INDEX: lambda: xml(xmldoc.sitemap_index([(u, _when()) for u in children]), None),
            "/hostile/to-internal.xml": lambda: Response(status=302, headers={"Location": f"{internal}/secret.xml"}),
            "/hostile/bomb.xml.gz": lambda: Response(body=gzip_bomb(), ctype="application/x-gzip"),
            "/hostile/broken.xml": lambda: Response(body=broken.encode(), ctype="application/xml"),
            "/hostile/long-url.xml": lambda: xml(xmldoc.urlset([(self.url(LONG_URL_PATH), _when())]), None),
            ENCODING_BOMB_PATH: lambda: Response(
                body=encoding_bomb(), headers={"Content-Encoding": "gzip"}, ctype="text/html; charset=utf-8"
            ),
            FLOOD_PATH: lambda: html(_flood_page()),
        }

    def extra_routes(self) -> dict[str, Route]:
        cases = {c.kind: c for c in hostile_cases() if c.outlet == self.name}
        redirect = lambda loc, code=301: lambda: Response(status=code, headers={"Location": loc})  # noqa: E731
        table: dict[str, Route] = {
            cases["redirect-301"].path: redirect(_plain(0).path),
            cases["redirect-chain"].path: redirect(f"/go/{_plain(1).num}", 302),
            f"/go/{_plain(1).num}": redirect(_plain(1).path),
            cases["redirect-offsite"].path: self._offsite,
            "/loop/9101-a.html": redirect("/loop/9102-b.html", 302),
            "/loop/9102-b.html": redirect("/loop/9101-a.html", 302),
            cases["server-error"].path: lambda: html("<h1>Internal Server Error</h1>", status=500),
            HUGE_PATH: self._huge,
            PDF_PATH: self._pdf,
            TAG_PATH: lambda: html(self._tag_page("وسم: مهرجانات")),
            AUTHOR_PATH: lambda: html(self._tag_page("مقالات هيئة التحرير")),
            VIDEO_PATH: self._video,
            **self.hostile_routes(),
        }
        return table

    def _offsite(self) -> Response:
        parts = urlsplit(self._origin("almasaa"))
        host = "localhost" if parts.hostname in ("127.0.0.1", "::1") else "127.0.0.1"
        loc = urlunsplit((parts.scheme, f"{host}:{parts.port}", _almasaa_target().path, "", ""))
        return Response(status=302, headers={"Location": loc})

    def _tag_page(self, label: str) -> str:
        rows = "".join(f"<li>{self.link(a)} <span>{dates.numeric(a.published)}</span></li>" for a in self.live[:6])
        return (
            head(f"{label} - {self.title}")
            + "<body>"
            + self._top()
            + f"<h1>{e(label)}</h1><ul>{rows}</ul>"
            + self._bottom()
        )

    def _video(self) -> Response:
        v = hostile_pages()[2]
        page = (
            head(f"{v.title} - {self.title}") + "<body>" + self._top() + f'<h1 class="title">{e(v.title)}</h1>'
            '<div class="video"><iframe src="https://www.youtube.com/embed/xY12abCdE9" allowfullscreen></iframe>'
            "<p>شاهد الفيديو</p></div>" + self._bottom()
        )
        return html(page)

    def _pdf(self) -> Response:
        body = (
            b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n"
        )
        return Response(body=body, ctype="application/pdf")

    def _huge(self) -> Response:
        a = hostile_pages()[4]
        top = self.render_article(a).replace("</body></html>", "")
        comment = (
            '<div class="comment"><span class="who">زائر</span><p>تعليق محذوف لمخالفته شروط النشر</p></div>\n'.encode()
        )
        filler = comment * (HUGE_BYTES // len(comment) + 1)
        return Response(body=top.encode() + filler + b"</body></html>", last_modified=a.modified)

    def feed_routes(self) -> dict[str, Route]:
        def build() -> Response:
            doc = xmldoc.rss(self.title, self.url("/"), self.url("/feed.xml"), "ar", self.feed_items())
            return xml(doc, newest(self.live[:10]), "application/rss+xml; charset=UTF-8")

        return {"/feed.xml": build}


def _when() -> datetime:
    return dates.parse_local("2025-05-27 09:00")


@cache
def gzip_bomb() -> bytes:
    """BOMB_BYTES of zeros, gzipped (one member, so its trailer declares the size): ~0.4 MB."""
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    zeros = b"\0" * (1 << 20)
    return b"".join(packer.compress(zeros) for _ in range(BOMB_BYTES >> 20)) + packer.flush()


@cache
def encoding_bomb() -> bytes:
    """An HTML page of ENCODING_BOMB_BYTES, sent gzip-encoded (~24 KB on the wire)."""
    return gzip.compress(b"<!DOCTYPE html><html><body><p>" + b" " * ENCODING_BOMB_BYTES + b"</p></body></html>", 1)


@cache
def _flood_page() -> str:
    links = "".join(f'<a href="/region/{100000 + i}-ghamr.html">{i}</a>' for i in range(FLOOD_LINKS))
    return f"<!DOCTYPE html><html><body>{links}</body></html>"


class _HostileHost:
    """A host the hostile outlet points at: answers every path (robots.txt as configured)."""

    def __init__(self, robots_status: int) -> None:
        self.robots_status = robots_status

    def resolve(self, target: str) -> Response:
        if target == "/robots.txt":
            return Response(status=self.robots_status, body=b"User-agent: *\nAllow: /\n", ctype="text/plain")
        body = xmldoc.urlset([("http://127.0.0.2/internal/secret-report.html", _when())])
        return Response(body=body.encode(), ctype="application/xml")


def hostile_hosts() -> dict[str, tuple[str, _HostileHost]]:
    """The non-outlet hosts of the hostile cases: {name: (address, what it serves)}."""
    return {"internal": (HOSTILE_ADDRESSES["internal"], _HostileHost(200)),
            "oujdacity-cdn": (HOSTILE_ADDRESSES["oujdacity-cdn"], _HostileHost(503))}  # fmt: skip
