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
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from copy import copy
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from itertools import groupby, islice
from math import log1p
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml.html import HtmlElement
from py3langid.langid import MODEL_FILE, LanguageIdentifier
from trafilatura import bare_extraction
from trafilatura.settings import Extractor
from trafilatura.utils import load_html

from ingest.config import Settings
from ingest.extract.boilerplate import RecurringLines, clean_lines
from ingest.extract.dates import find_dates, is_date_line, to_utc
from ingest.extract.html import headline_link, meta_map, not_html, spaced_text
from ingest.records import Article, FetchedPage, Rejection
from ingest.text import normalize
from ingest.urls import same_outlet

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


# Chosen by measurement (`python -m ingest_dev.extractbench DIR`, 181 pages, one core; see the report):
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
_FULL = _extractor(fast=False, recall=False)
# The page holds 4x more text (outside links) than fast mode kept, plus 50 words: trafilatura's
# full mode is tried. On the sample web the ratio is at most 2.9; on real pages where fast mode
# stopped early, 5-25.
_TRUNCATED = 4


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


_AUTHOR_ELEMENTS = etree.XPath(
    '//*[@rel="author" or @itemprop="author" or contains(@class,"author") or contains(@class,"auteur")]'
)


def pick_author(tree: HtmlElement, meta: Mapping[str, str], nodes: Sequence[dict[str, Any]]) -> str | None:
    """The author from JSON-LD, then meta tags, then the page's author elements (searched only when
    neither names one: the search walks the whole tree, 0.4 ms of a real template's page)."""
    declared: list[str | None] = [_name_of(n.get("author")) for n in _article_nodes(nodes)]
    declared += [meta.get(key) for key in ("author", "article:author", "dc.creator", "parsely-author")]
    found = _first_name(declared)
    if found is None:
        found = _first_name(el.text_content() for el in _AUTHOR_ELEMENTS(tree)[:3])
    return found


def _first_name(candidates: Iterable[str | None]) -> str | None:
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
        if url.startswith(("http://", "https://")) and same_outlet(url, final_url) and not _is_homepage(url):
            return _canonicalize(url)
    return _canonicalize(final_url)


# --- language -------------------------------------------------------------------------------------

_ARABIC_CHARS = re.compile(r"[\u0600-\u06ff\u0750-\u077f]")
_LATIN_CHARS = re.compile(r"[A-Za-z\u00c0-\u017f]")
_OTHER_LETTERS = re.compile(r"[^\W\d_\u0600-\u06ff\u0750-\u077f]")  # letters of any script but Arabic
_TIFINAGH_CHARS = re.compile(r"[\u2d30-\u2d7f]")
# py3langid tells the Arabic varieties apart (a Moroccan news brief often scores 'ary' 0.2-0.4);
# for a source's `languages` they are all Arabic.
_ARABIC_VARIETIES = frozenset(
    {"ar", "ary", "arz", "acm", "apc", "ajp", "aeb", "arq", "afb", "ars", "acq", "ayl", "arb", "shu", "ssh", "abv"}
)
# The page's declared language wins when the detector gives it at least this probability, or is
# sure of nothing (a few names: py3langid gives its best guess 0.05-0.1): a text that could be
# either follows its page; one that plainly is not (an Arabic article in a template declared
# English, a French article in one declared Arabic: 0.99) does not.
DECLARED_PRIOR = 0.1
_SURE = 0.5
# Text in Arabic script with at most a few Latin words is Arabic for the press we crawl (no Persian,
# Urdu or Pashto outlets): decided by script in ~0.05 ms; py3langid (~1 ms a page) decides the rest.
_ARABIC_ONLY = 0.9
_SAMPLE_CHARS = 600  # py3langid costs ~1 ms a page on 600 characters (3 ms on 2,000), and they decide


@cache
def _identifier() -> LanguageIdentifier:
    """py3langid's model, loaded once per process (~1 s)."""
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def language_code(label: str | None) -> str | None:
    """'ar-MA', 'ar_AR', 'ary' -> 'ar'; 'fr-FR' -> 'fr'; None for no label."""
    if not label:
        return None
    code = re.split(r"[-_]", label.strip().lower(), maxsplit=1)[0]
    return "ar" if code in _ARABIC_VARIETIES else (code or None)


_CODES = {variety: "ar" for variety in _ARABIC_VARIETIES}


def declared_language(tree: HtmlElement, meta: Mapping[str, str]) -> str | None:
    """What the page says it is written in: `<html lang>`, else og:locale, else content-language."""
    root = tree.getroottree().getroot()
    label = root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang")
    return language_code(label or meta.get("og:locale") or meta.get("content-language") or meta.get("language"))


def detect_language(text: str, declared: str | None = None) -> str | None:
    """The language of `text`: 'ar' for Arabic script, 'zgh' for Tifinagh, else py3langid ('fr', 'en', ...,
    'ar' again for a mixed text it reads as Arabic); None without letters.

    `declared` (the page's own declaration) is a prior: it wins when the detector gives it at least
    `DECLARED_PRIOR`. Our former stop-word lists read short Arabic briefs in English chrome as 'en'.
    """
    sample = text[:_SAMPLE_CHARS]
    arabic = len(_ARABIC_CHARS.findall(sample))
    latin = len(_LATIN_CHARS.findall(sample))
    tifinagh = len(_TIFINAGH_CHARS.findall(sample))
    if max(arabic, latin, tifinagh) == 0:
        return None
    if tifinagh > arabic and tifinagh > latin:
        return "zgh"
    if arabic >= _ARABIC_ONLY * (arabic + latin):
        return "ar"
    probs: dict[str, float] = {}
    for label, prob in _identifier().rank(sample):
        code = _CODES.get(label, label)
        probs[code] = probs.get(code, 0.0) + prob
    top = max(probs, key=lambda code: probs[code])
    if declared and (probs.get(declared, 0.0) >= DECLARED_PRIOR or probs[top] < _SURE):
        return declared
    return top


