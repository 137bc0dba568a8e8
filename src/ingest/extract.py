"""Bytes of a fetched page -> an Article (text + metadata) or a Rejection saying why not.

Pure and picklable: module state is constants and two configured trafilatura `Extractor`s, so the
function runs unchanged in a worker process. The page is parsed ONCE; trafilatura gets the tree (it
copies it before pruning) and our own metadata readers walk the same tree.

Pipeline: decode -> parse -> trafilatura (news options) -> fallbacks when it finds too little
(JSON-LD articleBody, trafilatura recall mode, largest <p> cluster) -> chrome removal (generic UI
lines, trailing related/comment block, the outlet's recurring lines) -> quality gates -> metadata.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml.html import HtmlElement
from trafilatura import bare_extraction
from trafilatura.settings import Extractor
from trafilatura.utils import load_html

from ingest.boilerplate import RecurringLines, clean_lines
from ingest.dates import find_dates, is_date_line, to_utc
from ingest.normalize import normalize
from ingest.records import Article, FetchedPage, Rejection

# Measured: 1 of 181 benchmark articles is shorter than 30 words (another has 38-42), while video
# captions, galleries and "breaking" stubs run 10-30 words.
MIN_WORDS = 30
NOT_ARTICLE_TYPES = frozenset(
    {
        "CollectionPage",
        "ProfilePage",
        "SearchResultsPage",
        "VideoObject",
        "ItemList",
        "AboutPage",
        "ContactPage",
        "ImageGallery",
    }
)
ARTICLE_TYPES = frozenset(
    {
        "NewsArticle",
        "Article",
        "BlogPosting",
        "ReportageNewsArticle",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "BackgroundNewsArticle",
        "ReviewNewsArticle",
        "LiveBlogPosting",
        "Report",
        "ScholarlyArticle",
        "TechArticle",
        "SocialMediaPosting",
    }
)
SHORT_LISTING_WORDS = 150  # a collection/video page with more prose than this is treated as an article


# Chosen by measurement (`python -m ingest.extractbench DIR`, 181 pages, one core; see the report):
#   balanced F1 .957 ~35 p/s | fast F1 .959 ~48 p/s | fast+precision F1 .962 ~52 p/s | precision .966 ~35 p/s.
# fast: trafilatura's own second-opinion algorithms cost a third of the time and our fallback chain
# (JSON-LD, recall, <p> cluster) already covers short extractions. Not precision: on Arabic news it
# drops ~3% of real body text (baselines.md) and the benchmark is mostly English. No comments;
# tables kept (results tables in sport news); no trafilatura dedup (stateful across calls: output
# would depend on the order pages reach a worker).
def _extractor(*, fast: bool, recall: bool) -> Extractor:
    return Extractor(
        output_format="python",
        fast=fast,
        precision=False,
        recall=recall,
        comments=False,
        tables=True,
        dedup=False,
        with_metadata=False,
    )


_OPTIONS = _extractor(fast=True, recall=False)
_RECALL = _extractor(fast=False, recall=True)


# --- decoding -------------------------------------------------------------------------------------

_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9_\-:.]+)", re.I)
# WHATWG: these labels mean windows-1252 in a browser, and so here.
_ALIASES = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso8859-1": "cp1252",
    "iso-8859-6": "iso8859_6",
    "x-user-defined": "cp1252",
}
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().lower()
    label = _ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _decodes(body: bytes, codec: str) -> bool:
    try:
        body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _clean_with(body: bytes, codec: str) -> bool:
    """`codec` decodes `body` and plausibly is its encoding.

    A single-byte codec decodes almost anything, so it is not believed over bytes that are valid
    multi-byte UTF-8, nor (if Latin) over bytes that read as Arabic in windows-1256.
    """
    if not _decodes(body, codec):
        return False
    if codec == "utf-8" or body.isascii():
        return True
    if _decodes(body, "utf-8"):
        return False
    return codec in _ARABIC_CODECS or not _looks_arabic_1256(body)


_ARABIC_CODECS = frozenset({"cp1256", "iso8859-6", "cp720", "cp864"})


def _looks_arabic_1256(body: bytes) -> bool:
    text = body.decode("cp1256", errors="replace")
    high = [c for c in text if ord(c) > 127]
    return bool(high) and sum("\u0600" <= c <= "\u06ff" for c in high) / len(high) > 0.6


def choose_encoding(body: bytes, content_type: str = "") -> str:
    """BOM > header (unless it fails, or a clean meta contradicts it) > meta > UTF-8 > cp1256 > cp1252."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return codec
    m = _HEADER_CHARSET.search(content_type)
    header = _codec(m.group(1) if m else None)
    mm = _META_CHARSET.search(body[:8192])
    meta = _codec(mm.group(1).decode("ascii", "ignore") if mm else None)
    clean_meta = meta if meta is not None and _clean_with(body, meta) else None
    if header and _decodes(body, header):
        contradicted = clean_meta is not None and clean_meta != header and not _clean_with(body, header)
        return clean_meta if contradicted and clean_meta else header
    if clean_meta:
        return clean_meta
    if _decodes(body, "utf-8"):
        return "utf-8"
    return "cp1256" if _looks_arabic_1256(body) else "cp1252"


