"""`ingest explain URL`: where a stored copy is, why it joined, and how it compares now.

Orchestration only: the store reads (`ingest.store.story_ledger`, `ingest.store.band_tables`),
dedup finds the candidates and verifies (`ingest.dedup.deduplicator`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ingest.dedup.deduplicator import MAX_VERIFIED, Deduplicator, index_keys
from ingest.dedup.fingerprint import DEFAULT, DedupParams, Fingerprint, probe_keys
from ingest.dedup.similarity import Verdict
from ingest.store.band_tables import BandTables
from ingest.store.models import CopyRow
from ingest.store.story_ledger import DbStoryLedger, canonical_copy_of, copy_at, urls_of

__all__ = ["Explanation", "StoryVerdict", "explain"]


@dataclass(frozen=True, slots=True)
class StoryVerdict:
    """The verdict of a copy against one copy of a story."""

    story_id: int
    copy_id: int
    url: str
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class Explanation:
    """Where a stored copy is, why it joined, and how it compares now."""

    copy_id: int
    url: str
    story_id: int | None
    canonical_copy_id: int | None
    join_reason: str | None
    similarity: float | None
    against_canonical: StoryVerdict | None  # None when the copy is its story's canonical copy
    other_stories: list[StoryVerdict]  # best candidate copy of up to 3 other stories, best first


def explain(session: Session, url: str, params: DedupParams = DEFAULT) -> Explanation | None:
    """Explain the placement of the copy stored under `url` (or fetched from it); None if unknown.

    The verdicts are computed now, from the index, with the same candidate lookup and
    verification as placement: a story or an index changed since the copy joined shows here.
    """
    copy = copy_at(session, url)
    if copy is None:
        return None
    dedup = Deduplicator(params)
    fp = dedup.fingerprint(copy.text)
    canonical_id = canonical_copy_of(session, copy.story_id)
    against = None
    if canonical_id is not None and canonical_id != copy.id:
        against = _story_verdicts(session, dedup, copy, fp, [canonical_id])[0]
    index = BandTables.for_params(params)
    index.attach(session)
    keys, probe = index_keys(fp, params), probe_keys(fp.signature, params)
    ids = [c for c in dedup.candidates(index, copy, keys, probe, limit=10 * MAX_VERIFIED) if c != canonical_id]
    best: dict[int, StoryVerdict] = {}
    for sv in _story_verdicts(session, dedup, copy, fp, ids):
        held = best.get(sv.story_id)
        if sv.story_id != copy.story_id and (held is None or sv.verdict.score > held.verdict.score):
            best[sv.story_id] = sv
    others = sorted(best.values(), key=lambda sv: (-sv.verdict.score, sv.story_id))[:3]
    return Explanation(
        copy.id, copy.url, copy.story_id, canonical_id, copy.join_reason, copy.similarity, against, others
    )


def _story_verdicts(
    session: Session, dedup: Deduplicator, copy: CopyRow, fp: Fingerprint, ids: Sequence[int]
) -> list[StoryVerdict]:
    ledger = DbStoryLedger(session.connection(), dedup.stored_fingerprint)
    verdicts = dedup.verdicts(ledger, copy, fp, ids)
    urls = urls_of(session, ids)
    return [StoryVerdict(ledger.story_of.get(i) or 0, i, urls[i], verdict) for i, verdict in verdicts]
