"""A crawl that hangs is stopped at its wall-clock limit and recorded `timed-out`; a crawl process
that dies is recorded `failed`; either way the worker goes on crawling."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from ingest.demo import SampleWeb
from tests.worker.conftest import BlackHole, Workers, alive, crawl_pid, store_at, wait_for, write_sources


def test_a_hung_crawl_is_stopped_at_its_limit_and_recorded_timed_out_and_the_worker_goes_on(
    web: SampleWeb, workers: Workers, sqlite_url: str, tmp_path: Path, black_hole: BlackHole
) -> None:
    hung = {"name": "hung", "homepage": f"{black_hole.url}/", "feeds": [f"{black_hole.url}/feed"]}
    sources = write_sources(tmp_path / "sources.yaml", web, [], every="1s", extra=[hung])
    with store_at(sqlite_url) as store:
        worker = workers.start(sources, sqlite_url, "--crawl-timeout", "4s", "--grace", "1s")

        # A crawl stopped by SIGTERM records its run `interrupted` itself; the worker overrides that
        # with `timed-out` once the process is gone (it writes the exit code): wait for the latter.
        def closed_by_worker() -> list[Any]:
            return [r for r in store.finished_runs("hung") if "exit_code" in (r.detail or {})]

        runs = wait_for("two hung crawls to end", lambda: closed_by_worker()[1:] and closed_by_worker())
        assert [r.outcome for r in runs[:2]] == ["timed-out", "timed-out"]
        first = runs[0]
        assert first.finished_at is not None and (first.finished_at - first.started_at).total_seconds() >= 4
        assert not alive(crawl_pid(worker.log(), first.id))  # stopped, not left behind
        assert worker.proc.poll() is None


def test_a_crawl_process_that_dies_is_recorded_failed_and_the_worker_goes_on(
    web: SampleWeb, workers: Workers, sqlite_url: str, tmp_path: Path
) -> None:
    sources = write_sources(tmp_path / "sources.yaml", web, ["rifpress"], every="1s")
    with store_at(sqlite_url) as store:
        worker = workers.start(sources, sqlite_url)
        (victim,) = wait_for("the first crawl process", worker.crawl_pids, every=0.05)
        os.kill(victim, signal.SIGKILL)
        wait_for("the killed crawl to be reaped", lambda: not alive(victim))
        (killed,) = wait_for("the killed crawl's run to be closed", lambda: store.finished_runs("rifpress")[:1])
        assert killed.outcome == "failed"
        assert killed.detail["exit_code"] == -signal.SIGKILL
        later = wait_for(
            "a run after the crash to finish", lambda: [r for r in store.finished_runs("rifpress") if r.id > killed.id]
        )
        assert later[0].outcome == "ok"
        assert worker.proc.poll() is None
