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

import ctypes
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

from ingest.config import Source, SourcesFile
from ingest.schedule import trigger_for
from ingest.store.db import write_transaction
from ingest.store.leases import acquire, release, renew
from ingest.store.models import RunRow
from ingest.store.runs import last_runs, start_run
from ingest.telemetry import Metrics

log = logging.getLogger(__name__)

_LEASE_TTL = timedelta(seconds=90)
_POLL_SECONDS = 2.0


@dataclass(frozen=True)
class WorkerOptions:
    sources_path: Path
    database_url: str
    crawl_timeout: timedelta = timedelta(minutes=30)
    grace: timedelta = timedelta(seconds=60)
    max_concurrent: int = 2
    log_format: str = "text"
    log_level: str = "INFO"


def _die_with_parent() -> None:
    """In the crawl process: receive SIGTERM if the worker dies, even by SIGKILL (Linux only)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


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
        self.proc = subprocess.Popen(argv, env=env, preexec_fn=_die_with_parent)

    def stop(self, grace: timedelta) -> None:
        """SIGTERM (Scrapy stops gracefully and the run is stored), then SIGKILL after `grace`."""
        if self.proc.poll() is None:
            self.proc.terminate()
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
        loaded = self.load()
        self.schedule(loaded.sources)
        self._install_signals()
        self.scheduler.start()
        while not self.stopping.is_set():
            self.stopping.wait(1.0)
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
        runs = last_runs(self.engine, [source.name]).get(source.name)
        if runs is None:
            return True
        nxt = trigger_for(source).get_next_fire_time(None, runs.started_at)
        return nxt is None or nxt <= datetime.now(UTC)

    # -- one crawl -------------------------------------------------------------------------------
    def crawl(self, name: str) -> None:
        if self.stopping.is_set():
            return
        if not acquire(self.engine, f"source:{name}", self.holder, _LEASE_TTL):
            log.info("%s: another worker is crawling it; skipped", name)
            return
        try:
            run_id = start_run(self.engine, [name], {"trigger": "worker", "worker": self.holder})
            crawl = Crawl(self.opts, name, run_id)
            with self._lock:
                self._crawls[name] = crawl
            log.info("%s: crawl started (run %d, pid %d)", name, run_id, crawl.proc.pid)
            outcome = self._watch(crawl)
            self._settle(crawl, outcome)
        finally:
            with self._lock:
                self._crawls.pop(name, None)
            release(self.engine, f"source:{name}", self.holder)

    def _watch(self, crawl: Crawl) -> str | None:
        """Wait for the crawl; renew the lease; enforce the wall-clock limit. Returns a forced outcome."""
        limit = self.opts.crawl_timeout.total_seconds()
        while True:
            try:
                crawl.proc.wait(_POLL_SECONDS)
                return None
            except subprocess.TimeoutExpired:
                pass
            if not renew(self.engine, f"source:{crawl.source}", self.holder, _LEASE_TTL):
                log.error("%s: lease lost; stopping the crawl", crawl.source)
                crawl.stop(self.opts.grace)
                return "interrupted"
            if time.monotonic() - crawl.started > limit:
                log.error("%s: crawl exceeded %s; stopping it", crawl.source, self.opts.crawl_timeout)
                crawl.stop(self.opts.grace)
                return "timed-out"

    def _settle(self, crawl: Crawl, forced: str | None) -> None:
        """Record how the run ended when the crawl process could not say it itself."""
        code = crawl.proc.returncode
        with write_transaction(self.engine) as session:
            row = session.get(RunRow, crawl.run_id)
            if row is None:
                return
            if forced or row.outcome == "running":
                row.outcome = forced or ("interrupted" if self.stopping.is_set() else "failed")
                row.finished_at = datetime.now(UTC)
                row.detail = {**(row.detail or {}), "exit_code": code}
            outcome = row.outcome
            self.metrics.run_finished(crawl.source, row)
        log.info("%s: run %d ended %s (exit %s)", crawl.source, crawl.run_id, outcome, code)

    # -- signals ---------------------------------------------------------------------------------
    def _install_signals(self) -> None:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_reload)

    def _on_stop(self, signum: int, _frame: FrameType | None) -> None:
        log.info(
            "received %s: no new crawls; waiting up to %s for running ones",
            signal.Signals(signum).name,
            self.opts.grace,
        )
        self.stopping.set()

    def _on_reload(self, _signum: int, _frame: FrameType | None) -> None:
        loaded = self.load()
        if loaded.errors:
            for err in loaded.errors:
                log.error("config error: %s (entry skipped)", err)
        self.schedule(loaded.sources)

    def shutdown(self) -> int:
        self.scheduler.shutdown(wait=False)
        deadline = time.monotonic() + self.opts.grace.total_seconds()
        while time.monotonic() < deadline:
            with self._lock:
                if not self._crawls:
                    break
            time.sleep(0.2)
        with self._lock:
            running = list(self._crawls.values())
        for crawl in running:
            crawl.stop(timedelta(seconds=10))
        # The crawl threads settle their runs and release their leases; give them a moment.
        for _ in range(100):
            with self._lock:
                if not self._crawls:
                    break
            time.sleep(0.1)
        log.info("worker stopped")
        return 0
