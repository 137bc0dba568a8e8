"""Two `ingest worker` processes on one PostgreSQL store: the lease row of each source lets only
one of them crawl it at a time, with nothing but the database between them."""

from __future__ import annotations

import signal
from pathlib import Path

from sqlalchemy import func, select

from ingest.demo import SampleWeb
from ingest.store.models import LeaseRow
from tests.worker.conftest import Workers, overlapping, store_at, wait_for, write_sources

SOURCES = ["rifpress", "almasaa"]


def test_two_workers_on_one_store_never_crawl_a_source_at_once(
    web: SampleWeb, workers: Workers, postgres_url: str, tmp_path: Path
) -> None:
    sources = write_sources(tmp_path / "sources.yaml", web, SOURCES, every="1s")
    with store_at(postgres_url) as store:
        # Started together, they race for every lease from their first second on.
        first = workers.start(sources, postgres_url, "--max-concurrent", "2")
        second = workers.start(sources, postgres_url, "--max-concurrent", "2")
        wait_for(
            "two finished runs of each source",
            lambda: all(len(store.finished_runs(name)) >= 2 for name in SOURCES),
        )
        wait_for(
            "the second worker to find a source taken",
            lambda: "another worker is crawling it" in second.log() + first.log(),
        )
        for worker in (first, second):
            worker.signal(signal.SIGTERM)
        assert [first.wait(), second.wait()] == [0, 0]

        for name in SOURCES:
            runs = store.runs(name)
            assert overlapping(runs) == [], f"{name}: runs overlap"
            assert all(r.outcome != "running" for r in runs)
        with store.engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(LeaseRow)) == 0  # both released theirs
