"""Extraction on real page chrome: English real pages, and our Arabic articles inside real templates.

    python bench/extract_real.py [--limit N] [--fills 6] [--worst 3]

Reads two public labelled sets when present (never copied into the project, never needed by tests):

    ../shared/datasets/wcxb-dev-articles/       dev/html/<id>.html.gz, dev/ground-truth/<id>.json
    ../shared/datasets/article-extraction-benchmark/   html/<id>.html.gz, ground-truth.json

1. English pages: token F1 of `ingest.extract.extractor` (en allowed) against plain `trafilatura.extract()`,
   both scored against the gold main content.
2. Real templates: in each page, the main-content element (the deepest element holding 80% of the
   gold text) is emptied and filled with one of our own Arabic articles (the dev set's stories, from a
   two-line brief to a long report); title, meta, JSON-LD and date are ours, every other byte of chrome
   is the real page's. Each template serves `--fills` articles, like an outlet serving many articles
   in one chrome, and they go through what the pipeline runs: `extract` in the worker, then the
   outlet's recurring-line pass over the template's pages (`ingest.extract.extractor.settle`).
   Scored: coverage (stored / rejected by reason), empty stored texts, token F1 against the text we
   inserted, chrome leaks (stored tokens we did not insert), titles (the stored title is the headline
   we inserted, whitespace aside), dates to the minute (the stored UTC time is the wall-clock time we
   set in Morocco's zone) and to the day (the same calendar day in Morocco).
   The pages give their title and date three ways (STYLES, a third of the fills each): JSON-LD and
   meta tags, meta tags only, or only visibly (<title>, <h1>, the date written where the template
   showed its own article's date, else under the headline); the template's own metadata is removed.
3. Templates are split into a tuning half and a check half (fixed seed); both are reported, and the
   templates with wrong titles and dates are listed with what was stored.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import lxml.html
import py3langid
import trafilatura
from lxml.html import HtmlElement

from ingest.extract.boilerplate import RecurringLines
from ingest.extract.dates import find_dates, parse_text
from ingest.extract.extractor import decode, extract, jsonld_nodes, settle
from ingest.records import Article, FetchedPage, Rejection
from ingest.text import tokens
from ingest_dev.devset import BaseStory, base_stories
from ingest_dev.extractbench import token_prf

DATASETS = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"
WCXB = DATASETS / "wcxb-dev-articles"
AEB = DATASETS / "article-extraction-benchmark"
SEED = 12
FETCHED = datetime(2026, 1, 1, tzinfo=UTC)
MOROCCO = ZoneInfo("Africa/Casablanca")  # our outlets' time zone: +01:00, +00:00 in Ramadan
# How a fill's page gives its title and date (fill n takes STYLES[n % 3]):
#   jsonld   JSON-LD NewsArticle (headline, datePublished) + og:title + article:published_time
#   meta     og:title + article:published_time, no JSON-LD
#   visible  no JSON-LD, no og:title, no date meta: <title> "headline | host", the <h1>, and the date
#            written where the template showed its own article's date (else under the headline)
STYLES = ("jsonld", "meta", "visible")


@dataclass(frozen=True, slots=True)
class RealPage:
    set_name: str
    id: str
    url: str
    html: bytes
    gold: str


# --- loading ------------------------------------------------------------------------------------


def load_wcxb(root: Path) -> list[RealPage]:
    pages = []
    for gt in sorted((root / "dev" / "ground-truth").glob("*.json")):
        data = json.loads(gt.read_text(encoding="utf-8"))
        html = root / "dev" / "html" / f"{gt.stem}.html.gz"
        gold = (data.get("ground_truth") or {}).get("main_content") or ""
        if html.exists() and gold.strip():
            pages.append(RealPage("wcxb", gt.stem, data.get("url", ""), gzip.decompress(html.read_bytes()), gold))
    return pages


def load_aeb(root: Path) -> list[RealPage]:
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key in sorted(truth):
        html = root / "html" / f"{key}.html.gz"
        gold = truth[key].get("articleBody") or ""
        if html.exists() and gold.strip():
            pages.append(RealPage("aeb", key[:12], truth[key].get("url", ""), gzip.decompress(html.read_bytes()), gold))
    return pages


def load(limit: int | None) -> list[RealPage]:
    pages: list[RealPage] = []
    for root, loader in ((WCXB, load_wcxb), (AEB, load_aeb)):
        if not root.exists():
            print(f"skipped: {root.resolve()} not found")
            continue
        pages += loader(root)[:limit]
    return pages


def tuning_half(page: RealPage) -> bool:
    """Fixed split by page (= template): tune on one half, check on the other."""
    return random.Random(f"{SEED}:{page.set_name}:{page.id}").random() < 0.5


def half_name(page: RealPage) -> str:
    return "tune" if tuning_half(page) else "check"


# --- 1. English pages ---------------------------------------------------------------------------


def fetched(url: str, body: bytes, source: str, hint_title: str | None = None) -> FetchedPage:
    headers = {"content-type": "text/html; charset=utf-8"}
    return FetchedPage(url, url, 200, headers, body, source, FETCHED, hint_title=hint_title)


def ours_text(page: RealPage) -> str:
    result = extract(fetched(page.url, page.html, "real"), languages=("ar", "fr", "en"))
    return result.text if isinstance(result, Article) else ""


def plain_trafilatura(page: RealPage) -> str:
    return trafilatura.extract(page.html, url=page.url) or ""


def english_pages(pages: Sequence[RealPage]) -> list[RealPage]:
    return [p for p in pages if py3langid.classify(p.gold[:3000])[0] == "en"]


def report_english(pages: Sequence[RealPage]) -> None:
    print("### English real pages: token F1 against the gold main content\n")
    print("| set | half | pages | `ingest.extract.extractor` F1 | plain `trafilatura.extract()` F1 | difference |")
    print("|---|---|---|---|---|---|")
    f1s: dict[str, tuple[float, float]] = {}
    for page in pages:
        f1s[page.id] = (token_prf(ours_text(page), page.gold)[2], token_prf(plain_trafilatura(page), page.gold)[2])
    for set_name in sorted({p.set_name for p in pages}):
        for half in ("tune", "check", "all"):
            chosen = [p for p in pages if p.set_name == set_name and half in ("all", half_name(p))]
            if chosen:
                ours = statistics.mean(f1s[p.id][0] for p in chosen)
                plain = statistics.mean(f1s[p.id][1] for p in chosen)
                print(f"| {set_name} | {half} | {len(chosen)} | {ours:.3f} | {plain:.3f} | {ours - plain:+.3f} |")
    worst = sorted(pages, key=lambda p: f1s[p.id][0] - f1s[p.id][1])[:5]
    print(
        "\nlargest losses to plain trafilatura: "
        + ", ".join(f"{p.set_name}/{p.id} {f1s[p.id][0] - f1s[p.id][1]:+.2f}" for p in worst)
    )
    print()


# --- 2. real templates --------------------------------------------------------------------------

_INLINE = frozenset({"p", "span", "a", "b", "i", "em", "strong", "li", "font", "h2", "h3", "h4", "blockquote"})


def _squash(text: str) -> str:
    return " ".join(text.split())


def _segments(el: HtmlElement) -> Iterator[tuple[HtmlElement, str]]:
    """(element the text belongs to, text) for every text and tail node."""
    for node in el.iter():
        if not isinstance(node.tag, str):
            continue
        if node.text:
            yield node, node.text
        if node.tail and node.getparent() is not None:
            yield node.getparent(), node.tail


def main_element(root: HtmlElement, gold: str) -> HtmlElement | None:
    """The deepest element holding 80% of the page's gold words (text nodes found in the gold)."""
    gold_text = _squash(gold)
    hits: Counter[HtmlElement] = Counter()
    for owner, text in _segments(root):
        seg = _squash(text)
        if len(seg.split()) >= 3 and seg in gold_text:
            for el in (owner, *owner.iterancestors()):
                hits[el] += len(seg.split())
    total = hits.get(root, 0)
    if total < 0.5 * len(gold_text.split()):
        return None
    deepest = max((el for el, n in hits.items() if n >= 0.8 * total), key=lambda el: len(list(el.iterancestors())))
    while deepest.tag in _INLINE and deepest.getparent() is not None:
        deepest = deepest.getparent()
    return deepest


