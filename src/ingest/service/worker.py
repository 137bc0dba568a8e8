"""`ingest worker`: crawl each enabled source on its schedule, for weeks, without attention.

- APScheduler fires one job per source (interval or cron, with jitter); missed runs coalesce
  into one, and a source's runs never overlap (max_instances=1).
- Each crawl runs in its own process (`ingest run-once --source NAME --run-id N`): Scrapy's
  reactor cannot restart in one process, and a crashed or leaking crawl must not take the worker
  down. A crawl past its wall-clock limit is stopped and its run recorded as timed out.
- Workers sharing one store coordinate through leases in the database only: a source is crawled
  by at most one of them at a time; a dead holder's lease expires.
- SIGTERM/SIGINT stop scheduling, let running crawls finish within a grace period, then stop
  them and mark their runs interrupted; exit 0. SIGHUP re-reads and re-validates the sources.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

from ingest.config import ConfigError, Source, SourcesFile
from ingest.service.lifecycle import armed_for
from ingest.service.logcontext import bind, log_context
from ingest.service.schedule import next_run_after, trigger_for
from ingest.service.telemetry import Metrics
from ingest.store.leases import acquire, release, renew
from ingest.store.runs import (
    UNHEALTHY_AFTER,
    close_abandoned_runs,
    close_dead_runs,
    decide_run,
    last_runs,
    record_source_health,
    settle_run,
    start_run,
)

log = logging.getLogger(__name__)

_POLL_SECONDS = 2.0  # how often a crawl is checked and its lease renewed (at most)


@dataclass(frozen=True)
class WorkerOptions:
    sources_path: Path
    database_url: str
    crawl_timeout: timedelta = timedelta(minutes=30)
    grace: timedelta = timedelta(seconds=60)
    max_concurrent: int = 2
    log_format: str = "text"
    log_level: str = "INFO"
    lease_ttl: timedelta = timedelta(seconds=90)  # how long a dead worker's lease blocks its sources

    @property
    def poll_seconds(self) -> float:
        """Renew well within the lease's lifetime."""
        return min(_POLL_SECONDS, self.lease_ttl.total_seconds() / 4)


