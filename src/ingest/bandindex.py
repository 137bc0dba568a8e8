"""The MinHash LSH band index: persistent in the store, cached in the process a time bucket at a time.

Every indexed copy has one row per LSH band in `lsh_index`: (time bucket, band key, copy id).
A copy's candidates are the copies sharing band keys with it in the time buckets of its
publication window, so a process needs only those buckets, not the whole index: a bucket is
loaded once, as one key-ordered range scan, into two sorted numpy arrays (16 bytes per entry, a
tenth of a dict's), and is looked up with a vectorised binary search. Buckets are evicted least
recently used beyond `max_entries`.

Several processes may write one store (a crawl per source), one transaction at a time under the
store's writer lock. Each (re)indexed copy also gets a row in `lsh_log`, whose sequence grows in
commit order; at the start of each transaction a process reads the log past the last sequence
it saw and adds what the others indexed meanwhile to the buckets it holds. A rolled-back
transaction drops the whole cache (it may hold copies that no longer exist) and it is rebuilt
from the store as needed.

Entries of a copy that was re-indexed under new keys, or deleted, may linger in a process's
cache until eviction: they only propose a candidate that verification then reads afresh.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np
from sqlalchemy import Connection, delete, event, func, select, text
from sqlalchemy.orm import Session

from ingest.store.models import IndexLogRow, IndexRow

__all__ = ["BandIndex", "Hits"]

# A process that finds more than this many copies indexed by others since its last transaction
# drops its cache and reloads the buckets it needs, instead of patching them copy by copy.
_RESYNC_LIMIT = 20_000
_CHUNK = 500  # ids per IN (...) query
_MERGE_AT = 200_000  # entries added to a cached bucket before they are merged into its arrays
# Plain driver SQL for the bulk paths: SQLAlchemy's per-row parameter processing would cost more
# than SQLite spends storing the rows (64 per copy).
_LOAD_BUCKET = "SELECT key, copy_id FROM lsh_index WHERE bucket = ? ORDER BY key"
_INSERT_ROWS = "INSERT INTO lsh_index (bucket, key, copy_id) VALUES (?, ?, ?)"
_INSERT_LOG = "INSERT INTO lsh_log (copy_id, bucket) VALUES (?, ?)"


@dataclass(frozen=True, slots=True)
class Hits:
    """Copies sharing band keys with a query: ids and the number of keys each shares."""

    ids: np.ndarray
    counts: np.ndarray

    @staticmethod
    def per_query(n: int, queries: np.ndarray, ids: np.ndarray) -> list[Hits]:
        """The Hits of each of `n` queries, from (query number, id of a copy holding one of its keys) pairs."""
        # One sort groups the pairs by query, then by copy: (query << 32 | copy id) is unique per pair.
        codes, counts = np.unique((queries.astype(np.int64) << 32) | ids, return_counts=True)
        edges = np.searchsorted(codes >> 32, np.arange(n + 1)).tolist()
        copies = codes & 0xFFFFFFFF
        return [Hits(copies[lo:hi], counts[lo:hi]) for lo, hi in itertools.pairwise(edges)]


_EMPTY = np.empty(0, np.int64)


@dataclass(slots=True)
class _Bucket:
    """A bucket's (key, copy id) entries, sorted by key, in a large run and a small recent one.

    Copies indexed after the bucket was loaded are collected as arrays and sorted into the recent
    run when the bucket is next searched (once per batch), and the recent run into the large one
    past `_MERGE_AT` entries: numpy's stable sort (timsort) merges already sorted runs in linear
    time, so neither costs a full sort.
    """

    keys: np.ndarray  # int64, sorted
    ids: np.ndarray  # int64, the copy of each key
    recent_keys: np.ndarray = field(default_factory=lambda: _EMPTY)
    recent_ids: np.ndarray = field(default_factory=lambda: _EMPTY)
    added: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # (keys, ids) not sorted in yet

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
            keys, ids = _EMPTY, _EMPTY
        self.recent_keys, self.recent_ids = keys, ids


def _merge(keys: list[np.ndarray], ids: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The entries of several runs, as one run sorted by key."""
    all_keys, all_ids = np.concatenate(keys), np.concatenate(ids)
    order = np.argsort(all_keys, kind="stable")
    return all_keys[order], all_ids[order]