@dataclass(frozen=True, slots=True)
class Fill:
    headline: str
    paragraphs: tuple[str, ...]
    published: datetime  # naive wall-clock time in Morocco
    kind: str
    style: str = "jsonld"

    @property
    def published_aware(self) -> datetime:
        return self.published.replace(tzinfo=MOROCCO)

    @property
    def published_utc(self) -> datetime:
        return self.published_aware.astimezone(UTC)

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


def _first_clause(paragraph: str) -> str:
    cut = paragraph.find("،", 40)
    return paragraph[:cut] + "." if cut > 0 else paragraph


def make_fill(stories: Sequence[BaseStory], n: int) -> Fill:
    """Fill n: a two-line brief, one paragraph, a whole story or a long report (three stories)."""
    story = stories[n % len(stories)]
    kind = ("brief", "paragraph", "story", "report")[n % 4]
    paras = story.paragraphs
    if kind == "brief":
        paras = (_first_clause(paras[0]), _first_clause(paras[1]))
    elif kind == "paragraph":
        paras = paras[:1]
    elif kind == "report":
        paras = paras + stories[(n + 7) % len(stories)].paragraphs[1:] + stories[(n + 13) % len(stories)].paragraphs[1:]
    published = story.published_at + timedelta(minutes=n)
    return Fill(story.headline, tuple(paras), published, kind, STYLES[n % len(STYLES)])


