"""Publication dates from news pages: structured metadata first, then the visible Arabic/French text.

Every function here is pure. Naive times are read in the outlet's time zone (Africa/Casablanca by
default, whose offset moves around Ramadan, hence zoneinfo and never a fixed +01:00) and every
result is an aware UTC datetime.

Why not htmldate alone: on Arabic pages it does not know Moroccan/Mashriq/Maghreb month names nor
Arabic-Indic digits, and its "original date" guess often lands on the listing dates of sidebars.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

from lxml.html import HtmlElement

from ingest.extract.html import headline_link, meta_map, spaced_text
from ingest.text import DIGITS, fold_light

DEFAULT_TZ = "Africa/Casablanca"
_MIN_YEAR = 1995  # the Moroccan online press starts around here; older "dates" are noise

_MONTHS_RAW: dict[int, tuple[str, ...]] = {
    1: ("يناير", "كانون الثاني", "جانفي", "janvier", "janv", "january", "jan"),
    2: ("فبراير", "شباط", "فيفري", "février", "fevrier", "févr", "fevr", "february", "feb"),
    3: ("مارس", "آذار", "mars", "march", "mar"),
    4: ("أبريل", "ابريل", "نيسان", "أفريل", "افريل", "avril", "avr", "april", "apr"),
    5: ("ماي", "مايو", "أيار", "mai", "may"),
    6: ("يونيو", "يونيه", "حزيران", "جوان", "juin", "june", "jun"),
    7: ("يوليوز", "يوليو", "تموز", "جويلية", "juillet", "juil", "july", "jul"),
    8: ("غشت", "أغسطس", "اغسطس", "آب", "أوت", "اوت", "août", "aout", "august", "aug"),
    9: ("شتنبر", "سبتمبر", "أيلول", "septembre", "sept", "september", "sep"),
    10: ("أكتوبر", "اكتوبر", "تشرين الأول", "octobre", "oct", "october"),
    11: ("نونبر", "نوفمبر", "تشرين الثاني", "novembre", "nov", "november"),
    12: ("دجنبر", "ديسمبر", "كانون الأول", "décembre", "decembre", "déc", "dec", "december"),
}
MONTHS: dict[str, int] = {fold_light(name): num for num, names in _MONTHS_RAW.items() for name in names}
# Longest first, so "كانون الثاني" wins over a shorter prefix and "juillet" over "juil".
_MONTH_ALT = "|".join(re.escape(m) for m in sorted(MONTHS, key=len, reverse=True))

_TIME = (
    r"\s*(?:[-–—|,،/t]\s*)?(?:(?:علي\s+)?الساعه\s*|في\s+|à\s+|a\s+|at\s+)?"
    r"(?P<hour>\d{1,2})\s*[:h]\s*(?P<minute>\d{2})?(?::(?P<second>\d{2}))?"
    r"\s*(?P<ampm>صباحا|صباح|ص|مساءا|مساء|م|ليلا|ظهرا|am|pm|a\.m\.|p\.m\.)?(?![\w])"
)
_DAY_FIRST = re.compile(
    rf"(?<!\d)(?P<day>\d{{1,2}})(?:er|ère)?\s*(?:من\s+)?(?:شهر\s+)?(?P<month>{_MONTH_ALT})\.?"
    rf"(?:\s*[/(]\s*(?:{_MONTH_ALT})\s*\)?)?\s*[,،]?\s*(?P<year>\d{{4}})(?!\d)(?:{_TIME})?",
)
_MONTH_FIRST = re.compile(  # English style, "May 16, 2025 10:45 am"
    rf"(?<![\w])(?P<month>{_MONTH_ALT})\.?\s+(?P<day>\d{{1,2}}),?\s+(?P<year>\d{{4}})(?!\d)(?:{_TIME})?",
)
_NUMERIC_DMY = re.compile(
    rf"(?<!\d)(?P<day>\d{{1,2}})\s*[/.\-]\s*(?P<month>\d{{1,2}})\s*[/.\-]\s*(?P<year>\d{{4}})(?!\d)(?:{_TIME})?",
)
_NUMERIC_YMD = re.compile(
    rf"(?<!\d)(?P<year>\d{{4}})\s*[/.\-]\s*(?P<month>\d{{1,2}})\s*[/.\-]\s*(?P<day>\d{{1,2}})(?!\d)(?:{_TIME})?",
)
_TEXT_PATTERNS = (_DAY_FIRST, _NUMERIC_DMY, _NUMERIC_YMD, _MONTH_FIRST)

# Relative forms. Arabic has a dual ("ساعتين" = two hours) and bare singulars ("منذ ساعة").
_AR_UNITS: tuple[tuple[str, str, str, str], ...] = (
    # (singular, dual, plural, unit)
    ("ثانيه", "ثانيتين", "ثوان|ثواني", "seconds"),
    ("دقيقه", "دقيقتين", "دقائق|دقايق", "minutes"),
    ("ساعه", "ساعتين", "ساعات", "hours"),
    ("يوم", "يومين", "ايام", "days"),
    ("اسبوع", "اسبوعين", "اسابيع", "weeks"),
    ("شهر", "شهرين", "اشهر|شهور", "months"),
)
_AR_REL = re.compile(r"(?:منذ|قبل)\s+(?:(?P<n>\d+)\s+)?(?P<unit>[\u0621-\u064a]+)(?:\s+واحده?)?")
_FR_EN_REL = re.compile(
    r"(?:il y a|depuis)\s+(?P<n>\d+|une?|quelques)\s+(?P<unit>[a-zé]+)|"
    r"(?P<n2>\d+|an?|one)\s+(?P<unit2>[a-z]+)\s+ago",
)
_LATIN_UNITS = {
    "sec": "seconds",
    "second": "seconds",
    "seconde": "seconds",
    "min": "minutes",
    "minute": "minutes",
    "mn": "minutes",
    "h": "hours",
    "heure": "hours",
    "hour": "hours",
    "hr": "hours",
    "jour": "days",
    "day": "days",
    "semaine": "weeks",
    "week": "weeks",
    "mois": "months",
    "month": "months",
}


def zone(tz: str | tzinfo | None) -> tzinfo:
    if tz is None:
        return ZoneInfo(DEFAULT_TZ)
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def to_utc(dt: datetime, tz: str | tzinfo | None = DEFAULT_TZ) -> datetime:
    """Aware UTC datetime; a naive `dt` is a wall-clock time in `tz`."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone(tz))
    return dt.astimezone(UTC)