def _pairs(sorted_keys: np.ndarray, ids: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position in `keys`, copy id) of every entry of a sorted run whose key is one of `keys`."""
    if not sorted_keys.size:
        return _EMPTY, _EMPTY
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


class BandIndex:
    """The index as one process sees it. Use it only inside write transactions of the store."""

    def __init__(self, max_entries: int = 40_000_000) -> None:
        self.max_entries = max_entries
        self.loaded_entries = 0
        self.write_seconds = 0.0  # spent writing index rows (benchmarks)
        self._buckets: OrderedDict[int, _Bucket] = OrderedDict()
        self._pending: list[tuple[int, int, np.ndarray]] = []  # (copy id, bucket, keys) not yet written
        self._own: set[int] = set()  # copies this process indexed since the last sync
        self._session: Session | None = None
        self._seen: int | None = None  # the last lsh_log sequence this cache reflects

    @property
    def cached_buckets(self) -> int:
        return len(self._buckets)

    # -- transactions -----------------------------------------------------------------------------
    def attach(self, session: Session) -> None:
        """Join `session`'s transaction (once per transaction): catch up with other writers."""
        if session is self._session:
            return
        self._session = session
        event.listen(session, "before_commit", self.flush)
        event.listen(session, "after_rollback", self._forget)
        self._sync(session.connection())

    def _forget(self, _session: Session) -> None:
        self._buckets.clear()
        self.loaded_entries = 0
        self._pending.clear()
        self._own.clear()
        self._session = None
        self._seen = None

    def _sync(self, conn: Connection) -> None:
        if self._seen is None:
            self._seen = conn.scalar(select(func.max(IndexLogRow.seq))) or 0
            return
        rows = conn.execute(
            select(IndexLogRow.seq, IndexLogRow.copy_id, IndexLogRow.bucket).where(IndexLogRow.seq > self._seen)
        ).all()
        if not rows:
            return
        self._seen = max(r.seq for r in rows)
        others = {r.copy_id for r in rows if r.copy_id not in self._own and r.bucket in self._buckets}
        self._own.clear()
        if len(others) > _RESYNC_LIMIT:
            self._buckets.clear()
            self.loaded_entries = 0
            return
        ids = sorted(others)
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i : i + _CHUNK]
            found: dict[tuple[int, int], list[int]] = {}
            cols = (IndexRow.copy_id, IndexRow.bucket, IndexRow.key)
            for copy_id, bucket, key in conn.execute(select(*cols).where(IndexRow.copy_id.in_(chunk))):
                found.setdefault((copy_id, bucket), []).append(key)
            for (copy_id, bucket), keys in found.items():
                self._buckets[bucket].add(copy_id, np.array(keys, dtype=np.int64))
                self.loaded_entries += len(keys)

    # -- reads ------------------------------------------------------------------------------------
    def lookup(self, session: Session, queries: Sequence[tuple[Sequence[int], np.ndarray]]) -> list[Hits]:
        """For each (buckets, keys) query: the copies in those buckets sharing any of the keys.

        From the cache (loading buckets as needed), one vectorised search per bucket for all the
        queries at once: a batch of copies costs a few numpy calls, not a few per copy.
        """
        self.attach(session)
        conn = session.connection()
        asking: dict[int, list[int]] = {}  # bucket -> the queries that look in it
        for q, (buckets, _keys) in enumerate(queries):
            for b in buckets:
                asking.setdefault(b, []).append(q)
        owners, ids = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
        for b, qs in asking.items():
            keys = [queries[q][1] for q in qs]
            owner = np.repeat(np.array(qs, dtype=np.int64), [k.size for k in keys])
            at, found = self._bucket(conn, b).pairs(np.concatenate(keys))
            owners.append(owner[at])
            ids.append(found)
        return Hits.per_query(len(queries), np.concatenate(owners), np.concatenate(ids))

    def probe(self, session: Session, buckets: list[int], keys: np.ndarray) -> Hits:
        """Like `lookup`, but asked of the store directly: for a span of buckets too wide to cache."""
        self.attach(session)
        self.flush(session)
        conn = session.connection()
        if conn.dialect.name == "sqlite":
            sql = (
                "SELECT copy_id, count(*) FROM lsh_index WHERE bucket IN (SELECT value FROM json_each(:b))"
                " AND key IN (SELECT value FROM json_each(:k)) GROUP BY copy_id"
            )
            params: dict[str, Any] = {"b": json.dumps(buckets), "k": json.dumps(keys.tolist())}
        else:
            sql = (
                "SELECT copy_id, count(*) FROM lsh_index WHERE bucket = ANY(CAST(:b AS INTEGER[]))"
                " AND key = ANY(CAST(:k AS BIGINT[])) GROUP BY copy_id"
            )
            params = {"b": buckets, "k": keys.tolist()}
        rows = conn.execute(text(sql), params).all()
        return Hits(np.array([r[0] for r in rows], np.int64), np.array([r[1] for r in rows], np.int64))

    def _bucket(self, conn: Connection, b: int) -> _Bucket:
        bucket = self._buckets.get(b)
        if bucket is not None:
            self._buckets.move_to_end(b)
            return bucket
        self._write_pending(conn)  # the range scan must see them
        cursor = conn.connection.cursor()  # the transaction's own connection: sees pending writes
        try:
            cursor.execute(_driver_sql(conn, _LOAD_BUCKET), (b,))
            rows = cursor.fetchall()  # plain tuples: ~3x faster than result rows at a million entries
        finally:
            cursor.close()
        table = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=2 * len(rows)).reshape(-1, 2)
        bucket = self._buckets[b] = _Bucket(np.ascontiguousarray(table[:, 0]), np.ascontiguousarray(table[:, 1]))
        self.loaded_entries += bucket.size
        while self.loaded_entries > self.max_entries and len(self._buckets) > 1:
            _, old = self._buckets.popitem(last=False)
            self.loaded_entries -= old.size
        return bucket

    # -- writes -----------------------------------------------------------------------------------
    def add(self, session: Session, copy_id: int, bucket: int, keys: np.ndarray) -> None:
        """Index a copy (written with the transaction, visible to this process's lookups at once)."""
        self.attach(session)
        self._pending.append((copy_id, bucket, keys))
        self._own.add(copy_id)
        held = self._buckets.get(bucket)
        if held is not None:
            held.add(copy_id, keys)
            self.loaded_entries += int(keys.size)

    def remove(self, session: Session, copy_id: int) -> None:
        """Take a copy out of the stored index (its cached entries age out, see the module docstring)."""
        self.attach(session)
        self.flush(session)
        session.connection().execute(delete(IndexRow).where(IndexRow.copy_id == copy_id))

    def flush(self, session: Session) -> None:
        """Write the pending rows (also done before each commit)."""
        self._write_pending(session.connection())

    def _write_pending(self, conn: Connection) -> None:
        if not self._pending:
            return
        started = time.perf_counter()
        rows = sorted((b, k, c) for c, b, keys in self._pending for k in keys.tolist())
        conn.exec_driver_sql(_driver_sql(conn, _INSERT_ROWS), rows)
        conn.exec_driver_sql(_driver_sql(conn, _INSERT_LOG), [(c, b) for c, b, _ in self._pending])
        self._pending.clear()
        self.write_seconds += time.perf_counter() - started


def _driver_sql(conn: Connection, sql: str) -> str:
    return sql if conn.dialect.paramstyle == "qmark" else sql.replace("?", "%s")
