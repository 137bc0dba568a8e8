"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The plain-SQL face of the store (documented in the README): one row per story.
CANONICAL_VIEW = """
CREATE VIEW canonical_articles AS
SELECT s.id AS id,
       c.title AS title,
       c.text AS text,
       c.url AS url,
       src.name AS source,
       COALESCE(s.first_published_at, c.published_at) AS published_at,
       s.source_count AS source_count,
       s.copy_count AS copy_count,
       c.language AS language,
       s.created_at AS first_seen_at,
       s.updated_at AS updated_at
FROM stories s
JOIN article_copies c ON c.id = s.canonical_copy_id
JOIN sources src ON src.id = c.source_id
"""


def upgrade() -> None:
    op.create_table(
        "crawl_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("sources", sa.Text(), nullable=False),
        sa.Column("pages_fetched", sa.Integer(), nullable=False),
        sa.Column("articles_extracted", sa.Integer(), nullable=False),
        sa.Column("new_stories", sa.Integer(), nullable=False),
        sa.Column("copies_linked", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.create_index("ix_crawl_runs_started_at", ["started_at"], unique=False)

    op.create_table(
        "fetch_state",
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("last_fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("etag", sa.String(length=500), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("content_hash", sa.String(length=40), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("url"),
    )
    op.create_table(
        "raw_pages",
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("final_url", sa.String(length=2000), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("url"),
    )
    with op.batch_alter_table("raw_pages", schema=None) as batch_op:
        batch_op.create_index("ix_raw_pages_source_fetched", ["source", "fetched_at"], unique=False)
    op.create_table(
        "boilerplate_lines",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.BigInteger(), nullable=False),
        sa.Column("pages_seen", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("source", "fingerprint"),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("homepage", sa.String(length=2000), nullable=True),
        sa.Column("consecutive_failed_runs", sa.Integer(), nullable=False),
        sa.Column("healthy", sa.Boolean(), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("canonical_copy_id", sa.Integer(), nullable=True),
        sa.Column("first_published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source_count", sa.Integer(), nullable=False),
        sa.Column("copy_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.create_index("ix_stories_first_published_at", ["first_published_at"], unique=False)

    op.create_table(
        "article_copies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("fetched_url", sa.String(length=2000), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("author", sa.String(length=300), nullable=True),
        sa.Column("section", sa.String(length=300), nullable=True),
        sa.Column("image_url", sa.String(length=2000), nullable=True),
        sa.Column("extraction_method", sa.String(length=32), nullable=False),
        sa.Column("content_hash", sa.String(length=40), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("token_count", sa.Integer(), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("join_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
        ),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("url"),
    )
    with op.batch_alter_table("article_copies", schema=None) as batch_op:
        batch_op.create_index("ix_article_copies_fetched_url", ["fetched_url"], unique=False)
        batch_op.create_index("ix_article_copies_source_published", ["source_id", "published_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_article_copies_story_id"), ["story_id"], unique=False)

    op.create_table(
        "lsh_buckets",
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("copy_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["copy_id"], ["article_copies.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key", "copy_id"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("lsh_buckets", schema=None) as batch_op:
        batch_op.create_index("ix_lsh_buckets_copy_id", ["copy_id"], unique=False)

    # stories and article_copies reference each other: the second edge is added once both exist.
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_stories_canonical_copy", "article_copies", ["canonical_copy_id"], ["id"], ondelete="SET NULL"
        )
    op.execute(CANONICAL_VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW canonical_articles")
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_constraint("fk_stories_canonical_copy", type_="foreignkey")
    with op.batch_alter_table("lsh_buckets", schema=None) as batch_op:
        batch_op.drop_index("ix_lsh_buckets_copy_id")

    op.drop_table("lsh_buckets")
    with op.batch_alter_table("article_copies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_article_copies_story_id"))
        batch_op.drop_index("ix_article_copies_source_published")
        batch_op.drop_index("ix_article_copies_fetched_url")

    op.drop_table("article_copies")
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_index("ix_stories_first_published_at")

    op.drop_table("stories")
    op.drop_table("sources")
    op.drop_table("leases")
    op.drop_table("boilerplate_lines")
    op.drop_table("raw_pages")
    op.drop_table("fetch_state")
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_crawl_runs_started_at")

    op.drop_table("crawl_runs")