def decode(body: bytes, content_type: str = "") -> str:
    codec = choose_encoding(body, content_type)
    return body.decode(codec, errors="replace")


# --- gates on the raw response ------------------------------------------------------------------

_HTML_SNIFF = re.compile(r"<(?:!doctype\s+html|html|head|body|meta|title|div|p|article)[\s>]", re.I)


def _not_html(page: FetchedPage) -> str | None:
    ctype = page.content_type.split(";")[0].strip().lower()
    if ctype and ctype not in (
        "text/html",
        "application/xhtml+xml",
        "application/octet-stream",
        "text/xml",
        "application/xml",
        "binary/octet-stream",
    ):
        return f"content-type {ctype}"
    head = page.body[:2048]
    if not head.strip() or (
        b"\x00" in head.lstrip(b"\xff\xfe\xef\xbb\xbf")[:512]
        and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    ):
        return "binary or empty body"
    if not _HTML_SNIFF.search(head.decode("latin-1")) and not _HTML_SNIFF.search(page.body[:65536].decode("latin-1")):
        return "no HTML markup"
    return None


# --- structured metadata --------------------------------------------------------------------------


def jsonld_nodes(tree: HtmlElement) -> list[dict[str, Any]]:
    """Every JSON-LD object on the page, @graph flattened; broken blocks are skipped."""
    nodes: list[dict[str, Any]] = []
    for script in tree.iter("script"):
        if "ld+json" not in (script.get("type") or "").lower() or not script.text:
            continue
        try:
            data = json.loads(script.text.strip().rstrip(";"), strict=False)
        except ValueError:
            continue
        _flatten(data, nodes)
    return nodes


def _flatten(data: Any, out: list[dict[str, Any]]) -> None:
    if isinstance(data, list):
        for item in data:
            _flatten(item, out)
    elif isinstance(data, dict):
        out.append(data)
        if "@graph" in data:
            _flatten(data["@graph"], out)


def _types(node: Mapping[str, Any]) -> set[str]:
    kind = node.get("@type", ())
    return {kind} if isinstance(kind, str) else {k for k in kind if isinstance(k, str)}


