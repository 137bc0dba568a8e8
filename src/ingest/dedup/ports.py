"""What placement needs of storage: the contracts the store implements, so dedup never depends on how it keeps them.

Two ports, both used inside one write transaction of the store (its writer lock keeps other
processes out while placement reads and writes):

* `CandidateIndex`: the persistent LSH index (`ingest.store.band_tables.BandTables`). Copies are
  indexed under their band and sentence keys in a time bucket, and under probe keys store-wide;
  a search returns `Hits`.
* `StoryLedger`: the copies and stories one batch of placements touches, read in bulk and held in
  memory, changed by placement, and written back at the end (a unit of work:
  `ingest.store.story_ledger.DbStoryLedger`). Placing copies one statement at a time cost ~6 round
  trips per copy, more than the decisions themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from ingest.dedup.candidates import Hits
from ingest.dedup.election import Member, Story
from ingest.dedup.fingerprint import Fingerprint

__all__ = [
    "CandidateIndex",
    "CopyColumns",
    "InsertNew",
    "ReadText",
    "StoredCopy",
    "StoredFingerprint",
    "StoredSignature",
    "StoryLedger",
]


@dataclass(frozen=True, slots=True)
class StoredCopy:
    """What verification needs of a copy: its fingerprint and publication time."""

    id: int
    published_at: datetime | None
    fp: Fingerprint
    content_hash: str = ""  # which text `fp` is of (a re-fetched copy may have changed)


@dataclass(frozen=True, slots=True)
class CopyColumns:
    """A stored copy's fingerprint as the store keeps it (`signature_bytes`, `shingle_bytes`,
    `numbers_text`); `shingles` is None on copies stored before they were kept (schema 0002)."""

    id: int
    content_hash: str
    signature: bytes
    shingles: bytes | None
    numbers: str | None
    token_count: int


@dataclass(frozen=True, slots=True)
class StoredSignature:
    """What indexing a stored copy again needs of it (`ingest.dedup.deduplicator.index_copies`)."""

    id: int
    signature: bytes  # `signature_bytes`
    published_at: datetime | None
    text: str


# A stored copy's whole text by its id ("" if it has none).
ReadText = Callable[[int], str]
# The Fingerprint of a stored copy, from its columns (reading its text only if they lack the shingles).
StoredFingerprint = Callable[[CopyColumns, ReadText], Fingerprint]
# Stores the copies placed but not stored yet, given their placement columns (story_id,
# similarity, join_reason) by copy id.
InsertNew = Callable[[Mapping[int, dict[str, Any]]], None]


class CandidateIndex(Protocol):
    """The LSH index of stored copies, bound to the current write transaction."""

    def lookup(self, queries: Sequence[tuple[Sequence[int], np.ndarray]]) -> list[Hits]:
        """For each (buckets, keys) query: the copies in those buckets sharing any of the keys."""
        ...

    def probe(self, keys: np.ndarray) -> Hits:
        """Copies sharing any of the probe `keys`, in any bucket."""
        ...

    def add(self, copy_id: int, bucket: int, keys: np.ndarray, probe: np.ndarray) -> None:
        """Index a copy (written with the transaction, visible to this process's searches at once)."""
        ...

    def remove(self, copy_id: int) -> None:
        """Take a copy out of the index."""
        ...

    def clear(self) -> None:
        """Empty the index (before a rebuild)."""
        ...

    def flush(self) -> None:
        """Write what was added so far (also done before each commit)."""
        ...


class StoryLedger(Protocol):
    """The copies and stories of one batch of placements: read in bulk, changed in memory, written once.

    Copies placed earlier in the batch are visible to later ones as stored copies are. Membership
    changes re-run the election (`ingest.dedup.election`).
    """

    @property
    def copies(self) -> Mapping[int, StoredCopy]: ...
    @property
    def story_of(self) -> Mapping[int, int | None]:
        """Copy id -> story id, of the copies read or placed."""
        ...

    @property
    def stories(self) -> Mapping[int, Story]: ...

    def load(self, ids: Iterable[int]) -> None:
        """Read the copies `ids` not held yet, and the stories they belong to."""
        ...

    def load_stories(self, ids: Iterable[int]) -> None:
        """Read the stories `ids` not held yet, with every member's election facts."""
        ...

    def copy(self, copy_id: int) -> StoredCopy | None:
        """A copy, read if not held yet; None if it is not stored."""
        ...

    def text(self, copy_id: int) -> str:
        """A stored copy's fingerprinted text ("" if it is not stored)."""
        ...

    def found(self, member: Member) -> Story:
        """A new story of one copy (written, and given its id, by `write`)."""
        ...

    def join(self, story_id: int, member: Member) -> None: ...

    def leave(self, story_id: int | None, copy_id: int, now: datetime) -> None:
        """Take a copy out of its story (re-electing it; a story left empty is deleted)."""
        ...

    def place(
        self,
        copy: StoredCopy,
        story_id: int,
        similarity: float | None,
        reason: str,
        also: tuple[tuple[int, float], ...] = (),
        stored: bool = True,
    ) -> None:
        """Record where `copy` went; a copy not `stored` yet is inserted by `write`'s `insert_new`."""
        ...

    def write(self, insert_new: InsertNew | None = None) -> dict[int, int]:
        """Write the batch back; returns the ids the new stories got, by their temporary (negative) ids."""
        ...
