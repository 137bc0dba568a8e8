"""The Alembic migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from ingest.store.db import upgrade
from ingest.store.models import Base


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent(engine: Engine) -> None:
    upgrade(engine)
    upgrade(engine)
    assert "article_copies" in inspect(engine).get_table_names()


def test_canonical_articles_view_is_queryable(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM canonical_articles")).scalar() == 0


def test_upgrade_to_0002_rebuilds_the_band_index_of_stored_copies(database_url: str) -> None:
    from datetime import UTC, datetime

    from ingest.dedup import signature_bytes, time_bucket
    from ingest.fingerprint import band_keys, fingerprint
    from ingest.store.db import make_engine

    engine = make_engine(database_url)
    upgrade(engine, "0001")
    fp = fingerprint("أعلنت وزارة الصحة اليوم عن إطلاق حملة وطنية للتلقيح في جميع جهات المملكة")
    published = datetime(2025, 6, 1, 9, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (id, name, homepage, consecutive_failed_runs, healthy)"
                          " VALUES (1, 'outlet', 'https://outlet.example.ma/', 0, true)"))  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO article_copies (id, source_id, url, fetched_url, title, text, search_text, published_at,"
                " fetched_at, extraction_method, content_hash, signature, token_count) VALUES (1, 1, 'u', 'u', 't',"
                " 't', 't', :published, :published, 'test', 'h', :signature, :length)"
            ),
            {"published": published, "signature": signature_bytes(fp), "length": fp.length},
        )
    upgrade(engine)
    with engine.connect() as conn:
        rows = set(conn.execute(text("SELECT bucket, key, copy_id FROM lsh_index")))
        logged = conn.execute(text("SELECT copy_id, bucket FROM lsh_log")).all()
    bucket = time_bucket(published)
    assert rows == {(bucket, int(k), 1) for k in band_keys(fp.signature)}
    assert [tuple(r) for r in logged] == [(1, bucket)]
    engine.dispose()
