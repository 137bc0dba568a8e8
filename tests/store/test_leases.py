"""Leases: one holder at a time per name, until released or expired."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import Engine

from ingest.store.leases import acquire, holder_of, release, renew

TTL = timedelta(seconds=60)


def test_second_holder_cannot_take_a_live_lease(engine: Engine) -> None:
    assert acquire(engine, "source:a", "w1", TTL)
    assert not acquire(engine, "source:a", "w2", TTL)
    assert holder_of(engine, "source:a") == "w1"


def test_holder_may_reacquire_and_renew_its_own_lease(engine: Engine) -> None:
    assert acquire(engine, "source:a", "w1", TTL)
    assert acquire(engine, "source:a", "w1", TTL)
    assert renew(engine, "source:a", "w1", TTL)


def test_released_lease_is_free(engine: Engine) -> None:
    acquire(engine, "source:a", "w1", TTL)
    release(engine, "source:a", "w1")
    assert acquire(engine, "source:a", "w2", TTL)


def test_expired_lease_passes_to_another_holder(engine: Engine) -> None:
    acquire(engine, "source:a", "w1", timedelta(milliseconds=50))
    time.sleep(0.1)
    assert holder_of(engine, "source:a") is None
    assert acquire(engine, "source:a", "w2", TTL)
    assert not renew(engine, "source:a", "w1", TTL)


def test_leases_of_different_sources_are_independent(engine: Engine) -> None:
    assert acquire(engine, "source:a", "w1", TTL)
    assert acquire(engine, "source:b", "w2", TTL)
