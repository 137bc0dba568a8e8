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
