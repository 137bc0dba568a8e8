"""`ingest worker` on a short schedule: it crawls a source again and again, in crawl processes
whose log lines name their run and source, counts the runs in its Prometheus metrics, and stops
cleanly on SIGTERM. One real worker for the whole module (SQLite), observed from the outside."""

from __future__ import annotations

import json
import signal
import socket
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ingest.demo import SampleWeb
from ingest.store.models import RunRow
from tests.worker.conftest import Workers, overlapping, store_at, wait_for, write_sources

SOURCE = "rifpress"
RUNS_WANTED = 3


@dataclass
class ScheduledWorker:
    runs: list[RunRow]  # the source's runs when the worker was stopped
    feed_requests: int  # how often the sample web served the source's feed meanwhile
    metrics: str  # /metrics as scraped before the stop
    exit_code: int
    log_lines: list[str]  # the worker's output, its crawls' included
    left_running: list[RunRow]  # runs still `running` after the worker exited


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def scheduled(web: SampleWeb, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScheduledWorker]:
    tmp = tmp_path_factory.mktemp("scheduled")
    url = f"sqlite:///{tmp / 'ingest.sqlite'}"
    sources = write_sources(tmp / "sources.yaml", web, [SOURCE], every="2s")
    port = _free_port()
    web.clear_requests()
    workers = Workers(tmp)
    try:
        with store_at(url) as store:
            worker = workers.start(sources, url, "--metrics-port", str(port), log_format="json")
            wait_for(f"{RUNS_WANTED} finished runs", lambda: len(store.finished_runs(SOURCE)) >= RUNS_WANTED)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
                metrics = resp.read().decode()
            runs = store.runs(SOURCE)
            feed = _feed_path(web, sources)
            feed_requests = sum(1 for r in web.requests if r.outlet == SOURCE and r.path.split("?")[0] == feed)
            worker.signal(signal.SIGTERM)
            code = worker.wait()
            left = [r for r in store.runs() if r.outcome == "running"]
            yield ScheduledWorker(runs, feed_requests, metrics, code, worker.log().splitlines(), left)
    finally:
        workers.stop_all()


def _feed_path(web: SampleWeb, sources: Path) -> str:
    from urllib.parse import urlsplit

    from ingest.config import load_sources

    (source,) = load_sources(sources).sources
    return urlsplit(source.feeds[0]).path


def test_a_short_schedule_crawls_the_source_again_and_again(scheduled: ScheduledWorker) -> None:
    finished = [r for r in scheduled.runs if r.outcome != "running"]
    assert len(finished) >= RUNS_WANTED
    assert {r.outcome for r in finished} == {"ok"}
    assert scheduled.feed_requests >= RUNS_WANTED  # each run really went to the outlet


def test_runs_of_one_source_never_overlap(scheduled: ScheduledWorker) -> None:
    assert overlapping(scheduled.runs) == []


def test_the_json_log_is_one_object_per_line_crawls_included(scheduled: ScheduledWorker) -> None:
    records = [json.loads(line) for line in scheduled.log_lines if line.strip()]
    assert {"ingest.service.worker", "ingest.service.run"} <= {r["logger"] for r in records}


def test_each_log_line_of_a_crawl_names_its_run_and_source(scheduled: ScheduledWorker) -> None:
    records = [json.loads(line) for line in scheduled.log_lines if line.strip()]
    run_ids = {r.id for r in scheduled.runs}
    crawl_lines = [r for r in records if r["logger"].startswith(("ingest.service.run", "scrapy"))]
    assert crawl_lines, "the crawls logged nothing at INFO"
    assert all(r.get("source") == SOURCE and r.get("run_id") in run_ids for r in crawl_lines)
    worker_lines = [r for r in records if "crawl started" in r["message"] or " ended " in r["message"]]
    assert worker_lines and all(r.get("run_id") in run_ids and r.get("source") == SOURCE for r in worker_lines)


def test_metrics_count_the_runs_by_outcome(scheduled: ScheduledWorker) -> None:
    counted = [
        float(line.rsplit(" ", 1)[1])
        for line in scheduled.metrics.splitlines()
        if line.startswith("ingest_runs_total{") and f'source="{SOURCE}"' in line and 'outcome="ok"' in line
    ]
    assert counted and counted[0] >= 1
    assert f'ingest_pages_fetched_total{{source="{SOURCE}"}}' in scheduled.metrics


def test_sigterm_stops_the_worker_with_exit_0_and_no_run_left_running(scheduled: ScheduledWorker) -> None:
    assert scheduled.exit_code == 0
    assert scheduled.left_running == []


def test_the_text_log_prefixes_each_line_of_a_run_with_its_id_and_source(
    web: SampleWeb, tmp_path: Path, sqlite_url: str
) -> None:
    import subprocess
    import sys

    from tests.worker.conftest import ingest_env

    sources = write_sources(tmp_path / "sources.yaml", web, [SOURCE])
    done = subprocess.run(
        [sys.executable, "-m", "ingest.cli", "--log-level", "INFO", "run-once", "--sources", str(sources)],
        env=ingest_env(sqlite_url),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with store_at(sqlite_url) as store:
        (run,) = store.runs()
    lines = [line for line in done.stderr.splitlines() if " ingest.service.run: " in line or " scrapy." in line]
    assert lines and all(f"[run {run.id} {SOURCE}] " in line for line in lines)