# --- body text ------------------------------------------------------------------------------------


def _words(text: str) -> int:
    return len(text.split())


def _run_trafilatura(tree: HtmlElement, options: Extractor, url: str) -> str:
    try:
        doc = bare_extraction(tree, url=url, options=options)
    except (ValueError, TypeError, AttributeError):  # trafilatura raises on some broken trees
        return ""
    text = getattr(doc, "text", None) if doc is not None else None
    return text or ""


def _trafilatura(tree: HtmlElement, options: Extractor, url: str) -> tuple[str, bool]:
    """trafilatura's text, and whether it was a glued dump (see `glued`): then what its main
    extractor had found is returned instead."""
    text = _run_trafilatura(tree, options, url)
    if text.count("\n") < _GLUED_MAX_LINES and glued(text, _paragraph_texts(tree)):
        return _run_trafilatura(tree, _unrescued(options), url) or text, True
    return text, False


def _paragraph_texts(tree: HtmlElement) -> frozenset[str]:
    """The text of every <p> of 3+ words."""
    return frozenset(t for p in tree.iter("p") if (t := " ".join(p.text_content().split())).count(" ") >= 2)


# trafilatura rescues a text under MIN_EXTRACTED_SIZE (250 characters: every two-line brief) with
# its baseline, whose first choice is the page's <article> element as one line: the brief glued to
# the share bar, the "related posts" and the author box around it. Its main extractor had found
# the brief: that result is kept (`_unrescued` options) when the rescue is a glued dump.
_GLUED_MAX_LINES = 3  # the baseline gives one line per <article> element
_GLUED_EXTRA_WORDS = 8  # a line holding a paragraph and this many words more is not that paragraph


def glued(text: str, paragraphs: frozenset[str]) -> bool:
    """A line of `text` holds one of the page's paragraphs (`<p>` texts, 3+ words) and much more
    besides: several blocks of the page joined into one line, not the article's paragraphs."""
    lines = text.split("\n")
    if len(lines) > _GLUED_MAX_LINES:
        return False
    for line in lines:
        squashed = " ".join(line.split())
        n = _words(squashed)
        if any(n >= _words(p) + _GLUED_EXTRA_WORDS and p in squashed for p in paragraphs):
            return True
    return False


@cache
def _unrescued(options: Extractor) -> Extractor:
    quiet = copy(options)
    quiet.min_extracted_size = 1
    return quiet


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


def _size(paras: list[str]) -> int:
    return sum(len(t) for t in paras)


def _arabic_size(paras: list[str]) -> int:
    return sum(len(_ARABIC_CHARS.findall(t)) for t in paras)


_PROSE = "//p[not(ancestor::header or ancestor::footer or ancestor::nav or ancestor::aside or ancestor::form)]"


def _prose(tree: HtmlElement) -> dict[HtmlElement, list[str]]:
    """The page's paragraphs (4+ words, outside header/footer/nav/aside/form) by parent element."""
    groups: dict[HtmlElement, list[str]] = {}
    for p in tree.xpath(_PROSE):
        text = " ".join(p.text_content().split())
        if text.count(" ") >= 3 and not is_teaser(p):
            groups.setdefault(p.getparent(), []).append(text)
    return groups


_TEASER_LINK_WORDS = 3


def is_teaser(p: HtmlElement) -> bool:
    """The paragraph follows a headline link in its block (`<li><a>headline</a><p>excerpt …</p>`,
    `<h3><a>headline</a></h3><p>…`): another article's teaser card, not this article's prose."""
    prev = p.getprevious()
    if prev is None:
        return False
    link = prev if prev.tag == "a" else prev.find(".//a") if prev.tag in ("h2", "h3", "h4", "h5", "strong") else None
    return link is not None and headline_link(link, _TEASER_LINK_WORDS)


def _text_words(tree: HtmlElement) -> int:
    """Words of the page's text outside links, scripts and styles (0.14 ms a page)."""
    body = tree.find("body")
    if body is None:
        return 0
    links = sum(len(a.text_content().split()) for a in body.iter("a"))
    code = sum(len((el.text or "").split()) for el in body.iter("script", "style"))
    return len(body.text_content().split()) - links - code


def _paragraph_cluster(groups: dict[HtmlElement, list[str]], script: str | None) -> str:
    """The paragraphs of the element holding the most paragraph text (readability's core idea);
    under an Arabic headline, the most Arabic text."""
    size = _arabic_size if script == "arabic" else _size
    best: list[str] = max(groups.values(), key=size) if groups else []
    return "\n".join(best)


_HEADLINE_LEVELS = 8  # ancestors of the <h1> searched for the article's paragraphs


_LOOSE_TEXT = ".//text()[not(ancestor::h1 or ancestor::script or ancestor::style or ancestor::a)]"


