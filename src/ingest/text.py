"""Arabic-aware text normalisation: one function, used by dedup, search and extraction scoring.

Two spellings of the same word must normalise to the same string: outlets differ in hamza
seating (أ/إ/آ/ا), final yaa (ى/ي), taa marbuta (ة/ه), diacritics, tatweel, and digits
(Arabic-Indic, Persian, Latin). Punctuation of both scripts becomes a word break.
"""

from __future__ import annotations

import re
import unicodedata

# Arabic-Indic and extended (Persian) Arabic-Indic digits as ASCII digits.
DIGITS: dict[int, str] = {0x0660 + i: str(i) for i in range(10)} | {0x06F0 + i: str(i) for i in range(10)}

_TRANSLATE: dict[int, str | None] = {}
# Diacritics (harakat, tanwin, shadda, sukun, dagger alef, Quranic marks) and tatweel vanish.
for cp in [*range(0x0610, 0x061B), *range(0x064B, 0x0660), 0x0670, *range(0x06D6, 0x06EE), 0x0640]:
    _TRANSLATE[cp] = None
# Alef and hamza seats fold to their base letter.
for ch in "أإآٱٲٳٵ":
    _TRANSLATE[ord(ch)] = "ا"
_TRANSLATE[ord("ى")] = "ي"
_TRANSLATE[ord("ئ")] = "ي"
_TRANSLATE[ord("ؤ")] = "و"
_TRANSLATE[ord("ة")] = "ه"
_TRANSLATE[ord("ء")] = None
# Persian/Urdu letter forms common in copy-pasted text.
_TRANSLATE[ord("ی")] = "ي"
_TRANSLATE[ord("ک")] = "ك"
_TRANSLATE.update(DIGITS)
# Zero-width characters and bidi marks split or glue words invisibly.
for cp in (
    0x200B,
    0x200C,
    0x200D,
    0x200E,
    0x200F,
    0x202A,
    0x202B,
    0x202C,
    0x202D,
    0x202E,
    0x2066,
    0x2067,
    0x2068,
    0x2069,
    0xFEFF,
    0x00AD,
):
    _TRANSLATE[cp] = None

_NON_WORD = re.compile(r"[^\w]+|_+")

# The light folding that date parsing reads visible text with: the same letters and digits, but
# punctuation, hamza on its own and ئ/ؤ kept (the am/pm words "مساء" and "صباحا" are matched as
# written) and a no-break space read as a space, so a date's separators survive.
_LIGHT: dict[int, str | None] = {ord(c): "ا" for c in "أإآٱ"}
_LIGHT.update({ord("ى"): "ي", ord("ة"): "ه", ord("ـ"): None})
_LIGHT.update({cp: None for cp in range(0x064B, 0x0653)})
_LIGHT.update(DIGITS)
_LIGHT.update({cp: None for cp in (0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x061C)})
_LIGHT[0x00A0] = " "


def normalize(text: str) -> str:
    """Fold `text` to its search/dedup form: lower-case words separated by single spaces.

    >>> normalize("إِنَّ الأمنَ الوطنيّ ـــ ٢٠٢٥")
    'ان الامن الوطني 2025'
    """
    # Folding never joins or splits across whitespace (no whitespace character is deleted, and
    # NFKC, lower-casing and the final-sigma rule see no further than a whitespace break), so the
    # text is folded chunk by chunk, and chunks (words, mostly) repeat: a dict makes most of them
    # one lookup. ~8x faster than folding the whole text on a 3 KB article; a test pins equality.
    # Chunks of punctuation fold to "" and are dropped; map and filter keep the loop in C.
    return " ".join(filter(None, map(_FOLDED.__getitem__, text.split())))


class _FoldCache(dict[str, str]):
    """Whitespace-free chunk -> its folded words joined by single spaces ("" if none)."""

    max_size = 1 << 17  # ~25 MB at worst; cleared wholesale, an LRU costs more than it saves

    def __missing__(self, chunk: str) -> str:
        if len(self) >= self.max_size:
            self.clear()
        folded = self[chunk] = _fold(chunk)
        return folded


_FOLDED = _FoldCache()


def _fold(text: str) -> str:
    """The reference folding of a whole text (what `normalize` computes, without the cache)."""
    # NFKC first: Arabic presentation forms (U+FB50-U+FEFF) become ordinary letters.
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE).lower()
    return " ".join(_NON_WORD.sub(" ", text).split())


def fold_light(text: str) -> str:
    """Lower-case and fold Arabic spelling variants and digits, keeping punctuation and spacing
    (the folding dates are read with: ``fold_light("١٥ مايو، ٢٠٢٥")`` is ``"15 مايو، 2025"``)."""
    return text.translate(_LIGHT).lower()


def tokens(text: str) -> list[str]:
    """The normalised words of `text`."""
    return normalize(text).split()


# --- headings where an article's own text ends --------------------------------------------------
# A heading over a related-articles, most-read or comments block: what follows is other stories'
# headlines or readers' words. Extraction cuts such a block off a page (`extract.boilerplate`);
# dedup cuts one that extraction missed off a stored text (`dedup.fingerprint`), because other
# stories' headlines would hide a trimmed copy and glue same-topic stories together. One
# vocabulary for both: the two stages kept two lists, which had drifted (dedup knew "مواد ذات صلة"
# and "قد يهمك", extraction the comment, French and English headings).
BLOCK_HEADINGS: tuple[str, ...] = (
    *(f"{what} {how}" for what in ("أخبار", "مقالات", "مواضيع", "مواد") for how in ("ذات صلة", "مشابهة", "متعلقة")),
    "ذات صلة",
    "الأكثر قراءة",
    "الأكثر مشاهدة",
    "المزيد من الأخبار",
    "قد يهمك",
    "لا تفوت",
    "التعليقات",
    "اترك تعليقا",
    "أضف تعليقك",
    "أضف تعليق",
    "لا يوجد تعليقات بعد",
    "sur le même sujet",
    "articles similaires",
    "dans la même rubrique",
    "laisser un commentaire",
    "commentaires",
    "related articles",
    "related posts",
    "related stories",
    "more stories",
    "you may also like",
    "leave a reply",
    "leave a comment",
    "comments",
)
# "Read also" headings also sit mid-article above a single cross-link, so extraction cuts at one
# only in the last part of a text.
READ_ALSO_HEADINGS: tuple[str, ...] = (
    *(f"{verb} {also}" for verb in ("اقرأ", "شاهد") for also in ("أيضا", "كذلك")),
    "اقرأ المزيد",
    "lire aussi",
    "à lire aussi",
    "read more",
    "read also",
)
_BLOCK = frozenset(map(normalize, BLOCK_HEADINGS))
_READ_ALSO = frozenset(map(normalize, READ_ALSO_HEADINGS))
_MAX_HEADING_CHARS = 40  # the longest heading with its punctuation; longer lines are prose


def heading_kind(line: str) -> str | None:
    """ "block" for a related/most-read/comments heading, "read-also" for a read-also one, else None.

    Matched on the normalised line, so spelling variants ("أخبار ذات صلة", "اخبار ذات صله:") and
    the punctuation around a heading count alike; a set lookup, and only short lines are folded.
    """
    if len(line) >= _MAX_HEADING_CHARS:
        return None
    key = normalize(line)
    return "block" if key in _BLOCK else "read-also" if key in _READ_ALSO else None