def _article_nodes(nodes: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [n for n in nodes if _types(n) & ARTICLE_TYPES]


def _name_of(value: Any) -> str | None:
    if isinstance(value, list):
        names = [n for v in value if (n := _name_of(v))]
        return ", ".join(names) if names else None
    if isinstance(value, dict):
        value = value.get("name")
    return value.strip() if isinstance(value, str) and value.strip() else None


def meta_map(tree: HtmlElement) -> dict[str, str]:
    out: dict[str, str] = {}
    for el in tree.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        content = (el.get("content") or "").strip()
        if key and content and key not in out:
            out[key] = content
    return out


# --- title ----------------------------------------------------------------------------------------

# " - ", " | ", " :: ", "«", and "Site: " (a colon followed by a space); only parts that are a site
# name or the section label are dropped, so a headline's own separators survive.
_TITLE_SEPARATORS = re.compile(r"\s+[|\-–—:«»·•/]\s+|\s*[|«»]\s*|\s+::\s+|:\s+")


def _site_names(meta: Mapping[str, str], nodes: Sequence[Mapping[str, Any]], url: str) -> set[str]:
    names = {meta.get("og:site_name", ""), meta.get("application-name", ""), meta.get("twitter:site", "")}
    for node in nodes:
        names.add(_name_of(node.get("publisher")) or "")
        if _types(node) & {"WebSite", "Organization", "NewsMediaOrganization"}:
            names.add(_name_of(node) or "")
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    names.add(host)
    names.add(host.split(".")[0])
    return {normalize(n.lstrip("@")) for n in names if n and normalize(n)}


def clean_title(title: str, site_names: set[str], section: str | None = None) -> str:
    """Drop " - Site", " | Site", "Site: " and a section label from a <title>/og:title."""
    parts = [p.strip() for p in _TITLE_SEPARATORS.split(title) if p.strip()]
    if len(parts) < 2:
        return title.strip()
    drop = {normalize(n) for n in site_names} | ({normalize(section)} if section else set())
    kept = [p for p in parts if normalize(p) not in drop and normalize(p).replace(" ", "") not in drop]
    if not kept:
        return parts[0]
    if len(kept) == len(parts):
        return title.strip()
    # Rejoin what is left with the original separators: keep the headline's own " - ".
    first, last = kept[0], kept[-1]
    return title[title.index(first) : title.rindex(last) + len(last)].strip()


def _similar(a: str, b: str) -> bool:
    na, nb = normalize(a), normalize(b)
    return bool(na and nb) and (na == nb or (len(na) > 10 and (na in nb or nb in na)))


def pick_title(
    tree: HtmlElement,
    meta: Mapping[str, str],
    nodes: Sequence[dict[str, Any]],
    url: str,
    section: str | None,
    hint: str | None = None,
) -> str:
    """The article's own headline: an <h1> that matches og:title/JSON-LD headline, else a cleaned one."""
    sites = _site_names(meta, nodes, url)
    articles = _article_nodes(nodes)
    headline = next((h for n in articles if isinstance(h := n.get("headline"), str) and h.strip()), None)
    refs = [t for t in (headline, meta.get("og:title"), meta.get("twitter:title"), hint) if t]
    title_el = tree.find(".//title")
    if title_el is not None and title_el.text_content().strip():
        refs.append(title_el.text_content().strip())
    h1s = [" ".join(h.text_content().split()) for h in tree.iter("h1")]
    h1s = [h for h in h1s if h and normalize(h) not in sites]
    for h1 in h1s:
        if any(_similar(h1, ref) or _similar(h1, clean_title(ref, sites, section)) for ref in refs):
            return h1
    for ref in refs:
        cleaned = clean_title(" ".join(ref.split()), sites, section)
        if cleaned and normalize(cleaned) not in sites:
            return cleaned
    return h1s[0] if h1s else ""


# --- other metadata -------------------------------------------------------------------------------

_BYLINE_PREFIX = re.compile(r"^\s*(?:بقلم|كتبه|كتب|إعداد|اعداد|تحرير|by|par|de)\s*[:：]?\s*", re.I)


def pick_author(tree: HtmlElement, meta: Mapping[str, str], nodes: Sequence[dict[str, Any]]) -> str | None:
    candidates: list[str | None] = [_name_of(n.get("author")) for n in _article_nodes(nodes)]
    candidates += [
        meta.get("author"),
        meta.get("article:author"),
        meta.get("dc.creator"),
        meta.get("parsely-author"),
    ]
    xpath = '//*[@rel="author" or @itemprop="author" or contains(@class,"author") or contains(@class,"auteur")]'
    for el in tree.xpath(xpath)[:3]:
        candidates.append(el.text_content())
    for cand in candidates:
        name = _BYLINE_PREFIX.sub("", " ".join(cand.split())) if cand and not cand.startswith("http") else ""
        if name and len(name) <= 80:  # longer is a bio or a whole byline block, not a name
            return name
    return None


def pick_section(meta: Mapping[str, str], nodes: Sequence[dict[str, Any]]) -> str | None:
    for node in _article_nodes(nodes):
        sec = node.get("articleSection")
        sec = sec[0] if isinstance(sec, list) and sec else sec
        if isinstance(sec, str) and sec.strip():
            return sec.strip()
    if meta.get("article:section"):
        return meta["article:section"]
    for node in nodes:
        if "BreadcrumbList" in _types(node):
            items = node.get("itemListElement") or []
            names = [_name_of(i.get("item")) or _name_of(i) for i in items if isinstance(i, dict)]
            names = [n for n in names if n]
            if len(names) >= 3:
                return names[-2]  # home > section > article
    return None


def pick_image(meta: Mapping[str, str], nodes: Sequence[dict[str, Any]], base: str) -> str | None:
    image: Any = meta.get("og:image") or meta.get("og:image:url") or meta.get("twitter:image")
    for node in _article_nodes(nodes):
        if image:
            break
        image = node.get("image")
        image = image[0] if isinstance(image, list) and image else image
        image = image.get("url") if isinstance(image, dict) else image
    return urljoin(base, image.strip()) if isinstance(image, str) and image.strip() else None


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().removeprefix("www.").removeprefix("m.").removeprefix("amp.")


def _same_site(a: str, b: str) -> bool:
    ha, hb = _host(a), _host(b)
    return bool(ha) and (ha == hb or ha.endswith("." + hb) or hb.endswith("." + ha))


def _is_homepage(url: str) -> bool:
    parts = urlsplit(url)
    return parts.path in ("", "/") and not parts.query


def _canonicalize(url: str) -> str:
    try:  # ingest.urls is owned by another module; extraction must not fail if it is absent
        from ingest.urls import canonicalize
    except ImportError:
        return url
    try:
        return canonicalize(url)
    except ValueError:
        return url


def pick_url(tree: HtmlElement, meta: Mapping[str, str], final_url: str) -> str:
    """rel=canonical or og:url when on the final URL's site and not its homepage, else the final URL."""
    links = [el.get("href") for el in tree.iter("link") if "canonical" in (el.get("rel") or "").lower().split()]
    for cand in (*links, meta.get("og:url")):
        if not cand or not cand.strip():
            continue
        url = urljoin(final_url, cand.strip())
        if url.startswith(("http://", "https://")) and _same_site(url, final_url) and not _is_homepage(url):
            return _canonicalize(url)
    return _canonicalize(final_url)


# --- language -------------------------------------------------------------------------------------

_FR_WORDS = frozenset(
    [
        "le",
        "la",
        "les",
        "des",
        "du",
        "de",
        "et",
        "est",
        "une",
        "un",
        "que",
        "qui",
        "dans",
        "pour",
        "pas",
        "sur",
        "au",
        "aux",
        "avec",
        "ce",
        "il",
        "elle",
        "son",
        "sa",
        "ses",
        "par",
        "plus",
        "été",
        "a",
        "ont",
        "été",
        "cette",
        "entre",
    ]
)
_EN_WORDS = frozenset(
    [
        "the",
        "and",
        "of",
        "to",
        "is",
        "in",
        "that",
        "for",
        "it",
        "with",
        "was",
        "on",
        "as",
        "by",
        "are",
        "be",
        "this",
        "from",
        "has",
        "have",
        "at",
        "an",
        "which",
        "were",
    ]
)


_ARABIC_CHARS = re.compile(r"[\u0600-\u06ff\u0750-\u077f]")
_LATIN_CHARS = re.compile(r"[A-Za-z\u00c0-\u017f]")
_TIFINAGH_CHARS = re.compile(r"[\u2d30-\u2d7f]")


def detect_language(text: str) -> str | None:
    """'ar', 'fr', 'en' (or 'zgh' for Tifinagh) by script ratio, then stopwords for Latin script."""
    sample = text[:4000]
    arabic = len(_ARABIC_CHARS.findall(sample))
    latin = len(_LATIN_CHARS.findall(sample))
    tifinagh = len(_TIFINAGH_CHARS.findall(sample))
    if max(arabic, latin, tifinagh) == 0:
        return None
    if tifinagh > arabic and tifinagh > latin:
        return "zgh"
    if arabic >= latin:
        return "ar"
    words = re.findall(r"[a-zà-ÿ']+", sample.lower())
    fr = sum(w in _FR_WORDS for w in words)
    en = sum(w in _EN_WORDS for w in words)
    if fr == en == 0:
        return None
    return "fr" if fr > en else "en"


# --- body text ------------------------------------------------------------------------------------


def _words(text: str) -> int:
    return len(text.split())


def _trafilatura(tree: HtmlElement, options: Extractor, url: str) -> str:
    try:
        doc = bare_extraction(tree, url=url, options=options)
    except (ValueError, TypeError, AttributeError):  # trafilatura raises on some broken trees
        return ""
    text = getattr(doc, "text", None) if doc is not None else None
    return text or ""


def _jsonld_body(nodes: Sequence[dict[str, Any]]) -> str:
    for node in _article_nodes(nodes):
        body = node.get("articleBody")
        if isinstance(body, str) and body.strip():
            # Some CMSs put HTML in articleBody: keep the text, paragraph breaks as lines.
            if "<" in body:
                body = re.sub(r"(?i)</p>|<br\s*/?>", "\n", body)
                body = re.sub(r"<[^>]+>", " ", body)
            return "\n".join(" ".join(line.split()) for line in body.splitlines() if line.strip())
    return ""


_BAD_CONTAINERS = frozenset({"header", "footer", "nav", "aside", "form"})


def _paragraph_cluster(tree: HtmlElement) -> str:
    """The <p> children of the element holding the most paragraph text (readability's core idea)."""
    best: tuple[int, list[str]] = (0, [])
    scores: dict[HtmlElement, list[str]] = {}
    for p in tree.iter("p"):
        parent = p.getparent()
        if parent is None or any(a.tag in _BAD_CONTAINERS for a in p.iterancestors()):
            continue
        text = " ".join(p.text_content().split())
        if _words(text) >= 4:
            scores.setdefault(parent, []).append(text)
    for paras in scores.values():
        size = sum(len(t) for t in paras)
        if size > best[0]:
            best = (size, paras)
    return "\n".join(best[1])


def _is_headline_line(line: str, title: str) -> bool:
    """The line is the headline (possibly with a label), not a paragraph that happens to contain it."""
    nl, nt = normalize(line), normalize(title)
    return bool(nl and nt) and (
        nl == nt or (nt in nl and len(nl) <= 1.3 * len(nt) + 10) or (nl in nt and len(nl) >= 0.7 * len(nt))
    )


@dataclass(frozen=True, slots=True)
class _Body:
    text: str
    method: str


_LEAD_ZONE = 6  # lines; chrome above a headline never runs longer than a breadcrumb and a toolbar


def _clean(text: str, title: str, section: str | None) -> str:
    lines = clean_lines(text.split("\n"))
    # The headline marks where the article starts: what the extractor kept above it is a breadcrumb,
    # a section label or a toolbar. The headline itself is metadata, not body.
    for i, line in enumerate(lines[:_LEAD_ZONE]):
        if title and _is_headline_line(line, title):
            lines = lines[i + 1 :]
            break
    while lines and ((section and normalize(lines[0]) == normalize(section)) or is_date_line(lines[0])):
        lines = lines[1:]
    return "\n".join(lines)


_TABLE_TAGS = ("table", "thead", "tbody", "tfoot", "tr", "td", "th")
_LAYOUT_CELL_CHARS = 400  # data cells hold figures and names, not whole paragraphs


def unwrap_layout_tables(tree: HtmlElement) -> None:
    """Turn layout tables (old CMS templates put the whole page in one) into plain blocks.

    trafilatura renders a table as `| cell | cell |` lines, which glues a layout table's headline,
    date and body into one line. A table is layout, not data, when one of its cells holds block
    content (paragraphs, divs, nested tables) or a long run of prose; data tables are left alone.
    """
    for table in reversed(tree.xpath("//table")):  # innermost first, so nesting unwraps cleanly
        cells = table.xpath("./tr/td | ./tr/th | ./*/tr/td | ./*/tr/th")
        layout = any(
            cell.xpath(".//p | .//div | .//table | .//article") or len(cell.text_content().strip()) > _LAYOUT_CELL_CHARS
            for cell in cells
        )
        if layout:
            for node in [table, *table.iter(*_TABLE_TAGS)]:
                node.tag = "div"


def extract_body(
    tree: HtmlElement, nodes: Sequence[dict[str, Any]], url: str, title: str, section: str | None
) -> _Body:
    """trafilatura, then JSON-LD articleBody, trafilatura recall, <p> cluster: first with enough words."""
    attempts: list[tuple[str, Callable[[], str]]] = [
        ("trafilatura", lambda: _trafilatura(tree, _OPTIONS, url)),
        ("jsonld", lambda: _jsonld_body(nodes)),
        ("trafilatura-recall", lambda: _trafilatura(tree, _RECALL, url)),
        ("paragraphs", lambda: _paragraph_cluster(tree)),
    ]
    best = _Body("", "none")
    for method, run in attempts:
        text = _clean(run(), title, section)
        if _words(text) >= MIN_WORDS:
            return _prefer_fuller_jsonld(_Body(text, method), nodes, title, section)
        if _words(text) > _words(best.text):
            best = _Body(text, method)
    return best


def _prefer_fuller_jsonld(body: _Body, nodes: Sequence[dict[str, Any]], title: str, section: str | None) -> _Body:
    """trafilatura stopped early (a split article, an ad slot mid-text) if articleBody is much longer."""
    if body.method != "trafilatura":
        return body
    alt = _jsonld_body(nodes)
    if alt and _words(alt) >= 1.5 * _words(body.text):
        return _Body(_clean(alt, title, section), "jsonld")
    return body


# --- listing pages --------------------------------------------------------------------------------


def _linked_share(tree: HtmlElement, text: str) -> float:
    """Share of the text's words on lines that are also the text of a link: teasers, not prose."""
    link_texts = {" ".join(t.split()) for a in tree.iter("a") if len(t := a.text_content()) > 15}
    lines = [" ".join(line.split()) for line in text.split("\n") if line.strip()]
    total = sum(_words(line) for line in lines) or 1
    linked = sum(_words(line) for line in lines if line in link_texts)
    return linked / total


def not_article_reason(
    tree: HtmlElement, meta: Mapping[str, str], nodes: Sequence[dict[str, Any]], text: str
) -> str | None:
    types = set().union(*(_types(n) for n in nodes)) if nodes else set()
    og_type = meta.get("og:type", "").lower()
    words = _words(text)
    if types & NOT_ARTICLE_TYPES and not types & ARTICLE_TYPES and words < SHORT_LISTING_WORDS:
        return f"JSON-LD {sorted(types & NOT_ARTICLE_TYPES)[0]} with {words} words"
    if (og_type.startswith("video") or og_type == "profile") and words < SHORT_LISTING_WORDS:
        return f"og:type {og_type} with {words} words"
    share = _linked_share(tree, text)
    limit = 0.5 if og_type == "article" or types & ARTICLE_TYPES else 0.3
    if share > limit:
        return f"{share:.0%} of the text is link text (og:type {og_type or 'none'})"
    return None


# --- entry point ----------------------------------------------------------------------------------


def extract(
    page: FetchedPage,
    *,
    timezone: str = "Africa/Casablanca",
    languages: Sequence[str] = ("ar",),
    recurring: RecurringLines | None = None,
) -> Article | Rejection:
    """The article in `page`, or why there is none. Never raises for a bad page."""

    def reject(reason: str, detail: str = "") -> Rejection:
        return Rejection(url=page.final_url or page.url, source=page.source, reason=reason, detail=detail)

    if detail := _not_html(page):
        return reject("not-html", detail)
    tree = load_html(decode(page.body, page.content_type))
    if tree is None:
        return reject("not-html", "unparseable")
    unwrap_layout_tables(tree)
    return _from_tree(page, tree, timezone, languages, recurring, reject)


def _from_tree(
    page: FetchedPage,
    tree: HtmlElement,
    timezone: str,
    languages: Sequence[str],
    recurring: RecurringLines | None,
    reject: Callable[[str, str], Rejection],
) -> Article | Rejection:
    base = page.final_url or page.url
    nodes = jsonld_nodes(tree)
    meta = meta_map(tree)
    section = pick_section(meta, nodes)
    title = pick_title(tree, meta, nodes, base, section, page.hint_title)
    body = extract_body(tree, nodes, base, title, section)
    text = recurring.strip(page.source, body.text) if recurring is not None else body.text
    if not text.strip():
        return reject("empty", f"nothing extracted ({body.method})")
    if why := not_article_reason(tree, meta, nodes, text):
        return reject("not-article", why)
    if (n := _words(text)) < MIN_WORDS:
        return reject("too-short", f"{n} words ({body.method})")
    language = detect_language(text)
    if language is not None and languages and language not in languages:
        return reject("wrong-language", f"{language} not in {list(languages)}")
    fetched = to_utc(page.fetched_at, UTC)
    published, updated = find_dates(tree, nodes, tz=timezone, now=fetched)
    if published is None and page.hint_published is not None:
        published = to_utc(page.hint_published, timezone)
    url = pick_url(tree, meta, base)
    return Article(
        url=url,
        source=page.source,
        title=title or (page.hint_title or ""),
        text=text,
        published_at=published,
        fetched_at=fetched,
        language=language,
        author=pick_author(tree, meta, nodes),
        section=section,
        image_url=pick_image(meta, nodes, base),
        updated_at=updated,
        method=body.method,
        fetched_url=page.url if page.url != url else "",
    )


def settle(result: Article | Rejection, recurring: RecurringLines) -> Article | Rejection:
    """`result` once the outlet's recurring lines are known: what the writer stores."""
    if isinstance(result, Rejection):
        return result
    text = recurring.strip(result.source, result.text)
    return result if text == result.text else replace(result, text=text)