def _headline_block(tree: HtmlElement, title: str) -> str:
    """The paragraphs of the nearest ancestor of the headline <h1> that holds any (else its loose text
    nodes): the article whatever container the template puts it in (one real template keeps it
    inside a <header>, which trafilatura and the <p> cluster skip)."""
    h1 = next((h for h in tree.iter("h1") if title and _similar(" ".join(h.text_content().split()), title)), None)
    if h1 is None:
        return ""
    ancestors = [a for a in h1.iterancestors() if a.tag not in ("body", "html")][:_HEADLINE_LEVELS]
    for ancestor in ancestors:
        if paras := [t for p in ancestor.iter("p") if (t := " ".join(p.text_content().split())) and not is_teaser(p)]:
            return "\n".join(paras)
    for ancestor in ancestors:  # a template without <p>
        if paras := [" ".join(t.split()) for t in ancestor.xpath(_LOOSE_TEXT) if _words(t) >= 3]:
            return "\n".join(paras)
    return ""


def _is_headline_line(line: str, title: str) -> bool:
    """The line is the headline (possibly with a label), not a paragraph that happens to contain it."""
    nl, nt = normalize(line), normalize(title)
    return bool(nl and nt) and (
        nl == nt or (nt in nl and len(nl) <= 1.3 * len(nt) + 10) or (nl in nt and len(nl) >= 0.7 * len(nt))
    )


@dataclass(frozen=True, slots=True)
class _Body:
    """A cleaned candidate text and what its score is made of (see `score`)."""

    text: str
    method: str
    words: int = 0
    script: float = 1.0  # share of its letters in the headline's script
    links: float = 0.0  # share of its words on lines that are link texts
    overlap: float = 0.5  # share of the headline/description words it contains (0.5: none known)

    @property
    def score(self) -> float:
        """log(1 + words) x script agreement x (1 - link share) x (0.5 + overlap with headline/description).

        More words count, with diminishing weight; a text in another script than the headline's (an
        English sidebar around an Arabic article), one made of link texts (a related block, a menu)
        or one sharing nothing with the headline and description (a standings table) counts for little.
        """
        return log1p(self.words) * self.script * (1 - self.links) * (0.5 + self.overlap)

    @property
    def confident(self) -> bool:
        """Long enough, in the headline's script, not links, on the headline's subject: no need to look further."""
        return self.words >= MIN_WORDS and self.script >= 0.9 and self.links <= 0.2 and self.overlap >= 0.3


_LEAD_ZONE = 6  # lines; chrome above a headline never runs longer than a breadcrumb and a toolbar


def _script(text: str) -> str | None:
    """'arabic' or 'latin', whichever has more letters in `text`; None without letters."""
    arabic, latin = len(_ARABIC_CHARS.findall(text)), len(_LATIN_CHARS.findall(text))
    return None if arabic == latin == 0 else ("arabic" if arabic >= latin else "latin")


def _foreign_line(line: str) -> bool:
    """Letters and no Arabic one: in an article under an Arabic headline, chrome of the template
    (English menus, captions, cookie notes around the Arabic text)."""
    return _OTHER_LETTERS.search(line) is not None and _ARABIC_CHARS.search(line) is None


# Latin chrome glued into an Arabic line (trafilatura's fallback joins a short page's blocks into one
# line): "... اليمنى. Tags Kristi Noem South Dakota", "... مارس Last Updated: 2025-02-22 By Melanie
# Hanson سجل ...". A trailing Latin run after a sentence end goes; so does any run of this many words
# without an Arabic letter (foreign names inside Arabic news run one to three words).
_TRAILING_LATIN = re.compile(r"(?<=[.!?؟…])\s+[^\W\d_\u0600-\u06ff\u0750-\u077f][^\u0600-\u06ff]*$")
_LATIN_RUN_WORDS = 4


def _drop_latin_runs(line: str) -> str:
    if not _OTHER_LETTERS.search(line):
        return line
    line = _TRAILING_LATIN.sub("", line)
    words = line.split()
    keep: list[str] = []
    for arabic, group in groupby(words, key=lambda w: _ARABIC_CHARS.search(w) is not None):
        run = list(group)
        keep += run if arabic else _kept_of_run(run)
    return " ".join(keep) if len(keep) < len(words) else line


def _kept_of_run(run: list[str]) -> list[str]:
    """What stays of a run of words without an Arabic letter: all of it, unless its core (from its first
    word with a letter, or a "©", to its last word with a letter) is 4 words or more, or a credit
    ("© Aaron Schwartz"). Figures at its edges belong to the Arabic around it: "... 14 يناير 2025 Share
    this: Click to share ..." lost the headline's year, and the headline glued to the lead was no
    longer found (bench/extract_real.py, a brief in aeb/264dc3ae3124: F1 0.86)."""
    start, end = 0, len(run)
    while start < end and not (_OTHER_LETTERS.search(run[start]) or run[start].startswith("©")):
        start += 1
    while end > start and not _OTHER_LETTERS.search(run[end - 1]):
        end -= 1
    core = run[start:end]
    if len(core) >= _LATIN_RUN_WORDS or (core and core[0].startswith("©")):
        return run[:start] + run[end:]
    return run


_CHROME_LINE_WORDS = 10  # a breadcrumb or a toolbar line above the headline; prose runs longer


