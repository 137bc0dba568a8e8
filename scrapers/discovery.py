"""Pure parsing of the discovery channels: feeds, sitemaps, robots.txt, listing pages, feed links.

No network and no Scrapy: every function takes bytes (and the URL they came from, to resolve
relative links) and returns plain records, so each rule is tested on a snippet. Parsers are
lenient (a broken feed yields what can be read, never an exception) and safe (no entity
expansion, no network access, bounded gunzip).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from email.utils import parsedate_to_datetime
from typing import Literal
from urllib.parse import urljoin

import lxml.etree
import lxml.html
from lxml.cssselect import CSSSelector

__all__ = [
    "FeedEntry",
    "ListingPage",
    "SitemapDoc",
    "SitemapEntry",
    "feed_links",
    "gunzip_if_gzipped",
    "is_html",
    "listing_page_url",
    "parse_date",
    "parse_feed",
    "parse_listing",
    "parse_sitemap",
    "robots_sitemaps",
]

GZIP_MAGIC = b"\x1f\x8b"
# Sitemaps are capped at 50 MB uncompressed by the protocol; a gzip bomb stops here.
MAX_SITEMAP_BYTES = 64 * 1024 * 1024
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/rdf+xml")
# Common paths of a WordPress (and many other CMS) feed, tried when nothing else advertises one.
FEED_GUESSES = ("/feed/", "/rss")


def _xml(body: bytes) -> lxml.etree._Element | None:
    # resolve_entities/no_network: a hostile sitemap cannot read files or call out (XXE).
    parser = lxml.etree.XMLParser(
        recover=True, resolve_entities=False, no_network=True, remove_comments=True, huge_tree=False
    )
    try:
        root = lxml.etree.fromstring(body.lstrip(b"\xef\xbb\xbf \t\r\n"), parser=parser)
    except (lxml.etree.XMLSyntaxError, ValueError):
        return None
    return root


def _local(tag: object) -> str:
    if not isinstance(tag, str):  # comments, processing instructions
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def _child_text(el: lxml.etree._Element, *names: str) -> str | None:
    for child in el:
        if _local(child.tag) in names and child.text and child.text.strip():
            return child.text.strip()
    return None


# ---------------------------------------------------------------------------------------- dates

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_date(text: str | None, default_tz: tzinfo = UTC) -> datetime | None:
    """RFC 822 (RSS), ISO 8601 / W3C (Atom, sitemaps) or a bare date; aware UTC, or None.

    A date without an offset is read in `default_tz` (the source's time zone): Moroccan CMSes
    often write local time without saying so.
    """
    if not text:
        return None
    text = text.strip()
    dt: datetime | None = None
    try:
        dt = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        dt = None
    if dt is None:
        iso = text.replace("Z", "+00:00").replace("z", "+00:00")
        if _ISO_DATE.match(iso):
            iso += "T00:00:00"
        try:
            dt = datetime.fromisoformat(iso)
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=default_tz)
    return dt.astimezone(UTC)


# ---------------------------------------------------------------------------------------- feeds


@dataclass(frozen=True, slots=True)
class FeedEntry:
    url: str
    title: str | None = None
    published: datetime | None = None


def parse_feed(body: bytes, base_url: str, default_tz: tzinfo = UTC) -> list[FeedEntry]:
    """Items of an RSS 2.0 / RSS 1.0 feed or entries of an Atom feed, in document order."""
    root = _xml(body)
    if root is None:
        return []
    out: list[FeedEntry] = []
    for el in root.iter():
        name = _local(el.tag)
        if name == "item":  # RSS 2.0 and RSS 1.0 (RDF)
            link = _child_text(el, "link")
            if not link:
                for child in el:
                    if _local(child.tag) == "guid" and child.get("isPermaLink", "true").lower() != "false":
                        link = (child.text or "").strip() or None
            if not link:
                link = el.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about")
            date = _child_text(el, "pubdate", "date", "published", "updated")
        elif name == "entry":  # Atom
            link = None
            for child in el:
                if _local(child.tag) == "link" and child.get("rel", "alternate") == "alternate":
                    link = child.get("href")
                    break
            date = _child_text(el, "published", "updated", "issued", "modified")
        else:
            continue
        if not link:
            continue
        title = _child_text(el, "title")
        out.append(FeedEntry(urljoin(base_url, link.strip()), title, parse_date(date, default_tz)))
    return out


def is_feed(body: bytes) -> bool:
    root = _xml(body)
    return root is not None and _local(root.tag) in ("rss", "feed", "rdf")


def feed_links(html: bytes, base_url: str) -> list[str]:
    """Feeds a page advertises with ``<link rel="alternate" type="application/rss+xml" href=...>``."""
    doc = _html(html)
    if doc is None:
        return []
    base = _base_href(doc, base_url)
    out: list[str] = []
    for link in doc.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        href = (link.get("href") or "").strip()
        if "alternate" in rels and kind in FEED_TYPES and href:
            url = urljoin(base, href)
            if url not in out:
                out.append(url)
    return out


# ------------------------------------------------------------------------------------- sitemaps


@dataclass(frozen=True, slots=True)
class SitemapEntry:
    url: str
    lastmod: datetime | None = None
    published: datetime | None = None  # news:publication_date (Google News sitemaps)
    title: str | None = None  # news:title

    @property
    def date(self) -> datetime | None:
        """The best date to compare against a crawl window."""
        return self.published or self.lastmod


@dataclass(frozen=True, slots=True)
class SitemapDoc:
    kind: Literal["index", "urlset", "unknown"]
    entries: list[SitemapEntry] = field(default_factory=list)


def gunzip_if_gzipped(body: bytes, max_size: int = MAX_SITEMAP_BYTES) -> bytes:
    """Decompress gzip data recognised by its magic bytes (servers label .xml.gz every which way).

    Stops at `max_size` decompressed bytes (a gzip bomb yields a truncated document, which the
    lenient XML parser then reads as far as it goes).
    """
    if not body.startswith(GZIP_MAGIC):
        return body
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        return d.decompress(body, max_size)
    except zlib.error:
        return b""


def parse_sitemap(body: bytes, base_url: str, default_tz: tzinfo = UTC) -> SitemapDoc:
    """A sitemap index (children) or urlset (pages, with Google News title and date when given)."""
    root = _xml(gunzip_if_gzipped(body))
    if root is None:
        return SitemapDoc("unknown")
    kind = _local(root.tag)
    if kind not in ("sitemapindex", "urlset"):
        return SitemapDoc("unknown")
    entries: list[SitemapEntry] = []
    for el in root:
        if _local(el.tag) not in ("sitemap", "url"):
            continue
        loc = _child_text(el, "loc")
        if not loc:
            continue
        published = title = None
        for child in el:
            if _local(child.tag) == "news":
                published = parse_date(_child_text(child, "publication_date"), default_tz)
                title = _child_text(child, "title")
        entries.append(
            SitemapEntry(urljoin(base_url, loc), parse_date(_child_text(el, "lastmod"), default_tz), published, title)
        )
    return SitemapDoc("index" if kind == "sitemapindex" else "urlset", entries)


def robots_crawl_delay(body: bytes, user_agent: str) -> float | None:
    """The ``Crawl-delay`` robots.txt asks of `user_agent` (seconds), if any."""
    from protego import Protego

    try:
        delay = Protego.parse(body.decode("utf-8", "replace")).crawl_delay(user_agent)
    except Exception:  # a malformed robots.txt asks nothing of us
        return None
    return float(delay) if delay else None


def robots_sitemaps(body: bytes, base_url: str) -> list[str]:
    """The ``Sitemap:`` lines of a robots.txt (anywhere in the file, any case), in order."""
    out: list[str] = []
    for raw in body.decode("utf-8", "replace").splitlines():
        line = raw.split("#", 1)[0].strip()
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == "sitemap" and value.strip():
            url = urljoin(base_url, value.strip())
            if url not in out:
                out.append(url)
    return out


# -------------------------------------------------------------------------------------- listings


@dataclass(frozen=True, slots=True)
class ListingPage:
    links: list[str]  # every <a href> on the page, absolute, in document order, unfiltered
    next_url: str | None  # from the `next` CSS selector (or rel=next when no selector is given)
    dates: list[datetime]  # <time datetime=...> values: tells a backfill when it has gone far enough


def _html(body: bytes) -> lxml.html.HtmlElement | None:
    if not body.strip():
        return None
    try:
        # Bytes in: lxml honours a <meta charset> (windows-1256 pages) for non-ASCII hrefs.
        return lxml.html.document_fromstring(body)
    except (lxml.etree.ParserError, ValueError):
        return None


def _base_href(doc: lxml.html.HtmlElement, base_url: str) -> str:
    for base in doc.iter("base"):
        href = (base.get("href") or "").strip()
        if href:
            return urljoin(base_url, href)
    return base_url


def _usable_href(href: str) -> bool:
    return bool(href) and not href.lower().startswith(("javascript:", "mailto:", "tel:", "data:", "#"))


def parse_listing(
    html: bytes, base_url: str, next_selector: str | None = None, default_tz: tzinfo = UTC
) -> ListingPage:
    doc = _html(html)
    if doc is None:
        return ListingPage([], None, [])
    base = _base_href(doc, base_url)
    links: list[str] = []
    seen: set[str] = set()
    for a in doc.iter("a"):
        href = (a.get("href") or "").strip()
        if _usable_href(href):
            url = urljoin(base, href)
            if url not in seen:
                seen.add(url)
                links.append(url)
    next_url: str | None = None
    candidates: list[lxml.html.HtmlElement] = []
    if next_selector:
        try:
            candidates = CSSSelector(next_selector)(doc)
        except Exception:  # a bad selector in the config must not stop the crawl
            candidates = []
    else:
        candidates = [el for el in doc.iter("a", "link") if "next" in (el.get("rel") or "").lower().split()]
    for el in candidates:
        href = (el.get("href") or "").strip()
        if _usable_href(href):
            next_url = urljoin(base, href)
            break
    dates = [d for t in doc.iter("time") if (d := parse_date(t.get("datetime"), default_tz)) is not None]
    return ListingPage(links, next_url, dates)


def listing_page_url(template: str, page: int) -> str:
    return template.replace("{page}", str(page))


# ----------------------------------------------------------------------------------- HTML sniffing

_HTML_TYPES = ("text/html", "application/xhtml+xml")
# Types that are never an article page, whatever the body looks like.
_NOT_HTML_PREFIXES = ("image/", "audio/", "video/", "font/", "application/pdf", "application/zip",
                      "application/json", "application/javascript", "text/css", "application/msword",
                      "application/vnd.", "application/x-", "application/gzip",
                      "text/javascript")  # fmt: skip
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", GZIP_MAGIC, b"RIFF",
                 b"ID3", b"\x00\x00\x00", b"OggS", b"wOFF", b"wOF2")  # fmt: skip
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|meta|title|div|p|!--)[\s>/]",
                         re.IGNORECASE | re.DOTALL)  # fmt: skip


def is_html(content_type: str, head: bytes) -> bool:
    """Is this response an HTML page? Decided by Content-Type, then by the first bytes.

    A declared HTML type whose body starts like a PDF or image is not HTML (misconfigured CMS
    downloads); an undeclared or generic type (octet-stream, text/plain) is HTML if it starts so.
    """
    ctype = content_type.split(";")[0].strip().lower()
    head = head[:1024].removeprefix(b"\xef\xbb\xbf")
    if head.startswith(_BINARY_MAGIC):
        return False
    if ctype in _HTML_TYPES:
        return True
    if ctype.startswith(_NOT_HTML_PREFIXES):
        return False
    return bool(_HTML_START.match(head))
