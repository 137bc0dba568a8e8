"""`ingest reextract`: run extraction and dedup again over the raw-page archive, with no network.

This is how an extraction improvement reaches old articles: every archived page goes through
the same pipeline as a fresh fetch. The writes are idempotent: a copy whose text comes out the
same is left alone; one whose text changed is re-evaluated against the stories.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Engine

from ingest.config import Source
from ingest.records import RunStats
from ingest.service.pipeline import Pipeline
from ingest.store.archive import archived_pages
from ingest.store.runs import finish_run, start_run


def reextract(
    engine: Engine,
    sources: Sequence[Source],
    *,
    since: datetime | None = None,
    workers: int = 0,
    on_progress: Callable[[RunStats], None] | None = None,
) -> tuple[int, RunStats]:
    """Re-extract the archived pages of `sources` (fetched at or after `since`); returns (run id, stats)."""
    names = [s.name for s in sources]
    run_id = start_run(engine, names, {"kind": "reextract", "since": since.isoformat() if since else None})
    pipeline = Pipeline(engine, sources, workers=workers, on_progress=on_progress, keep_raw=False)
    outcome = "failed"
    try:
        for page in archived_pages(engine, names, since):
            pipeline.accept(page)
        outcome = "ok"
    finally:
        stats = pipeline.close()
        finish_run(engine, run_id, outcome, stats, {"kind": "reextract"})
    return run_id, stats
