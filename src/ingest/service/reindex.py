"""`ingest db reindex`: the band index, or the stories too, rebuilt from what the store holds.

Orchestration only: the store reads and writes (`ingest.store.story_ledger`, `ingest.store.band_tables`),
dedup computes the keys and places (`ingest.dedup.deduplicator`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ingest.dedup.deduplicator import (
    Deduplicator,
    NewCopy,
    index_copies,
    numbers_text,
    shingle_bytes,
    signature_bytes,
)
from ingest.dedup.fingerprint import DEFAULT, DedupParams, Fingerprint, fingerprint
from ingest.store.band_tables import BandTables
from ingest.store.db import in_chunks
from ingest.store.story_ledger import (
    DbStoryLedger,
    copies_by_id,
    copies_to_place,
    drop_stories,
    rewrite_fingerprints,
)

__all__ = ["rebuild_index", "replace_stories"]


def rebuild_index(session: Session, params: DedupParams = DEFAULT, batch: int = 5_000) -> int:
    """Recompute every index row from the stored signatures and dates; returns copies indexed.

    The keys depend on `params` (bands, rows, time window, sentence keys), so a change of them
    needs this.
    """
    index = BandTables.for_params(params)
    index.attach(session)
    return index_copies(index, copies_by_id(session, batch), params)


def replace_stories(session: Session, params: DedupParams = DEFAULT, batch: int = 500) -> int:
    """Place every stored copy again, in publication order, with `params`; returns copies placed.

    What applies improved dedup to a store already filled: the stories are dropped and rebuilt
    as if the copies had arrived in publication order (undated last), each copy's fingerprint
    recomputed from its stored text (the shingles depend on `params`) and its index rows
    rewritten. One transaction: readers see the old stories until it commits.
    """
    ids = drop_stories(session)
    dedup = Deduplicator(params)
    index = BandTables.for_params(params)
    index.attach(session)
    index.clear()
    for chunk in in_chunks(ids, batch):
        ledger = DbStoryLedger(session.connection(), dedup.stored_fingerprint)
        dedup.place(ledger, index, _refingerprinted(session, chunk, params))
        index.flush()
    return len(ids)


def _refingerprinted(session: Session, ids: list[int], params: DedupParams) -> list[tuple[NewCopy, Fingerprint]]:
    """The copies `ids` (in that order) as placement takes them, their stored fingerprints rewritten."""
    placing = [(copy, fingerprint(text, params)) for copy, text in copies_to_place(session, ids)]
    rewrite_fingerprints(
        session,
        [
            {"copy_id": c.id, "signature": signature_bytes(fp), "shingles": shingle_bytes(fp)}
            | {"numbers": numbers_text(fp), "token_count": fp.length}
            for c, fp in placing
        ],
    )
    return placing
