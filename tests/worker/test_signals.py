"""Signals: SIGTERM lets running crawls finish within the grace period, stops the ones that
outlast it (recorded `interrupted`) and exits 0; `ingest run-once` stopped by SIGTERM records its
run `interrupted` and exits 130; SIGHUP re-reads the sources file."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from ingest.demo import SampleWeb
from tests.worker.conftest import (
    PATIENCE,
    BlackHole,
    Workers,
    alive,
    crawl_pid,
    ingest_env,
    store_at,
    wait_for,
    write_sources,
)

# A request to the black hole hangs this long, then fails: a graceful stop must wait for it.
HANG = {"INGEST_DOWNLOAD_TIMEOUT": "4", "INGEST_RETRY_TIMES": "0"}


def hung_source(hole: BlackHole) -> dict[str, object]:
    return {"name": "hung", "homepage": f"{hole.url}/", "feeds": [f"{hole.url}/feed"], "schedule": {"every": "1h"}}


def test_run_once_stopped_by_sigterm_records_its_run_interrupted_and_exits_130(
    web: SampleWeb, black_hole: BlackHole, sqlite_url: str, tmp_path: Path
) -> None:
    sources = write_sources(tmp_path / "sources.yaml", web, [], extra=[hung_source(black_hole)])
    argv = [sys.executable, "-m", "ingest.cli", "run-once", "--sources", str(sources), "--no-progress"]
    with store_at(sqlite_url) as store:
        proc = subprocess.Popen(argv, env=ingest_env(sqlite_url, **HANG), stderr=subprocess.DEVNULL)
        try:
            wait_for("the crawl's first request", lambda: black_hole.accepted)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(PATIENCE) == 130
        finally:
            proc.kill()
        (run,) = store.runs()
        assert run.outcome == "interrupted" and run.finished_at is not None


def test_sigterm_lets_a_running_crawl_finish_within_grace_and_exits_0(
    web: SampleWeb, workers: Workers, sqlite_url: str, tmp_path: Path
) -> None:
    sources = write_sources(tmp_path / "sources.yaml", web, ["rifpress"], every="1h")
    web.clear_requests()
    with store_at(sqlite_url) as store:
        worker = workers.start(sources, sqlite_url, "--grace", "60s")
        wait_for("the crawl to reach the outlet", lambda: [r for r in web.requests if r.outlet == "rifpress"])
        worker.signal(signal.SIGTERM)
        assert worker.wait() == 0
        (run,) = store.runs()
        assert run.outcome == "ok"
        assert run.pages_fetched > 0


def test_sigterm_stops_a_crawl_that_outlasts_grace_and_records_it_interrupted(
    web: SampleWeb, workers: Workers, sqlite_url: str, tmp_path: Path, black_hole: BlackHole
) -> None:
    sources = write_sources(tmp_path / "sources.yaml", web, [], extra=[hung_source(black_hole)])
    with store_at(sqlite_url) as store:
        worker = workers.start(sources, sqlite_url, "--grace", "1s", env=HANG)
        wait_for("the crawl's first request", lambda: black_hole.accepted)
        (run,) = store.runs()
        child = crawl_pid(worker.log(), run.id)
        worker.signal(signal.SIGTERM)
        assert worker.wait() == 0
        assert [r.outcome for r in store.runs()] == ["interrupted"]
        assert not alive(child)


def test_sighup_rereads_the_sources_and_schedules_a_new_one(
    web: SampleWeb, workers: Workers, sqlite_url: str, tmp_path: Path, black_hole: BlackHole
) -> None:
    sources = write_sources(tmp_path / "sources.yaml", web, [], extra=[hung_source(black_hole)])
    with store_at(sqlite_url) as store:
        worker = workers.start(sources, sqlite_url, "--grace", "1s", env=HANG)
        wait_for("the worker to schedule its sources", lambda: "scheduled 1 sources: hung" in worker.log())
        write_sources(sources, web, ["rifpress"], every="1h", extra=[hung_source(black_hole)])
        worker.signal(signal.SIGHUP)
        (run,) = wait_for("a run of the source added to the file", lambda: store.finished_runs("rifpress"))
        assert run.outcome == "ok"
        assert worker.proc.poll() is None
