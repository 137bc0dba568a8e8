"""A cached bucket of the band index (`KeyRuns`) answers the same before and after its recent entries
are merged; hits from two lookups add up."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.dedup import candidates


def test_a_bucket_finds_every_copy_across_merges_of_its_recent_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(candidates, "_MERGE_AT", 100)
    rng = np.random.default_rng(0)
    shared = rng.integers(0, 2**62, 4)  # keys several copies share, as stock phrases make them
    bucket = candidates.KeyRuns(np.array([shared[0]], np.int64), np.array([1], np.int64))
    keys = {c: np.concatenate([rng.integers(0, 2**62, 60), shared[c % 4 : c % 4 + 1]]) for c in range(2, 40)}
    for copy_id, k in keys.items():
        bucket.add(copy_id, k)
        if copy_id % 5 == 0:  # searched between additions, as once per batch
            bucket.pairs(k)
    assert bucket.size == 1 + sum(k.size for k in keys.values())
    for copy_id, k in keys.items():
        at, found = bucket.pairs(k)
        assert bucket.recent_keys.size < 100 and np.all(bucket.keys[1:] >= bucket.keys[:-1])
        assert sorted(at[found == copy_id].tolist()) == list(range(k.size))  # each key, at its position
    at, holders = bucket.pairs(np.array([7, shared[0]], np.int64))
    assert set(at.tolist()) == {1}
    assert sorted(holders.tolist()) == [1, *sorted(c for c in keys if c % 4 == 0)]


def test_merged_hits_sum_the_keys_each_copy_shares() -> None:
    lookup = candidates.Hits(np.array([2, 5, 9]), np.array([3, 1, 2]))
    probe = candidates.Hits(np.array([1, 5]), np.array([1, 4]))
    merged = lookup.merged(probe)
    assert (merged.ids.tolist(), merged.counts.tolist()) == ([1, 2, 5, 9], [1, 3, 5, 2])
