"""Leases: at most one holder may crawl a source at a time, across processes and machines.

A lease is a row with an expiry. Its holder renews it while it works; if the holder dies, the
lease simply expires and another worker may take it. Nothing but the store coordinates workers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete

from ingest.store.db import read_session, write_transaction
from ingest.store.models import LeaseRow


def acquire(engine: Engine, name: str, holder: str, ttl: timedelta) -> bool:
    """Take the lease `name` if it is free, expired, or already ours; True if we hold it now."""
    now = datetime.now(UTC)
    with write_transaction(engine) as session:
        row = session.get(LeaseRow, name)
        if row is None:
            session.add(LeaseRow(name=name, holder=holder, acquired_at=now, expires_at=now + ttl))
            return True
        if row.holder != holder and row.expires_at > now:
            return False
        if row.holder != holder:
            row.holder, row.acquired_at = holder, now
        row.expires_at = now + ttl
        return True


def renew(engine: Engine, name: str, holder: str, ttl: timedelta) -> bool:
    """Extend our lease; False if it was lost (expired and taken by another holder)."""
    with write_transaction(engine) as session:
        row = session.get(LeaseRow, name)
        if row is None or row.holder != holder:
            return False
        row.expires_at = datetime.now(UTC) + ttl
        return True


def release(engine: Engine, name: str, holder: str) -> None:
    with write_transaction(engine) as session:
        session.execute(delete(LeaseRow).where(LeaseRow.name == name, LeaseRow.holder == holder))


def holder_of(engine: Engine, name: str) -> str | None:
    """The live holder of `name`, if any."""
    with read_session(engine) as session:
        row = session.get(LeaseRow, name)
        if row is None or row.expires_at <= datetime.now(UTC):
            return None
        return row.holder
