"""Chrome that survives extraction: generic UI lines, trailing related blocks, per-outlet recurring lines.

Three mechanisms, all pure:

* `is_ui_line(line)`: a line that is interface, not prose, on any outlet (image file names,
  unrendered shortcodes, bare counters, short widget labels in Arabic/French/English).
* `cut_trailing_block(lines)`: a "related articles" / comment-section heading in the last part of the
  text, and everything after it.
* `RecurringLines`: per outlet, the keys (`line_key`) of lines seen on many distinct pages of that outlet.
  A line seen on >= k pages is that outlet's boilerplate (a signature, a newsletter call, a
  disclaimer) and is stripped. The table is plain data (`to_rows` / `from_rows`) so the store can
  persist it; the crawl feeds it with `observe` after each article.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ingest.text import heading_kind, normalize

# --- (a) line-level UI patterns -------------------------------------------------------------------

# Camera/phone/CMS file names left as captions: FB_IMG_1747404458585, IMG_20250516_104512.jpg, DSC0042.
_FILE_NAME = re.compile(
    r"^(?:\S*(?:IMG|DSC|DSCF|PXL|VID|MVIMG)[_-]?\d[\w\-.]*|[\w\-. ]{1,80}\.(?:jpe?g|png|gif|webp|mp4|heic)"
    r"|(?:WhatsApp Image|Screenshot|Capture d.écran)[\w\-. ]*)$",
    re.I,
)
# An unrendered WordPress shortcode alone on its line: [gdgallery_gallery id_gallery="11"], [/caption].
_SHORTCODE = re.compile(r"^\[/?[a-z][\w-]*(?:\s[^\]]*)?\]$", re.I)
# Generic widget vocabulary: a SHORT line made only of these (plus punctuation) is a label.
_UI_WORDS_RAW = (
    # Arabic
    "شارك",
    "شاركوا",
    "المقال",
    "مشاركه",
    "تم",
    "النسخ",
    "نسخ",
    "الرابط",
    "اترك",
    "تعليقا",
    "تعليق",
    "تعليقات",
    "التعليقات",
    "التعليق",
    "اضف",
    "تعليقك",
    "اكتب",
    "طباعه",
    "اطبع",
    "الخط",
    "حجم",
    "تكبير",
    "تصغير",
    "استمع",
    "للمقال",
    "المقال",
    "اقرا",
    "المزيد",
    "ايضا",
    "تابعونا",
    "تابعوا",
    "على",
    "عبر",
    "فيسبوك",
    "تويتر",
    "واتساب",
    "اشترك",
    "النشره",
    "البريديه",
    "ارسال",
    "اغلاق",
    "الاعلان",
    "اعلان",
    "اعلانات",
    "مشاهده",
    "مشاهدات",
    "قراءه",
    "دقائق",
    "دقيقه",
    "للقراءه",
    "الرئيسيه",
    "بعد",
    "لا",
    "يوجد",
    "نشر",
    "في",
    "من",
    "عدد",
    "الاحرف",
    "المتبقيه",
    "حفظ",
    "الصوره",
    "صوره",
    "فيديو",
    "ارشيف",
    "التالي",
    "السابق",
    "رد",
    "الغاء",
    # French
    "partager",
    "partagez",
    "cet",
    "article",
    "imprimer",
    "commenter",
    "commentaire",
    "commentaires",
    "laisser",
    "un",
    "une",
    "réagir",
    "lire",
    "aussi",
    "la",
    "suite",
    "écouter",
    "police",
    "taille",
    "copier",
    "le",
    "lien",
    "copié",
    "publicité",
    "fermer",
    "abonnez",
    "vous",
    "newsletter",
    "suivez",
    "nous",
    "sur",
    "min",
    "de",
    "lecture",
    "vues",
    "accueil",
    "retour",
    "haut",
    "page",
    "répondre",
    "annuler",
    # English
    "share",
    "this",
    "print",
    "comment",
    "comments",
    "leave",
    "a",
    "reply",
    "listen",
    "to",
    "font",
    "size",
    "copy",
    "link",
    "copied",
    "exit",
    "mobile",
    "version",
    "advertisement",
    "close",
    "subscribe",
    "follow",
    "us",
    "on",
    "read",
    "more",
    "also",
    "views",
    "min",
    "back",
    "top",
    "home",
    "cancel",
    # widget glyphs and platform names seen as labels
    "a-",
    "a+",
    "facebook",
    "twitter",
    "x",
    "whatsapp",
    "telegram",
    "linkedin",
    "email",
    "e-mail",
)
_UI_WORDS = frozenset(normalize(w) for w in _UI_WORDS_RAW) | {"a-", "a+"}
_UI_MAX_WORDS = 6
# Full-sentence UI notices that are longer than a label but never prose.
_UI_SENTENCES = re.compile(
    r"لن يتم نشر عنوان بريدك|الحقول الإلزامية مشار إليها|يجب عليك تسجيل الدخول|"
    r"votre adresse (?:e-)?mail ne sera pas publiée|les champs obligatoires sont indiqués|"
    r"your email address will not be published|required fields are marked|"
    r"(?:this|ce) (?:site|website) uses cookies|utilise des cookies|"
    r"نستخدم (?:ملفات )?(?:تعريف الارتباط|الكوكيز)|"
    r"جرب ميزات الذكاء الاصطناعي|اكتشف ما يمكن أن يفعله|عدد الأحرف المتبقية|"
    r"جميع الحقوق محفوظة|all rights reserved|tous droits réservés",
    re.I,
)
_LABEL_TOKENS = re.compile(r"[a-z]\s?[-+]|[\w\u0600-\u06ff]+", re.I)


def _is_label(line: str) -> bool:
    """A short line whose every word is widget vocabulary or a number ("شارك المقال", "تعليقات ( 0 )")."""
    if len(line) > 80:  # labels are short; skip tokenising paragraphs
        return False
    raw = [t.replace(" ", "").lower() for t in _LABEL_TOKENS.findall(line)]
    if not raw or len(raw) > _UI_MAX_WORDS:
        return False
    return all(t in _UI_WORDS or normalize(t) in _UI_WORDS or t.isdigit() for t in raw)


# An inline cross-link inside the body: "اقرأ أيضا: <another headline>", "Lire aussi : ...".
_READ_ALSO = re.compile(
    r"^(?:اقرأ|إقرأ|اقرا|إقرا)\s+(?:أيضا|أيضاً|ايضا|كذلك)|"
    r"^(?:à |a )?lire aussi|^(?:read|see) also|^voir aussi",
    re.I,
)
_READ_ALSO_MAX_WORDS = 30


def is_ui_line(line: str) -> bool:
    """True for a line that is interface, not article prose."""
    stripped = line.strip(" \t•·|-–—*:")
    if not stripped:
        return False
    if _FILE_NAME.match(stripped) or _SHORTCODE.match(stripped):
        return True
    if _READ_ALSO.match(stripped) and len(stripped.split()) <= _READ_ALSO_MAX_WORDS:
        return True
    if _UI_SENTENCES.search(stripped):
        return len(stripped.split()) <= 30
    return _is_label(stripped)


# --- (c) trailing related / comment blocks ----------------------------------------------------------

# The headings are `ingest.text.heading_kind`'s (one vocabulary with dedup's). A related or
# comments heading is cut wherever it comes after some body text; a "read also" heading only late.
_MIN_BODY_WORDS = 40  # an end heading needs this much article before it (else it is page chrome on top)
_LATE_ZONE = 0.4  # share of the text's words a "read also" heading must come after


def cut_trailing_block(lines: Sequence[str]) -> list[str]:
    """Drop a related-articles or comments heading after the body, and everything that follows it."""
    total = sum(len(line.split()) for line in lines) or 1
    words_seen = 0
    for i, line in enumerate(lines):
        kind = heading_kind(line)
        if kind == "block" and words_seen >= _MIN_BODY_WORDS:
            return list(lines[:i])
        if kind == "read-also" and words_seen / total >= _LATE_ZONE:
            return list(lines[:i])
        words_seen += len(line.split())
    return list(lines)


def clean_lines(lines: Iterable[str]) -> list[str]:
    """Generic clean-up: UI lines out, trailing related/comment block out, blank lines collapsed."""
    # Cut first: the end headings are also UI lines, and dropping them would hide where the body ends.
    kept = cut_trailing_block([line.strip() for line in lines if line.strip()])
    return [line for line in kept if not is_ui_line(line)]


# --- (b) per-outlet recurring lines ---------------------------------------------------------------

_DATELINE = re.compile(r"^[\w\u0600-\u06ff .]{2,30}\s*[-–—:/]\s*[\w\u0600-\u06ff .()]{0,30}$")


def is_dateline(line: str) -> bool:
    """'الرباط- متابعة', 'الرباط – و م ع', 'Casablanca - MAP': an article's lead, recurring by nature."""
    return len(line.split()) <= 6 and _DATELINE.match(line.strip()) is not None


