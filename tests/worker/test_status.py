"""`ingest status` and `ingest runs` after a worker has crawled a healthy source and a silent one
(its feed and sitemap 404, its homepage links to no article): the silent source is flagged after
three runs that found nothing, and `status` exits 3. One worker for the module (SQLite)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ingest.demo import SampleWeb
from tests.worker.conftest import Workers, ingest_env, store_at, wait_for, write_sources

HEALTHY = "rifpress"
SILENT = "silent"
ZERO_STREAK = 3  # runs without articles before `status` warns


@dataclass
class Crawled:
    url: str
    sources: Path
    runs: dict[str, list[int]]  # source -> its run ids
    last_outcome: dict[str, str]  # source -> the outcome of its last run


def ingest(crawled: Crawled, *args: str, sources: Path | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "ingest.cli", *args]
    if args[0] == "status":
        argv += ["--sources", str(sources or crawled.sources)]
    return subprocess.run(argv, env=ingest_env(crawled.url), capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def crawled(web: SampleWeb, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    tmp = tmp_path_factory.mktemp("status")
    url = f"sqlite:///{tmp / 'ingest.sqlite'}"
    base = web.base_url("almasaa")
    silent = {
        "name": SILENT,
        "homepage": f"{base}/no-such-home/",
        "feeds": [f"{base}/no-such-feed.xml"],
        "sitemaps": [f"{base}/no-such-sitemap.xml"],
        "article_url_pattern": "/no-article-ever-matches-this/",
        "discover_feeds": False,
    }
    sources = write_sources(tmp / "sources.yaml", web, [HEALTHY], every="1s", extra=[silent])
    workers = Workers(tmp)
    try:
        with store_at(url) as store:
            worker = workers.start(sources, url, "--max-concurrent", "2")
            wait_for(
                f"{ZERO_STREAK} runs of the silent source",
                lambda: len(store.finished_runs(SILENT)) >= ZERO_STREAK and store.finished_runs(HEALTHY),
            )
            worker.signal(signal.SIGTERM)
            assert worker.wait() == 0
            runs = {name: [r.id for r in store.runs(name)] for name in (HEALTHY, SILENT)}
            last = {name: store.runs(name)[-1].outcome for name in (HEALTHY, SILENT)}
        yield Crawled(url, sources, runs, last)
    finally:
        workers.stop_all()


def test_status_exits_3_and_warns_about_a_source_that_keeps_finding_no_articles(crawled: Crawled) -> None:
    done = ingest(crawled, "status")
    assert done.returncode == 3, done.stderr
    warning = re.search(r"! no articles for (\d+) runs", done.stdout)
    assert warning and int(warning.group(1)) >= ZERO_STREAK
    above = done.stdout.split(warning.group(0))[0].rstrip().splitlines()
    flagged = [line for line in above if line and not line[0].isspace()][-1]
    assert flagged.startswith(SILENT)  # the warning follows the silent source's line (and its details)


def test_status_gives_page_errors_by_reason_and_tells_a_silent_source_from_an_unreachable_one(
    crawled: Crawled,
) -> None:
    rows = {row["name"]: row for row in json.loads(ingest(crawled, "status", "--format", "json").stdout)}
    silent = rows[SILENT]
    assert silent["errors_by_reason"].get("http-404", 0) > 0  # its feed and sitemap answer 404
    assert silent["error_rate"] > 0 and silent["requests"] > 0
    assert not silent["unreachable"]  # the host answers: the template, feed or sitemap changed
    assert rows[HEALTHY]["error_rate"] == 0 and not rows[HEALTHY]["last_broken"]


def test_status_shows_each_source_with_its_last_run_outcome(crawled: Crawled) -> None:
    rows = json.loads(ingest(crawled, "status", "--format", "json").stdout)
    by_name = {row["name"]: row for row in rows}
    assert {name: row["last_outcome"] for name, row in by_name.items()} == crawled.last_outcome
    assert by_name[HEALTHY]["last_outcome"] == "ok" and by_name[HEALTHY]["warnings"] == []
    assert by_name[SILENT]["zero_article_runs"] >= ZERO_STREAK
    assert all(row["last_run_at"] and row["next_run_at"] for row in rows)
    assert by_name[HEALTHY]["copies"] > 0 and by_name[SILENT]["copies"] == 0


def test_status_exits_0_when_no_source_needs_attention(crawled: Crawled, web: SampleWeb, tmp_path: Path) -> None:
    healthy_only = write_sources(tmp_path / "healthy.yaml", web, [HEALTHY])
    done = ingest(crawled, "status", sources=healthy_only)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[1].split()[0] == HEALTHY


def test_runs_of_a_source_lists_exactly_its_runs_newest_first(crawled: Crawled) -> None:
    done = ingest(crawled, "runs", "--source", SILENT, "--limit", "100")
    assert done.returncode == 0, done.stderr
    listed = [int(m) for m in re.findall(r"^#(\d+)", done.stdout, flags=re.M)]
    assert listed == sorted(crawled.runs[SILENT], reverse=True)
    as_json = json.loads(ingest(crawled, "runs", "--source", SILENT, "--format", "json").stdout)
    assert {run["sources"] for run in as_json} == {SILENT}
