"""Verification of an LSH candidate pair: is this really one story published twice?

LSH only proposes candidates (MinHash estimates Jaccard, and its low threshold lets many
same-topic pairs through). Nothing is merged before `verify` has looked at the exact shingle
sets, the publication dates and the numbers of both texts.

Containment, |A n B| / min(|A|, |B|), is the main measure: syndication trims (cut closing
paragraphs, dropped clauses) and pads (datelines, closing formulas, related-article blocks the
extractor missed); both leave the shorter text almost wholly inside the longer one, while
Jaccard falls with every paragraph added or cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from ingest._kernels import shared_count
from ingest.fingerprint import DEFAULT, DedupParams, Fingerprint

__all__ = ["Similarity", "Verdict", "compare", "verify"]


@dataclass(frozen=True)
class Similarity:
    """Exact set similarity of two shingle sets."""

    jaccard: float
    containment: float


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
) -> Verdict:
    """Decide whether `a` and `b` are copies of one story.

    Checks run cheapest first and the first failure is the reason: text length, publication
    window (when both dates are known), shingle containment and Jaccard, then the numbers.
    `score` is the containment (0.0 when a check before it failed).
    """
    if min(a.shingles.size, b.shingles.size) < params.min_shingles:
        return Verdict(False, 0.0, f"too short: {min(a.shingles.size, b.shingles.size)} shingles")
    apart = _hours_apart(a_published, b_published)
    if apart is not None and apart > params.window_hours:
        return Verdict(False, 0.0, f"published {_span(apart)} apart")
    sim = compare(a, b)
    if sim.containment < params.min_containment:
        low = f"containment {sim.containment:.2f} < {params.min_containment}"
        return Verdict(False, sim.containment, low)
    if sim.jaccard < params.min_jaccard:
        return Verdict(False, sim.containment, f"jaccard {sim.jaccard:.2f} < {params.min_jaccard}")
    numbers = _number_check(a.numbers, b.numbers, params)
    if numbers is not None:
        return Verdict(False, sim.containment, numbers)
    return Verdict(True, sim.containment, f"containment {sim.containment:.2f} >= {params.min_containment}")


def _number_check(a: frozenset[str], b: frozenset[str], params: DedupParams) -> str | None:
    """Why the numbers rule the pair out, or None.

    Two fillings of one template (weather, exchange rates, prayer times, a pardon communiqué)
    share their wording and differ in their figures; a copy keeps the figures of the text it
    copies. So look where both texts put a number after (or before) the same word: there the
    figures must agree. Trimming and added blocks only remove or add contexts; they do not
    create disagreements, which is why this is not a plain overlap of the two number sets.
    """
    agreeing: set[str] = set()  # numbers written next to a common word in both texts
    conflict = 0  # common words next to which the texts write different numbers
    for side in (0, 2):  # the word before the number, then the word after it
        ours, theirs = _by_context(a, side), _by_context(b, side)
        for context in ours.keys() & theirs.keys():
            shared = ours[context] & theirs[context]
            agreeing |= shared
            conflict += not shared
    # Agreement counts each number once (a year repeated in headline and body is one fact);
    # each disagreeing context counts, since one differing date is enough to tell two days apart.
    agree = len(agreeing)
    if agree + conflict < params.min_numbers or agree / (agree + conflict) >= params.min_number_agreement:
        return None
    return f"numbers differ: {agree} agree, {conflict} differ"


@lru_cache(maxsize=8192)  # a copy is verified against several candidates, a candidate by several copies
def _by_context(numbers: frozenset[str], side: int) -> dict[str, set[str]]:
    """context word -> the number written next to it (side 0: after the word, 2: before it)."""
    found: dict[str, set[str]] = {}
    for entry in numbers:
        parts = entry.split("|")
        if len(parts) == 3 and parts[side] and not parts[side][0].isdigit():
            found.setdefault(parts[side], set()).add(parts[1])
    return found


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
