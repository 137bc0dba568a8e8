"""Which story a copy belongs to, and which copy of a story is canonical.

The policy, run inside the store's single-writer transaction for each new or changed copy:

1. Candidates: stored copies that share LSH band keys with the copy (the `CandidateIndex` port of
   `ingest.dedup.ports`: persistent in the store, shared by every process writing to it). The
   index is partitioned by a coarse publication time bucket (`window_hours` wide; copies with no
   date go to one "undated" bucket); a dated copy looks in its own bucket, its two neighbours and
   the undated bucket. Two dated copies more than `window_hours` apart never verify, so this loses no true
   copy, and the candidate pool is the time window instead of the whole store: the lookup cost
   does not grow with the store. An undated copy looks around its fetch time, and may be a late
   copy of a story of any time: its few probe keys also search the whole store. The candidates
   are ranked by the number of keys they share and only the best `MAX_VERIFIED` are verified (a
   true copy shares many bands; chance collisions of stock phrases share one or two).
2. Verification: each candidate is checked with exact shingle measures (containment catches
   trimmed copies), the publication-time window and the numbers test (`ingest.dedup.similarity`). The
   exact fingerprint of every stored copy is in the store, so no text is re-read.
3. Placement, without chaining: a copy joins a story only if it verifies against that story's
   canonical copy, or against at least half of the story's copies. Matching one outlier member
   is not enough, so a story cannot drift through a chain of weak links. When the copy verifies
   against several stories, it joins the one with the highest score (ties: the older story) and
   the others are named in its `join_reason`; stories are never merged behind the user's back.
4. Election (`ingest.dedup.election`): the canonical copy is the earliest published (undated copies last), then the most
   complete (most words), then the smallest URL. It is re-elected whenever the story changes.

Copies are placed a batch (one write transaction) at a time: the index is searched for the
whole batch in one vectorised pass, candidates and their stories are read in a few bulk queries
into a `StoryLedger` (the unit-of-work port), decisions are taken in memory in batch order (each
copy sees the ones placed before it), and the ledger writes the batch's stories back at the end.
The outcome is the one placing the copies one at a time would give.

This module runs no SQL: the store implements the ports, and the service hands them in.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np

from ingest.dedup.candidates import EMPTY, MIN_POINTS, Hits, key_points
from ingest.dedup.election import Member, Story
from ingest.dedup.fingerprint import (
    DEFAULT,
    DedupParams,
    Fingerprint,
    band_keys,
    body_text,
    fingerprint,
    probe_keys,
    sentence_keys,
)
from ingest.dedup.ports import (
    CandidateIndex,
    CopyColumns,
    InsertNew,
    ReadText,
    StoredCopy,
    StoredSignature,
    StoryLedger,
)
from ingest.dedup.similarity import Verdict, verify

__all__ = [
    "CopyFacts",
    "Deduplicator",
    "NewCopy",
    "Placement",
    "index_copies",
    "index_keys",
    "numbers_text",
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
_FOUNDED = "founded the story: no verified candidate"
_TEXTS_KEPT = 5_000  # ~15 MB


class CopyFacts(Protocol):
    """What a candidate lookup needs of a copy (a `CopyRow`, or the writer's lighter record)."""

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
    url: str
    source_id: int
    stored: bool = True  # False: not inserted yet; `place` hands its row's placement to `insert_new`


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
    aligned: int = 0  # of those, pairs whose sentences were aligned (a stored copy's text read)
    refingerprinted: int = 0  # candidates stored without a fingerprint (before schema 0002)
    seconds: float = 0.0  # spent placing (index writes at commit are `BandTables.write_seconds`)
    storing_seconds: float = 0.0  # of `seconds`, spent in `insert_new`: the copies' own rows, not dedup's work


def time_bucket(published_at: datetime | None, params: DedupParams = DEFAULT) -> int:
    """The index's time bucket: `window_hours`-wide slices since 2000, `UNDATED` for an undated copy."""
    if published_at is None:
        return UNDATED
    when = published_at if published_at.tzinfo else published_at.replace(tzinfo=UTC)
    return 1 + max(0, int((when - _EPOCH).total_seconds() // (3600 * params.window_hours)))


def index_keys(fp: Fingerprint, params: DedupParams = DEFAULT) -> np.ndarray:
    """The keys a copy is indexed and searched under: its band keys, then its sentence keys (int64).

    The sentence keys come from `fp.sentences` (`prepare` made them) or else `fp.text`, which
    must then be the copy's body text (a fingerprint read back from the store has none: see
    `rebuild_index`); with neither they are padding.
    """
    return np.concatenate([band_keys(fp.signature, params), sentence_keys(fp, params)])


def signature_bytes(fp: Fingerprint) -> bytes:
    """The signature as stored in `article_copies.signature` (little-endian uint32)."""
    return np.ascontiguousarray(fp.signature, dtype="<u4").tobytes()


def shingle_bytes(fp: Fingerprint) -> bytes:
    """The shingle set as stored in `article_copies.shingles` (sorted little-endian uint32)."""
    return np.ascontiguousarray(fp.shingles, dtype="<u4").tobytes()


def numbers_text(fp: Fingerprint) -> str:
    """The numbers in context as stored in `article_copies.numbers` (one per line, sorted)."""
    return "\n".join(sorted(fp.numbers))


def columns_fingerprint(signature: bytes, shingles: bytes, numbers: str | None, length: int) -> Fingerprint:
    """The Fingerprint stored as `signature_bytes`, `shingle_bytes` and `numbers_text` (without its text)."""
    return Fingerprint(
        shingles=np.frombuffer(shingles, dtype="<u4"),
        signature=np.frombuffer(signature, dtype="<u4"),
        numbers=frozenset(numbers.split("\n")) if numbers else frozenset(),
        length=length,
    )


class Deduplicator:
    """Places copies into stories. Holds a bounded cache of fingerprints (copies placed here are
    candidates of the next ones), nothing else: the index and the stories are the store's ports."""

    def __init__(self, params: DedupParams = DEFAULT, cache_size: int = 50_000) -> None:
        self.params = params
        self.counters = Counters()
        self._cache: OrderedDict[tuple[int, str], Fingerprint] = OrderedDict()
        self._cache_size = cache_size
        # The texts of the copies placed last (the canonical copies new copies are checked against):
        # ~3 KB each, so fewer than fingerprints; a stored copy's text costs a query (~0.3 ms).
        self._texts: OrderedDict[tuple[int, str], str] = OrderedDict()

    def fingerprint(self, text: str) -> Fingerprint:
        return fingerprint(text, self.params)

    def place(
        self,
        ledger: StoryLedger,
        index: CandidateIndex,
        batch: Sequence[tuple[NewCopy, Fingerprint]],
        insert_new: InsertNew | None = None,
    ) -> list[Placement]:
        """Put each copy (with no story yet) into a story of `ledger` and into `index`, in batch order.

        The result is the one placing the copies one at a time would give: a copy sees
        the copies placed before it in the batch as it sees stored ones. Copies not `stored`
        yet (new ids from `allocate_ids`) are stored by `insert_new`, given their placement
        columns by copy id, once the stories they found exist: each is written once.
        """
        if not batch:
            return []
        started = time.perf_counter()
        signatures = np.stack([fp.signature for _, fp in batch])
        keys, probes = [index_keys(fp, self.params) for _, fp in batch], list(probe_keys(signatures, self.params))
        stored_hits = self._hits(index, [copy for copy, _ in batch], keys, probes)
        # Read every stored candidate, its story and the story's canonical copy in a few queries.
        ledger.load(i for hits, (copy, _) in zip(stored_hits, batch, strict=True) for i in self._best(hits, copy.id))
        ledger.load(s.canonical_id for s in list(ledger.stories.values()) if s.canonical_id is not None)
        buckets = [time_bucket(copy.published_at, self.params) for copy, _ in batch]
        placed_here = _earlier_in_batch(
            _BatchCopies(
                ids=np.array([copy.id for copy, _ in batch], np.int64),
                buckets=np.array(buckets, np.int64),
                centres=np.array([self._centre(copy) for copy, _ in batch], np.int64),
                undated=np.array([copy.published_at is None for copy, _ in batch]),
            ),
            keys,
            probes,
            self.params.bands,
        )
        chosen = []
        for (copy, fp), copy_keys, probe, bucket, hits, here in zip(
            batch, keys, probes, buckets, stored_hits, placed_here, strict=True
        ):
            self.counters.placements += 1
            chosen.append(self._place_one(ledger, copy, fp, self._best(hits.merged(here), copy.id, count=True)))
            index.add(copy.id, bucket, copy_keys, probe)
            self._remember(copy.id, copy.content_hash, fp)
        founded = ledger.write(self._timed(insert_new) if insert_new else None)
        self.counters.seconds += time.perf_counter() - started
        return [replace(p, story_id=founded.get(p.story_id, p.story_id)) for p in chosen]

    def _timed(self, insert_new: InsertNew) -> InsertNew:
        def timed(placements: Mapping[int, dict[str, Any]]) -> None:
            started = time.perf_counter()
            insert_new(placements)
            self.counters.storing_seconds += time.perf_counter() - started

        return timed

    def _place_one(self, ledger: StoryLedger, copy: NewCopy, fp: Fingerprint, ids: list[int]) -> Placement:
        verdicts: dict[int, Verdict] = {}
        matched: set[int] = set()  # stories with a verified candidate
        for other in filter(None, map(ledger.copy, ids)):
            story_id = ledger.story_of.get(other.id)
            if story_id in matched:  # judging the story verifies whatever else of it counts
                continue
            verdict = verdicts[other.id] = self._verify(ledger, copy, fp, other)
            if verdict.same_story and story_id is not None:
                matched.add(story_id)
        member = Member(copy.id, copy.published_at, copy.fetched_at, fp.length, copy.url, copy.source_id)
        mine = StoredCopy(copy.id, copy.published_at, fp, copy.content_hash)
        accepted, refused = self._accepted_stories(ledger, copy, fp, matched, verdicts)
        if not accepted:
            story = ledger.found(member)
            reason = f"founded the story: {refused[0]}" if refused else _FOUNDED
            ledger.place(mine, story.id, None, reason, stored=copy.stored)
            return Placement(story.id, True, None, reason)
        score, story_id, reason = accepted[0]
        ledger.join(story_id, member)
        ledger.place(mine, story_id, score, reason, tuple((s, sc) for sc, s, _ in accepted[1:]), copy.stored)
        return Placement(story_id, False, score, reason)

    def detach(
        self, ledger: StoryLedger, index: CandidateIndex, copy_id: int, story_id: int | None, now: datetime
    ) -> None:
        """Take a copy out of its story and the index (before re-placing a changed copy)."""
        index.remove(copy_id)
        if story_id is not None:
            ledger.load_stories([story_id])
        ledger.leave(story_id, copy_id, now)
        ledger.write()

    def candidates(
        self, index: CandidateIndex, copy: CopyFacts, keys: np.ndarray, probe: np.ndarray, limit: int = MAX_VERIFIED
    ) -> list[int]:
        """Ids of the stored copies sharing the most of the band `keys` with `copy` (ties: the older copy)."""
        return self._best(self._hits(index, [copy], [keys], [probe])[0], copy.id, limit)

    def verdicts(
        self, ledger: StoryLedger, copy: CopyFacts, fp: Fingerprint, ids: Sequence[int]
    ) -> list[tuple[int, Verdict]]:
        """(copy id, verdict of `copy` against it) for each stored copy of `ids` (`ingest explain`)."""
        ledger.load(ids)
        return [(i, self._verify(ledger, copy, fp, ledger.copies[i])) for i in ids if i in ledger.copies]

    def _window(self, copy: CopyFacts) -> list[int]:
        """The index buckets a copy's candidates may be in: the ones next to its centre, and the undated."""
        centre = self._centre(copy)
        return sorted({UNDATED, centre - 1, centre, centre + 1})

    def _centre(self, copy: CopyFacts) -> int:
        """The bucket of its publication (of its fetch, if it is undated)."""
        return time_bucket(copy.published_at or copy.fetched_at, self.params)

    def _hits(
        self,
        index: CandidateIndex,
        copies: Sequence[CopyFacts],
        keys: Sequence[np.ndarray],
        probes: Sequence[np.ndarray],
    ) -> list[Hits]:
        """What the index holds for each copy's band keys in its window.

        An undated copy may also be a late copy (an AMP page, a backfill) of a story published at
        any time: its probe keys search the whole store as well.
        """
        hits = index.lookup([(self._window(c), k) for c, k in zip(copies, keys, strict=True)])
        return [
            h.merged(index.probe(p)) if c.published_at is None else h
            for c, h, p in zip(copies, hits, probes, strict=True)
        ]

    def _best(self, hits: Hits, own_id: int, limit: int = MAX_VERIFIED, count: bool = False) -> list[int]:
        """The `limit` copies sharing the most keys (ties: the older copy), the copy itself left out.

        Only copies with `MIN_POINTS` count: one band or probe key, or two sentence keys.
        """
        others = (hits.ids != own_id) & (hits.counts >= MIN_POINTS)
        ids, shared = hits.ids[others], hits.counts[others]
        if count:
            self.counters.candidates += int(ids.size)
        return ids[np.lexsort((ids, -shared))[:limit]].tolist()

    def _verify(self, ledger: StoryLedger, copy: CopyFacts, fp: Fingerprint, other: StoredCopy) -> Verdict:
        """`verify`, reading a stored copy's text from the store only if the pair needs aligning."""
        self.counters.verified += 1

        def texts() -> tuple[str, str]:
            self.counters.aligned += 1
            own = fp.text or ledger.text(copy.id)  # a fingerprint made without its text (tests)
            return own, other.fp.text or self._text(ledger, other)

        return verify(fp, other.fp, copy.published_at, other.published_at, self.params, texts)

    def stored_fingerprint(self, columns: CopyColumns, read_text: ReadText) -> Fingerprint:
        """A stored copy's Fingerprint: cached if placed here, else from its columns, else from its text."""
        key = (columns.id, columns.content_hash)
        fp = self._cache.get(key)
        if fp is not None:
            self._cache.move_to_end(key)
            return fp
        if columns.shingles is not None:
            return columns_fingerprint(columns.signature, columns.shingles, columns.numbers, columns.token_count)
        self.counters.refingerprinted += 1
        fp = fingerprint(read_text(columns.id), self.params)
        self._remember(columns.id, columns.content_hash, fp)
        return fp

    def _remember(self, copy_id: int, content_hash: str, fp: Fingerprint) -> None:
        # The text apart, in a smaller cache: the pairs that need it read it from the store.
        self._cache[(copy_id, content_hash)] = replace(fp, text="", sentences=None) if fp.text else fp
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        if fp.text:
            self._keep_text(copy_id, content_hash, fp.text)

    def _text(self, ledger: StoryLedger, copy: StoredCopy) -> str:
        """A stored copy's fingerprinted text: from the texts cache, else read from the store."""
        key = (copy.id, copy.content_hash)
        text = self._texts.get(key)
        if text is None:
            text = ledger.text(copy.id)
            self._keep_text(copy.id, copy.content_hash, text)
        else:
            self._texts.move_to_end(key)
        return text

    def _keep_text(self, copy_id: int, content_hash: str, text: str) -> None:
        self._texts[(copy_id, content_hash)] = text
        if len(self._texts) > _TEXTS_KEPT:
            self._texts.popitem(last=False)

    def _accepted_stories(
        self, ledger: StoryLedger, copy: NewCopy, fp: Fingerprint, matched: set[int], verdicts: dict[int, Verdict]
    ) -> tuple[list[tuple[float, int, str]], list[str]]:
        """(score, story, reason) of each `matched` story the copy may join, best first (ties: the older
        story); and why it may not join the others it matched (the outlet rule)."""
        accepted, refused = [], []
        for story_id in sorted(matched):
            judged = self._judge_story(ledger, copy, fp, ledger.stories[story_id], verdicts)
            if isinstance(judged, str):
                refused.append(judged)
            elif judged is not None:
                accepted.append((judged[0], story_id, judged[1]))
        # A story founded in this batch has a negative id until written, and is newer than any stored one.
        accepted.sort(key=lambda a: (-a[0], a[1] < 0, abs(a[1])))
        return accepted, refused

    def _judge_story(
        self, ledger: StoryLedger, copy: NewCopy, fp: Fingerprint, story: Story, verdicts: dict[int, Verdict]
    ) -> tuple[float, str] | str | None:
        """(score, reason) if the copy joins `story`; why not, if only the outlet rule refuses it; None."""
        judged = self._judge_members(ledger, copy, fp, story, verdicts)
        if judged is None or judged[0] >= self.params.outlet_containment:
            return judged
        own = sum(1 for m in story.members.values() if m.source_id == copy.source_id)
        if own >= self.params.outlet_copies:  # a series of one outlet's follow-ups, not copies
            return (
                f"the story it matches holds {own} copies of its outlet already and the match "
                f"({judged[0]:.2f}) is below {self.params.outlet_containment}"
            )
        return judged

    def _judge_members(
        self, ledger: StoryLedger, copy: NewCopy, fp: Fingerprint, story: Story, verdicts: dict[int, Verdict]
    ) -> tuple[float, str] | None:
        if story.canonical_id is not None:
            verdict = self._verdict(ledger, copy, fp, story.canonical_id, verdicts)
            if verdict.same_story:
                return verdict.score, f"matches the canonical copy {story.canonical_id}: {verdict.reason}"
        sample = story.recent(_MEMBER_SAMPLE)
        agree = [cid for cid in sample if self._verdict(ledger, copy, fp, cid, verdicts).same_story]
        if sample and 2 * len(agree) >= len(sample):
            score = max(verdicts[c].score for c in agree)
            return score, f"matches {len(agree)} of {len(sample)} copies of the story (not its canonical copy)"
        return None

    def _verdict(
        self, ledger: StoryLedger, copy: NewCopy, fp: Fingerprint, other_id: int, verdicts: dict[int, Verdict]
    ) -> Verdict:
        """The verdict against `other_id`, verified now if it was not among the candidates."""
        if other_id not in verdicts:
            other = ledger.copy(other_id)
            verdicts[other_id] = (
                self._verify(ledger, copy, fp, other) if other else Verdict(False, 0.0, "no longer stored")
            )
        return verdicts[other_id]


@dataclass(frozen=True, slots=True)
class _BatchCopies:
    """The copies of a batch, as arrays: ids, index buckets, window centres, undated or not."""

    ids: np.ndarray
    buckets: np.ndarray
    centres: np.ndarray  # the bucket a copy's window is centred on (see `Deduplicator._window`)
    undated: np.ndarray


def _earlier_in_batch(
    batch: _BatchCopies, keys: Sequence[np.ndarray], probes: Sequence[np.ndarray], banded: int
) -> list[Hits]:
    """For each copy of a batch, the earlier copies of the batch it would find in the index.

    The index was searched before the batch was placed, so it missed these. As in the index, a
    copy finds those sharing band or sentence keys inside its window (the first `banded` of its
    keys are band keys), and an undated copy also those sharing probe keys anywhere. One sort of
    the batch's keys finds the keys held by several copies; every pair of their holders is one
    shared key.
    """
    earlier, later, position = _holder_pairs(keys)
    held = batch.buckets[earlier]
    inside = (held == UNDATED) | (np.abs(held - batch.centres[later]) <= 1)
    probe_earlier, probe_later, _ = _holder_pairs(probes)
    wide = batch.undated[probe_later]
    points = key_points(np.concatenate([position[inside], np.zeros(int(wide.sum()), np.int64)]), banded)
    return Hits.per_query(
        len(keys),
        np.concatenate([later[inside], probe_later[wide]]),
        batch.ids[np.concatenate([earlier[inside], probe_earlier[wide]])],
        points,
    )


def _holder_pairs(keys: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(earlier, later) batch positions of the copies holding a common key, once per key held,
    and the key's position among the earlier copy's keys."""
    flat = np.concatenate(keys)
    owner = np.repeat(np.arange(len(keys)), [k.size for k in keys])
    place = np.concatenate([np.arange(k.size) for k in keys])
    order = np.argsort(flat, kind="stable")  # stable: a key's holders stay in batch order
    flat, owner, place = flat[order], owner[order], place[order]
    starts = np.flatnonzero(np.concatenate(([True], flat[1:] != flat[:-1])))
    lengths = np.diff(np.append(starts, flat.size))
    earlier, later, position = [EMPTY], [EMPTY], [EMPTY]
    for length in np.unique(lengths[lengths > 1]).tolist():  # runs of one length at a time
        first, second = np.triu_indices(length, 1)
        at = starts[lengths == length][:, None]
        earlier.append(owner[at + first].ravel())
        later.append(owner[at + second].ravel())
        position.append(place[at + first].ravel())
    return np.concatenate(earlier), np.concatenate(later), np.concatenate(position)


_NO_SHINGLES = np.empty(0, np.uint32)


def index_copies(
    index: CandidateIndex, batches: Iterable[Sequence[StoredSignature]], params: DedupParams = DEFAULT
) -> int:
    """Empty `index` and index every copy of `batches` again; returns copies indexed.

    `ingest db reindex`: the keys depend on `params` (bands, rows, time window, sentence keys),
    so a change of them needs this. The band and probe keys come from the stored signature, the
    sentence keys from the stored text.
    """
    index.clear()  # the new log rows tell other processes to reload
    done = 0
    for batch in batches:
        for c in batch:
            signature = np.frombuffer(c.signature, dtype="<u4")
            fp = Fingerprint(shingles=_NO_SHINGLES, signature=signature, text=body_text(c.text))
            keys, probe = index_keys(fp, params), probe_keys(signature, params)
            index.add(c.id, time_bucket(c.published_at, params), keys, probe)
        index.flush()
        done += len(batch)
    return done