def _set_meta(head: HtmlElement, key: str, value: str, attr: str = "property") -> None:
    for el in head.xpath(f"//meta[@property='{key}' or @name='{key}']"):
        el.getparent().remove(el)
    head.append(lxml.html.Element("meta", {attr: key, "content": value}))


def _jsonld(fill: Fill, url: str) -> str:
    node = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": fill.headline,
        "datePublished": fill.published_aware.isoformat(),
        "mainEntityOfPage": url,
    }
    return json.dumps(node, ensure_ascii=False)


def _retitle(root: HtmlElement, main: HtmlElement, headline: str) -> None:
    """Our headline in the page's own <h1> (outside the emptied element), else a new one on top of it."""
    outside = [h for h in root.iter("h1") if main not in h.iterancestors() and h is not main]
    for h1 in outside[:1]:
        for child in list(h1):
            h1.remove(child)
        h1.text = headline
    if not outside:
        h1 = lxml.html.Element("h1")
        h1.text = headline
        main.insert(0, h1)


def _fill_main(main: HtmlElement, fill: Fill) -> None:
    for child in list(main):
        main.remove(child)
    main.text = None
    for paragraph in fill.paragraphs:
        p = lxml.html.Element("p")
        p.text = paragraph
        main.append(p)


def _head_of(root: HtmlElement) -> HtmlElement:
    head = root.find("head")
    if head is None:
        head = lxml.html.Element("head")
        root.insert(0, head)
    return head


# the template's own article metadata: replaced by ours (a real outlet's page carries its own)
_STALE_META = frozenset(
    {
        *("og:title", "twitter:title", "og:description", "twitter:description", "description"),
        *("article:published_time", "article:modified_time", "og:updated_time", "og:published_time"),
        *("og:article:published_time", "og:modified_time", "article.published", "article.updated"),
        *("datepublished", "datemodified", "pubdate", "publishdate", "publish-date", "publish_date", "date"),
        *("dc.date", "dc.date.issued", "dcterms.created", "dcterms.date", "dcterms.modified"),
        *("sailthru.date", "parsely-pub-date", "last-modified", "lastmod"),
    }
)


def _reset_head(root: HtmlElement, fill: Fill, url: str) -> None:
    head = _head_of(root)
    for el in root.xpath(
        "//script[contains(@type,'ld+json')] | //meta[@charset or @http-equiv] | //link[@rel='canonical'] | //title"
    ):
        el.getparent().remove(el)
    for el in root.iter("meta"):
        if (el.get("property") or el.get("name") or el.get("itemprop") or "").lower() in _STALE_META:
            el.getparent().remove(el)
    head.insert(0, lxml.html.Element("meta", {"charset": "utf-8"}))
    title = lxml.html.Element("title")
    title.text = f"{fill.headline} | {urlsplit_host(url)}"
    head.append(title)
    head.append(lxml.html.Element("link", {"rel": "canonical", "href": url}))
    _set_meta(head, "og:url", url)
    _set_meta(head, "description", _first_clause(fill.paragraphs[0]), attr="name")
    if fill.style == "visible":
        return
    _set_meta(head, "og:title", fill.headline)
    _set_meta(head, "og:description", _first_clause(fill.paragraphs[0]))
    _set_meta(head, "article:published_time", fill.published_aware.isoformat())
    if fill.style == "jsonld":
        script = lxml.html.Element("script", {"type": "application/ld+json"})
        script.text = _jsonld(fill, url)
        head.append(script)


