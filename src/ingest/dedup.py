"""Which story a copy belongs to, and which copy of a story is canonical.

The policy, run inside the store's single-writer transaction for each new or changed copy:

1. Candidates: stored copies that share LSH band keys with the copy (`lsh_buckets`, persistent
   and shared by every process writing to the store). Each stored key folds a coarse publication
   time bucket (`window_hours` wide; copies with no date go to one "undated" bucket) into the band
   key, and a lookup asks for the copy's own bucket, its two neighbours and the undated bucket.
   Two copies more than `window_hours` apart never verify, so this loses no true copy, and the
   candidate pool is the time window instead of the whole store: the lookup cost does not grow
   with the store. The candidates are ranked by the number of bands they share and only the
   best `MAX_VERIFIED` are verified (a true copy shares many bands; chance collisions of stock
   phrases share one or two).
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

import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import Row, TextClause, delete, func, insert, select, text
from sqlalchemy.orm import Session

from ingest.fingerprint import DEFAULT, DedupParams, Fingerprint, band_keys, fingerprint
from ingest.similarity import Verdict, verify
from ingest.store.models import BucketRow, CopyRow, StoryRow

__all__ = [
    "Deduplicator",
    "Explanation",
    "Placement",
    "StoryVerdict",
    "election_key",
    "explain",
    "rebuild_index",
    "signature_bytes",
]

# Copies of one story rarely exceed a few dozen; a larger story is judged on a sample of its
# most recent copies so that a long-running story cannot make placement slow.
_MEMBER_SAMPLE = 50
# Candidates verified per copy, best ranked first. True copies of a story share many of the 64
# bands (a trimmed copy at Jaccard 0.2 shares ~2.6 on average, a full copy dozens), while chance
# collisions through stock phrases share one; the dev set's true pairs never need more than a few
# verifications, and 50 bounds the worst case (a burst of same-template bulletins) at ~5 ms.
MAX_VERIFIED = 50
# The time bucket of copies with no publication date: looked up by every copy, whatever its date.
_UNDATED = 0
# An undated copy searches this many window-wide buckets back from the newest dated story (~5 years).
_MAX_UNDATED_SPAN = 260
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_GOLDEN = 0x9E3779B97F4A7C15
_MIX = (np.uint64(33), np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53))
_MASK63 = np.uint64((1 << 63) - 1)


@dataclass(frozen=True, slots=True)
class Placement:
    story_id: int
    new_story: bool
    similarity: float | None
    reason: str


@dataclass
class Counters:
    """What placement cost, summed over this Deduplicator's life (benchmarks, telemetry)."""

    placements: int = 0
    candidates: int = 0  # distinct copies sharing a band key with the placed copy
    verified: int = 0  # candidate pairs run through `verify`
    refingerprinted: int = 0  # candidates whose fingerprint was not cached


@dataclass(frozen=True, slots=True)
class _Stored:
    """What verification needs of a stored copy."""

    id: int
    story_id: int | None
    published_at: datetime | None
    fp: Fingerprint