class Crawl:
    """One crawl process for one source, watched by the worker."""

    def __init__(self, opts: WorkerOptions, source: str, run_id: int) -> None:
        argv = [
            sys.executable,
            "-m",
            "ingest.cli",
            "--log-format",
            opts.log_format,
            "--log-level",
            opts.log_level,
        ]
        argv += ["run-once", "--sources", str(opts.sources_path), "--source", source, "--run-id", str(run_id)]
        argv += ["--no-progress"]
        env = {**os.environ, "INGEST_DATABASE_URL": opts.database_url}
        self.source, self.run_id = source, run_id
        self.started = time.monotonic()
        # Note: the parent-death signal fires when the *thread* that forked the child exits; that
        # thread is the one watching the crawl, so it lives as long as the crawl does.
        # stdout (run-once's summary) is dropped: the run row holds the same figures, and the
        # worker's output must stay line-oriented log records (--log-format json).
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, preexec_fn=armed_for(os.getpid()))

    def terminate(self) -> None:
        """SIGTERM: Scrapy stops gracefully and the crawl records its run `interrupted`."""
        if self.proc.poll() is None:
            self.proc.terminate()

    def stop(self, grace: timedelta) -> None:
        """SIGTERM, then SIGKILL after `grace`."""
        self.terminate()
        try:
            self.proc.wait(grace.total_seconds())
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Worker:
    def __init__(
        self,
        engine: Engine,
        opts: WorkerOptions,
        load: Callable[[], SourcesFile],
        metrics: Metrics | None = None,
    ) -> None:
        self.engine = engine
        self.opts = opts
        self.load = load
        self.metrics = metrics or Metrics(None)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stopping = threading.Event()
        self.reload_requested = threading.Event()
        self.stop_signal = "stop request"
        self._crawls: dict[str, Crawl] = {}
        self._lock = threading.Lock()
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(opts.max_concurrent)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )

    # -- scheduling ----------------------------------------------------------------------------
    def schedule(self, sources: Sequence[Source]) -> None:
        """(Re)place one job per enabled source; the first run of a new job is due now."""
        wanted = {s.name: s for s in sources if s.enabled}
        for job in self.scheduler.get_jobs():
            if job.id not in wanted:
                job.remove()
        for name, source in wanted.items():
            existing = self.scheduler.get_job(name)
            if existing is not None:
                existing.reschedule(trigger_for(source))
            else:
                self.scheduler.add_job(
                    self.crawl,
                    trigger_for(source),
                    args=[name],
                    id=name,
                    name=name,
                    next_run_time=datetime.now(UTC),
                )
        log.info("scheduled %d sources: %s", len(wanted), ", ".join(sorted(wanted)))

    def run_forever(self) -> int:
        self._install_signals()
        loaded = self.load()
        self.schedule(loaded.sources)
        self.scheduler.start()
        while not self.stopping.is_set():
            self.stopping.wait(0.5)
            if self.reload_requested.is_set():
                self.reload_requested.clear()
                self.reload()
        return self.shutdown()

    def run_due_once(self) -> int:
        """`--once`: crawl every source whose next run is due, then exit."""
        due = [s for s in self.load().sources if s.enabled and self.is_due(s)]
        log.info("due now: %s", ", ".join(s.name for s in due) or "none")
        threads = [threading.Thread(target=self.crawl, args=[s.name]) for s in due]
        for batch_start in range(0, len(threads), self.opts.max_concurrent):
            batch = threads[batch_start : batch_start + self.opts.max_concurrent]
            for t in batch:
                t.start()
            for t in batch:
                t.join()
        return 0

    def is_due(self, source: Source) -> bool:
        last = last_runs(self.engine, [source.name]).get(source.name)
        return next_run_after(source, last.started_at if last else None) <= datetime.now(UTC)

    # -- one crawl -------------------------------------------------------------------------------
    def crawl(self, name: str) -> None:
        """One scheduled job: take the source's lease, run its crawl process, record how it ended."""
        with log_context(source=name):
            try:
                self._crawl(name)
            except Exception:  # the job must not die silently in the scheduler's thread
                log.exception("%s: crawl job failed", name)

    def _crawl(self, name: str) -> None:
        if self.stopping.is_set():
            return
        lease = f"source:{name}"
        if not acquire(self.engine, lease, self.holder, self.opts.lease_ttl):
            log.info("%s: another worker is crawling it; skipped", name)
            return
        try:
            for run_id in close_abandoned_runs(self.engine, name):
                log.warning("%s: run %d was left running by a worker that died; recorded interrupted", name, run_id)
            for run_id in close_dead_runs(self.engine):
                log.warning("run %d was left running by a process that is gone; recorded interrupted", run_id)
            run_id = start_run(self.engine, [name], {"trigger": "worker", "worker": self.holder})
            bind(run_id=run_id)
            with self._lock:  # shutdown() sees every crawl started before it set `stopping`
                crawl = None if self.stopping.is_set() else Crawl(self.opts, name, run_id)
                if crawl is not None:
                    self._crawls[name] = crawl
            if crawl is None:
                self._close(run_id, name, "interrupted", None)
                return
            log.info("%s: crawl started (run %d, pid %d)", name, run_id, crawl.proc.pid)
            try:
                forced = self._watch(crawl)
            finally:
                if crawl.proc.poll() is None:  # the watch itself failed (store unreachable): do not leak
                    crawl.stop(self.opts.grace)
            self._settle(crawl, forced)
        finally:
            with self._lock:
                self._crawls.pop(name, None)
            release(self.engine, lease, self.holder)

    def _watch(self, crawl: Crawl) -> str | None:
        """Wait for the crawl; renew the lease; enforce the wall-clock limit. Returns a forced outcome."""
        limit = self.opts.crawl_timeout.total_seconds()
        while True:
            try:
                crawl.proc.wait(self.opts.poll_seconds)
                return None
            except subprocess.TimeoutExpired:
                pass
            try:
                renewed = renew(self.engine, f"source:{crawl.source}", self.holder, self.opts.lease_ttl)
            except Exception:  # a store hiccup; the lease has some slack left: try again next poll
                log.exception("%s: could not renew the lease", crawl.source)
                renewed = True
            if not renewed:
                log.error("%s: lease lost; stopping the crawl", crawl.source)
                return self._force(crawl, "interrupted")
            if time.monotonic() - crawl.started > limit:
                log.error("%s: crawl exceeded %s; stopping it", crawl.source, self.opts.crawl_timeout)
                return self._force(crawl, "timed-out")

    def _force(self, crawl: Crawl, outcome: str) -> str:
        """Record the verdict first, then stop the crawl: its own `interrupted` never shows."""
        decide_run(self.engine, crawl.run_id, outcome)
        crawl.stop(self.opts.grace)
        return outcome

    def _settle(self, crawl: Crawl, forced: str | None) -> None:
        """Record how the run ended when the crawl process could not say it itself."""
        self._close(crawl.run_id, crawl.source, forced, crawl.proc.returncode)

    def _close(self, run_id: int, source: str, forced: str | None, code: int | None) -> None:
        """Close the run: `forced` wins; a run the crawl left `running` crashed or was killed
        (`failed`), or was stopped by our shutdown before it could record that (`interrupted`)."""
        left_running = "interrupted" if self.stopping.is_set() else "failed"
        settled = settle_run(self.engine, run_id, forced, left_running, exit_code=code)
        if settled is None:
            return
        row, closed_here = settled
        outcome = row.outcome
        figures = (
            f"{row.pages_fetched} pages fetched, {row.articles_extracted} articles extracted, "
            f"{row.new_stories} new stories, {row.copies_linked} copies linked, "
            f"{sum((row.errors or {}).values())} errors"
        )
        self.metrics.run_finished(source, row)
        if closed_here and outcome in ("failed", "timed-out"):
            # The crawl could not count it against the source's health itself.
            for name in record_source_health(self.engine, {source: True}):
                log.error("%s: unhealthy after %d failed runs in a row", name, UNHEALTHY_AFTER)
        level = logging.INFO if outcome in ("ok", "partial") else logging.WARNING
        log.log(level, "%s: run %d ended %s (exit %s): %s", source, run_id, outcome, code, figures)

    # -- signals ---------------------------------------------------------------------------------
    def _install_signals(self) -> None:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_reload)

    def _on_stop(self, signum: int, _frame: FrameType | None) -> None:
        # No logging here: the interrupted code may be writing to the same stream. shutdown() says it.
        self.stop_signal = signal.Signals(signum).name
        self.stopping.set()

    def _on_reload(self, _signum: int, _frame: FrameType | None) -> None:
        self.reload_requested.set()  # handled by the main loop, not inside the signal handler

    def reload(self) -> None:
        """SIGHUP: re-read the sources file; a file that cannot be read keeps the current schedule."""
        try:
            loaded = self.load()
        except (ConfigError, OSError) as exc:
            log.error("SIGHUP: cannot re-read the sources (%s); keeping the current schedule", exc)
            return
        for err in loaded.errors:
            log.error("config error: %s (entry skipped)", err)
        self.schedule(loaded.sources)

    def shutdown(self) -> int:
        """Stop scheduling; running crawls get the grace period, then SIGTERM, then SIGKILL."""
        log.info("received %s: no new crawls; waiting up to %s for running ones", self.stop_signal, self.opts.grace)
        self.scheduler.shutdown(wait=False)
        grace = self.opts.grace.total_seconds()
        if not self._wait_for_crawls(grace):
            with self._lock:
                running = list(self._crawls.values())
            log.warning("grace period over; stopping %d crawls: %s", len(running), ", ".join(c.source for c in running))
            for crawl in running:
                crawl.terminate()
            if not self._wait_for_crawls(min(max(grace, 5.0), 30.0)):
                with self._lock:
                    running = list(self._crawls.values())
                for crawl in running:
                    if crawl.proc.poll() is None:
                        crawl.proc.kill()
                self._wait_for_crawls(10.0)
        log.info("worker stopped")
        return 0

    def _wait_for_crawls(self, seconds: float) -> bool:
        """Wait until every crawl thread has settled its run and released its lease."""
        deadline = time.monotonic() + seconds
        while True:
            with self._lock:
                if not self._crawls:
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