_NOT_OWN = frozenset({"a", "aside", "nav"})  # a date in a link or a sidebar is another article's
_DATE_MARKS = ("date", "time", "publi", "posted", "byline")
_AR_MONTHS = ("يناير", "فبراير", "مارس", "أبريل", "ماي", "يونيو", "يوليوز", "غشت", "شتنبر", "أكتوبر", "نونبر", "دجنبر")


def _shown(when: datetime) -> str:
    """A date as Moroccan outlets print it: "13 مارس 2025 - 17:00"."""
    return f"{when.day} {_AR_MONTHS[when.month - 1]} {when.year} - {when:%H:%M}"


def _date_slots(root: HtmlElement, main: HtmlElement, own: set[date]) -> list[HtmlElement]:
    """The template's elements showing its own article's dates (published or updated, to the day):
    <time>, or short date-marked text. Other dates (a sidebar's, a teaser's) stay the template's.
    A day either side counts: the page may show its date in another time zone than UTC."""
    if not own:
        return []
    slots: list[HtmlElement] = []
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag in ("script", "style") or el is main or main in el.iterancestors():
            continue
        if any(a.tag in _NOT_OWN for a in (el, *el.iterancestors())):
            continue
        marks = f"{el.get('class', '')} {el.get('id', '')}".lower()
        if el.tag != "time" and not any(m in marks for m in _DATE_MARKS):
            continue
        text = el.get("datetime") or el.text_content()
        if not 4 <= len(text) <= 160 or any(s in el.iterancestors() for s in slots):
            continue
        when = parse_text(text, UTC, FETCHED)
        if when is not None and {when.date() + timedelta(days=d) for d in (-1, 0, 1)} & own:
            slots.append(el)
    return slots


def _show_date(root: HtmlElement, main: HtmlElement, fill: Fill, own: set[date]) -> None:
    """Our date where the template showed its article's date; in none, a date line under the headline."""
    slots = _date_slots(root, main, own)
    for el in slots:
        for child in list(el):
            el.remove(child)
        el.text = _shown(fill.published)
        if el.tag == "time":
            el.set("datetime", fill.published_aware.isoformat())
    if not slots:
        span = lxml.html.Element("span", {"class": "post-date"})
        span.text = _shown(fill.published)
        h1 = next(root.iter("h1"), None)
        if h1 is not None:
            h1.addnext(span)
        else:
            main.addprevious(span)


def urlsplit_host(url: str) -> str:
    return url.split("/")[2]


def page_url(page: RealPage, n: int) -> str:
    """Fill n of the template, on the real page's own host (its links stay same-site)."""
    host = urlsplit_host(page.url) if page.url.startswith("http") else "example.com"
    return f"https://{host}/news/{page.id}-{n}.html"


def build(page: RealPage, fill: Fill, n: int) -> bytes | None:
    """The real page with our article in place of its own; None when its main content cannot be found."""
    root = lxml.html.document_fromstring(decode(page.html))
    main = main_element(root, page.gold)
    if main is None:
        return None
    url = page_url(page, n)
    own = {when.date() for when in find_dates(root, jsonld_nodes(root), tz=UTC, now=FETCHED) if when}
    _fill_main(main, fill)
    _retitle(root, main, fill.headline)  # after the filling, which would remove an <h1> put on top of it
    _show_date(root, main, fill, own)
    _reset_head(root, fill, url)
    if tuning_half(page) and root.get("lang"):  # half the templates declare Arabic, half keep theirs
        root.set("lang", "ar")
    return b"<!DOCTYPE html>\n" + lxml.html.tostring(root, encoding="utf-8")


@dataclass
class Outcome:
    template: str
    half: str
    kind: str
    result: Article | Rejection
    fill: Fill
    f1: float = 0.0
    leaked: int = 0


