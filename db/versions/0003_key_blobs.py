"""band index: one row of keys per copy; probe keys for undated copies

`lsh_index` (a row per band of each copy) gives way to `lsh_keys`, one row per copy holding its
band keys then its probe keys as one little-endian int64 blob, and `lsh_probe`, the probe keys,
searchable across the whole store. Both are rebuilt from the stored signatures; the downgrade
refills `lsh_index` from the blobs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5_000  # copies per round trip
_COPIES = sa.table(
    "article_copies",
    sa.column("id", sa.Integer()),
    sa.column("signature", sa.LargeBinary()),
    sa.column("published_at", sa.DateTime()),
)
_KEYS = sa.table("lsh_keys", sa.column("copy_id"), sa.column("bucket"), sa.column("keys", sa.LargeBinary()))
_PROBE = sa.table("lsh_probe", sa.column("key"), sa.column("copy_id"))
_INDEX = sa.table("lsh_index", sa.column("bucket"), sa.column("key"), sa.column("copy_id"))


def upgrade() -> None:
    with op.batch_alter_table("lsh_index", schema=None) as batch_op:
        batch_op.drop_index("ix_lsh_index_copy_id")
    op.drop_table("lsh_index")
    op.create_table(
        "lsh_keys",
        sa.Column("copy_id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("keys", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["copy_id"], ["article_copies.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("copy_id"),
    )
    with op.batch_alter_table("lsh_keys", schema=None) as batch_op:
        batch_op.create_index("ix_lsh_keys_bucket_copy_id", ["bucket", "copy_id"], unique=False)
    op.create_table(
        "lsh_probe",
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("copy_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "copy_id"),
        sqlite_with_rowid=False,
    )
    _index_stored_copies(op.get_bind())


def _index_stored_copies(conn: sa.Connection) -> None:
    """Index every stored copy under the keys the running code computes from its signature.

    No `lsh_log` rows: no process can hold a cache of tables that did not exist.
    """
    from ingest.dedup.deduplicator import time_bucket
    from ingest.dedup.fingerprint import band_keys, probe_keys

    for rows in _batches(conn, _COPIES.c.id, _COPIES.c.signature, _COPIES.c.published_at):
        blobs, probes = [], []
        for copy_id, signature, published_at in rows:
            values = np.frombuffer(signature, dtype="<u4")
            probe = probe_keys(values)
            keys = np.concatenate([band_keys(values), probe]).astype("<i8").tobytes()
            blobs.append({"copy_id": copy_id, "bucket": time_bucket(published_at), "keys": keys})
            probes += [{"key": k, "copy_id": copy_id} for k in probe.tolist()]
        conn.execute(sa.insert(_KEYS), blobs)
        conn.execute(sa.insert(_PROBE), probes)


def _batches(
    conn: sa.Connection, key: sa.ColumnClause[Any], *cols: sa.ColumnClause[Any]
) -> Iterator[list[sa.Row[*tuple[Any, ...]]]]:
    """The rows of `key`'s table in `key` order, `_BATCH` at a time: (key, *cols)."""
    last = 0
    while rows := list(conn.execute(sa.select(key, *cols).where(key > last).order_by(key).limit(_BATCH))):
        yield rows
        last = rows[-1][0]


def downgrade() -> None:
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
    _refill_band_rows(op.get_bind())
    op.drop_table("lsh_probe")
    with op.batch_alter_table("lsh_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_lsh_keys_bucket_copy_id")
    op.drop_table("lsh_keys")


def _refill_band_rows(conn: sa.Connection) -> None:
    """One `lsh_index` row per band key of each blob (the first `DEFAULT.bands`; the rest are probe keys)."""
    from ingest.dedup.fingerprint import DEFAULT

    for rows in _batches(conn, _KEYS.c.copy_id, _KEYS.c.bucket, _KEYS.c["keys"]):
        band_rows = [
            {"bucket": bucket, "key": k, "copy_id": copy_id}
            for copy_id, bucket, blob in rows
            for k in np.frombuffer(blob, dtype="<i8")[: DEFAULT.bands].tolist()
        ]
        conn.execute(sa.insert(_INDEX), band_rows)
