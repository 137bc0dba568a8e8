"""Verification of an LSH candidate pair: is this really one story published twice?

LSH only proposes candidates (MinHash estimates Jaccard, and its low threshold lets many
same-topic pairs through). Nothing is merged before `verify` has looked at the exact shingle
sets, the publication dates and the numbers of both texts.

Containment, |A n B| / min(|A|, |B|), is the main measure: syndication trims (cut closing
paragraphs, dropped clauses) and pads (datelines, closing formulas, related-article blocks the
extractor missed); both leave the shorter text almost wholly inside the longer one, while
Jaccard falls with every paragraph added or cut.

Real syndication also rewrites: on the ANT corpus's labelled pairs (bench/dedup_real.py) a third
of the copies have a word 3-gram containment of 0.2-0.55, the range of independent reports of
one event. There the decision reads like the label's definition: about half or more of the
shorter text matched sentence by sentence with light edits, at least two sentences (`align`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import pairwise

from ingest.dedup._compiled import shared_count
from ingest.dedup.fingerprint import DEFAULT, DedupParams, Fingerprint, fingerprint, sentences, words
from ingest.text import normalize

__all__ = ["Alignment", "Similarity", "Verdict", "align", "compare", "substitution", "verify"]

# Shorter fragments (datelines, bylines, "related" lines) are not sentences a copy is judged on.
_MIN_SENTENCE_WORDS = 4


@dataclass(frozen=True)
class Similarity:
    """Exact set similarity of two shingle sets."""

    jaccard: float
    containment: float


@dataclass(frozen=True)
class Alignment:
    """How much of the shorter text aligns, sentence by sentence, with the other."""

    share: float  # of the shorter text's words (in sentences of 4 or more words)
    sentences: int  # of the shorter text that align


@dataclass(frozen=True)
class Verdict:
    """The decision on a candidate pair; `reason` is shown by `ingest explain`."""

    same_story: bool
    score: float
    reason: str


def compare(a: Fingerprint, b: Fingerprint) -> Similarity:
    """Jaccard and containment (over the smaller set) of the two shingle sets; 0.0 if either is empty."""
    if a.shingles.size == 0 or b.shingles.size == 0:
        return Similarity(0.0, 0.0)
    # Both sets are sorted: a merge, or a galloping search of the smaller in a much larger one.
    shared = shared_count(a.shingles, b.shingles)
    union = a.shingles.size + b.shingles.size - shared
    return Similarity(jaccard=shared / union, containment=shared / min(a.shingles.size, b.shingles.size))


def verify(
    a: Fingerprint,
    b: Fingerprint,
    a_published: datetime | None = None,
    b_published: datetime | None = None,
    params: DedupParams = DEFAULT,
    texts: Callable[[], tuple[str, str]] | None = None,
) -> Verdict:
    """Decide whether `a` and `b` are copies of one story.

    Checks run cheapest first and the first failure is the reason: text length, publication
    window (when both dates are known), shingle containment and Jaccard (more than
    `late_hours` apart, only a near-verbatim copy verifies), then the numbers
    (where they differ, the texts are read to compare them within the sentences that align:
    `_figures_agree_where_aligned`).
    A containment between `min_aligned_containment` and `min_containment` is decided by `align`
    on the two texts: the fingerprints' own, or those `texts()` returns (a stored copy's text is
    needed only then, for the names check of a pair verified below 0.95, and for a pair the
    numbers rule out: 1 verified pair in ~60 on the synthetic stream of bench/dedup_scale.py,
    3,367 of 14,792 on the ANT corpus).
    `score` is the containment (0.0 when a check before it failed).
    """
    if min(a.shingles.size, b.shingles.size) < params.min_shingles:
        return Verdict(False, 0.0, f"too short: {min(a.shingles.size, b.shingles.size)} shingles")
    apart = _hours_apart(a_published, b_published)
    if apart is not None and apart > params.window_hours:
        return Verdict(False, 0.0, f"published {_span(apart)} apart")
    sim = compare(a, b)
    if sim.jaccard < params.min_jaccard:
        return Verdict(False, sim.containment, f"jaccard {sim.jaccard:.2f} < {params.min_jaccard}")
    if apart is not None and apart > params.late_hours and sim.containment < params.late_containment:
        late = f"published {_span(apart)} apart, containment {sim.containment:.2f} < {params.late_containment}"
        return Verdict(False, sim.containment, late)
    read = _Texts(texts or (lambda: (a.text, b.text)))
    matched = _matched(sim, params, read)
    if matched.startswith("!"):
        return Verdict(False, sim.containment, matched[1:])
    numbers = _number_check(a.numbers, b.numbers, params)
    if numbers is not None:
        if not _figures_agree_where_aligned(a.numbers, b.numbers, read, params):
            return Verdict(False, sim.containment, numbers)
        matched += f"; {numbers} overall, agree in the sentences that align"
    if sim.containment < params.max_substitution_containment and (swapped := substitution(*read())):
        return Verdict(False, sim.containment, f"names differ: {swapped[0]} / {swapped[1]} in the same places")
    return Verdict(True, sim.containment, matched)


class _Texts:
    """The two texts of a pair, asked for at most once (a stored copy's text is a store read)."""

    def __init__(self, source: Callable[[], tuple[str, str]]) -> None:
        self._source = source
        self._texts: tuple[str, str] | None = None

    def __call__(self) -> tuple[str, str]:
        if self._texts is None:
            self._texts = self._source()
        return self._texts


def _matched(sim: Similarity, params: DedupParams, texts: Callable[[], tuple[str, str]]) -> str:
    """Why the texts match, or "!" and why they do not (shingles first, then sentences)."""
    if sim.containment >= params.min_containment:
        return f"containment {sim.containment:.2f} >= {params.min_containment}"
    low = f"containment {sim.containment:.2f} < {params.min_containment}"
    if sim.containment < params.min_aligned_containment:
        return f"!{low}"
    found = align(*texts(), params)
    said = f"{low}; {found.sentences} sentences, {found.share:.0%} of the shorter text align"
    if found.share >= params.min_aligned_share and found.sentences >= params.min_aligned_sentences:
        return said
    return f"!{said}"


def align(a: str, b: str, params: DedupParams = DEFAULT) -> Alignment:
    """The share of the shorter text (in words) whose sentences each match a sentence of the other.

    A sentence matches when `params.sentence_match` of its word bigrams are in one sentence of
    the other text or in two adjacent ones (an outlet splits or joins sentences): bigrams of
    normalised words survive honorifics dropped, a word swapped or a tense changed around them,
    and they need the words in order, which independent reports sharing names do not have.
    On the ANT tuning half, word bigrams at 0.4 separated copies from reports of the same
    event better than unigrams (F1 0.915 against 0.905 at equal settings).
    """
    short, long = _by_length(a, b)
    total = sum(n for _, n, _ in short)
    if not total or not long:
        return Alignment(0.0, 0)
    windows = [long[i][0] | long[i + 1][0] for i in range(len(long) - 1)] or [long[0][0]]
    matched = [n for grams, n, _ in short if _best_share(grams, windows) >= params.sentence_match]
    return Alignment(sum(matched) / total, len(matched))


def substitution(a: str, b: str) -> tuple[str, str] | None:
    """A name one text writes where the other writes another, in two places or more; None if none.

    Two fillings of one template (the congratulation cables to two heads of state, one official
    receiving two visitors) share nearly every sentence and differ in the names, which carry no
    number for `_number_check` to see: "رئيس جمهورية بنين ... شعب بنين" against "رئيس جمهورية
    سويسرا ... شعب سويسرا". A copy swaps a word here and there, or spells a name its own way
    ("ترامب" / "ترمب", close strings): it does not replace one word by an unrelated one
    consistently. On the ANT corpus's 240 labelled pairs this finds no pair at all.
    Raw whitespace tokens, not normalised words: a spelling or punctuation difference only
    makes a frame or a pair of close strings, and splitting costs ~5 µs a text where
    normalising costs ~70 (the check runs on every pair verified below 0.95).
    """
    wa, wb = a.split(), b.split()
    only_a, only_b = set(wa) - set(wb), set(wb) - set(wa)
    in_b: dict[tuple[str, str], set[str]] = {}
    for word, frame in _frames(wb, only_b):
        in_b.setdefault(frame, set()).add(word)
    seen: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for word, frame in _frames(wa, only_a):
        for other in in_b.get(frame, ()):
            seen.setdefault((word, other), set()).add(frame)
    for (x, y), frames in sorted(seen.items()):
        if len(frames) >= 2 and _unrelated(x, y):
            return x, y
    return None


def _unrelated(x: str, y: str) -> bool:
    """Two words no spelling turns into each other: "بنين" / "سويسرا", not "في" / "فى" or "ترامب" / "ترمب"."""
    x, y = normalize(x), normalize(y)
    if min(len(x), len(y)) < 3 or x[0].isdigit() or y[0].isdigit():
        return False  # particles, and numbers (`_number_check` judges those)
    return SequenceMatcher(None, x, y).ratio() < _CLOSE_STRINGS


# Two spellings of one name ("ترامب" / "ترمب", "سنغافورة" / "سينغافورة") score 0.8-0.9; names of
# two countries or people rarely reach 0.5.
_CLOSE_STRINGS = 0.6


def _frames(text: list[str], only: set[str]) -> list[tuple[str, tuple[str, str]]]:
    """(word, (word before, word after)) of each occurrence of the `only` words."""
    padded = ["", *text, ""]
    return [(w, (padded[i], padded[i + 2])) for i, w in enumerate(text) if w in only]


def _best_share(grams: frozenset[tuple[str, str]], windows: list[frozenset[tuple[str, str]]]) -> float:
    return max(len(grams & w) for w in windows) / len(grams)


_Sentence = tuple[frozenset[tuple[str, str]], int, str]  # word bigrams, word count, the sentence as written


def _by_length(a: str, b: str) -> tuple[tuple[_Sentence, ...], tuple[_Sentence, ...]]:
    """The sentences of the shorter text (in words), then those of the longer."""
    short, long = sorted((_sentences(a), _sentences(b)), key=lambda s: sum(n for _, n, _ in s))
    return short, long


@lru_cache(maxsize=4096)  # a copy is aligned against several candidates
def _sentences(text: str) -> tuple[_Sentence, ...]:
    """(word bigrams, word count, text) of each sentence of 4 or more words."""
    found = []
    for sentence in sentences(text):
        folded = words(sentence)
        if len(folded) >= _MIN_SENTENCE_WORDS:
            found.append((frozenset(pairwise(folded)), len(folded), sentence))
    return tuple(found)


def _figures_agree_where_aligned(
    a: frozenset[str], b: frozenset[str], texts: Callable[[], tuple[str, str]], params: DedupParams
) -> bool:
    """Whether the figures of two texts that `_number_check` told apart agree in their aligned sentences.

    A copy carried inside a round-up, or padded with background of its own, meets numbers next
    to the same words in the parts it does not share ("329 مقعدا" of another parliament before
    the item's "54 مقعدا"); two fillings of one template differ inside the very sentences that
    match. So the aligned sentences of the shorter text and the windows of the longer they
    match (as `align` finds them) are checked again (`texts()`), and must write numbers next to
    `params.min_numbers` common words or more, agreeing as `_number_check` asks: figures left
    out of what aligns (a bulletin's short lines) are no evidence of a copy, nor are dates
    (`_undated`). At least `params.figures_aligned_sentences` sentences must align: a leftover
    related block quoting another story's lead aligns 2-3. And the whole texts must already
    agree on `params.min_numbers` figures other than dates (a copy shares its source's
    figures), which spares reading and aligning the texts of most template fillings (weather
    bulletins agree on their dates only): of the dev set's 2,927 candidate pairs (seeds 0-2),
    1,026 fail the whole-text check and 75 of those are aligned here. On the ANT corpus's
    labelled pairs this found 1 more copy of the tuning half's 80 (2 of the check half's 71) and
    no other pair; on the synthetic dev set's same-family stories (seeds 0-999), it merged no
    pair the whole-text check kept apart. It runs only on pairs the numbers rule out, and reads
    their texts (aligning a pair at containment 0.55 or more only then).
    """
    if _number_counts(_undated(a), _undated(b))[0] < params.min_numbers:
        return False  # no figure but dates in common: the texts are not read
    mine, theirs = _aligned_parts(*texts(), params)
    if len(mine) < params.figures_aligned_sentences:
        return False
    agree, conflict = _number_counts(
        *(_undated(fingerprint(part, params).numbers) for part in ("\n".join(mine), theirs))
    )
    return agree + conflict >= params.min_numbers and agree / (agree + conflict) >= params.min_number_agreement


@lru_cache(maxsize=8192)  # a copy's numbers, against several candidates
def _undated(numbers: frozenset[str]) -> frozenset[str]:
    """The numbers that are not dates: every item of a day shares its date, so agreeing on it proves no copy.

    Without this, the dev set's weather bulletin whose leftover related block (no header)
    quotes the next days' leads aligned with those days' bulletins, agreeing on nothing but
    their dates ("الاربعاء 15 يناير 2025"): 10 merges of distinct stories over seeds 0-2.
    """
    kept = []
    for entry in numbers:
        before, figure, after = entry.split("|")
        if not (_is_year(figure) or before in _DATE_WORDS or after in _DATE_WORDS):
            kept.append(entry)
    return frozenset(kept)


def _is_year(figure: str) -> bool:
    return figure.isdigit() and 1900 <= int(figure) <= 2100


# Month and weekday names, folded as the fingerprint's number contexts are.
_DATE_WORDS = frozenset(
    normalize(word)
    for line in (
        "يناير فبراير مارس أبريل ابريل مايو ماي يونيو يونيه يوليو يوليوز أغسطس اغسطس غشت",
        "سبتمبر شتنبر أكتوبر اكتوبر نوفمبر نونبر ديسمبر دجنبر جانفي فيفري أفريل جوان جويلية أوت",
        "كانون شباط آذار نيسان أيار حزيران تموز آب أيلول تشرين",
        "الأحد الاثنين الإثنين الثلاثاء الأربعاء الخميس الجمعة السبت",
    )
    for word in line.split()
)


def _aligned_parts(a: str, b: str, params: DedupParams) -> tuple[list[str], str]:
    """The aligned sentences of the shorter text, and the windows of the longer they align with."""
    short, long = _by_length(a, b)
    spans = [(i, i + 2) for i in range(len(long) - 1)] or [(0, 1)]
    windows = [frozenset().union(*(grams for grams, _, _ in long[i:j])) for i, j in spans]
    mine: list[str] = []
    matched: set[int] = set()
    for grams, _, sentence in short:
        best = max(range(len(windows)), key=lambda k: len(grams & windows[k]))
        if len(grams & windows[best]) >= params.sentence_match * len(grams):
            mine.append(sentence)
            matched.update(i for i in range(*spans[best]) if grams & long[i][0])  # not a bystander
    return mine, "\n".join(long[i][2] for i in sorted(matched))


def _number_check(a: frozenset[str], b: frozenset[str], params: DedupParams) -> str | None:
    """Why the numbers rule the pair out, or None.

    Two fillings of one template (weather, exchange rates, prayer times, a pardon communiqué)
    share their wording and differ in their figures; a copy keeps the figures of the text it
    copies. So look where both texts put a number after (or before) the same word: there the
    figures must agree. Trimming and added blocks only remove or add contexts; they do not
    create disagreements, which is why this is not a plain overlap of the two number sets.
    Real copies round ("نحو 262 ألفا" / "260 ألفا"), group thousands ("6.500" / "6500") and
    write different numbers after a preposition ("في 2016" / "في 21"): figures agree up to
    rounding (`_same_figure`) and function words are no context. On the ANT tuning half this
    check had rejected 9 of 80 copies; it now rejects 2, and `_figures_agree_where_aligned` takes
    one of them back.
    """
    agree, conflict = _number_counts(a, b)
    if agree + conflict < params.min_numbers or agree / (agree + conflict) >= params.min_number_agreement:
        return None
    return f"numbers differ: {agree} agree, {conflict} differ"


def _number_counts(a: frozenset[str], b: frozenset[str]) -> tuple[int, int]:
    """(numbers written next to a common word in both texts, common words next to which they differ)."""
    agreeing: set[str] = set()
    conflict = 0
    for side in (0, 2):  # the word before the number, then the word after it
        ours, theirs = _by_context(a, side), _by_context(b, side)
        for context in ours.keys() & theirs.keys():
            shared = ours[context] & theirs[context] or _close_figures(ours[context], theirs[context])
            agreeing |= shared
            conflict += not shared
    # Agreement counts each number once (a year repeated in headline and body is one fact);
    # each disagreeing context counts, since one differing date is enough to tell two days apart.
    return len(agreeing), conflict


# Prepositions and other words that stand before or after numbers of every kind: no context.
_FUNCTION_WORDS = frozenset(
    [
        "في",
        "من",
        "الي",
        "علي",
        "عن",
        "ان",
        "بين",
        "نحو",
        "حوالي",
        "منذ",
        "حتي",
        "بعد",
        "قبل",
        "مع",
        "او",
        "و",
        "ب",
        "ل",
        "عام",
        "عاما",
        "العام",
        "اكثر",
        "اقل",
        "نحوا",
        "الى",
        "على",
    ]
)


@lru_cache(maxsize=8192)  # a copy is verified against several candidates, a candidate by several copies
def _by_context(numbers: frozenset[str], side: int) -> dict[str, set[str]]:
    """context word -> the number written next to it (side 0: after the word, 2: before it)."""
    found: dict[str, set[str]] = {}
    for entry in numbers:
        parts = entry.split("|")
        word = parts[side] if len(parts) == 3 else ""
        if word and not word[0].isdigit() and word not in _FUNCTION_WORDS:
            found.setdefault(word, set()).add(parts[1])
    return found


def _close_figures(ours: set[str], theirs: set[str]) -> set[str]:
    """Our figures that one of theirs writes otherwise (the slow path: most contexts agree exactly)."""
    return {x for x in ours if any(_same_figure(x, y) for y in theirs)}


@lru_cache(maxsize=65536)
def _same_figure(x: str, y: str) -> bool:
    """Whether two written figures are one: equal, one grouped in thousands, or one rounded from the other.

    "260" agrees with "262" (rounded to tens), "5.5" with "5.50" and "5.47", "6.500" with "6500";
    "7" and "8" differ, so do "10" and "14" or "1000" and "1400", so two days' bulletins stay apart.
    """
    if x == y:
        return True
    return any(_rounds_to(u, v) or _rounds_to(v, u) for u in _readings(x) for v in _readings(y))


def _readings(figure: str) -> list[tuple[float, int]]:
    """(value, rounding exponent) of each way to read a figure: "6.500" is 6.5 or 6500."""
    groups = figure.replace(",", ".").split(".")
    if not all(g.isdigit() for g in groups):
        return []
    readings = []
    if len(groups) > 1 and all(len(g) == 3 for g in groups[1:]):
        whole = "".join(groups)
        readings.append((float(whole), len(whole) - len(whole.rstrip("0"))))
    if len(groups) == 2:
        readings.append((float(figure.replace(",", ".")), -len(groups[1])))
    elif len(groups) == 1:
        readings.append((float(groups[0]), len(groups[0]) - len(groups[0].rstrip("0")) if groups[0] != "0" else 0))
    return readings


def _rounds_to(exact: tuple[float, int], rounded: tuple[float, int]) -> bool:
    """Whether `rounded` is `exact` written to fewer digits, keeping two significant ones or more.

    One significant digit is not a rounding anyone trusts a copy to make: "10" and "14" differ.
    """
    unit = 10.0 ** rounded[1]
    if rounded[1] < exact[1] or rounded[0] < 10 * unit or 1900 <= rounded[0] <= 2100:  # years are exact
        return False
    return abs(exact[0] - rounded[0]) <= unit / 2 + 1e-9


def _hours_apart(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    if (a.tzinfo is None) != (b.tzinfo is None):  # a naive time is taken as UTC
        a, b = _as_utc(a), _as_utc(b)
    return abs((a - b).total_seconds()) / 3600


def _as_utc(t: datetime) -> datetime:
    return t if t.tzinfo is None else t.astimezone(UTC).replace(tzinfo=None)


def _span(hours: float) -> str:
    return f"{hours / 24:.0f} days" if hours >= 48 else f"{hours:.0f} hours"