def _clean(text: str, title: str, section: str | None, script: str | None = None) -> str:
    lines = [line for line in clean_lines(text.split("\n")) if any(c.isalnum() for c in line)]
    if script == "arabic":
        lines = [_drop_latin_runs(line) for line in lines if not _foreign_line(line)]
    lines = _after_headline(_first_occurrences(lines), title, script)
    while lines and ((section and normalize(lines[0]) == normalize(section)) or _is_stamp_line(lines[0])):
        lines = lines[1:]
    return "\n".join(_without_trailing_stamps(lines))


def _without_trailing_stamps(lines: list[str]) -> list[str]:
    """A date line closing the text is the template's stamp ("Posted on 4 غشت 2025 - 11:09" under the
    article), not prose; leading ones go above. Measured on bench/extract_real.py's tuning half, once
    its pages wrote their dates as Moroccan outlets do (in Arabic, where the template showed its own
    date): 5 tokens of chrome in a brief, F1 0.91 (templates aeb/a1fca19b884e, wcxb/0073, ...)."""
    while len(lines) > 1 and _is_stamp_line(lines[-1]):
        lines = lines[:-1]
    return lines


def _is_stamp_line(line: str) -> bool:
    """A date line that is not a table row: trafilatura writes a row "| الوداد | 14 مارس 2025 |", and a
    schedule or results table closing a sports article is data."""
    stripped = line.strip()
    return not (stripped.startswith("|") and stripped.endswith("|")) and is_date_line(line)


_REPEAT_MIN_WORDS = 8  # a sentence this long said twice is a repeat (a teaser, a pull quote), not prose
_LABEL_MAX_WORDS = 4  # what a template glues to such a repeat: "Return to Blogs", "Summary:"


def _first_occurrences(lines: list[str]) -> list[str]:
    """A paragraph repeated word for word is said once (trafilatura sometimes emits a block twice),
    also when a template's short label is glued to the repeat ("Return to Blogs <first paragraph>":
    the worst real template's briefs, F1 0.75)."""
    seen: set[str] = set()
    long: list[tuple[str, int]] = []
    kept = []
    for line in lines:
        key = " ".join(line.split())
        n = _words(key)
        if n >= 4 and key in seen:
            continue
        if any(0 < n - m <= _LABEL_MAX_WORDS and earlier in key for earlier, m in long):
            continue
        seen.add(key)
        if n >= _REPEAT_MIN_WORDS:
            long.append((key, n))
        kept.append(line)
    return kept


def _after_glued_headline(line: str, title: str, script: str | None) -> str | None:
    """What follows the headline glued to the first paragraph under a short label ("Home | <headline>
    <paragraph>"), or None. The last such headline counts: a title bar "<headline> | host" may come first.
    In an Arabic article, words without an Arabic letter between the headline and the lead are the
    template's too: a page heading or a section label glued there ("<headline> Graphic Design Courses
    <paragraph>": bench/extract_real.py, the briefs of wcxb/0339, F1 0.93-0.95)."""
    found = None
    at = line.find(title + " ")
    while at >= 0 and _words(line[:at]) <= _CHROME_LINE_WORDS:
        if _words(rest := line[at + len(title) :].strip()) > _words(title):
            found = rest
        at = line.find(title + " ", at + 1)
    return _without_latin_label(found) if found is not None and script == "arabic" else found


_LEADING_NON_ARABIC = re.compile(r"[^\u0600-\u06ff\u0750-\u077f]+(?=[\u0600-\u06ff\u0750-\u077f])")


def _without_latin_label(text: str) -> str:
    """`text` without the words before its first Arabic letter, when they hold letters of another script."""
    label = _LEADING_NON_ARABIC.match(text)
    return text[label.end() :] if label is not None and _OTHER_LETTERS.search(label.group()) else text


def _after_headline(lines: list[str], title: str, script: str | None) -> list[str]:
    """The headline marks where the article starts: what the extractor kept above it is a breadcrumb,
    a section label or a toolbar. The headline itself is metadata, not body. When prose stands above
    it, or nothing follows it (a brief, then a "trending" block repeating the headline), only the
    headline line goes. Said twice above the text (a title bar "headline | host", then the article's
    own <h1>: real template wcxb/0005), the text starts after the second."""
    if title and lines and (rest := _after_glued_headline(lines[0], title, script)) is not None:
        lines = [rest, *lines[1:]]
    heads = [i for i, line in enumerate(lines[:_LEAD_ZONE]) if title and _is_headline_line(line, title)]
    for i in reversed(heads):  # the last headline under chrome only: a title bar, then the article's <h1>
        if i + 1 < len(lines) and all(_words(a) <= _CHROME_LINE_WORDS for a in lines[:i]):
            return lines[i + 1 :]
    if heads:
        i = heads[0]
        return lines[:i] + lines[i + 1 :]
    return lines


_STAMP_MAX_NODES = 6  # a date stamp is a leaf or a few inline pieces ("<time>16 <b>ماي</b> 2025</time>")
_DIGIT_TEXTS = (  # text nodes holding a digit (Western or Arabic-Indic), outside data tables: where a stamp can be
    "//body//text()[not(ancestor::script or ancestor::style or ancestor::td or ancestor::th)]"
    "[contains(translate(., '0123456789\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669', "
    "'####################'), '#')]"
)
_STAMP_LEVELS = 3  # a stamp's text sits in it or in one of its pieces, two levels down at most


