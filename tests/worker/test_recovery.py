"""A worker killed outright (SIGKILL) mid-crawl: its crawl processes stop with it (parent-death
signal), and the next worker, once the dead one's leases expire, leaves the store as a clean crawl
would: every expected article of the sample web stored exactly once, each story whole.
One kill and one recovery for the module (SQLite), checked against the sample web's ground truth."""

from __future__ import annotations

import signal
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from ingest.demo import SampleWeb, load_ground_truth
from ingest.store.models import CopyRow, RunRow
from ingest.urls import canonicalize
from tests.worker.conftest import Workers, alive, store_at, wait_for, write_sources


@dataclass
class Recovered:
    orphans_alive: list[int]  # crawl processes of the killed worker still running afterwards
    survivor_exit: int
    runs: list[RunRow]
    copies: list[tuple[str, int | None]]  # (url, story id) of every stored copy
    expected: dict[str, str]  # canonical URL -> ground-truth story of every page that must be stored


@pytest.fixture(scope="module")
def recovered(web: SampleWeb, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recovered]:
    tmp = tmp_path_factory.mktemp("recovery")
    url = f"sqlite:///{tmp / 'ingest.sqlite'}"
    sources = write_sources(tmp / "sources.yaml", web, web.outlets, every="1s")
    options = ("--max-concurrent", "3", "--lease-ttl", "5s")
    web.reset_state()
    workers = Workers(tmp)
    try:
        with store_at(url) as store:
            doomed = workers.start(sources, url, *options)
            wait_for("copies stored mid-crawl", store.copy_count, every=0.1)
            crawls = doomed.crawl_pids()
            doomed.signal(signal.SIGKILL)
            doomed.wait()
            wait_for("the orphaned crawls to stop", lambda: not any(alive(pid) for pid in crawls))
            last_before = max(r.id for r in store.runs())

            survivor = workers.start(sources, url, *options)  # waits out the dead worker's leases
            wait_for(
                "a complete run of every source by the next worker",
                lambda: all(
                    any(r.id > last_before and r.outcome == "ok" for r in store.runs(name)) for name in web.outlets
                ),
            )
            survivor.signal(signal.SIGTERM)
            code = survivor.wait()
            with store.engine.connect() as conn:
                copies = [(u, s) for u, s in conn.execute(select(CopyRow.url, CopyRow.story_id))]
            runs = store.runs()
        pages = load_ground_truth().stored_pages()
        expected = {canonicalize(web.base_url(p.outlet) + p.path): str(p.story) for p in pages}
        yield Recovered([pid for pid in crawls if alive(pid)], code, runs, copies, expected)
    finally:
        workers.stop_all()


def test_the_killed_workers_crawls_stop_with_it(recovered: Recovered) -> None:
    assert recovered.orphans_alive == []


def test_no_run_is_left_running(recovered: Recovered) -> None:
    assert recovered.survivor_exit == 0
    assert [r.id for r in recovered.runs if r.outcome == "running"] == []


def test_every_expected_article_is_stored(recovered: Recovered) -> None:
    stored = {url for url, _ in recovered.copies}
    assert sorted(set(recovered.expected) - stored) == []


def test_no_article_is_stored_twice(recovered: Recovered) -> None:
    urls = [url for url, _ in recovered.copies]
    assert len(urls) == len(set(urls))


def test_no_story_is_split(recovered: Recovered) -> None:
    story_of = dict(recovered.copies)
    stories: dict[str, set[int | None]] = defaultdict(set)
    for url, story in recovered.expected.items():
        stories[story].add(story_of[url])
    assert {s: ids for s, ids in stories.items() if len(ids) > 1} == {}


def test_no_two_stories_are_merged(recovered: Recovered) -> None:
    story_of = dict(recovered.copies)
    merged: dict[int | None, set[str]] = defaultdict(set)
    for url, story in recovered.expected.items():
        merged[story_of[url]].add(story)
    assert {i: s for i, s in merged.items() if len(s) > 1} == {}