def _plausible(dt: datetime, now: datetime | None) -> datetime | None:
    if dt.year < _MIN_YEAR:
        return None
    # A page may be a few hours "ahead" because of a wrong offset, not days.
    if now is not None and dt > to_utc(now, UTC) + timedelta(days=1):
        return None
    return dt


def parse_iso(value: str, tz: str | tzinfo | None = DEFAULT_TZ, now: datetime | None = None) -> datetime | None:
    """ISO 8601 (with or without offset), RFC 2822, or one of the visible-text forms."""
    value = value.strip().translate(DIGITS)  # no lower-casing: fromisoformat wants "T" and "Z"
    if not value:
        return None
    dt: datetime | None = None
    try:
        dt = datetime.fromisoformat(value.replace(" ", "T", 1) if re.match(r"\d{4}-\d\d-\d\d \d", value) else value)
    except ValueError:
        try:
            dt = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return parse_text(value, tz, now)
    return _plausible(to_utc(dt, tz), now)


def _hour24(hour: int, ampm: str | None) -> int:
    if not ampm:
        return hour
    evening = ampm in ("مساءا", "مساء", "م", "ليلا", "pm", "p.m.") or (ampm == "ظهرا" and hour < 6)
    if evening and hour < 12:
        return hour + 12
    if not evening and hour == 12:
        return 0
    return hour


