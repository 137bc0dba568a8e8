"""The band index is shared by every writer of a store: each process's cache of it stays true.

Two `ArticleWriter`s with their own `Deduplicator` stand for two crawl processes writing one
store, one transaction at a time (the store's writer lock), on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine, select, update

from ingest.config import Source
from ingest.dedup.deduplicator import Deduplicator
from ingest.dedup.fingerprint import DEFAULT, DedupParams
from ingest.records import Article, RunStats
from ingest.service.pipeline import ArticleWriter, PageResult, ensure_sources
from ingest.store import band_tables
from ingest.store.band_tables import BandTables
from ingest.store.db import write_transaction
from ingest.store.models import CopyRow
from ingest_dev.devset import generate

PUBLISHED = datetime(2025, 6, 1, 8, tzinfo=UTC)
DOCS = generate(seed=0)
STORY = next(s for s in sorted({d.story_id for d in DOCS}) if sum(d.story_id == s for d in DOCS) >= 2)
ORIGINAL, COPY = [d for d in DOCS if d.story_id == STORY][:2]
UNRELATED, OTHER = [d for d in DOCS if d.story_id != STORY][:2]


def article(text: str, name: str, hours: float = 0.0) -> Article:
    when = PUBLISHED + timedelta(hours=hours)
    return Article(
        url=f"https://{name}.example.ma/a", source="outlet", title=text[:60], text=text, published_at=when,
        fetched_at=when, language="ar",
    )  # fmt: skip


def writer(engine: Engine, params: DedupParams = DEFAULT) -> ArticleWriter:
    ids = ensure_sources(engine, [Source(name="outlet", homepage="https://outlet.example.ma/")])
    return ArticleWriter(ids, Deduplicator(params), RunStats())


def write(engine: Engine, w: ArticleWriter, a: Article) -> None:
    with write_transaction(engine) as session:
        w.write(session, PageResult(a, 200, a.fetched_at))


def story_of(engine: Engine, name: str) -> int | None:
    with engine.connect() as conn:
        return conn.scalar(select(CopyRow.story_id).where(CopyRow.url == f"https://{name}.example.ma/a"))


def test_a_copy_indexed_by_another_writer_is_found_in_an_already_cached_bucket(engine: Engine) -> None:
    one, two = writer(engine), writer(engine)
    write(engine, two, article(UNRELATED.text, "unrelated"))  # `two` now holds this week's bucket
    write(engine, one, article(ORIGINAL.text, "original", hours=1))
    write(engine, two, article(COPY.text, "copy", hours=2))
    assert story_of(engine, "copy") == story_of(engine, "original") is not None


def test_a_rolled_back_transaction_does_not_hide_what_another_writer_stores_next(engine: Engine) -> None:
    one, two = writer(engine), writer(engine)
    write(engine, one, article(UNRELATED.text, "unrelated"))
    with pytest.raises(RuntimeError), write_transaction(engine) as session:
        one.write(session, PageResult(article(ORIGINAL.text, "lost"), 200, PUBLISHED))
        raise RuntimeError("the writer dies before commit")
    # `two` may now be given the ids `one` used in the rolled-back transaction.
    write(engine, two, article(ORIGINAL.text, "original", hours=1))
    write(engine, one, article(COPY.text, "copy", hours=2))
    assert story_of(engine, "lost") is None
    assert story_of(engine, "copy") == story_of(engine, "original") is not None


def test_copies_stored_without_an_exact_fingerprint_are_verified_from_their_text(engine: Engine) -> None:
    write(engine, writer(engine), article(ORIGINAL.text, "original"))
    with engine.begin() as conn:  # as stored before schema revision 0002
        conn.execute(update(CopyRow).values(shingles=None, numbers=None))
    late = writer(engine)
    write(engine, late, article(COPY.text, "copy", hours=3))
    assert story_of(engine, "copy") == story_of(engine, "original")
    assert late.dedup.counters.refingerprinted == 1


def test_an_undated_copy_is_found_by_a_writer_that_never_cached_its_original(engine: Engine) -> None:
    write(engine, writer(engine), article(ORIGINAL.text, "original"))
    undated = replace(article(COPY.text, "copy"), published_at=None, fetched_at=PUBLISHED + timedelta(days=90))
    write(engine, writer(engine), undated)
    assert story_of(engine, "copy") == story_of(engine, "original")


def test_a_writer_that_finds_too_many_foreign_copies_reloads_and_still_finds_them(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(band_tables, "_RESYNC_LIMIT", 1)
    one, two = writer(engine), writer(engine)
    write(engine, two, article(UNRELATED.text, "unrelated"))  # `two` now holds this week's bucket
    write(engine, one, article(ORIGINAL.text, "original", hours=1))
    write(engine, one, article(OTHER.text, "other", hours=1))  # two foreign copies: above the limit
    write(engine, two, article(COPY.text, "copy", hours=2))
    assert story_of(engine, "copy") == story_of(engine, "original") is not None


def test_an_index_without_probe_keys_still_places_dated_copies(engine: Engine) -> None:
    w = writer(engine, DedupParams(probe_values=0))
    write(engine, w, article(ORIGINAL.text, "original"))
    write(engine, w, article(COPY.text, "copy", hours=2))
    assert story_of(engine, "copy") == story_of(engine, "original") is not None


def test_an_undated_copy_is_found_by_a_writer_whose_probe_keys_were_loaded_before_its_original_was_stored(
    engine: Engine,
) -> None:
    one, two = writer(engine), writer(engine)
    long_after = PUBLISHED + timedelta(days=90)
    undated = replace(article(UNRELATED.text, "unrelated"), published_at=None, fetched_at=long_after)
    write(engine, two, undated)  # `two` now holds every copy's probe keys
    write(engine, one, article(ORIGINAL.text, "original"))
    write(engine, two, replace(article(COPY.text, "copy"), published_at=None, fetched_at=long_after))
    assert story_of(engine, "copy") == story_of(engine, "original") is not None


def test_the_index_is_searched_only_inside_the_transaction_it_joined(engine: Engine) -> None:
    index, keys = BandTables(), np.zeros(1, np.int64)
    with pytest.raises(RuntimeError, match="attach"):
        index.lookup([([1], keys)])
    with write_transaction(engine) as session:
        index.attach(session)
        assert index.lookup([([1], keys)])[0].ids.size == 0
    with pytest.raises(RuntimeError, match="attach"):  # its commit ended it: the next one must catch up first
        index.probe(keys)
