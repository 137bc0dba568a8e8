"""band index partitioned by time bucket; stored exact fingerprints; index log

The index's keys no longer fold the time bucket in: the bucket is a column that leads the
primary key, so a process loads the buckets of its time window as ranges. `lsh_log` tells each
process what the others indexed. The index is rebuilt from the stored signatures.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import numpy as np
import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5_000  # copies per round trip
_COPIES = sa.table(
    "article_copies",
    sa.column("id", sa.Integer()),
    sa.column("signature", sa.LargeBinary()),
    sa.column("published_at", sa.DateTime()),
)
_INDEX = sa.table("lsh_index", sa.column("bucket"), sa.column("key"), sa.column("copy_id"))
_LOG = sa.table("lsh_log", sa.column("copy_id"), sa.column("bucket"))


def upgrade() -> None:
    with op.batch_alter_table("article_copies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shingles", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("numbers", sa.Text(), nullable=True))
    op.create_table(
        "lsh_index",
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("copy_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["copy_id"], ["article_copies.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("bucket", "key", "copy_id"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("lsh_index", schema=None) as batch_op:
        batch_op.create_index("ix_lsh_index_copy_id", ["copy_id"], unique=False)
    op.create_table(
        "lsh_log",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("copy_id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("lsh_buckets", schema=None) as batch_op:
        batch_op.drop_index("ix_lsh_buckets_copy_id")
    op.drop_table("lsh_buckets")
    # Copies stored before this revision keep NULL fingerprints (verified from their text).
    _index_stored_copies(op.get_bind())


def _index_stored_copies(conn: sa.Connection) -> None:
    """One `lsh_index` row per band of every stored copy, and its `lsh_log` row.

    Written here, not by `ingest.dedup.deduplicator.rebuild_index`: that writes the index of the newest revision.
    """
    from ingest.dedup.deduplicator import time_bucket
    from ingest.dedup.fingerprint import band_keys

    cols = (_COPIES.c.id, _COPIES.c.signature, _COPIES.c.published_at)
    last = 0
    while rows := conn.execute(sa.select(*cols).where(_COPIES.c.id > last).order_by(_COPIES.c.id).limit(_BATCH)).all():
        index, log = [], []
        for copy_id, signature, published_at in rows:
            bucket = time_bucket(published_at)
            keys = band_keys(np.frombuffer(signature, dtype="<u4")).tolist()
            index += [{"bucket": bucket, "key": k, "copy_id": copy_id} for k in keys]
            log.append({"copy_id": copy_id, "bucket": bucket})
        conn.execute(sa.insert(_INDEX), index)
        conn.execute(sa.insert(_LOG), log)
        last = rows[-1].id


def downgrade() -> None:
    # The old index is left empty: the previous release's `ingest db reindex` refills it.
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
    op.drop_table("lsh_log")
    with op.batch_alter_table("lsh_index", schema=None) as batch_op:
        batch_op.drop_index("ix_lsh_index_copy_id")
    op.drop_table("lsh_index")
    with op.batch_alter_table("article_copies", schema=None) as batch_op:
        batch_op.drop_column("numbers")
        batch_op.drop_column("shingles")