def drop_date_stamps(tree: HtmlElement) -> None:
    """Remove the elements that hold only a date stamp (`dates.is_date_line`) and stand alone, with
    no word of their block before or after them: a date inside a sentence stays. trafilatura glues
    an inline stamp beside the headline to the lead paragraph ("9 فبراير 2025 - 23:52 انتهت المباراة
    ..."), where no line rule can take it off: on bench/extract_real.py's tuning half, 21 of its 31
    briefs and paragraphs below F1 0.95 carried one. Only elements around text with a digit are
    looked at: with the byline rows (`_meta_row`), 2.5 ms of the ~40 ms a real template's page takes.
    Data tables (layout ones are unwrapped before) are data: a schedule's dates stay, and the cells
    of a sidebar's standings table are not looked at (cProfile on bench/crawl_many.py's pages: 2.0 ->
    0.5 ms a page; `extract` 6.4 -> 5.4 CPU-ms)."""
    seen: set[HtmlElement] = set()
    stamps = []
    for text in tree.xpath(_DIGIT_TEXTS):
        el = text.getparent()
        if el is not None and text.is_tail:
            el = el.getparent()
        for _ in range(_STAMP_LEVELS):
            if el is None or el in seen or el.tag in ("body", "html", "h1"):
                break
            seen.add(el)
            if _is_stamp(el):
                stamps.append(el)
            el = el.getparent()
    for el in stamps:
        row = _meta_row(el)
        if row.getparent() is not None:
            row.drop_tree()


_ROW_MAX_WORDS = 12  # a byline row: a name, a stamp, "0 Comments"; a sentence runs longer
_ROW_MAX_NODES = 40  # and a few elements (an avatar, links, icons): a bigger subtree is not one row
_NOT_A_ROW = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "article", "section", "main", "body", "html"})


def _meta_row(stamp: HtmlElement) -> HtmlElement:
    """The byline row holding `stamp` ("Susan · 2 يونيو 2025 - 19:35 · 0 Comments"), else the stamp:
    its ancestors of at most 12 words holding no paragraph nor heading. Taken out alone, the stamp left
    the row's name and comment count glued to the lead paragraph (bench/extract_real_crawl.py, wcxb/0023)."""
    row = stamp
    for parent in stamp.iterancestors():
        if parent.tag in _NOT_A_ROW or next(islice(parent.iterdescendants(), _ROW_MAX_NODES, None), None) is not None:
            break
        if len(spaced_text(parent).split()) > _ROW_MAX_WORDS:
            break
        if next(parent.iterdescendants(*_NOT_A_ROW), None) is not None:
            break
        row = parent
    return row


def _is_stamp(el: HtmlElement) -> bool:
    if next(islice(el.iterdescendants(), _STAMP_MAX_NODES, None), None) is not None:
        return False
    text = spaced_text(el)
    return len(text) <= 160 and _stands_alone(el) and is_date_line(text)


def _stands_alone(el: HtmlElement) -> bool:
    """No word of the surrounding block touches `el`: only space or separators ("|", "·") around it."""
    prev, parent = el.getprevious(), el.getparent()
    before = prev.tail if prev is not None else parent.text if parent is not None else None
    return not any(c.isalnum() for c in f"{before or ''}{el.tail or ''}")


_TABLE_TAGS = ("table", "thead", "tbody", "tfoot", "tr", "td", "th")
_LAYOUT_CELL_CHARS = 400  # data cells hold figures and names, not whole paragraphs
_CELLS = "./tr/td | ./tr/th | ./*/tr/td | ./*/tr/th"
# Whether a cell holds block content, in one query a table (one a cell took 0.45 of the 5.4 ms a
# page of bench/crawl_many.py costs, whose sidebars hold 40-row tables).
_BLOCK_CELL = f"boolean(({_CELLS})[.//p or .//div or .//table or .//article])"


def unwrap_layout_tables(tree: HtmlElement) -> None:
    """Turn layout tables (old CMS templates put the whole page in one) into plain blocks.

    trafilatura renders a table as `| cell | cell |` lines, which glues a layout table's headline,
    date and body into one line. A table is layout, not data, when one of its cells holds block
    content (paragraphs, divs, nested tables) or a long run of prose; data tables are left alone.
    """
    for table in reversed(tree.xpath("//table")):  # innermost first, so nesting unwraps cleanly
        layout = table.xpath(_BLOCK_CELL) or any(
            len(cell.text_content().strip()) > _LAYOUT_CELL_CHARS for cell in table.xpath(_CELLS)
        )
        if layout:
            for node in [table, *table.iter(*_TABLE_TAGS)]:
                node.tag = "div"


@dataclass(frozen=True, slots=True)
class _Page:
    """What candidate scoring needs to know of the page, computed once."""

    title: str
    section: str | None
    script: str | None  # the headline's script: the article's
    refs: frozenset[str]  # normalised words of the headline, description and feed title
    link_texts: frozenset[str]  # the text of every link (a menu's one-word items too)


def _page_facts(tree: HtmlElement, meta: Mapping[str, str], title: str, section: str | None, hint: str | None) -> _Page:
    described = " ".join(t for t in (title, meta.get("og:description"), meta.get("description"), hint) if t)
    links = frozenset(t for a in tree.iter("a") if (t := " ".join(a.text_content().split())))
    return _Page(title, section, _script(title or described), frozenset(normalize(described).split()), links)


