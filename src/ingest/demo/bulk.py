"""The `bulk` outlet for benchmarks: N synthetic articles recombined from the corpus paragraphs."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from functools import cached_property

from ingest.demo import corpus, dates
from ingest.demo import feeds as xmldoc
from ingest.demo.corpus import Article
from ingest.demo.site import Response, Route, Site, html, newest, xml
from ingest.demo.templates import e, head, nav, paragraphs, related_block, share_bar
from ingest.demo.urls import BULK

SITEMAP_CHUNK = 1000


def bulk_articles(scale: int) -> list[Article]:
    """Deterministic synthetic articles for benchmarks: distinct at the word level, like real news.

    Each article draws 4-6 paragraphs from the corpus and replaces about a third of their words
    with words drawn from the corpus vocabulary, so two articles share stock phrases but not
    whole sentences. Every tenth article is a syndicated copy of an article published a little
    earlier (dateline added, last paragraph dropped), so dedup has real copies to link.
    """
    pool = [a for a in corpus.articles() if a.lang == "ar" and a.kind == "article" and len(a.paragraphs) >= 2]
    vocabulary = sorted({w for a in pool for para in a.paragraphs for w in para.split() if len(w) > 2})
    start = dates.parse_local("2025-04-01 06:00")
    out: list[Article] = []
    for i in range(scale):
        rng = random.Random(i)
        base = pool[(i * 7919) % len(pool)]
        if i % 10 == 9 and i >= 3:
            source = out[i - 3]
            paras = ("الرباط- متابعة", *source.paragraphs[:-1])
        else:
            picked = [rng.choice(pool).paragraphs[rng.randrange(2)] for _ in range(4 + i % 3)]
            paras = tuple(_vary(para, rng, vocabulary) for para in picked)
        when = start + timedelta(minutes=7 * i)
        a = Article(
            outlet=BULK,
            story=f"bulk-{i + 1}",
            title=f"{base.title} ({i + 1})",
            paragraphs=paras,
            published=when,
            modified=when + timedelta(minutes=5),
            lang="ar",
            section=base.section,
            slug=f"b{i + 1}",
            num=i + 1,
        )
        out.append(Article(**{**a.__dict__, "path": f"/b/{i + 1}.html"}))
    return out


def _vary(paragraph: str, rng: random.Random, vocabulary: list[str]) -> str:
    return " ".join(rng.choice(vocabulary) if rng.random() < 0.35 else w for w in paragraph.split())


class Bulk(Site):
    """A plain WordPress-like outlet with many pages; sitemap index of <= 1000 URLs per child."""

    name = BULK
    title = "أرشيف الأخبار"
    feeds = ("/feed/",)
    sitemaps = ("/sitemap_index.xml",)
    listings = (("/page/1/", "a.next", 50),)

    def __init__(self, origin: Callable[[str], str], scale: int) -> None:
        self._origin = origin
        self._cache: dict[str, Response] = {}
        self.all_articles = bulk_articles(scale)
        self.live = list(reversed(self.all_articles))  # newest first
        self.index = {a.path: i for i, a in enumerate(self.all_articles)}
        self.now = self.all_articles[-1].published if self.all_articles else dates.parse_local("2025-04-01 06:00")

    def listing_path(self, section: str | None, page: int) -> str:
        return f"/page/{page}/"

    def sections(self) -> list[str]:
        return []

    @cached_property
    def article_paths(self) -> frozenset[str]:
        return frozenset(self.index)

    def related(self, a: Article, n: int = 4) -> list[Article]:
        i = self.index[a.path]
        return [self.all_articles[j] for j in (i - 1, i - 2, i + 1, i + 2) if 0 <= j < len(self.all_articles)][:n]

    def sitemap_routes(self) -> dict[str, Route]:
        chunks = [self.all_articles[k : k + SITEMAP_CHUNK] for k in range(0, len(self.all_articles), SITEMAP_CHUNK)]

        def index() -> Response:
            kids = [(self.url(f"/sitemap-{k + 1}.xml"), newest(c) or self.now) for k, c in enumerate(chunks)]
            return xml(xmldoc.sitemap_index(kids), self.now)

        def child(c: list[Article]) -> Route:
            return lambda: xml(xmldoc.urlset((self.url(a.path), a.modified) for a in c), newest(c))

        table: dict[str, Route] = {"/sitemap_index.xml": index}
        table.update({f"/sitemap-{k + 1}.xml": child(c) for k, c in enumerate(chunks)})
        return table

    def render_article(self, a: Article) -> str:
        url = self.url(a.path)
        rel = [(self.url(r.path), r.title, r.excerpt) for r in self.related(a)]
        return (
            head(
                f"{a.title} - {self.title}",
                canonical=url,
                metas=[("property", "article:published_time", dates.iso_local(a.published))],
            )
            + "<body>"
            + nav([("/", "الرئيسية"), ("/page/1/", "الأرشيف")])
            + f'<article><h1 class="entry-title">{e(a.title)}</h1>'
            f'<time datetime="{dates.iso_local(a.published)}">{dates.ar_moroccan(a.published)}</time>'
            f'<div class="entry-content">{paragraphs(a.paragraphs)}</div></article>'
            + share_bar(url, a.title)
            + related_block(rel)
            + "</body></html>"
        )

    def render_listing(self, section: str | None, n: int, items: list[Article], nxt: str | None) -> str:
        rows = "".join(f"<li>{self.link(a)} <span>{dates.numeric(a.published)}</span></li>" for a in items)
        more = f'<a class="next" href="{e(nxt)}">التالي</a>' if nxt else ""
        return head(f"الأرشيف - {self.title}") + f"<body><ul>{rows}</ul>{more}</body></html>"

    def home(self) -> Response:
        return html(self.render_listing(None, 1, self.live[:10], "/page/2/" if len(self.live) > 10 else None))