def _from_match(m: re.Match[str], tz: str | tzinfo | None) -> datetime | None:
    g = m.groupdict()
    month_raw = g["month"]
    month = int(month_raw) if month_raw.isdigit() else MONTHS.get(month_raw.rstrip("."), 0)
    hour = int(g["hour"]) if g.get("hour") else 0
    minute = int(g["minute"]) if g.get("minute") else 0
    second = int(g["second"]) if g.get("second") else 0
    try:
        naive = datetime(int(g["year"]), month, int(g["day"]), _hour24(hour, g.get("ampm")), minute, second)
    except ValueError:  # 31/02, 25:00, a phone number...
        return None
    return to_utc(naive, tz)


def parse_text(text: str, tz: str | tzinfo | None = DEFAULT_TZ, now: datetime | None = None) -> datetime | None:
    """The first absolute date (and time, if any) written in `text`, else a relative one ("منذ ساعتين")."""
    folded = fold_light(text)
    found = [(m.start(), m) for p in _TEXT_PATTERNS for m in p.finditer(folded)]
    for _, m in sorted(found, key=lambda pair: pair[0]):
        dt = _from_match(m, tz)
        if dt is not None and _plausible(dt, now):
            return dt
    return parse_relative(folded, now) if now is not None else None


def _ar_delta(n: str | None, unit: str) -> timedelta | None:
    for singular, dual, plural, kind in _AR_UNITS:
        if unit == dual:
            return timedelta(**{_kind(kind): 2 * _scale(kind)})
        if unit == singular or re.fullmatch(plural, unit):
            count = int(n) if n else 1
            return timedelta(**{_kind(kind): count * _scale(kind)})
    return None


def _kind(kind: str) -> str:
    return "days" if kind == "months" else kind


def _scale(kind: str) -> int:
    return 30 if kind == "months" else 1  # a month is only ever approximate in "منذ شهرين"


def _latin_delta(n: str, unit: str) -> timedelta | None:
    count = int(n) if n.isdigit() else (3 if n == "quelques" else 1)
    base = unit.rstrip("s")
    kind = _LATIN_UNITS.get(base) or _LATIN_UNITS.get(base[:3])
    if kind is None:
        return None
    return timedelta(**{_kind(kind): count * _scale(kind)})


def parse_relative(text: str, now: datetime | None) -> datetime | None:
    """'منذ 16 دقائق', 'منذ ساعتين', 'il y a 2 heures', '3 days ago': `now` minus that, in UTC."""
    if now is None:
        return None
    folded = fold_light(text)
    delta: timedelta | None = None
    if m := _AR_REL.search(folded):
        delta = _ar_delta(m["n"], m["unit"])
    if delta is None and (m := _FR_EN_REL.search(folded)):
        delta = _latin_delta(m["n"] or m["n2"], m["unit"] or m["unit2"])
    return None if delta is None else to_utc(now, UTC) - delta


# --- structured sources -------------------------------------------------------------------------

_PUBLISHED_META = (
    "article:published_time",
    "og:published_time",
    "og:article:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "article.published",
    "dc.date.issued",
    "dc.date",
    "dcterms.created",
    "dcterms.date",
    "date",
    "sailthru.date",
    "parsely-pub-date",
    "article_date_original",
    "cxenseparse:recs:publishtime",
)
_UPDATED_META = (
    "article:modified_time",
    "og:updated_time",
    "og:modified_time",
    "datemodified",
    "dcterms.modified",
    "last-modified",
    "lastmod",
    "article.updated",
)


def _jsonld_value(nodes: Iterable[Mapping[str, Any]], key: str) -> str | None:
    for node in nodes:
        value = node.get(key)
        if isinstance(value, list) and value:
            value = value[0]
        if isinstance(value, str) and value.strip():
            return value
    return None


def _first_meta(
    meta: Mapping[str, str], keys: Sequence[str], tz: str | tzinfo | None, now: datetime | None
) -> datetime | None:
    for key in keys:
        if key in meta and (dt := parse_iso(meta[key], tz, now)):
            return dt
    return None


_TEASER_LEVELS = 5  # a teaser card wraps its date and its headline link within a few levels
_TEASER_LINK_WORDS = 4  # a link this long is another article's headline, not a byline or a tag
_TEASER_MAX_WORDS = 50  # a card: a headline, a date, a line of excerpt; an article's byline area holds more