def run_template(page: RealPage, stories: Sequence[BaseStory], fills: int, offset: int) -> list[Outcome] | None:
    """Serve `fills` of our articles in one real template, as an outlet would, and extract them all."""
    made = []
    for n in range(fills):
        fill = make_fill(stories, offset + n)
        body = build(page, fill, n)
        url = page_url(page, n)
        if body is None:
            return None
        made.append((fill, fetched(url, body, f"{page.set_name}-{page.id}")))
    results = [extract(fp, languages=("ar", "fr")) for _, fp in made]
    recurring = RecurringLines()
    for result in results:
        if isinstance(result, Article):
            recurring.observe(result.source, result.text.split("\n"), page=result.url)
    settled = [settle(r, recurring) for r in results]
    return [score(page, fill, r) for (fill, _), r in zip(made, settled, strict=True)]


def score(page: RealPage, fill: Fill, result: Article | Rejection) -> Outcome:
    out = Outcome(f"{page.set_name}/{page.id}", half_name(page), fill.kind, result, fill)
    if isinstance(result, Article):
        out.f1 = token_prf(result.text, fill.text)[2]
        out.leaked = sum((Counter(tokens(result.text)) - Counter(tokens(fill.text))).values())
    return out


@dataclass
class Tally:
    outcomes: list[Outcome] = field(default_factory=list)

    def row(self, label: str) -> str:
        outs = self.outcomes
        stored = [o for o in outs if isinstance(o.result, Article)]
        empty = sum(not o.result.text.strip() for o in stored if isinstance(o.result, Article))
        f1s = [o.f1 for o in outs]  # a rejected page scores 0
        by_template: dict[str, list[float]] = {}
        for o in outs:
            by_template.setdefault(o.template, []).append(o.f1)
        worst_template = min(statistics.mean(v) for v in by_template.values())
        leaks = sum(o.leaked > 0 for o in stored)
        return (
            f"| {label} | {len(by_template)} | {len(outs)} | {len(stored) / len(outs):.1%} | {empty} "
            f"| {statistics.mean(f1s):.3f} | {worst_template:.3f} | {sum(f < 0.5 for f in f1s)} | {leaks} "
            f"| {_share(title_right, stored)} | {_share(minute_right, stored)} | {_share(day_right, stored)} |"
        )


def _share(right: Callable[[Outcome], bool], outs: Sequence[Outcome]) -> str:
    return f"{sum(right(o) for o in outs) / max(len(outs), 1):.1%}"


def title_right(o: Outcome) -> bool:
    """The stored title is the headline we inserted, whitespace aside."""
    return isinstance(o.result, Article) and _squash(o.result.title) == _squash(o.fill.headline)


def minute_right(o: Outcome) -> bool:
    """The stored publication time is the one we set, to the minute (both in UTC)."""
    got = o.result.published_at if isinstance(o.result, Article) else None
    return got is not None and got.replace(second=0, microsecond=0) == o.fill.published_utc


def day_right(o: Outcome) -> bool:
    """The stored publication day, in the outlet's time zone, is the day we set."""
    got = o.result.published_at if isinstance(o.result, Article) else None
    return got is not None and got.astimezone(MOROCCO).date() == o.fill.published.date()