def time_bucket(published_at: datetime | None, params: DedupParams = DEFAULT) -> int:
    """The index's time bucket: `window_hours`-wide slices since 2000, 0 for an undated copy."""
    if published_at is None:
        return _UNDATED
    when = published_at if published_at.tzinfo else published_at.replace(tzinfo=UTC)
    return 1 + max(0, int((when - _EPOCH).total_seconds() // (3600 * params.window_hours)))


def bucketed_keys(keys: np.ndarray, bucket: int) -> np.ndarray:
    """Band keys with a time bucket folded in (non-negative int64, one per band)."""
    shift, m1, m2 = _MIX
    h = keys.astype(np.uint64) ^ np.uint64((bucket * _GOLDEN) & 0xFFFFFFFFFFFFFFFF)
    h = (h ^ (h >> shift)) * m1
    h = (h ^ (h >> shift)) * m2
    return ((h ^ (h >> shift)) & _MASK63).astype(np.int64)


class Deduplicator:
    """Places copies into stories. Holds a bounded cache of fingerprints, nothing else.

    The cache is keyed by (copy id, content hash) and filled with every copy placed, so the
    candidates of a crawl (recent copies, by the time window) are verified without re-reading and
    re-fingerprinting their text; after a restart it refills from the store as candidates appear.
    """

    def __init__(self, params: DedupParams = DEFAULT, cache_size: int = 50_000) -> None:
        self.params = params
        self.counters = Counters()
        self._cache: OrderedDict[tuple[int, str], Fingerprint] = OrderedDict()
        self._cache_size = cache_size

    def fingerprint(self, text: str) -> Fingerprint:
        return fingerprint(text, self.params)

    def index_keys(self, fp: Fingerprint, published_at: datetime | None, fetched_at: datetime) -> np.ndarray:
        """The `lsh_buckets` keys stored for a copy (distinct, sorted)."""
        del fetched_at  # an undated copy is stored undated: every later copy must find it
        keys = band_keys(fp.signature, self.params)
        return np.unique(bucketed_keys(keys, time_bucket(published_at, self.params)))

    def lookup_keys(
        self,
        fp: Fingerprint,
        published_at: datetime | None,
        fetched_at: datetime,
        dated_span: tuple[int, int] | None = None,
    ) -> list[int]:
        """The keys a copy's candidates may be stored under: its time window and the undated bucket.

        An undated copy may be a late copy (an AMP page, a backfill) of a story published at any
        time, so it looks across every bucket the store's dated copies span (`dated_span`, at most
        `_MAX_UNDATED_SPAN` buckets back from the newest), as well as around its fetch time.
        """
        keys = band_keys(fp.signature, self.params)
        centre = time_bucket(published_at or fetched_at, self.params)
        buckets = {_UNDATED, centre - 1, centre, centre + 1}
        if published_at is None and dated_span is not None:
            first, last = dated_span
            buckets.update(range(max(first - 1, last - _MAX_UNDATED_SPAN), last + 2))
        return sorted({int(k) for b in buckets if b >= _UNDATED for k in bucketed_keys(keys, b)})

    def _dated_span(self, session: Session) -> tuple[int, int] | None:
        """First and last time bucket of the stored stories (None when nothing dated is stored)."""
        first, last = session.execute(
            select(func.min(StoryRow.first_published_at), func.max(StoryRow.first_published_at))
        ).one()
        if first is None or last is None:
            return None
        return time_bucket(first, self.params), time_bucket(last, self.params)

    def place(self, session: Session, copy: CopyRow, fp: Fingerprint) -> Placement:
        """Put `copy` (flushed, with no story yet) into a story and index it."""
        self.counters.placements += 1
        verdicts = self._verified_candidates(session, copy, fp)
        choice = self._choose_story(session, copy, fp, verdicts)
        placement = choice or self._found_story(session, copy)
        copy.story_id = placement.story_id
        copy.similarity = placement.similarity
        copy.join_reason = placement.reason
        rows = [{"key": int(k), "copy_id": copy.id} for k in self.index_keys(fp, copy.published_at, copy.fetched_at)]
        # Plain Core executemany on the connection: 64 ORM objects, or the ORM bulk path, cost ~10x more.
        session.connection().execute(insert(BucketRow), rows)
        self._remember(copy.id, copy.content_hash, fp)
        session.flush()
        if not placement.new_story:
            self.refresh_story(session, placement.story_id, copy.fetched_at)
        return placement

    def _found_story(self, session: Session, copy: CopyRow) -> Placement:
        """A new story of one copy, elected and counted as it is created (no re-election query)."""
        story = StoryRow(
            canonical_copy_id=copy.id,
            first_published_at=copy.published_at,
            copy_count=1,
            source_count=1,
            created_at=copy.fetched_at,
            updated_at=copy.fetched_at,
        )
        session.add(story)
        session.flush()
        return Placement(story.id, True, None, "founded the story: no verified candidate")

    def detach(self, session: Session, copy: CopyRow, now: datetime) -> None:
        """Take a copy out of its story and the index (before re-placing a changed copy)."""
        session.execute(delete(BucketRow).where(BucketRow.copy_id == copy.id))
        story_id, copy.story_id = copy.story_id, None
        session.flush()
        if story_id is not None:
            self.refresh_story(session, story_id, now)

    def candidates(self, session: Session, copy: CopyRow, fp: Fingerprint, limit: int = MAX_VERIFIED) -> list[int]:
        """Ids of the stored copies sharing the most band keys with `copy` (ties: the older copy)."""
        span = self._dated_span(session) if copy.published_at is None else None
        keys = self.lookup_keys(fp, copy.published_at, copy.fetched_at, span)
        ranked = session.execute(_lookup_sql(session), {"keys": _key_list(session, keys), "me": copy.id}).all()
        self.counters.candidates += len(ranked)
        best = sorted(ranked, key=lambda r: (-r[1], r[0]))  # in Python: a LIMIT in SQL would still sort them all
        return [r[0] for r in best[:limit]]

    def _verified_candidates(self, session: Session, copy: CopyRow, fp: Fingerprint) -> dict[int, Verdict]:
        stored = self._load(session, self.candidates(session, copy, fp))
        return {s.id: self._verify(copy, fp, s) for s in stored.values()}

    def _verify(self, copy: CopyRow, fp: Fingerprint, other: _Stored) -> Verdict:
        self.counters.verified += 1
        return verify(fp, other.fp, copy.published_at, other.published_at, self.params)

    def _load(self, session: Session, ids: Sequence[int]) -> dict[int, _Stored]:
        """The stored copies `ids` with their fingerprints: one query; text only for uncached ones."""
        if not ids:
            return {}
        cols = (CopyRow.id, CopyRow.story_id, CopyRow.published_at, CopyRow.content_hash)
        rows = session.execute(select(*cols).where(CopyRow.id.in_(ids))).all()
        missing = [r.id for r in rows if (r.id, r.content_hash) not in self._cache]
        texts = dict(session.execute(select(CopyRow.id, CopyRow.text).where(CopyRow.id.in_(missing))).all())
        self.counters.refingerprinted += len(missing)
        return {
            r.id: _Stored(r.id, r.story_id, r.published_at, self._fingerprint_of(r.id, r.content_hash, texts.get(r.id)))
            for r in rows
        }

    def _fingerprint_of(self, copy_id: int, content_hash: str, text: str | None) -> Fingerprint:
        key = (copy_id, content_hash)
        fp = self._cache.get(key)
        if fp is None:
            assert text is not None
            fp = fingerprint(text, self.params)
            self._remember(copy_id, content_hash, fp)
        else:
            self._cache.move_to_end(key)
        return fp

    def _remember(self, copy_id: int, content_hash: str, fp: Fingerprint) -> None:
        self._cache[(copy_id, content_hash)] = fp
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _choose_story(
        self, session: Session, copy: CopyRow, fp: Fingerprint, verdicts: dict[int, Verdict]
    ) -> Placement | None:
        matched = self._matched_stories(session, verdicts)
        accepted: list[tuple[float, int, str]] = []
        for story_id in matched:
            judged = self._judge_story(session, copy, fp, story_id, verdicts)
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

    def _matched_stories(self, session: Session, verdicts: dict[int, Verdict]) -> list[int]:
        ids = [cid for cid, v in verdicts.items() if v.same_story]
        if not ids:
            return []
        stories = session.scalars(select(CopyRow.story_id).where(CopyRow.id.in_(ids)).distinct()).all()
        return sorted(s for s in stories if s is not None)

    def _judge_story(
        self, session: Session, copy: CopyRow, fp: Fingerprint, story_id: int, verdicts: dict[int, Verdict]
    ) -> tuple[float, str] | None:
        story = session.get(StoryRow, story_id)
        assert story is not None
        canonical_id = story.canonical_copy_id
        if canonical_id is not None:
            verdict = self._verdict(session, copy, fp, canonical_id, verdicts)
            if verdict.same_story:
                return verdict.score, f"matches the canonical copy {canonical_id}: {verdict.reason}"
        sample = session.scalars(
            select(CopyRow.id)
            .where(CopyRow.story_id == story_id)
            .order_by(CopyRow.fetched_at.desc())
            .limit(_MEMBER_SAMPLE)
        ).all()
        agree = [cid for cid in sample if self._verdict(session, copy, fp, cid, verdicts).same_story]
        if sample and 2 * len(agree) >= len(sample):
            score = max(verdicts[c].score if c in verdicts else 0.0 for c in agree)
            return (
                score,
                f"matches {len(agree)} of {len(sample)} copies of the story (not its canonical copy)",
            )
        return None

    def _verdict(
        self, session: Session, copy: CopyRow, fp: Fingerprint, other_id: int, verdicts: dict[int, Verdict]
    ) -> Verdict:
        """The verdict against `other_id`, verified now if it was not among the candidates."""
        if other_id not in verdicts:
            verdicts[other_id] = self._verify(copy, fp, self._load(session, [other_id])[other_id])
        return verdicts[other_id]

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


# The ~256 lookup keys travel as one parameter (a JSON list on SQLite, an array on PostgreSQL):
# an expanded IN list costs SQLAlchemy more to render per call than SQLite spends on the probes.
_LOOKUP = {
    "sqlite": "SELECT copy_id, count(*) FROM lsh_buckets WHERE key IN (SELECT value FROM json_each(:keys))"
    " AND copy_id != :me GROUP BY copy_id",
    "postgresql": "SELECT copy_id, count(*) FROM lsh_buckets WHERE key = ANY(CAST(:keys AS BIGINT[]))"
    " AND copy_id != :me GROUP BY copy_id",
}


def _lookup_sql(session: Session) -> TextClause:
    return text(_LOOKUP[session.get_bind().dialect.name])


def _key_list(session: Session, keys: list[int]) -> str | list[int]:
    return json.dumps(keys) if session.get_bind().dialect.name == "sqlite" else keys


def election_key(member: Row[int, datetime | None, int, str, int]) -> tuple[bool, float, int, str]:
    """Earliest published first (undated last), then most words, then smallest URL."""
    _id, published, token_count, url, _source = member
    return (published is None, published.timestamp() if published else 0.0, -token_count, url)


def signature_bytes(fp: Fingerprint) -> bytes:
    """The signature as stored in `article_copies.signature` (little-endian uint32)."""
    return np.ascontiguousarray(fp.signature, dtype="<u4").tobytes()


def rebuild_index(session: Session, params: DedupParams = DEFAULT, batch: int = 5_000) -> int:
    """Recompute every `lsh_buckets` row from the stored signatures and dates; returns copies indexed.

    `ingest db reindex`: the keys depend on `params` (bands, rows, time window), so a change of
    them needs this. No text is re-read: the stored signature is all the keys need.
    """
    dedup = Deduplicator(params)
    session.execute(delete(BucketRow))
    done, last = 0, 0
    cols = (CopyRow.id, CopyRow.signature, CopyRow.published_at, CopyRow.fetched_at)
    while rows := session.execute(select(*cols).where(CopyRow.id > last).order_by(CopyRow.id).limit(batch)).all():
        buckets = []
        for r in rows:
            fp = Fingerprint(np.empty(0, np.uint64), np.frombuffer(r.signature, dtype="<u4"))
            buckets += [{"key": int(k), "copy_id": r.id} for k in dedup.index_keys(fp, r.published_at, r.fetched_at)]
        session.execute(insert(BucketRow), buckets)
        done, last = done + len(rows), rows[-1].id
    return done


@dataclass(frozen=True, slots=True)
class StoryVerdict:
    """The verdict of a copy against one copy of a story."""

    story_id: int
    copy_id: int
    url: str
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class Explanation:
    """`ingest explain URL`: where a stored copy is, why it joined, and how it compares now."""

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
    copy = session.scalar(select(CopyRow).where(CopyRow.url == url)) or session.scalar(
        select(CopyRow).where(CopyRow.fetched_url == url).limit(1)
    )
    if copy is None:
        return None
    dedup = Deduplicator(params)
    fp = dedup.fingerprint(copy.text)
    story = session.get(StoryRow, copy.story_id) if copy.story_id is not None else None
    canonical_id = story.canonical_copy_id if story is not None else None
    against = None
    if canonical_id is not None and canonical_id != copy.id:
        against = _story_verdicts(session, dedup, copy, fp, [canonical_id])[0]
    ids = [c for c in dedup.candidates(session, copy, fp, limit=10 * MAX_VERIFIED) if c != canonical_id]
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
    stored = dedup._load(session, ids)
    urls = dict(session.execute(select(CopyRow.id, CopyRow.url).where(CopyRow.id.in_(ids))).all())
    return [
        StoryVerdict(s.story_id or 0, s.id, urls[s.id], dedup._verify(copy, fp, s))
        for s in (stored[i] for i in ids if i in stored)
    ]