def line_key(line: str) -> int | None:
    """64-bit hash of a line's normalised form (its key in `RecurringLines`); None for lines with no words."""
    norm = normalize(line)
    if not norm:
        return None
    return int.from_bytes(hashlib.blake2b(norm.encode(), digest_size=8).digest(), "big", signed=True)


_RESTORED = 1 << 40  # placeholder page keys for restored rows: outside both real key spaces


def _page_key(page: str) -> int:
    return int.from_bytes(hashlib.blake2b(page.encode(), digest_size=4).digest(), "big")


@dataclass
class RecurringLines:
    """Per-outlet table: line key -> the distinct pages (up to `long_k`) it was seen on.

    `k`: pages needed before a line of up to `long_words` words counts as boilerplate; a longer one
    needs `long_k`. `max_words`: longer lines are never stripped. An outlet reuses its background
    paragraphs and republishes a lead under several URLs, and those are prose: on the ANT corpus
    (30,179 articles of 5 outlets, observed in publication order), k = 5 stripped 41 distinct lines of
    more than 15 words: the 37 seen on fewer than 10 pages were sentences of articles but one (a CNN
    byline note): background paragraphs, and leads of other CNN stories that its texts carry as
    related-story teasers (a crawl drops those as link lines before this pass). The 4 seen on more
    were chrome (BBC's app notice in two wordings on 451 and 412 pages, CNN's disclaimers on 23 and
    20), of 18-21 words: no chrome line there runs past 21 words, hence `max_words`.
    `max_entries`: per-outlet cap; lines seen on a single page are forgotten first.
    """

    k: int = 5
    long_k: int = 10
    long_words: int = 15
    max_words: int = 25
    max_entries: int = 200_000
    tables: dict[str, dict[int, tuple[int, ...]]] = field(default_factory=dict)
    _counter: int = 0

    @property
    def kept_pages(self) -> int:
        """Page keys kept per line: as many as the longest lines need."""
        return max(self.k, self.long_k)

    def observe(self, source: str, lines: Iterable[str], page: str | None = None) -> None:
        """Record the lines of one page of `source`. The same `page` observed twice counts once."""
        self._counter += 1
        key = _page_key(page) if page is not None else -self._counter
        table = self.tables.setdefault(source, {})
        for line_hash in {h for line in lines if (h := line_key(line)) is not None}:
            pages = table.get(line_hash, ())
            if len(pages) < self.kept_pages and key not in pages:
                table[line_hash] = (*pages, key)
        if len(table) > self.max_entries:
            self._prune(table)

    def _prune(self, table: dict[int, tuple[int, ...]]) -> None:
        for fp in [fp for fp, pages in table.items() if len(pages) == 1]:
            del table[fp]

    def is_boilerplate(self, source: str, line: str) -> bool:
        words = len(line.split())
        if words > self.max_words:
            return False
        line_hash = line_key(line)
        needed = self.k if words <= self.long_words else self.long_k
        return line_hash is not None and len(self.tables.get(source, {}).get(line_hash, ())) >= needed

    def strip(self, source: str, text: str) -> str:
        """`text` without the lines of `source`'s boilerplate (`is_boilerplate`; a leading dateline stays)."""
        if not self.tables.get(source):
            return text
        lines = text.split("\n")
        kept = [
            line
            for i, line in enumerate(lines)
            if not self.is_boilerplate(source, line) or (i == 0 and is_dateline(line))
        ]
        return "\n".join(kept)

    def to_rows(self) -> Iterator[tuple[str, int, int]]:
        """(source, fingerprint, pages seen) rows for the store; page keys matter only below k."""
        for source, table in self.tables.items():
            for fp, pages in table.items():
                yield source, fp, len(pages)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, int, int]], **fields: Any) -> RecurringLines:
        """Rebuild from `to_rows` (`fields`: the table's settings, the defaults if none); counts stand
        in for page keys (distinct, so they still add up)."""
        table = cls(**fields)
        for source, fp, count in rows:
            kept = range(min(count, table.kept_pages))
            table.tables.setdefault(source, {})[fp] = tuple(_RESTORED + i for i in kept)
        return table
