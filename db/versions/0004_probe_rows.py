"""probe keys: one appended row per copy, searched in memory

`lsh_probe(key, copy_id)` took a B-tree insert at a random page for each of a copy's 8 probe keys:
at a million copies, most of the pages a write transaction dirtied. It becomes
`lsh_probe(copy_id, keys)`, one row per copy (its probe keys as one little-endian int64 blob),
appended in copy id order; a process that needs a store-wide probe reads the table once and
searches it in memory. The probe keys leave the `lsh_keys` blobs, which keep the band keys only.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import numpy as np
import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5_000  # copies per round trip
_KEYS = sa.table("lsh_keys", sa.column("copy_id", sa.Integer()), sa.column("keys", sa.LargeBinary()))
_OLD_PROBE = sa.table("lsh_probe", sa.column("key", sa.BigInteger()), sa.column("copy_id", sa.Integer()))


def _band_bytes() -> int:
    from ingest.dedup.fingerprint import DEFAULT

    return 8 * DEFAULT.bands


def upgrade() -> None:
    op.drop_table("lsh_probe")
    op.create_table(
        "lsh_probe",
        sa.Column("copy_id", sa.Integer(), nullable=False),
        sa.Column("keys", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["copy_id"], ["article_copies.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("copy_id"),
    )
    # substr() counts bytes in a blob / bytea on both SQLite and PostgreSQL, from 1.
    cut = {"cut": _band_bytes()}
    op.execute(
        sa.text(
            "INSERT INTO lsh_probe (copy_id, keys) SELECT copy_id, substr(keys, :cut + 1) FROM lsh_keys"
            " WHERE length(keys) > :cut ORDER BY copy_id"
        ).bindparams(**cut)
    )
    op.execute(sa.text("UPDATE lsh_keys SET keys = substr(keys, 1, :cut) WHERE length(keys) > :cut").bindparams(**cut))


def downgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT copy_id, keys FROM lsh_probe ORDER BY copy_id")).all()
    op.drop_table("lsh_probe")
    op.create_table(
        "lsh_probe",
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("copy_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "copy_id"),
        sqlite_with_rowid=False,
    )
    update = sa.update(_KEYS).where(_KEYS.c.copy_id == sa.bindparam("c")).values(keys=sa.bindparam("k"))
    for start in range(0, len(rows), _BATCH):
        batch = rows[start : start + _BATCH]
        blobs = dict(
            conn.execute(
                sa.select(_KEYS.c.copy_id, _KEYS.c["keys"]).where(_KEYS.c.copy_id.in_([c for c, _ in batch]))
            ).all()
        )
        conn.execute(update, [{"c": c, "k": blobs[c] + probe} for c, probe in batch if c in blobs])
        pairs = {(k, c) for c, probe in batch for k in np.frombuffer(probe, dtype="<i8").tolist()}
        if pairs:
            conn.execute(sa.insert(_OLD_PROBE), [{"key": k, "copy_id": c} for k, c in sorted(pairs)])
