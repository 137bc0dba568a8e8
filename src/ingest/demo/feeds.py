"""RSS 2.0, Atom and sitemap documents (built with string templates; every value escaped)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

from ingest.demo.dates import http_date, iso_local, iso_utc


@dataclass(frozen=True)
class FeedItem:
    title: str
    link: str
    published: datetime
    summary: str
    category: str
    guid: str


def _x(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def rss(title: str, home: str, self_url: str, lang: str, items: Iterable[FeedItem]) -> str:
    parts = []
    built: datetime | None = None
    for it in items:
        built = max(built, it.published) if built else it.published
        parts.append(
            "<item>"
            f"<title>{_x(it.title)}</title><link>{_x(it.link)}</link>"
            f"<dc:creator><![CDATA[{title}]]></dc:creator>"
            f"<pubDate>{http_date(it.published)}</pubDate>"
            f"<category><![CDATA[{it.category}]]></category>"
            f'<guid isPermaLink="false">{_x(it.guid)}</guid>'
            f"<description><![CDATA[{it.summary}]]></description>"
            "</item>\n"
        )
    last = f"<lastBuildDate>{http_date(built)}</lastBuildDate>" if built else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">\n<channel>\n'
        f"<title>{_x(title)}</title><link>{_x(home)}</link>"
        f'<atom:link href="{_x(self_url)}" rel="self" type="application/rss+xml"/>'
        f"<description>{_x(title)}</description>{last}<language>{lang}</language>"
        "<generator>https://wordpress.org/?v=6.5.3</generator>\n" + "".join(parts) + "</channel>\n</rss>\n"
    )


def atom(title: str, home: str, self_url: str, items: Iterable[FeedItem]) -> str:
    entries = []
    updated: datetime | None = None
    for it in items:
        updated = max(updated, it.published) if updated else it.published
        entries.append(
            "<entry>"
            f"<title>{_x(it.title)}</title>"
            f'<link rel="alternate" type="text/html" href="{_x(it.link)}"/>'
            f"<id>{_x(it.guid)}</id><published>{iso_local(it.published)}</published>"
            f"<updated>{iso_local(it.published)}</updated>"
            f'<category term="{_x(it.category)}"/>'
            f'<summary type="html">{_x(it.summary)}</summary>'
            f"<author><name>{_x(title)}</name></author>"
            "</entry>\n"
        )
    up = iso_utc(updated) if updated else "2025-01-01T00:00:00+00:00"
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="ar">\n'
        f'<title>{_x(title)}</title><link href="{_x(home)}"/><link rel="self" href="{_x(self_url)}"/>'
        f"<id>{_x(home)}</id><updated>{up}</updated>\n" + "".join(entries) + "</feed>\n"
    )


def urlset(entries: Iterable[tuple[str, datetime]]) -> str:
    body = "".join(f"<url><loc>{_x(u)}</loc><lastmod>{iso_local(t)}</lastmod></url>\n" for u, t in entries)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + body + "</urlset>\n"
    )


def news_urlset(publication: str, lang: str, entries: Iterable[tuple[str, datetime, str]]) -> str:
    body = "".join(
        f"<url><loc>{_x(u)}</loc><news:news><news:publication><news:name>{_x(publication)}</news:name>"
        f"<news:language>{lang}</news:language></news:publication>"
        f"<news:publication_date>{iso_local(t)}</news:publication_date>"
        f"<news:title>{_x(title)}</news:title></news:news></url>\n"
        for u, t, title in entries
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n' + body + "</urlset>\n"
    )


def sitemap_index(children: Iterable[tuple[str, datetime]]) -> str:
    body = "".join(f"<sitemap><loc>{_x(u)}</loc><lastmod>{iso_local(t)}</lastmod></sitemap>\n" for u, t in children)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + body + "</sitemapindex>\n"
    )
