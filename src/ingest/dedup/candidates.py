"""Candidates in memory: sorted runs of (key, copy id) entries, and the hits a search of them gives.

Pure numpy, no storage: the store's band index (`ingest.store.band_tables`, the `CandidateIndex`
port of `ingest.dedup.ports`) keeps each time bucket it caches as `KeyRuns`, and placement ranks
the `Hits` it returns (`Deduplicator._best`) and finds the copies of its own batch with them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

__all__ = ["BAND_POINTS", "MIN_POINTS", "SENTENCE_POINTS", "Hits", "KeyRuns", "key_points"]

_MERGE_AT = 200_000  # entries added to a cached bucket before they are merged into its arrays

# What a shared key counts towards a candidate's rank: a band key (or a probe key) two points, a
# sentence key one. A candidate needs `MIN_POINTS`: one band key, or two sentence keys. On the ANT
# corpus a copy shares one sentence key with ~7 unrelated copies of its weeks (a stock sentence:
# "the ministry said in a statement that ...") and two with ~0.16; its labelled copies found by
# sentence keys alone share 2-4 (one shares a single key).
BAND_POINTS = 2
SENTENCE_POINTS = 1
MIN_POINTS = 2


@dataclass(frozen=True, slots=True)
class Hits:
    """Copies sharing keys with a query: ids and the points of the keys each shares (`BAND_POINTS`)."""

    ids: np.ndarray
    counts: np.ndarray

    @staticmethod
    def per_query(n: int, queries: np.ndarray, ids: np.ndarray, points: np.ndarray | None = None) -> list[Hits]:
        """The Hits of each of `n` queries, from (query number, id of a copy holding one of its keys) pairs
        and the points of each pair's key (`BAND_POINTS` each if not given)."""
        # One sort groups the pairs by query, then by copy: (query << 32 | copy id) is unique per pair.
        codes, where = np.unique((queries.astype(np.int64) << 32) | ids, return_inverse=True)
        weights = np.full(where.size, BAND_POINTS, np.int64) if points is None else points
        counts = np.bincount(where.ravel(), weights, minlength=codes.size).astype(np.int64)
        edges = np.searchsorted(codes >> 32, np.arange(n + 1)).tolist()
        copies = codes & 0xFFFFFFFF
        return [Hits(copies[lo:hi], counts[lo:hi]) for lo, hi in itertools.pairwise(edges)]

    def merged(self, other: Hits) -> Hits:
        """Both hits, counts summed per copy."""
        if not other.ids.size:
            return self
        ids, where = np.unique(np.concatenate([self.ids, other.ids]), return_inverse=True)
        counts = np.bincount(where, np.concatenate([self.counts, other.counts]), minlength=ids.size)
        return Hits(ids, counts.astype(np.int64))


EMPTY = np.empty(0, np.int64)


@dataclass(slots=True)
class KeyRuns:
    """A bucket's (key, copy id) entries, sorted by key, in a large run and a small recent one.

    Copies indexed after the bucket was loaded are collected as arrays and sorted into the recent
    run when the bucket is next searched (once per batch), and the recent run into the large one
    past `_MERGE_AT` entries: numpy's stable sort (timsort) merges already sorted runs in linear
    time, so neither costs a full sort.
    """

    keys: np.ndarray  # int64, sorted
    ids: np.ndarray  # int64, the copy of each key
    recent_keys: np.ndarray = field(default_factory=lambda: EMPTY)
    recent_ids: np.ndarray = field(default_factory=lambda: EMPTY)
    added: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # (keys, ids) not sorted in yet

    @staticmethod
    def of(keys: np.ndarray, ids: np.ndarray) -> KeyRuns:
        """The entries (keys[i], ids[i]) in any order, as one sorted run."""
        order = np.argsort(keys)
        return KeyRuns(keys[order], ids[order])

    @property
    def size(self) -> int:
        return int(self.keys.size + self.recent_keys.size) + sum(k.size for k, _ in self.added)

    def add(self, copy_id: int, keys: np.ndarray) -> None:
        self.added.append((keys, np.full(keys.size, copy_id, dtype=np.int64)))

    def pairs(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every (position in `keys`, copy id) where the copy holds that key, in two arrays."""
        self._settle()
        at, ids = _pairs(self.keys, self.ids, keys)
        if self.recent_keys.size:
            at_recent, ids_recent = _pairs(self.recent_keys, self.recent_ids, keys)
            at, ids = np.concatenate([at, at_recent]), np.concatenate([ids, ids_recent])
        return at, ids

    def _settle(self) -> None:
        if not self.added:
            return
        keys, ids = _merge(
            [self.recent_keys, *(k for k, _ in self.added)], [self.recent_ids, *(i for _, i in self.added)]
        )
        self.added = []
        if keys.size > _MERGE_AT:
            self.keys, self.ids = _merge([self.keys, keys], [self.ids, ids])
            keys, ids = EMPTY, EMPTY
        self.recent_keys, self.recent_ids = keys, ids


def _merge(keys: list[np.ndarray], ids: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The entries of several runs, as one run sorted by key."""
    all_keys, all_ids = np.concatenate(keys), np.concatenate(ids)
    order = np.argsort(all_keys, kind="stable")
    return all_keys[order], all_ids[order]


def _pairs(sorted_keys: np.ndarray, ids: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position in `keys`, copy id) of every entry of a sorted run whose key is one of `keys`."""
    if not sorted_keys.size:
        return EMPTY, EMPTY
    # Sorted needles: numpy narrows each binary search with the previous one (~4x faster here).
    order = np.argsort(keys)
    needles = keys[order]
    lo = np.searchsorted(sorted_keys, needles)
    found = np.flatnonzero(sorted_keys[np.minimum(lo, sorted_keys.size - 1)] == needles)  # most match nothing
    lo = lo[found]
    runs = np.searchsorted(sorted_keys, needles[found], "right") - lo
    at = np.repeat(order[found], runs)
    # Each hit's run of equal keys, laid end to end: its start repeated, plus 0..run-1.
    offsets = np.arange(at.size) - np.repeat(np.cumsum(runs) - runs, runs)
    return at, ids[np.repeat(lo, runs) + offsets]


def key_points(positions: np.ndarray, banded: int) -> np.ndarray:
    """The points of shared keys by their position among a copy's keys (band keys first, `banded` of them)."""
    return np.where(positions < banded, BAND_POINTS, SENTENCE_POINTS).astype(np.int64)
