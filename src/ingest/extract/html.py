"""Is a response an HTML page, and what does its head say of it: read once, for the crawl and for
every extraction rule that asks."""

from __future__ import annotations

import codecs
import re

from lxml.html import HtmlElement

# Types that are never an article page, whatever the body looks like.
_NOT_HTML_PREFIXES = ("image/", "audio/", "video/", "font/", "application/pdf", "application/zip",
                      "application/json", "application/javascript", "text/css", "application/msword",
                      "application/vnd.", "application/x-", "application/gzip", "text/javascript")  # fmt: skip
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b", b"RIFF",
                 b"ID3", b"\x00\x00\x00", b"OggS", b"wOFF", b"wOF2")  # fmt: skip
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_MARKUP = re.compile(r"<(?:!doctype\s+html|html|head|body|meta|title|div|p|article)[\s>/]", re.I)
SNIFF_BYTES = 65536  # how much of a body is searched for markup


def not_html(content_type: str, body: bytes) -> str | None:
    """Why a response is not an HTML page, or None. The crawl asks before handing a page on, and
    extraction asks of a page given to it directly (`ingest extract FILE`).

    A type that is never a page (image, PDF, JSON...) or a body that starts like a binary file or
    is empty is not HTML, whatever else is declared; otherwise the body must hold HTML markup in
    its first 64 KB, whatever the type (CMSes serve pages as octet-stream or text/plain, and
    downloads as text/html). Two copies of this rule had drifted apart: the crawl passed text/plain
    pages that extraction then refused, and passed text/html bodies without any markup.
    """
    ctype = content_type.split(";")[0].strip().lower()
    if ctype.startswith(_NOT_HTML_PREFIXES):
        return f"content-type {ctype}"
    head = body[:2048].removeprefix(codecs.BOM_UTF8)
    utf16 = head.startswith(_UTF16_BOMS)
    if not head.strip() or head.startswith(_BINARY_MAGIC) or (b"\x00" in head[:512] and not utf16):
        return "binary or empty body"
    sniffed = body[:SNIFF_BYTES].decode("utf-16" if utf16 else "latin-1", errors="ignore")
    return None if _MARKUP.search(sniffed) else "no HTML markup"


def meta_map(tree: HtmlElement) -> dict[str, str]:
    """Lower-cased ``property`` / ``name`` / ``itemprop`` / ``http-equiv`` -> content, stripped; the
    first occurrence wins. (Two copies of this rule had drifted: the extractor's ignored
    ``http-equiv``, so the ``content-language`` it asks for as a language prior was never found.)"""
    out: dict[str, str] = {}
    for el in tree.iter("meta"):
        attr = el.get("property") or el.get("name") or el.get("itemprop") or el.get("http-equiv") or ""
        key, content = attr.strip().lower(), (el.get("content") or "").strip()
        if key and content and key not in out:
            out[key] = content
    return out


def spaced_text(el: HtmlElement) -> str:
    """An element's text with its elements' boundaries kept as spaces, whitespace squashed.
    `text_content()` glues neighbours: a date span followed by a byline reads "10:02by Christian",
    where no time pattern ends, so the page's date came out as its day at midnight (7 of 50 wrong
    dates on bench/extract_real.py's templates)."""
    return " ".join(" ".join(el.itertext()).split())


# Paths of pages that list or describe, never an article: a byline's author page, a tag, a section.
_NOT_AN_ARTICLE_PATH = re.compile(
    r"/(?:author|authors|writer|writers|profile|user|users|tag|tags|category|categories|topic|topics|section)/",
    re.I,
)


def headline_link(a: HtmlElement, min_words: int) -> bool:
    """`a` links another article by its headline: `min_words` words or more, to a page (not "#",
    javascript: or mailto:) that is not an author, tag or section page. A byline's author link
    ("Thomson Reuters Tax & Accounting") and a tag link ("the passage of time") are as long as a
    short headline; taken for one, they made a page's own date a "teaser's" (bench/extract_real.py:
    4 of 50 wrong dates)."""
    href = (a.get("href") or "").strip().lower()
    if not href or href.startswith(("#", "javascript:", "mailto:")):
        return False
    if (a.get("rel") or "").lower() in ("tag", "author", "category") or _NOT_AN_ARTICLE_PATH.search(href):
        return False
    return len(a.text_content().split()) >= min_words