def in_teaser(el: HtmlElement) -> bool:
    """The date element `el` is another article's teaser card: it or one of its first ancestors, of at
    most 50 words and holding no <h1>, holds a headline link (`html.headline_link`, 4+ words).
    Measured on bench/extract_real.py's tuning half: a template listing "related" cards whose <time>
    elements gave their date to the page (wcxb/0034, 10 cards before the article's own date, written
    as text)."""
    own_words = len(spaced_text(el).split())
    for level, ancestor in enumerate((el, *el.iterancestors())):
        if level >= _TEASER_LEVELS or ancestor.tag in ("body", "html") or next(ancestor.iter("h1"), None) is not None:
            return False
        if len(spaced_text(ancestor).split()) > _TEASER_MAX_WORDS:
            return False
        for link in ancestor.iter("a"):
            inside = link in el.iterancestors()  # a card that is one link counts the date's words too
            if headline_link(link, _TEASER_LINK_WORDS + (own_words if inside else 0)):
                return True
    return False


def _time_elements(
    tree: HtmlElement, tz: str | tzinfo | None, now: datetime | None
) -> tuple[datetime | None, datetime | None]:
    published = updated = None
    for el in tree.iter("time"):
        if in_teaser(el):
            continue
        raw = el.get("datetime")
        dt = parse_iso(raw, tz, now) if raw else parse_text(spaced_text(el), tz, now)
        if dt is None:
            continue
        marks = " ".join(filter(None, (el.get("class"), el.get("itemprop")))).lower()
        if "modif" in marks or "updat" in marks:
            updated = updated or dt
        elif published is None:
            published = dt
    return published, updated


_DATE_CLASS = re.compile(r"date|time|publi|posted|meta|byline|تاريخ", re.I)
_UPDATED_WORDS = re.compile(r"تحديث|تم التحديث|mis à jour|mise à jour|modifié|updated", re.I)


def _visible_candidates(tree: HtmlElement) -> Iterable[str]:
    """Short texts of date-looking elements (class/id mention date/time), then the headline's area."""
    for el in tree.iter():
        if not isinstance(el.tag, str) or el.tag in ("script", "style", "time"):
            continue
        marks = f"{el.get('class', '')} {el.get('id', '')}"
        if _DATE_CLASS.search(marks):
            text = spaced_text(el)
            if 4 <= len(text) <= 160 and not in_teaser(el):
                yield text
    for h1 in tree.iter("h1"):
        parent = h1.getparent()
        if parent is not None:
            yield spaced_text(parent)[:600]
        break


def _visible(
    tree: HtmlElement, tz: str | tzinfo | None, now: datetime | None
) -> tuple[datetime | None, datetime | None]:
    published = updated = None
    for text in _visible_candidates(tree):
        dt = parse_text(text, tz, now)
        if dt is None:
            continue
        if _UPDATED_WORDS.search(text) and published is not None:
            updated = updated or dt
        elif published is None:
            published = dt
        if published and updated:
            break
    return published, updated


_NEAR_LEVELS = 4  # ancestors of the headline's <h1> searched for its date (a header, a byline row)


def _headline_h1(tree: HtmlElement, headline: str) -> HtmlElement | None:
    want = " ".join(headline.split())
    return next((h for h in tree.iter("h1") if want and " ".join(h.text_content().split()) == want), None)


def _date_elements(scope: HtmlElement) -> Iterable[HtmlElement]:
    for el in scope.iter():
        if not isinstance(el.tag, str) or el.tag in ("script", "style", "h1"):
            continue
        if el.tag == "time" or _DATE_CLASS.search(f"{el.get('class', '')} {el.get('id', '')}"):
            yield el


def _updated_label(el: HtmlElement, text: str) -> bool:
    """An "updated" stamp: so marked, or its text says so before its first digit."""
    marks = " ".join(filter(None, (el.get("class"), el.get("itemprop")))).lower()
    said, digit = _UPDATED_WORDS.search(text), re.search(r"\d", text)
    if "modif" in marks or "updat" in marks:
        return True
    return said is not None and (digit is None or said.start() < digit.start())