_SCORE_CHARS = 1000  # the script and the headline's words show in the first 1,000 characters


def _on_subject(text: str, page: _Page) -> bool:
    """The text shares a word of 4+ letters with the headline or description: a brief, not a footer
    or a caption left on a listing page."""
    return bool({w for w in page.refs if len(w) >= 4} & set(normalize(text).split()))


def _script_share(text: str, script: str | None) -> float:
    """Share of the letters of `text` in `script` (1.0 when the page gives no script)."""
    if script is None:
        return 1.0
    text = text[:_SCORE_CHARS]
    arabic, latin = len(_ARABIC_CHARS.findall(text)), len(_LATIN_CHARS.findall(text))
    return (arabic if script == "arabic" else latin) / ((arabic + latin) or 1)


# The first candidate (trafilatura, fast mode) is kept unless another scores this much higher:
# on the sample web and the English benchmarks trafilatura's own choice is the better one when the
# scores are close.
PRIMARY_MARGIN = 1.25
_GOOD_SCRIPT_SHARE = 0.5


def extract_body(tree: HtmlElement, nodes: Sequence[dict[str, Any]], url: str, page: _Page) -> list[_Body]:
    """Every extraction candidate that leaves some text, best first (see `_Body.score`, `PRIMARY_MARGIN`).

    Candidates: trafilatura (fast), JSON-LD articleBody, the largest <p> cluster and the headline's
    block unless trafilatura's text is `confident`, trafilatura's full mode when its text is not
    confident or the page holds much more text, and its recall mode when none of those gives
    `MIN_WORDS` words in the headline's script. Full and recall modes are skipped on a text that is
    not confident when the cheap readings of the page agree with it (`_agreed`).
    """
    text, short = _trafilatura(tree, _OPTIONS, url)
    first = _scored("trafilatura", text, page)
    bodies = [first, _scored("jsonld", _jsonld_body(nodes), page)]
    if not first.confident:
        bodies += _cheap_readings(tree, page)
    # A glued dump says the article is under 250 characters: full mode would rescue it the same way.
    settled = short or _agreed(first, bodies[2:])
    if not settled and (not first.confident or _text_words(tree) > _TRUNCATED * first.words + 50):
        bodies.append(_scored("trafilatura-full", _trafilatura(tree, _FULL, url)[0], page))
    if not settled and not any(b.words >= MIN_WORDS and b.script > _GOOD_SCRIPT_SHARE for b in bodies):
        bodies.append(_scored("trafilatura-recall", _trafilatura(tree, _RECALL, url)[0], page))
    return _rank([b for b in bodies if b.text.strip()])


def _cheap_readings(tree: HtmlElement, page: _Page) -> list[_Body]:
    """The largest <p> cluster and the headline's block: ~0.3 ms a page, against ~30 for trafilatura's
    full and recall modes on a real template's page."""
    return [
        _scored("paragraphs", _paragraph_cluster(_prose(tree), page.script), page),
        _scored("headline-block", _headline_block(tree, page.title), page),
    ]


_AGREED_SLACK = 1.25  # a reading this much longer than trafilatura's text holds more of the article


def _agreed(first: _Body, readings: Sequence[_Body]) -> bool:
    """trafilatura's text is on the headline's subject, in its script, not links, and the page's
    paragraphs and the headline's block, read apart from it, hold no more: the article is that short.
    Full and recall modes otherwise ran on every brief (32 of the 57 ms such a page took in a real
    template) and found a better text on none of 136 (bench/extract_real.py's pages, 150 templates).
    Not used on a confident text on a wordy page: there fast mode had stopped early on English pages
    whose paragraphs the cheap readings split the same way (WCXB F1 0.942 -> 0.934)."""
    found = [b for b in readings if b.words]
    return (
        bool(found)
        and first.words > 0
        and first.script >= 0.9
        and first.links <= 0.2
        and first.overlap >= 0.3
        and all(b.words <= _AGREED_SLACK * first.words for b in found)
    )


def _scored(method: str, raw: str, page: _Page) -> _Body:
    text = _clean(raw, page.title, page.section, page.script)
    n = _words(text)
    if n == 0:
        return _Body(text, method)
    words = set(normalize(text[:_SCORE_CHARS]).split())
    overlap = len(page.refs & words) / len(page.refs) if page.refs else 0.5
    linked = [line for line in text.split("\n") if " ".join(line.split()) in page.link_texts]
    links = sum(_words(line) for line in linked) / n
    return _Body(text, method, n, _script_share(text, page.script), links, overlap)


def _rank(bodies: list[_Body]) -> list[_Body]:
    if not bodies:
        return []
    primary = bodies[0]
    ranked = sorted(bodies, key=lambda b: -b.score)
    margin = 1.0 if ranked[0].method == "trafilatura-full" else PRIMARY_MARGIN  # trafilatura's own second look
    if ranked[0] is not primary and ranked[0].score <= margin * primary.score:
        ranked.remove(primary)
        ranked.insert(0, primary)
    return _prefer_fuller_jsonld(ranked)


def _prefer_fuller_jsonld(ranked: list[_Body]) -> list[_Body]:
    """trafilatura stopped early (a split article, an ad slot mid-text) if articleBody is much longer."""
    first = ranked[0]
    alt = next((b for b in ranked if b.method == "jsonld"), None)
    if first.method == "trafilatura" and alt is not None and _words(alt.text) >= 1.5 * _words(first.text):
        return [alt, *(b for b in ranked if b is not alt)]
    return ranked


