"""The schema, SQLAlchemy 2.0 style. The same tables on SQLite and PostgreSQL.

- `sources`: one row per configured outlet, with its health.
- `article_copies`: every fetched article copy (one per canonical URL), with its fingerprint.
- `stories`: one row per story: its elected canonical copy, first publication, source count.
- `lsh_keys`: the persistent MinHash LSH index: one row per copy, its time bucket and band keys.
- `lsh_probe`: one row per copy, its few probe keys: how undated copies search the whole store.
- `lsh_log`: one row per copy (re)indexed, in commit order: how a process learns what others indexed.
- `fetch_state`: the crawler's memory of non-article URLs and of failed fetches.
- `crawl_runs`: one row per crawl run, with its statistics.
- `leases`: which worker may crawl a source now (expires if its holder dies).
- `boilerplate_lines`: per outlet, short lines seen on several pages (stripped as chrome).
- `raw_pages`: the raw response of every fetched article page, compressed, for re-extraction.
The view `canonical_articles` (created by the migrations) joins each story with its canonical copy.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store UTC-aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class SourceRow(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str | None] = mapped_column(String(200))
    homepage: Mapped[str | None] = mapped_column(String(2000))
    consecutive_failed_runs: Mapped[int] = mapped_column(Integer, default=0)
    healthy: Mapped[bool] = mapped_column(Boolean, default=True)
    last_run_at: Mapped[datetime | None]


class StoryRow(Base):
    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # use_alter: stories and copies reference each other.
    canonical_copy_id: Mapped[int | None] = mapped_column(
        ForeignKey("article_copies.id", use_alter=True, name="fk_stories_canonical_copy", ondelete="SET NULL")
    )
    first_published_at: Mapped[datetime | None]
    source_count: Mapped[int] = mapped_column(Integer, default=0)
    copy_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_stories_first_published_at", "first_published_at"),)


class CopyRow(Base):
    __tablename__ = "article_copies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="SET NULL"), index=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)  # canonical article URL
    fetched_url: Mapped[str] = mapped_column(String(2000))
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    search_text: Mapped[str] = mapped_column(Text)  # normalize(title + text), for --contains
    published_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    fetched_at: Mapped[datetime]
    language: Mapped[str | None] = mapped_column(String(8))
    author: Mapped[str | None] = mapped_column(String(300))
    section: Mapped[str | None] = mapped_column(String(300))
    image_url: Mapped[str | None] = mapped_column(String(2000))
    extraction_method: Mapped[str] = mapped_column(String(32))
    content_hash: Mapped[str] = mapped_column(String(40))  # sha1 of the normalised text
    signature: Mapped[bytes] = mapped_column(LargeBinary)  # MinHash hash values
    # The exact fingerprint (sorted uint32 shingle hashes, numbers in context), so verifying a
    # candidate never re-reads and re-fingerprints its text; NULL on copies stored before 0002.
    shingles: Mapped[bytes | None] = mapped_column(LargeBinary)
    numbers: Mapped[str | None] = mapped_column(Text)
    token_count: Mapped[int] = mapped_column(Integer)
    similarity: Mapped[float | None] = mapped_column(Float)  # to the canonical copy when it joined
    join_reason: Mapped[str | None] = mapped_column(Text)  # why it joined (or founded) its story

    __table_args__ = (
        Index("ix_article_copies_fetched_url", "fetched_url"),
        Index("ix_article_copies_source_published", "source_id", "published_at"),
    )


class IndexKeysRow(Base):
    __tablename__ = "lsh_keys"

    # One row per indexed copy, not one per band: a B-tree insert per band cost more than the
    # rest of placing a copy. A process loads the buckets of its time window by (bucket, copy_id).
    copy_id: Mapped[int] = mapped_column(ForeignKey("article_copies.id", ondelete="CASCADE"), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer)
    # The copy's band keys, little-endian int64 (`ingest.store.band_tables`).
    keys: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (Index("ix_lsh_keys_bucket_copy_id", "bucket", "copy_id"),)


class ProbeRow(Base):
    __tablename__ = "lsh_probe"

    # One row per copy, appended in id order: the copies' probe keys are read all at once, by a
    # process that must search the whole store (`ingest.store.band_tables`). A row per key put each insert
    # at a random page of a store-wide B-tree.
    copy_id: Mapped[int] = mapped_column(ForeignKey("article_copies.id", ondelete="CASCADE"), primary_key=True)
    # The copy's probe keys, little-endian int64.
    keys: Mapped[bytes] = mapped_column(LargeBinary)


class IndexLogRow(Base):
    __tablename__ = "lsh_log"

    # Written under the store's single-writer lock, so seq grows in commit order.
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    copy_id: Mapped[int] = mapped_column(Integer)
    bucket: Mapped[int] = mapped_column(Integer)


class FetchStateRow(Base):
    __tablename__ = "fetch_state"

    url: Mapped[str] = mapped_column(String(2000), primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    last_fetched_at: Mapped[datetime]
    status: Mapped[int] = mapped_column(Integer)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    content_hash: Mapped[str | None] = mapped_column(String(40))
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive
    error: Mapped[str | None] = mapped_column(String(500))


class RawPageRow(Base):
    """The last response for a fetched article URL, compressed: what `ingest reextract` re-reads."""

    __tablename__ = "raw_pages"

    url: Mapped[str] = mapped_column(String(2000), primary_key=True)  # as requested (canonicalised)
    source: Mapped[str] = mapped_column(String(64))
    final_url: Mapped[str] = mapped_column(String(2000))
    status: Mapped[int] = mapped_column(Integer)
    fetched_at: Mapped[datetime]
    headers: Mapped[dict[str, Any]] = mapped_column(JSON)
    body: Mapped[bytes] = mapped_column(LargeBinary)  # compressed response body (store.archive: zstd, or zlib before)
    size: Mapped[int] = mapped_column(Integer)  # uncompressed bytes

    __table_args__ = (Index("ix_raw_pages_source_fetched", "source", "fetched_at"),)


class BoilerplateRow(Base):
    """A line that recurs across pages of one outlet (chrome that survived extraction)."""

    __tablename__ = "boilerplate_lines"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    fingerprint: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    pages_seen: Mapped[int] = mapped_column(Integer)


class LeaseRow(Base):
    """Who may crawl a source right now: a row per source, held until `expires_at` unless renewed."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class RunRow(Base):
    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(16))  # running, ok, partial, failed, timed-out, interrupted
    sources: Mapped[str] = mapped_column(Text)  # comma-separated names
    pages_fetched: Mapped[int] = mapped_column(Integer, default=0)
    articles_extracted: Mapped[int] = mapped_column(Integer, default=0)
    new_stories: Mapped[int] = mapped_column(Integer, default=0)
    copies_linked: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # per-source reports, window

    __table_args__ = (Index("ix_crawl_runs_started_at", "started_at"),)