def _near_headline(tree: HtmlElement, headline: str, tz: str | tzinfo | None, now: datetime | None) -> datetime | None:
    """The first date (a <time> or a date-marked element) in the smallest block around the article's
    own <h1>, up to 4 levels up: the page's date sits by its headline, while <time> elements elsewhere
    date comments, teasers and a header's "today" widget. Measured on bench/extract_real.py's tuning
    half (pages whose date is only visible), with the teaser rule: 48 of 774 dates wrong to the minute -> 18."""
    h1 = _headline_h1(tree, headline)
    if h1 is None:
        return None
    wrappers = set(h1.iterancestors())  # a "meta-wrap" holding the headline reads the headline's own dates first
    for level, scope in enumerate(h1.iterancestors()):
        if level >= _NEAR_LEVELS or scope.tag in ("body", "html"):
            return None
        for el in _date_elements(scope):
            if el in wrappers:
                continue
            text = spaced_text(el)
            raw = el.get("datetime") if el.tag == "time" else None
            if (raw or 4 <= len(text) <= 160) and not _updated_label(el, text) and not in_teaser(el):
                dt = parse_iso(raw, tz, now) if raw else parse_text(text, tz, now)
                if dt is not None:
                    return dt
    return None


def find_dates(
    tree: HtmlElement,
    jsonld: Sequence[Mapping[str, Any]] = (),
    *,
    tz: str | tzinfo | None = DEFAULT_TZ,
    now: datetime | None = None,
    headline: str = "",
) -> tuple[datetime | None, datetime | None]:
    """(published, updated) in UTC: JSON-LD > meta tags > a date by the `headline`'s <h1> > <time>
    > visible text near the headline."""
    tzi = zone(tz)
    meta = meta_map(tree)
    raw_pub = _jsonld_value(jsonld, "datePublished") or _jsonld_value(jsonld, "dateCreated")
    published = parse_iso(raw_pub, tzi, now) if raw_pub else None
    raw_mod = _jsonld_value(jsonld, "dateModified")
    updated = parse_iso(raw_mod, tzi, now) if raw_mod else None
    published = published or _first_meta(meta, _PUBLISHED_META, tzi, now)
    updated = updated or _first_meta(meta, _UPDATED_META, tzi, now)
    published = published or _near_headline(tree, headline, tzi, now)
    if published is None:
        t_pub, t_upd = _time_elements(tree, tzi, now)
        published, updated = t_pub, updated or t_upd
    if published is None:
        v_pub, v_upd = _visible(tree, tzi, now)
        published, updated = v_pub, updated or v_upd
    if published is not None and updated is not None and updated < published:
        updated = None  # a "modified" before the publication is a template default
    return published, updated


_DAY_NAMES = re.compile(
    r"الاثنين|الإثنين|الثلاثاء|الأربعاء|الاربعاء|الخميس|الجمعة|السبت|الأحد|الاحد|"
    r"lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|wednesday|thursday|friday|saturday|sunday",
)
_DATE_WORDS = re.compile(
    r"نشر في|نشر|تاريخ النشر|اخر تحديث|تحديث|بتاريخ|يوم|"
    r"publié le|publié|mis à jour le|mis à jour|le|published|updated|on|at|à"
)


def is_date_line(line: str, tz: str | tzinfo | None = DEFAULT_TZ) -> bool:
    """A short line that is only a date/time stamp ("الخميس ١٥ ماي ٢٠٢٥ - ٠٩:٣٠ صباحا"), not prose."""
    if len(line.split()) > 12:
        return False
    folded = fold_light(line)
    spans = [m.span() for p in _TEXT_PATTERNS for m in p.finditer(folded)]
    if not spans:
        return (
            bool(re.fullmatch(r"\W*(?:منذ|قبل|il y a)\s+\S+(?:\s+\S+){0,2}\W*", folded))
            and parse_relative(folded, datetime.now(UTC)) is not None
        )
    start, end = min(s for s, _ in spans), max(e for _, e in spans)
    rest = folded[:start] + " " + folded[end:]
    rest = _DATE_WORDS.sub(" ", _DAY_NAMES.sub(" ", rest))
    return len(re.findall(r"\w+", rest)) <= 1