# --- listing pages --------------------------------------------------------------------------------


def drop_link_runs(lines: Sequence[str], link_texts: frozenset[str]) -> list[str]:
    """Lines that are the text of a link, two or more in a row, are a related block or a menu: out."""
    linked = [" ".join(line.split()) in link_texts for line in lines]
    return [
        line
        for i, line in enumerate(lines)
        if not (linked[i] and ((i > 0 and linked[i - 1]) or (i + 1 < len(lines) and linked[i + 1])))
    ]


def _linked_share(text: str, link_texts: frozenset[str]) -> float:
    """Share of the text's words on lines that are also the text of a link: teasers, not prose."""
    lines = [" ".join(line.split()) for line in text.split("\n") if line.strip()]
    total = sum(_words(line) for line in lines) or 1
    return sum(_words(line) for line in lines if line in link_texts) / total


_VIDEO = "//video | //iframe[contains(@src,'youtube') or contains(@src,'dailymotion') or contains(@src,'vimeo')]"


def _has_video(tree: HtmlElement) -> bool:
    return bool(tree.xpath(_VIDEO))


def looks_like_article(tree: HtmlElement, meta: Mapping[str, str], nodes: Sequence[dict[str, Any]], title: str) -> bool:
    """og:type article, a JSON-LD article type, or an <h1> that is the page's headline."""
    if meta.get("og:type", "").lower() == "article" or any(_types(n) & ARTICLE_TYPES for n in nodes):
        return True
    return bool(title) and any(_similar(" ".join(h.text_content().split()), title) for h in tree.iter("h1"))


def not_article_reason(
    meta: Mapping[str, str],
    nodes: Sequence[dict[str, Any]],
    text: str,
    link_texts: frozenset[str],
    looks: bool,
    video: bool = False,
    brief: bool = False,
) -> str | None:
    """Why the page is a listing, tag, author or video page, or None.

    On a page that looks like an article, runs of link lines (a related block repeating other
    articles' headlines) are left out before the link share is judged: one real outlet lost every
    article to `not-article` because of such a block. A video under a caption shorter than a brief
    (`video`: the page embeds one), or a page declaring og:type video, is a video page unless the
    page declares an article or its text is a brief on its own headline's subject (`brief`): a
    "watch the video" caption is not, while a template that embeds a clip or declares video on every
    page must not lose its short articles (bench/extract_real.py: 5 briefs on 3 such templates).
    """
    types = set().union(*(_types(n) for n in nodes)) if nodes else set()
    og_type = meta.get("og:type", "").lower()
    words = _words(text)
    if types & NOT_ARTICLE_TYPES and not types & ARTICLE_TYPES and words < SHORT_LISTING_WORDS:
        return f"JSON-LD {sorted(types & NOT_ARTICLE_TYPES)[0]} with {words} words"
    if (
        (og_type.startswith("video") or og_type == "profile")
        and not types & ARTICLE_TYPES
        and words < SHORT_LISTING_WORDS
        and not (brief and og_type != "profile")
    ):
        return f"og:type {og_type} with {words} words"
    if video and words < MIN_WORDS and not types & ARTICLE_TYPES and og_type != "article" and not brief:
        return f"a video with a {words}-word caption"
    judged = "\n".join(drop_link_runs(text.split("\n"), link_texts)) if looks else text
    if not judged.strip():
        return "the text is a list of links"
    share = _linked_share(judged, link_texts)
    limit = 0.5 if og_type == "article" or types & ARTICLE_TYPES else 0.3
    if share > limit:
        return f"{share:.0%} of the text is link text (og:type {og_type or 'none'})"
    return None


# --- stored-text cap --------------------------------------------------------------------------------


def max_text_chars() -> int:
    """The stored-text cap: `Settings.max_text_chars` (INGEST_MAX_TEXT_CHARS), its one home. Read
    per page, in the extraction process; `run-once` has validated the environment before."""
    value = os.environ.get("INGEST_MAX_TEXT_CHARS")
    return Settings.model_validate({} if value is None else {"max_text_chars": value}).max_text_chars


