"""Which story a copy belongs to, and which copy of a story is canonical.

The policy, run inside the store's single-writer transaction for each new or changed copy:

1. Candidates: stored copies that share LSH band keys with the copy (`ingest.bandindex`,
   persistent and shared by every process writing to the store). The index is partitioned by
   a coarse publication time bucket (`window_hours` wide; copies with no date go to one
   "undated" bucket); a dated copy looks in its own bucket, its two neighbours and the undated
   bucket. Two dated copies more than `window_hours` apart never verify, so this loses no true
   copy, and the candidate pool is the time window instead of the whole store: the lookup cost
   does not grow with the store. The candidates are ranked by the number of bands they share
   and only the best `MAX_VERIFIED` are verified (a true copy shares many bands; chance
   collisions of stock phrases share one or two).
2. Verification: each candidate is checked with exact shingle measures (containment catches
   trimmed copies), the publication-time window and the numbers test (`ingest.similarity`). The
   exact fingerprint of every stored copy is in the store, so no text is re-read.
3. Placement, without chaining: a copy joins a story only if it verifies against that story's
   canonical copy, or against at least half of the story's copies. Matching one outlier member
   is not enough, so a story cannot drift through a chain of weak links. When the copy verifies
   against several stories, it joins the one with the highest score (ties: the older story) and
   the others are named in its `join_reason`; stories are never merged behind the user's back.
4. Election: the canonical copy is the earliest published (undated copies last), then the most
   complete (most words), then the smallest URL. It is re-elected whenever the story changes.

Every statement here is SQLAlchemy Core on the session's connection: placement runs thousands
of times a second, and ORM units of work cost more than the decisions.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
from sqlalchemy import Connection, Row, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from ingest.bandindex import BandIndex
from ingest.fingerprint import DEFAULT, DedupParams, Fingerprint, band_keys, fingerprint, probe_keys
from ingest.similarity import Verdict, verify
from ingest.store.models import CopyRow, StoryRow

__all__ = [
    "CopyFacts",
    "Deduplicator",
    "Explanation",
    "NewCopy",
    "Placement",
    "StoryVerdict",
    "election_key",
    "explain",
    "numbers_text",
    "rebuild_index",
    "shingle_bytes",
    "signature_bytes",
    "time_bucket",
]

# Candidates verified per copy, best ranked first. True copies of a story share many of the 64
# bands (a trimmed copy at Jaccard 0.2 shares ~2.6 on average, a full copy dozens), while chance
# collisions through stock phrases share one; the dev set's true pairs never need more than a few
# verifications, and 50 bounds the worst case (a burst of same-template bulletins).
MAX_VERIFIED = 50
# The time bucket of copies with no publication date: looked up by every copy, whatever its date.
UNDATED = 0
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


# Copies of one story rarely exceed a few dozen; a larger story is judged on a sample of its
# most recent copies so that a long-running story cannot make placement slow.
_MEMBER_SAMPLE = 50
# Placement runs for every copy: its statements are built once (building one costs ~4x
# executing it through SQLAlchemy, which then reuses the compiled form).
_SET_STORY = (
    update(CopyRow)
    .where(CopyRow.id == bindparam("copy"))
    .values(story_id=bindparam("story"), similarity=bindparam("sim"), join_reason=bindparam("why"))
)
_NEW_STORY = insert(StoryRow).returning(StoryRow.id)
_SAMPLE = (
    select(CopyRow.id)
    .where(CopyRow.story_id == bindparam("story"))
    .order_by(CopyRow.fetched_at.desc())
    .limit(_MEMBER_SAMPLE)
)
_MEMBERS = select(CopyRow.id, CopyRow.published_at, CopyRow.token_count, CopyRow.url, CopyRow.source_id).where(
    CopyRow.story_id == bindparam("story")
)
_DELETE_STORY = delete(StoryRow).where(StoryRow.id == bindparam("story"))
_ELECT = (
    update(StoryRow)
    .where(StoryRow.id == bindparam("story"))
    .values(
        canonical_copy_id=bindparam("canonical"),
        first_published_at=bindparam("first"),
        copy_count=bindparam("copies"),
        source_count=bindparam("sources"),
        updated_at=bindparam("now"),
    )
)
_CANDIDATES = (
    select(
        CopyRow.id,
        CopyRow.story_id,
        StoryRow.canonical_copy_id,
        CopyRow.published_at,
        CopyRow.content_hash,
        CopyRow.signature,
        CopyRow.shingles,
        CopyRow.numbers,
        CopyRow.token_count,
    )
    .outerjoin(StoryRow, StoryRow.id == CopyRow.story_id)
    .where(CopyRow.id.in_(bindparam("ids", expanding=True)))
)


class CopyFacts(Protocol):
    """What placement needs of a stored copy (a `CopyRow`, or the writer's lighter record)."""

    @property
    def id(self) -> int: ...
    @property
    def published_at(self) -> datetime | None: ...
    @property
    def fetched_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class NewCopy:
    """A copy just stored (or re-stored with new text), to be placed."""

    id: int
    published_at: datetime | None
    fetched_at: datetime
    content_hash: str


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
    refingerprinted: int = 0  # candidates stored without a fingerprint (before schema 0002)
    seconds: float = 0.0  # spent placing (index writes at commit are `BandIndex.write_seconds`)


@dataclass(frozen=True, slots=True)
class _Stored:
    """What verification needs of a stored copy."""

    id: int
    story_id: int | None
    canonical_id: int | None  # of its story
    published_at: datetime | None
    fp: Fingerprint


def time_bucket(published_at: datetime | None, params: DedupParams = DEFAULT) -> int:
    """The index's time bucket: `window_hours`-wide slices since 2000, `UNDATED` for an undated copy."""
    if published_at is None:
        return UNDATED
    when = published_at if published_at.tzinfo else published_at.replace(tzinfo=UTC)
    return 1 + max(0, int((when - _EPOCH).total_seconds() // (3600 * params.window_hours)))


def signature_bytes(fp: Fingerprint) -> bytes:
    """The signature as stored in `article_copies.signature` (little-endian uint32)."""
    return np.ascontiguousarray(fp.signature, dtype="<u4").tobytes()


def shingle_bytes(fp: Fingerprint) -> bytes:
    """The shingle set as stored in `article_copies.shingles` (sorted little-endian uint32)."""
    return np.ascontiguousarray(fp.shingles, dtype="<u4").tobytes()


def numbers_text(fp: Fingerprint) -> str:
    """The numbers in context as stored in `article_copies.numbers` (one per line, sorted)."""
    return "\n".join(sorted(fp.numbers))


def stored_fingerprint(signature: bytes, shingles: bytes, numbers: str | None, length: int) -> Fingerprint:
    return Fingerprint(
        shingles=np.frombuffer(shingles, dtype="<u4"),
        signature=np.frombuffer(signature, dtype="<u4"),
        numbers=frozenset(numbers.split("\n")) if numbers else frozenset(),
        length=length,
    )


class Deduplicator:
    """Places copies into stories. Holds the process's view of the band index and a bounded
    cache of fingerprints (copies placed here are candidates of the next ones), nothing else."""

    def __init__(self, params: DedupParams = DEFAULT, cache_size: int = 50_000) -> None:
        self.params = params
        self.counters = Counters()
        self.index = BandIndex(params.bands)
        self._cache: OrderedDict[tuple[int, str], Fingerprint] = OrderedDict()
        self._cache_size = cache_size

    def fingerprint(self, text: str) -> Fingerprint:
        return fingerprint(text, self.params)

    def place(self, session: Session, copy: NewCopy, fp: Fingerprint) -> Placement:
        """Put `copy` (stored, with no story yet) into a story and index it."""
        started = time.perf_counter()
        self.counters.placements += 1
        conn = session.connection()
        keys, probe = band_keys(fp.signature, self.params), probe_keys(fp.signature, self.params)
        verdicts, stored = self._verified_candidates(session, copy, fp, keys, probe)
        placement = self._choose_story(conn, copy, fp, verdicts, stored) or self._found_story(conn, copy)
        conn.execute(
            _SET_STORY,
            {"copy": copy.id, "story": placement.story_id, "sim": placement.similarity, "why": placement.reason},
        )
        self.index.add(session, copy.id, time_bucket(copy.published_at, self.params), keys, probe)
        self._remember(copy.id, copy.content_hash, fp)
        if not placement.new_story:
            self.refresh_story(conn, placement.story_id, copy.fetched_at)
        self.counters.seconds += time.perf_counter() - started
        return placement

    def _found_story(self, conn: Connection, copy: NewCopy) -> Placement:
        """A new story of one copy, elected and counted as it is created (no re-election query)."""
        story_id = conn.execute(
            _NEW_STORY,
            {
                "canonical_copy_id": copy.id,
                "first_published_at": copy.published_at,
                "copy_count": 1,
                "source_count": 1,
                "created_at": copy.fetched_at,
                "updated_at": copy.fetched_at,
            },
        ).scalar_one()
        return Placement(story_id, True, None, "founded the story: no verified candidate")

    def detach(self, session: Session, copy_id: int, story_id: int | None, now: datetime) -> None:
        """Take a copy out of its story and the index (before re-placing a changed copy)."""
        self.index.remove(session, copy_id)
        conn = session.connection()
        conn.execute(_SET_STORY, {"copy": copy_id, "story": None, "sim": None, "why": None})
        if story_id is not None:
            self.refresh_story(conn, story_id, now)

    def candidates(
        self, session: Session, copy: CopyFacts, keys: np.ndarray, probe: np.ndarray, limit: int = MAX_VERIFIED
    ) -> list[int]:
        """Ids of the stored copies sharing the most of the band `keys` with `copy` (ties: the older copy).

        An undated copy is looked up around its fetch time, and may also be a late copy (an AMP
        page, a backfill) of a story published at any time: its `probe` keys search the whole store.
        """
        centre = time_bucket(copy.published_at or copy.fetched_at, self.params)
        hits = self.index.lookup(session, sorted({UNDATED, centre - 1, centre, centre + 1}), keys)
        if copy.published_at is None:
            hits = hits.merged(self.index.probe(session, probe))
        mine = hits.ids != copy.id
        ids, counts = hits.ids[mine], hits.counts[mine]
        self.counters.candidates += int(ids.size)
        best = np.lexsort((ids, -counts))[:limit]  # most shared keys first, then the older copy
        return ids[best].tolist()

    def _verified_candidates(
        self, session: Session, copy: NewCopy, fp: Fingerprint, keys: np.ndarray, probe: np.ndarray
    ) -> tuple[dict[int, Verdict], dict[int, _Stored]]:
        stored = self._load(session.connection(), self.candidates(session, copy, keys, probe))
        return {s.id: self._verify(copy, fp, s) for s in stored.values()}, stored

    def _verify(self, copy: CopyFacts, fp: Fingerprint, other: _Stored) -> Verdict:
        self.counters.verified += 1
        return verify(fp, other.fp, copy.published_at, other.published_at, self.params)

    def _load(self, conn: Connection, ids: Sequence[int]) -> dict[int, _Stored]:
        """The stored copies `ids` with their fingerprints, in one query."""
        if not ids:
            return {}
        return {
            r.id: _Stored(r.id, r.story_id, r.canonical_copy_id, r.published_at, self._fingerprint_of(conn, r))
            for r in conn.execute(_CANDIDATES, {"ids": list(ids)})
        }

    def _fingerprint_of(self, conn: Connection, row: Row[*tuple[Any, ...]]) -> Fingerprint:
        key = (row.id, row.content_hash)
        fp = self._cache.get(key)
        if fp is not None:
            self._cache.move_to_end(key)
            return fp
        if row.shingles is not None:
            return stored_fingerprint(row.signature, row.shingles, row.numbers, row.token_count)
        self.counters.refingerprinted += 1
        fp = fingerprint(conn.scalar(select(CopyRow.text).where(CopyRow.id == row.id)) or "", self.params)
        self._remember(row.id, row.content_hash, fp)
        return fp

    def _remember(self, copy_id: int, content_hash: str, fp: Fingerprint) -> None:
        self._cache[(copy_id, content_hash)] = fp
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _choose_story(
        self,
        conn: Connection,
        copy: NewCopy,
        fp: Fingerprint,
        verdicts: dict[int, Verdict],
        stored: dict[int, _Stored],
    ) -> Placement | None:
        matched = {s.story_id: s.canonical_id for s in stored.values() if s.story_id and verdicts[s.id].same_story}
        accepted: list[tuple[float, int, str]] = []
        for story_id, canonical_id in sorted(matched.items()):
            judged = self._judge_story(conn, copy, fp, story_id, canonical_id, verdicts)
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
        conn: Connection,
        copy: NewCopy,
        fp: Fingerprint,
        story_id: int,
        canonical_id: int | None,
        verdicts: dict[int, Verdict],
    ) -> tuple[float, str] | None:
        if canonical_id is not None:
            verdict = self._verdict(conn, copy, fp, canonical_id, verdicts)
            if verdict.same_story:
                return verdict.score, f"matches the canonical copy {canonical_id}: {verdict.reason}"
        sample = conn.scalars(_SAMPLE, {"story": story_id}).all()
        agree = [cid for cid in sample if self._verdict(conn, copy, fp, cid, verdicts).same_story]
        if sample and 2 * len(agree) >= len(sample):
            score = max(verdicts[c].score if c in verdicts else 0.0 for c in agree)
            return (
                score,
                f"matches {len(agree)} of {len(sample)} copies of the story (not its canonical copy)",
            )
        return None

    def _verdict(
        self, conn: Connection, copy: NewCopy, fp: Fingerprint, other_id: int, verdicts: dict[int, Verdict]
    ) -> Verdict:
        """The verdict against `other_id`, verified now if it was not among the candidates."""
        if other_id not in verdicts:
            verdicts[other_id] = self._verify(copy, fp, self._load(conn, [other_id])[other_id])
        return verdicts[other_id]

    def refresh_story(self, conn: Connection, story_id: int, now: datetime) -> None:
        """Re-elect the canonical copy and recount; delete the story if it has no copy left."""
        members = conn.execute(_MEMBERS, {"story": story_id}).all()
        if not members:
            conn.execute(_DELETE_STORY, {"story": story_id})
            return
        dates = [m.published_at for m in members if m.published_at is not None]
        conn.execute(
            _ELECT,
            {
                "story": story_id,
                "canonical": min(members, key=election_key).id,
                "first": min(dates) if dates else None,
                "copies": len(members),
                "sources": len({m.source_id for m in members}),
                "now": now,
            },
        )


def election_key(member: Row[int, datetime | None, int, str, int]) -> tuple[bool, float, int, str]:
    """Earliest published first (undated last), then most words, then smallest URL."""
    _id, published, token_count, url, _source = member
    return (published is None, published.timestamp() if published else 0.0, -token_count, url)


def rebuild_index(session: Session, params: DedupParams = DEFAULT, batch: int = 5_000) -> int:
    """Recompute every index row from the stored signatures and dates; returns copies indexed.

    `ingest db reindex`: the keys depend on `params` (bands, rows, time window), so a change of
    them needs this. No text is re-read: the stored signature is all the keys need.
    """
    index = BandIndex(params.bands)
    conn = session.connection()
    index.clear(session)  # the new log rows tell other processes to reload
    done, last = 0, 0
    cols = (CopyRow.id, CopyRow.signature, CopyRow.published_at)
    while rows := conn.execute(select(*cols).where(CopyRow.id > last).order_by(CopyRow.id).limit(batch)).all():
        for r in rows:
            signature = np.frombuffer(r.signature, dtype="<u4")
            keys, probe = band_keys(signature, params), probe_keys(signature, params)
            index.add(session, r.id, time_bucket(r.published_at, params), keys, probe)
        index.flush(session)
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
    keys, probe = band_keys(fp.signature, params), probe_keys(fp.signature, params)
    ids = [c for c in dedup.candidates(session, copy, keys, probe, limit=10 * MAX_VERIFIED) if c != canonical_id]
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
    stored = dedup._load(session.connection(), ids)
    urls = dict(session.execute(select(CopyRow.id, CopyRow.url).where(CopyRow.id.in_(ids))).all())
    return [
        StoryVerdict(s.story_id or 0, s.id, urls[s.id], dedup._verify(copy, fp, s))
        for s in (stored[i] for i in ids if i in stored)
    ]