def report_templates(pages: Sequence[RealPage], fills: int, worst: int) -> None:
    stories = base_stories()
    outcomes: list[Outcome] = []
    skipped = 0
    start = time.perf_counter()
    for i, page in enumerate(pages):
        got = run_template(page, stories, fills, offset=i)
        if got is None:
            skipped += 1
        else:
            outcomes += got
    seconds = time.perf_counter() - start
    print(f"### Real templates: our Arabic articles in real chrome ({fills} articles a template)\n")
    print(
        f"{len(pages) - skipped} templates ({skipped} skipped: main content not found), {len(outcomes)} pages, "
        f"{len(outcomes) / seconds:.0f} pages/s built and extracted\n"
    )
    print(
        "| half | templates | pages | stored | empty stored | mean F1 | worst template F1 | pages F1<0.5 "
        "| pages with chrome | titles | dates to the minute | dates to the day |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for half in ("tune", "check", "all"):
        chosen = [o for o in outcomes if half in ("all", o.half)]
        if chosen:
            print(Tally(chosen).row(half))
    print()
    _print_reasons(outcomes)
    _print_kinds(outcomes)
    _print_styles(outcomes)
    _print_worst(outcomes, worst)
    _print_worst_metadata(outcomes, worst)


def _print_reasons(outcomes: Sequence[Outcome]) -> None:
    reasons = Counter(o.result.reason for o in outcomes if isinstance(o.result, Rejection))
    print("rejected by reason: " + (", ".join(f"{r} {n}" for r, n in reasons.most_common()) or "none"))


def _print_kinds(outcomes: Sequence[Outcome]) -> None:
    parts = []
    for kind in ("brief", "paragraph", "story", "report"):
        chosen = [o for o in outcomes if o.kind == kind]
        if chosen:
            stored = sum(isinstance(o.result, Article) for o in chosen)
            parts.append(f"{kind} {stored}/{len(chosen)} stored, F1 {statistics.mean(o.f1 for o in chosen):.3f}")
    print("by length: " + "; ".join(parts))


def _print_styles(outcomes: Sequence[Outcome]) -> None:
    """Titles and dates by how the page gives them (STYLES), per half."""
    parts = []
    for style in STYLES:
        for half in ("tune", "check"):
            chosen = [o for o in outcomes if o.fill.style == style and o.half == half and isinstance(o.result, Article)]
            if chosen:
                parts.append(
                    f"{style} {half} {len(chosen)}: titles {_share(title_right, chosen)}, "
                    f"minute {_share(minute_right, chosen)}, day {_share(day_right, chosen)}"
                )
    print("by metadata style: " + "; ".join(parts))


def _print_worst_metadata(outcomes: Sequence[Outcome], worst: int) -> None:
    """The templates with the most wrong titles, then dates (to the minute), and what was stored."""
    for name, right, shown in (
        ("titles", title_right, lambda o: repr(o.result.title[:60]) if isinstance(o.result, Article) else "-"),
        ("dates", minute_right, lambda o: str(o.result.published_at) if isinstance(o.result, Article) else "-"),
    ):
        wrong: dict[str, list[Outcome]] = {}
        for o in outcomes:
            if isinstance(o.result, Article) and not right(o):
                wrong.setdefault(o.template, []).append(o)
        ranked = sorted(wrong.items(), key=lambda kv: -len(kv[1]))
        print(f"\n{sum(len(v) for v in wrong.values())} wrong {name} in {len(wrong)} templates; the worst {worst}:")
        for template, outs in ranked[:worst]:
            o = outs[0]
            want = o.fill.headline[:60] if name == "titles" else str(o.fill.published_utc)
            print(f"  {template} [{o.half}] {len(outs)} wrong; {o.fill.style}: stored {shown(o)}, set {want}"[:220])


def _print_worst(outcomes: Sequence[Outcome], worst: int) -> None:
    by_template: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_template.setdefault(o.template, []).append(o)
    ranked = sorted(by_template.items(), key=lambda kv: statistics.mean(o.f1 for o in kv[1]))
    below = sum(statistics.mean(o.f1 for o in outs) < 0.98 for _, outs in ranked)
    print(f"\n{below} templates below mean F1 0.98; the worst {min(worst, below)}, worst page of each:")
    for template, outs in [kv for kv in ranked if statistics.mean(o.f1 for o in kv[1]) < 0.98][:worst]:
        page = min(outs, key=lambda o: o.f1)
        what = (
            f"{page.result.reason}: {page.result.detail}"
            if isinstance(page.result, Rejection)
            else f"F1 {page.f1:.2f}, {page.leaked} extra tokens, method {page.result.method}"
        )
        print(
            f"  {template} [{page.half}] mean {statistics.mean(o.f1 for o in outs):.3f}; worst: {page.kind} {what}"[
                :220
            ]
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="pages per data set (default: all)")
    parser.add_argument("--fills", type=int, default=6, help="articles served in each template")
    parser.add_argument("--worst", type=int, default=25, help="worst templates printed")
    parser.add_argument("--skip-english", action="store_true")
    parser.add_argument("--skip-templates", action="store_true")
    args = parser.parse_args()
    pages = load(args.limit)
    if not pages:
        return 0
    if not args.skip_english:
        report_english(english_pages(pages))
    if not args.skip_templates:
        report_templates(pages, args.fills, args.worst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
