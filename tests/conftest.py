"""Fixtures shared by the suite: real stores (SQLite and PostgreSQL) and the sample web.

PostgreSQL runs at 127.0.0.1:5432 (database `test`, or INGEST_TEST_POSTGRES_URL). Each test gets
its own schema, dropped afterwards, so runs never see each other's rows. Under CI=true an
unreachable PostgreSQL is a failure, never a skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from ingest.store.db import open_store
from tests.support import IN_CI, POSTGRES_URL, postgres_problem, postgres_schema_url


@pytest.fixture(scope="session")
def postgres_server() -> str:
    problem = postgres_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is required in CI: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    return POSTGRES_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ingest.sqlite'}"
    else:
        yield from postgres_schema_url(request.getfixturevalue("postgres_server"))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An upgraded store on each backend."""
    eng = open_store(database_url)
    yield eng
    eng.dispose()
