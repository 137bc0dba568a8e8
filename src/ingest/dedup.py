"""Which story a copy belongs to, and which copy of a story is canonical.

The policy, run inside the store's single-writer transaction for each new or changed copy:

1. Candidates: every stored copy that shares at least one LSH band key with the copy
   (`lsh_buckets`, persistent and shared by every process writing to the store).
2. Verification: each candidate is checked with exact shingle measures (containment catches
   trimmed copies), the publication-time window and the numbers test (`ingest.similarity`).
3. Placement, without chaining: a copy joins a story only if it verifies against that story's
   canonical copy, or against at least half of the story's copies. Matching one outlier member
   is not enough, so a story cannot drift through a chain of weak links. When the copy verifies
   against several stories, it joins the one with the highest score (ties: the older story) and
   the others are named in its `join_reason`; stories are never merged behind the user's back.
4. Election: the canonical copy is the earliest published (undated copies last), then the most
   complete (most words), then the smallest URL. It is re-elected whenever the story changes.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import Row, delete, select
from sqlalchemy.orm import Session

from ingest.fingerprint import DEFAULT, DedupParams, Fingerprint, band_keys, fingerprint
from ingest.similarity import Verdict, verify
from ingest.store.models import BucketRow, CopyRow, StoryRow

# Copies of one story rarely exceed a few dozen; a larger story is judged on a sample of its
# most recent copies so that a long-running story cannot make placement slow.
_MEMBER_SAMPLE = 50


@dataclass(frozen=True, slots=True)
class Placement:
    story_id: int
    new_story: bool
    similarity: float | None
    reason: str


class Deduplicator:
    """Places copies into stories. Holds a bounded cache of candidate fingerprints, nothing else."""

    def __init__(self, params: DedupParams = DEFAULT, cache_size: int = 20_000) -> None:
        self.params = params
        self._cache: OrderedDict[tuple[int, str], Fingerprint] = OrderedDict()
        self._cache_size = cache_size

    def fingerprint(self, text: str) -> Fingerprint:
        return fingerprint(text, self.params)

    def place(self, session: Session, copy: CopyRow, fp: Fingerprint) -> Placement:
        """Put `copy` (flushed, with no story yet) into a story and index it."""
        verdicts = self._verified_candidates(session, copy, fp)
        choice = self._choose_story(session, copy, fp, verdicts)
        if choice is None:
            story = StoryRow(created_at=copy.fetched_at, updated_at=copy.fetched_at)
            session.add(story)
            session.flush()
            placement = Placement(story.id, True, None, "founded the story: no verified candidate")
        else:
            placement = choice
        copy.story_id = placement.story_id
        copy.similarity = placement.similarity
        copy.join_reason = placement.reason
        session.add_all(BucketRow(key=int(k), copy_id=copy.id) for k in set(band_keys(fp.signature, self.params)))
        session.flush()
        self.refresh_story(session, placement.story_id, copy.fetched_at)
        return placement

    def detach(self, session: Session, copy: CopyRow, now: datetime) -> None:
        """Take a copy out of its story and the index (before re-placing a changed copy)."""
        session.execute(delete(BucketRow).where(BucketRow.copy_id == copy.id))
        story_id, copy.story_id = copy.story_id, None
        session.flush()
        if story_id is not None:
            self.refresh_story(session, story_id, now)

    def _verified_candidates(self, session: Session, copy: CopyRow, fp: Fingerprint) -> dict[int, Verdict]:
        keys = [int(k) for k in band_keys(fp.signature, self.params)]
        ids = session.scalars(
            select(BucketRow.copy_id).where(BucketRow.key.in_(keys)).where(BucketRow.copy_id != copy.id).distinct()
        ).all()
        return {cid: self._verify(session, copy, fp, cid) for cid in ids}

    def _verify(self, session: Session, copy: CopyRow, fp: Fingerprint, other_id: int) -> Verdict:
        other = session.get(CopyRow, other_id)
        assert other is not None
        return verify(fp, self._fingerprint_of(other), copy.published_at, other.published_at, self.params)

    def _fingerprint_of(self, row: CopyRow) -> Fingerprint:
        key = (row.id, row.content_hash)
        fp = self._cache.get(key)
        if fp is None:
            fp = self._cache[key] = fingerprint(row.text, self.params)
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return fp

    def _choose_story(
        self, session: Session, copy: CopyRow, fp: Fingerprint, verdicts: dict[int, Verdict]
    ) -> Placement | None:
        matched: dict[int, list[int]] = {}
        for cid, verdict in verdicts.items():
            if verdict.same_story:
                story_id = session.scalar(select(CopyRow.story_id).where(CopyRow.id == cid))
                if story_id is not None:
                    matched.setdefault(story_id, []).append(cid)
        accepted: list[tuple[float, int, str]] = []
        for story_id, members in matched.items():
            judged = self._judge_story(session, copy, fp, story_id, members, verdicts)
            if judged is not None:
                accepted.append((judged[0], story_id, judged[1]))
        if not accepted:
            return None
        accepted.sort(key=lambda a: (-a[0], a[1]))
        score, story_id, reason = accepted[0]
        others = ", ".join(f"story {s} ({sc:.2f})" for sc, s, _ in accepted[1:])
        if others:
            reason += f"; also matched {others}, joined the best"
        return Placement(story_id, False, score, reason)

    def _judge_story(
        self,
        session: Session,
        copy: CopyRow,
        fp: Fingerprint,
        story_id: int,
        members: list[int],
        verdicts: dict[int, Verdict],
    ) -> tuple[float, str] | None:
        story = session.get(StoryRow, story_id)
        assert story is not None
        canonical_id = story.canonical_copy_id
        if canonical_id is not None:
            verdict = verdicts.get(canonical_id) or self._verify(session, copy, fp, canonical_id)
            if verdict.same_story:
                return verdict.score, f"matches the canonical copy {canonical_id}: {verdict.reason}"
        sample = session.scalars(
            select(CopyRow.id)
            .where(CopyRow.story_id == story_id)
            .order_by(CopyRow.fetched_at.desc())
            .limit(_MEMBER_SAMPLE)
        ).all()
        agree = [cid for cid in sample if (verdicts.get(cid) or self._verify(session, copy, fp, cid)).same_story]
        if sample and 2 * len(agree) >= len(sample):
            score = max(verdicts[c].score if c in verdicts else 0.0 for c in agree)
            return (
                score,
                f"matches {len(agree)} of {len(sample)} copies of the story (not its canonical copy)",
            )
        return None

    def refresh_story(self, session: Session, story_id: int, now: datetime) -> None:
        """Re-elect the canonical copy and recount; delete the story if it has no copy left."""
        story = session.get(StoryRow, story_id)
        if story is None:
            return
        members = session.execute(
            select(CopyRow.id, CopyRow.published_at, CopyRow.token_count, CopyRow.url, CopyRow.source_id).where(
                CopyRow.story_id == story_id
            )
        ).all()
        if not members:
            session.delete(story)
            session.flush()
            return
        canonical = min(members, key=election_key)
        story.canonical_copy_id = canonical.id
        dates = [m.published_at for m in members if m.published_at is not None]
        story.first_published_at = min(dates) if dates else None
        story.copy_count = len(members)
        story.source_count = len({m.source_id for m in members})
        story.updated_at = now
        session.flush()


def election_key(member: Row[tuple[int, datetime | None, int, str, int]]) -> tuple[bool, float, int, str]:
    """Earliest published first (undated last), then most words, then smallest URL."""
    _id, published, token_count, url, _source = member
    return (published is None, published.timestamp() if published else 0.0, -token_count, url)


def signature_bytes(fp: Fingerprint) -> bytes:
    """The signature as stored in `article_copies.signature` (little-endian uint32)."""
    return np.ascontiguousarray(fp.signature, dtype="<u4").tobytes()
