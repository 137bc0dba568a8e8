"""The Alembic migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib.resources import files

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, insert, inspect, text

from ingest.config import Source
from ingest.dedup.deduplicator import Deduplicator, signature_bytes, time_bucket
from ingest.dedup.fingerprint import DEFAULT, Fingerprint, band_keys, fingerprint, probe_keys
from ingest.records import Article, RunStats
from ingest.service.pipeline import ArticleWriter, PageResult, ensure_sources
from ingest.service.reindex import rebuild_index
from ingest.store.db import allocate_ids, make_engine, upgrade, write_transaction
from ingest.store.models import Base, StoryRow
from ingest_dev.devset import generate


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
    engine = make_engine(database_url)
    upgrade(engine, "0001")
    fp = fingerprint(ORIGINAL.text)
    with engine.begin() as conn:
        insert_copy(conn, fp, story=False)
    upgrade(engine, "0002")
    with engine.connect() as conn:
        rows = set(conn.execute(text("SELECT bucket, key, copy_id FROM lsh_index")))
        logged = conn.execute(text("SELECT copy_id, bucket FROM lsh_log")).all()
    bucket = time_bucket(PUBLISHED)
    assert rows == {(bucket, int(k), 1) for k in band_keys(fp.signature)}
    assert [tuple(r) for r in logged] == [(1, bucket)]
    engine.dispose()


def test_upgrades_to_0003_and_0004_index_a_copy_stored_under_0002_so_later_copies_join_it(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine, "0002")
    fp = fingerprint(ORIGINAL.text)
    with engine.begin() as conn:
        insert_copy(conn, fp, story=True)
    upgrade(engine, "0003")
    keys, probe = band_keys(fp.signature).astype("<i8"), probe_keys(fp.signature).astype("<i8")
    with engine.connect() as conn:
        probe_rows = set(conn.execute(text("SELECT key, copy_id FROM lsh_probe")))
    assert probe_rows == {(int(k), 1) for k in probe}
    assert stored_keys(engine) == {(1, time_bucket(PUBLISHED), keys.tobytes() + probe.tobytes())}
    upgrade(engine)
    assert stored_index(engine) == ({(1, time_bucket(PUBLISHED), keys.tobytes())}, {(1, probe.tobytes())})
    writer = ArticleWriter(ensure_sources(engine, [OUTLET]), Deduplicator(), RunStats())
    dated = article("copy", COPY.text, PUBLISHED + timedelta(hours=2), PUBLISHED + timedelta(hours=2))
    undated = article("amp", ORIGINAL.text, None, PUBLISHED + timedelta(days=400))  # found through lsh_probe
    for a in (dated, undated):
        with write_transaction(engine) as session:
            writer.write(session, PageResult(a, 200, a.fetched_at))
    with engine.connect() as conn:
        assert set(conn.execute(text("SELECT id, story_id FROM article_copies"))) == {(1, 1), (2, 1), (3, 1)}
    engine.dispose()


def test_downgrade_to_0002_refills_the_band_index_from_the_stored_keys(engine: Engine) -> None:
    writer = ArticleWriter(ensure_sources(engine, [OUTLET]), Deduplicator(), RunStats())
    with write_transaction(engine) as session:
        writer.write(session, PageResult(article("original", ORIGINAL.text, PUBLISHED, PUBLISHED), 200, PUBLISHED))
    before = stored_index(engine)
    config = Config()
    config.set_main_option("script_location", str(files("ingest.migrations")))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0002")
    with engine.connect() as conn:
        rows = set(conn.execute(text("SELECT bucket, key, copy_id FROM lsh_index")))
    assert rows == {(time_bucket(PUBLISHED), int(k), 1) for k in band_keys(fingerprint(ORIGINAL.text).signature)}
    upgrade(engine)
    # The migrations index a copy under its stored signature's band keys; its sentence keys come
    # from its text, with `ingest db reindex`.
    keys, probes = stored_index(engine)
    assert keys == {(c, b, k[: 8 * DEFAULT.bands]) for c, b, k in before[0]} and probes == before[1]
    with write_transaction(engine) as session:
        rebuild_index(session)
    assert stored_index(engine) == before


DOCS = generate(seed=0)
ORIGINAL, COPY = next(
    pair for s in sorted({d.story_id for d in DOCS}) if len(pair := [d for d in DOCS if d.story_id == s][:2]) == 2
)
PUBLISHED = datetime(2025, 6, 1, 9, tzinfo=UTC)
OUTLET = Source(name="outlet", homepage="https://outlet.example.ma/")


def insert_copy(conn: Connection, fp: Fingerprint, *, story: bool) -> None:
    """Copy 1 of source 1 in an empty store, as an older revision stores it (optionally in story 1).

    No explicit ids: PostgreSQL's sequences would not move past them."""
    conn.execute(text("INSERT INTO sources (name, homepage, consecutive_failed_runs, healthy)"
                      " VALUES ('outlet', 'https://outlet.example.ma/', 0, true)"))  # fmt: skip
    if story:
        conn.execute(
            text(
                "INSERT INTO stories (first_published_at, source_count, copy_count, created_at, updated_at)"
                " VALUES (:published, 1, 1, :published, :published)"
            ),
            {"published": PUBLISHED},
        )
    conn.execute(
        text(
            "INSERT INTO article_copies (source_id, story_id, url, fetched_url, title, text, search_text,"
            " published_at, fetched_at, extraction_method, content_hash, signature, token_count) VALUES (1,"
            " :story, 'u', 'u', 't', :text, 't', :published, :published, 'test', 'h', :signature, :length)"
        ),
        {
            "story": 1 if story else None,
            "text": ORIGINAL.text,
            "published": PUBLISHED,
            "signature": signature_bytes(fp),
            "length": fp.length,
        },
    )
    if story:
        conn.execute(text("UPDATE stories SET canonical_copy_id = 1"))


def article(name: str, text_: str, published: datetime | None, fetched: datetime) -> Article:
    return Article(
        url=f"https://outlet.example.ma/{name}", source="outlet", title=text_[:60], text=text_,
        published_at=published, fetched_at=fetched, language="ar",
    )  # fmt: skip


def stored_keys(engine: Engine) -> set[tuple[int, int, bytes]]:
    with engine.connect() as conn:
        return {(c, b, bytes(k)) for c, b, k in conn.execute(text("SELECT copy_id, bucket, keys FROM lsh_keys"))}


def stored_index(engine: Engine) -> tuple[set[tuple[int, int, bytes]], set[tuple[int, bytes]]]:
    """The `lsh_keys` rows and the `lsh_probe` rows (as stored since 0004)."""
    with engine.connect() as conn:
        probes = {(c, bytes(k)) for c, k in conn.execute(text("SELECT copy_id, keys FROM lsh_probe"))}
    return stored_keys(engine), probes


def test_allocated_ids_are_new_ascending_and_follow_the_rows_already_stored(engine: Engine) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with write_transaction(engine) as session:
        conn = session.connection()
        first = allocate_ids(conn, "stories", 3)
        conn.execute(insert(StoryRow), [{"id": i, "created_at": now, "updated_at": now} for i in first])
        second = allocate_ids(conn, "stories", 2)
    assert first == sorted(first) and len(set(first)) == 3
    assert second == sorted(second) and min(second) > max(first)
    with engine.connect() as conn:
        assert allocate_ids(conn, "stories", 0) == []
