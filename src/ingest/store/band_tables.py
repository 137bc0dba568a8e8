"""The MinHash LSH band index: persistent in the store, cached in the process a time bucket at a time.

`BandTables` implements dedup's `CandidateIndex` port (`ingest.dedup.ports`); the sorted runs
it caches and the hits it returns are dedup's (`ingest.dedup.candidates`).

Every indexed copy has one row in `lsh_keys`: its time bucket and its band keys as one blob
(little-endian int64), and one row in `lsh_probe`: its probe keys, as one blob too. One row per
copy, not one per key: B-tree inserts at random pages were the largest part of indexing a copy,
while rows keyed by copy id are appended. A copy's candidates are the copies sharing band keys
with it in the time buckets of its publication window, so a process needs only those buckets:
a bucket's blobs are read once and turned, vectorised, into two sorted numpy arrays (16 bytes
per entry, a tenth of a dict's), looked up with a vectorised binary search. Buckets are
evicted least recently used beyond `max_entries`. The probe keys (`ingest.dedup.fingerprint.probe_keys`)
of every copy are how an undated copy finds its original, whenever it was published: the first
such search in a process reads the whole `lsh_probe` table into one more sorted run (~3 s and
128 MB at a million copies, 810 MB peak RSS for the process), kept current from then on like a
cached bucket, by this process's adds and, through `lsh_log`, by the others'.

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

import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection, delete, event, func, select
from sqlalchemy.orm import Session

from ingest.dedup.candidates import BAND_POINTS, EMPTY, Hits, KeyRuns, key_points
from ingest.dedup.fingerprint import DEFAULT, DedupParams
from ingest.store.db import copy_rows, in_chunks
from ingest.store.models import IndexKeysRow, IndexLogRow, ProbeRow

__all__ = ["BandTables"]

# A process that finds more than this many copies indexed by others since its last transaction
# drops its cache and reloads the buckets it needs, instead of patching them copy by copy.
_RESYNC_LIMIT = 20_000
_FETCH = 50_000  # rows per fetch when loading keys
# Plain driver SQL for the bulk paths: SQLAlchemy's per-row parameter processing would cost more
# than the database spends storing the rows.
_LOAD_BUCKET = "SELECT copy_id, keys FROM lsh_keys WHERE bucket = ?"
_LOAD_PROBES = "SELECT copy_id, keys FROM lsh_probe"
_INSERT_KEYS = "INSERT INTO lsh_keys (copy_id, bucket, keys) VALUES (?, ?, ?)"
_INSERT_PROBE = "INSERT INTO lsh_probe (copy_id, keys) VALUES (?, ?)"
_INSERT_LOG = "INSERT INTO lsh_log (copy_id, bucket) VALUES (?, ?)"


class BandTables:
    """The index as one process sees it. Use it only inside write transactions of the store,
    each joined once with `attach` before placement uses it.

    `bands` is the number of keys each copy is indexed under (`DedupParams.bands` band keys,
    then `DedupParams.sentence_keys` sentence keys: `ingest.dedup.deduplicator.index_keys`);
    probe keys are kept apart.
    """

    def __init__(
        self,
        bands: int = DEFAULT.bands + DEFAULT.sentence_keys,
        max_entries: int = 40_000_000,
        banded: int | None = None,
    ) -> None:
        self.bands = bands  # keys per copy (checked on `add`)
        self.banded = bands if banded is None else banded  # of those, the band keys (the rest: sentence keys)
        self.max_entries = max_entries
        self.loaded_entries = 0
        self.write_seconds = 0.0  # spent writing index rows (benchmarks)
        self._buckets: OrderedDict[int, KeyRuns] = OrderedDict()
        self._probes: KeyRuns | None = None  # every copy's probe keys, once a probe needed them
        # (copy id, bucket, band keys, probe keys) not yet written
        self._pending: list[tuple[int, int, np.ndarray, np.ndarray]] = []
        self._own: set[int] = set()  # copies this process indexed since the last sync
        self._session: Session | None = None
        self._seen: int | None = None  # the last lsh_log sequence this cache reflects

    @classmethod
    def for_params(cls, params: DedupParams = DEFAULT) -> BandTables:
        """The index of copies fingerprinted with `params` (its band keys, then its sentence keys)."""
        return cls(params.bands + params.sentence_keys, banded=params.bands)

    @property
    def cached_buckets(self) -> int:
        return len(self._buckets)

    # -- transactions -----------------------------------------------------------------------------
    def attach(self, session: Session) -> None:
        """Join `session`'s transaction (once per transaction): catch up with other writers."""
        if session is self._session:
            return
        self._session = session
        if not event.contains(session, "before_commit", self._before_commit):  # a session reused after a commit
            event.listen(session, "before_commit", self._before_commit)
            event.listen(session, "after_commit", self._detach)
            event.listen(session, "after_rollback", self._forget)
        self._sync(session.connection())

    def _detach(self, _session: Session) -> None:
        """After a commit: the next transaction must `attach` (and catch up) before it searches."""
        self._session = None

    def _conn(self) -> Connection:
        """The connection of the transaction joined last (`attach`)."""
        if self._session is None:
            raise RuntimeError("the band index is used outside a transaction: attach it to the session first")
        return self._session.connection()

    def _before_commit(self, session: Session) -> None:
        self._write_pending(session.connection())

    def _forget(self, _session: Session) -> None:
        self._drop_cache()
        self._pending.clear()
        self._own.clear()
        self._session = None
        self._seen = None

    def _drop_cache(self) -> None:
        self._buckets.clear()
        self._probes = None
        self.loaded_entries = 0

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
        others = [r for r in rows if r.copy_id not in self._own]
        self._own.clear()
        banded = sorted({r.copy_id for r in others if r.bucket in self._buckets})
        probes = self._probes
        probed = sorted({r.copy_id for r in others}) if probes is not None else []
        if len(banded) + len(probed) > _RESYNC_LIMIT:
            self._drop_cache()
            return
        banding = select(IndexKeysRow.copy_id, IndexKeysRow.bucket, IndexKeysRow.keys)
        for chunk in in_chunks(banded):
            for copy_id, bucket, blob in conn.execute(banding.where(IndexKeysRow.copy_id.in_(chunk))):
                held = self._buckets.get(bucket)  # re-indexed since the log row, maybe into a bucket not held
                if held is not None:
                    held.add(copy_id, _keys(blob))
                    self.loaded_entries += self.bands
        if probes is not None:
            probing = select(ProbeRow.copy_id, ProbeRow.keys)
            for chunk in in_chunks(probed):
                for copy_id, blob in conn.execute(probing.where(ProbeRow.copy_id.in_(chunk))):
                    probes.add(copy_id, _keys(blob))

    # -- reads ------------------------------------------------------------------------------------
    def lookup(self, queries: Sequence[tuple[Sequence[int], np.ndarray]]) -> list[Hits]:
        """For each (buckets, band keys) query: the copies in those buckets sharing any of the keys.

        From the cache (loading buckets as needed), one vectorised search per bucket for all the
        queries at once: a batch of copies costs a few numpy calls, not a few per copy.
        """
        conn = self._conn()
        asking: dict[int, list[int]] = {}  # bucket -> the queries that look in it
        for q, (buckets, _keys) in enumerate(queries):
            for b in buckets:
                asking.setdefault(b, []).append(q)
        owners, ids, points = [EMPTY], [EMPTY], [EMPTY]
        for b, qs in asking.items():
            keys = [queries[q][1] for q in qs]
            owner = np.repeat(np.array(qs, dtype=np.int64), [k.size for k in keys])
            at, found = self._bucket(conn, b).pairs(np.concatenate(keys))
            owners.append(owner[at])
            ids.append(found)
            points.append(key_points(np.concatenate([np.arange(k.size) for k in keys])[at], self.banded))
        return Hits.per_query(len(queries), np.concatenate(owners), np.concatenate(ids), np.concatenate(points))

    def probe(self, keys: np.ndarray) -> Hits:
        """Copies sharing any of the probe `keys`, in any bucket (the count is of keys shared)."""
        if self._probes is None:
            self._probes = self._loaded(self._conn(), _LOAD_PROBES)
        _, ids = self._probes.pairs(keys)
        found, counts = np.unique(ids, return_counts=True)
        return Hits(found, BAND_POINTS * counts.astype(np.int64))

    def _bucket(self, conn: Connection, b: int) -> KeyRuns:
        bucket = self._buckets.get(b)
        if bucket is not None:
            self._buckets.move_to_end(b)
            return bucket
        bucket = self._buckets[b] = self._loaded(conn, _LOAD_BUCKET, (b,))
        self.loaded_entries += bucket.size
        while self.loaded_entries > self.max_entries and len(self._buckets) > 1:
            _, old = self._buckets.popitem(last=False)
            self.loaded_entries -= old.size
        return bucket

    def _loaded(self, conn: Connection, sql: str, params: tuple[Any, ...] = ()) -> KeyRuns:
        """The keys of the (copy id, keys blob) rows `sql` selects, pending writes included, as one sorted run.

        Rows are turned into arrays `_FETCH` at a time: a million rows as Python tuples would
        take ~150 MB more than their keys. Blobs may differ in length: copies indexed before
        sentence keys existed hold band keys only until `ingest db reindex`.
        """
        self._write_pending(conn)
        keys, ids = [EMPTY], [EMPTY]
        cursor = conn.connection.cursor()  # the transaction's own connection: sees pending writes
        try:
            cursor.execute(_driver_sql(conn, sql), params)
            while rows := cursor.fetchmany(_FETCH):  # plain tuples: ~3x faster than result rows
                copies, blobs = zip(*rows, strict=True)
                widths = np.array([len(b) >> 3 for b in blobs], np.int64)
                keys.append(np.frombuffer(b"".join(blobs), "<i8").astype(np.int64))
                ids.append(np.repeat(np.array(copies, np.int64), widths))
        finally:
            cursor.close()
        return KeyRuns.of(np.concatenate(keys), np.concatenate(ids))

    # -- writes -----------------------------------------------------------------------------------
    def add(self, copy_id: int, bucket: int, keys: np.ndarray, probe: np.ndarray) -> None:
        """Index a copy under its band `keys` and `probe` keys (written with the transaction,
        visible to this process's lookups at once)."""
        if keys.size != self.bands:
            raise ValueError(f"{keys.size} band keys given to an index of {self.bands} bands")
        if self._session is None:
            raise RuntimeError("the band index is used outside a transaction: attach it to the session first")
        self._pending.append((copy_id, bucket, keys, probe))
        self._own.add(copy_id)
        held = self._buckets.get(bucket)
        if held is not None:
            held.add(copy_id, keys)
            self.loaded_entries += int(keys.size)
        if self._probes is not None:
            self._probes.add(copy_id, probe)

    def remove(self, copy_id: int) -> None:
        """Take a copy out of the stored index (its cached entries age out, see the module docstring)."""
        conn = self._conn()
        self._write_pending(conn)
        conn.execute(delete(ProbeRow).where(ProbeRow.copy_id == copy_id))
        conn.execute(delete(IndexKeysRow).where(IndexKeysRow.copy_id == copy_id))

    def clear(self) -> None:
        """Empty the stored index (before a rebuild). The log is kept: its sequence must only grow."""
        conn = self._conn()
        conn.execute(delete(ProbeRow))
        conn.execute(delete(IndexKeysRow))
        self._pending.clear()
        self._drop_cache()

    def flush(self) -> None:
        """Write the pending rows (also done before each commit)."""
        self._write_pending(self._conn())

    def _write_pending(self, conn: Connection) -> None:
        if not self._pending:
            return
        started = time.perf_counter()
        blobs = [(c, b, keys.astype("<i8").tobytes()) for c, b, keys, _ in self._pending]
        probes = [(c, probe.astype("<i8").tobytes()) for c, _, _, probe in self._pending if probe.size]
        logged = [(c, b) for c, b, _, _ in self._pending]
        if copy_rows(conn, IndexKeysRow, ("copy_id", "bucket", "keys"), blobs):
            copy_rows(conn, ProbeRow, ("copy_id", "keys"), probes)
            copy_rows(conn, IndexLogRow, ("copy_id", "bucket"), logged)
        else:
            conn.exec_driver_sql(_driver_sql(conn, _INSERT_KEYS), blobs)
            if probes:  # none when DedupParams.probe_values is 0
                conn.exec_driver_sql(_driver_sql(conn, _INSERT_PROBE), probes)
            conn.exec_driver_sql(_driver_sql(conn, _INSERT_LOG), logged)
        self._pending.clear()
        self.write_seconds += time.perf_counter() - started


def _keys(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, "<i8").astype(np.int64)


def _driver_sql(conn: Connection, sql: str) -> str:
    return sql if conn.dialect.paramstyle == "qmark" else sql.replace("?", "%s")