def cap_text(text: str, limit: int) -> tuple[str, int]:
    """`text` cut to at most `limit` characters at a line end when there is one; (text, characters cut)."""
    if len(text) <= limit:
        return text, 0
    cut = text.rfind("\n", 0, limit + 1)
    kept = text[: cut if cut > limit // 2 else limit].rstrip()
    return kept, len(text) - len(kept)


# --- entry point ----------------------------------------------------------------------------------


def extract(
    page: FetchedPage,
    *,
    timezone: str = "Africa/Casablanca",
    languages: Sequence[str] = ("ar",),
    recurring: RecurringLines | None = None,
) -> Article | Rejection:
    """The article in `page`, or why there is none. Never raises for a bad page."""

    def reject(reason: str, detail: str = "", looks: bool = False) -> Rejection:
        url = page.final_url or page.url
        return Rejection(url=url, source=page.source, reason=reason, detail=detail, looks_like_article=looks)

    if detail := not_html(page.content_type, page.body):
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
    reject: Callable[[str, str, bool], Rejection],
) -> Article | Rejection:
    base = page.final_url or page.url
    nodes = jsonld_nodes(tree)
    meta = meta_map(tree)
    section = pick_section(meta, nodes)
    title = pick_title(tree, meta, nodes, base, section, page.hint_title)
    facts = _page_facts(tree, meta, title, section, page.hint_title)
    looks = looks_like_article(tree, meta, nodes, title)
    fetched = to_utc(page.fetched_at, UTC)
    published, updated = find_dates(tree, nodes, tz=timezone, now=fetched, headline=title)
    author = pick_author(tree, meta, nodes)
    drop_date_stamps(tree)  # once dates and byline are read: a stamp beside the headline is not body text
    bodies = extract_body(tree, nodes, base, facts)
    if not bodies:
        return reject("empty", "nothing extracted", looks)
    body = bodies[0]
    video = _words(body.text) < MIN_WORDS and _has_video(tree)
    brief = looks and _on_subject(body.text, facts)
    if why := not_article_reason(meta, nodes, body.text, facts.link_texts, looks, video, brief):
        return reject("not-article", why, looks)
    text = "\n".join(drop_link_runs(body.text.split("\n"), facts.link_texts))
    if (n := _words(text)) < MIN_WORDS and not (looks and _on_subject(text, facts)):
        return reject("too-short", f"{n} words ({body.method}), not a brief under its headline", looks)
    language = detect_language(text, declared_language(tree, meta))
    if language is not None and languages and language not in languages:
        return reject("wrong-language", f"{language} not in {list(languages)}", looks)
    text, cut = cap_text(text, limit := max_text_chars())
    if published is None and page.hint_published is not None:
        published = to_utc(page.hint_published, timezone)
    url = pick_url(tree, meta, base)
    article = Article(
        url=url,
        source=page.source,
        title=title or (page.hint_title or ""),
        text=text,
        published_at=published,
        fetched_at=fetched,
        language=language,
        author=author,
        section=section,
        image_url=pick_image(meta, nodes, base),
        updated_at=updated,
        method=body.method,
        fetched_url=page.url if page.url != url else "",
        cut_chars=cut,
        alternatives=tuple((b.method, cap_text(b.text, limit)[0]) for b in bodies[1:]),
    )
    return settle(article, recurring) if recurring is not None else article


_WARM_PAGE = (
    "<html lang='ar'><head><meta charset='utf-8'><title>افتتاح معرض الكتاب بالرباط</title>"
    "<meta property='og:type' content='article'></head><body><nav><a href='/'>الرئيسية</a></nav><article>"
    "<h1>افتتاح معرض الكتاب بالرباط</h1><time datetime='2025-05-16T09:45:00+01:00'>16 ماي 2025</time>"
    "<p>افتتحت صباح اليوم بالرباط الدورة الجديدة من المعرض الدولي للنشر والكتاب بمشاركة دور نشر من عدة بلدان.</p>"
    "<p>ويتضمن برنامج المعرض ندوات ولقاءات مع كتاب مغاربة وأجانب طيلة عشرة أيام.</p></article></body></html>"
).encode()


def preload() -> None:
    """Load now what extraction loads on first use: py3langid's model (0.47 CPU-s) and trafilatura's
    lazily built state (a process's first page cost ~20 ms more than the next ones). Run in the
    extraction pool's forkserver, so that every extraction process forked from it starts warm."""
    _identifier()
    fetched = datetime(2025, 5, 16, 10, tzinfo=UTC)
    extract(FetchedPage("https://warm.invalid/a", "", 200, {"content-type": "text/html"}, _WARM_PAGE, "warm", fetched))


def settle(result: Article | Rejection, recurring: RecurringLines) -> Article | Rejection:
    """`result` once the outlet's recurring lines are known: what the writer stores. Never empty.

    The recurring-line pass can empty a candidate that was the outlet's chrome (a sidebar table the
    extractor took for the article): the next candidate is tried, and if none is left the page is an
    `empty` rejection, never a stored article with no text, unless the text tells its headline
    (`_tells_its_headline`): then it is a story the outlet ran again, stored as it is.
    """
    if isinstance(result, Rejection):
        return result
    for method, text in ((result.method, result.text), *result.alternatives):
        kept = recurring.strip(result.source, text)
        if kept.strip():
            if kept == result.text and not result.alternatives:
                return result
            return replace(result, text=kept, method=method, alternatives=())
    if _tells_its_headline(result.text, result.title):
        return replace(result, alternatives=())
    detail = f"nothing left once the outlet's recurring lines are removed ({result.method})"
    return Rejection(result.url, result.source, "empty", detail, looks_like_article=True)


_HEADLINE_WORDS_TOLD = 0.5


def _tells_its_headline(text: str, title: str) -> bool:
    """Half or more of the headline's words of 4+ letters are in `text`, as words or inside one
    ("مصرع" in "مصرعهم", "حادثه" in "الحادثه": clitics and suffixes): a text whose every line the
    outlet has run before is then a story it ran again (a brief republished under new URLs), not its
    chrome, which does not tell each page's own headline. A crawl of our articles in 358 real
    templates lost 2-6 briefs a run to the recurring-line pass, 1-4 with this rule: those tell less
    than half of their headline (bench/extract_real_crawl.py --limit 200)."""
    wanted = {w for w in normalize(title).split() if len(w) >= 4}
    words = set(normalize(text).split())
    told = [w for w in wanted if any(w in x or (len(x) >= 4 and x in w) for x in words)]
    return bool(wanted) and len(told) >= _HEADLINE_WORDS_TOLD * len(wanted)
