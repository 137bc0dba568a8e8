"""End-to-end fixtures: the sample web served in this process, `ingest run-once` in a subprocess
(Twisted's reactor runs once per process), and the store it wrote, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from ingest.demo import GroundTruth, RequestRecord, SampleWeb, load_ground_truth
from ingest.store.db import make_engine
from ingest.urls import canonicalize
from tests.support import postgres_schema_url


@dataclass
class Crawl:
    """What one `ingest run-once` did: its exit code and output, and the store it wrote to."""

    returncode: int
    stdout: str
    stderr: str


@dataclass
class Site:
    web: SampleWeb
    truth: GroundTruth
    sources_file: Path

    def url(self, key: str) -> str:
        """'outlet:/path' (a ground-truth key) -> the canonical URL the store keeps for it."""
        outlet, path = key.split(":", 1)
        return canonicalize(self.web.base_url(outlet) + path)


def ingest(*args: str, database_url: str, check: bool = False, env: dict[str, str] | None = None) -> Crawl:
    env = {**os.environ, "INGEST_DATABASE_URL": database_url, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "ingest.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if check and proc.returncode not in (0, 3):
        raise AssertionError(f"ingest {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    return Crawl(proc.returncode, proc.stdout, proc.stderr)


def run_once(site: Site, database_url: str, *extra: str) -> Crawl:
    return ingest(
        "run-once",
        "--sources",
        str(site.sources_file),
        "--no-progress",
        *extra,
        database_url=database_url,
        check=True,
    )


def query_jsonl(database_url: str, *extra: str) -> list[dict[str, object]]:
    out = ingest("query", "--format", "jsonl", *extra, database_url=database_url, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    # The slow page must stay slower than nothing but not hold the suite for long.
    SampleWeb.slow_seconds = 1.5
    with SampleWeb(base_port=0) as web:
        path = tmp_path_factory.mktemp("sampleweb") / "sources.yaml"
        path.write_text(web.sources_yaml(), encoding="utf-8")
        yield Site(web, load_ground_truth(), path)


def backend_url(backend: str, tmp: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'ingest.sqlite'}"
    else:
        yield from postgres_schema_url(request.getfixturevalue("postgres_server"))


@dataclass
class CrawledStore:
    url: str
    engine: Engine
    first: Crawl
    # What the first crawl asked of the sample web: the live log is shared by every test (and both
    # backends' crawls), so checks about one crawl's requests read this snapshot instead.
    requests: list[RequestRecord] = field(default_factory=list)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def crawled(
    request: pytest.FixtureRequest, site: Site, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CrawledStore]:
    """The whole sample web crawled once into a fresh store, per backend and test module."""
    for url in backend_url(request.param, tmp_path_factory.mktemp(request.param), request):
        before = len(site.web.requests)
        first = run_once(site, url)
        requests = site.web.requests[before:]
        engine = make_engine(url)
        yield CrawledStore(url, engine, first, requests)
        engine.dispose()
