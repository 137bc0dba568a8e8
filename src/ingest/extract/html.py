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
