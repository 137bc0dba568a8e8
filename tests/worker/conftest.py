"""Fixtures for the worker's tests: real `ingest worker` processes (each crawl in its own
`ingest run-once` child) against the sample web served in this process, on real stores.

Every process started here is a child of the test process and is stopped at teardown: the
worker by SIGTERM, then SIGKILL; its crawl children by SIGKILL when they outlive it.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from ruamel.yaml import YAML
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ingest.demo import SampleWeb
from ingest.store.db import open_store
from ingest.store.models import CopyRow, RunRow
from tests.support import postgres_schema_url

T = TypeVar("T")

# Crawls of the sample web as fast as it answers: these tests are about the worker, not politeness.
FAST_CRAWL_ENV = {
    "INGEST_AUTOTHROTTLE": "false",
    "INGEST_DOWNLOAD_DELAY": "0",
    "INGEST_EXTRACT_WORKERS": "1",
    "INGEST_RETRY_TIMES": "1",
}
# Upper bounds that only keep a broken test from hanging; never timing assertions.
PATIENCE = 600.0  # a hang fails at this bound; a busy machine only waits longer (it returns when done)


def ingest_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGEST_")}
    return {**env, **FAST_CRAWL_ENV, "INGEST_DATABASE_URL": database_url, **extra}


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = PATIENCE, every: float = 0.3) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


def descendants(pid: int) -> list[int]:
    """Every live descendant of `pid`, from /proc (Linux)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except FileNotFoundError:
            continue
        for task in tasks:
            try:
                children = Path(f"/proc/{current}/task/{task}/children").read_text().split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            for child in map(int, children):
                found.append(child)
                todo.append(child)
    return found


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except (FileNotFoundError, ProcessLookupError):
        return []


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def crawl_pid(worker_log: str, run_id: int) -> int:
    """The pid of the crawl process of run `run_id`, from the worker's "crawl started" line."""
    found = re.search(rf"crawl started \(run {run_id}, pid (\d+)\)", worker_log)
    assert found, f"no crawl started for run {run_id}"
    return int(found.group(1))


@dataclass
class WorkerProcess:
    """One `ingest worker` process; its stderr (the log) goes to a file."""

    proc: subprocess.Popen[bytes]
    log_path: Path
    known_crawls: set[int] = field(default_factory=set)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def crawl_pids(self) -> list[int]:
        """The worker's live `ingest run-once` children (not their extraction processes)."""
        pids = [p for p in descendants(self.pid) if "run-once" in cmdline(p) and alive(p)]
        self.known_crawls.update(pids)
        return pids

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float = PATIENCE) -> int:
        return self.proc.wait(timeout)

    def stop(self) -> None:
        """Teardown: SIGTERM, then SIGKILL; then any crawl process it left behind."""
        self.crawl_pids()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid in self.known_crawls:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@dataclass
class Workers:
    """Starts `ingest worker` processes for one test and stops them all at its end."""

    tmp: Path
    started: list[WorkerProcess] = field(default_factory=list)

    def start(
        self,
        sources_file: Path,
        database_url: str,
        *args: str,
        log_format: str = "text",
        log_level: str = "INFO",
        env: dict[str, str] | None = None,
    ) -> WorkerProcess:
        log_path = self.tmp / f"worker-{len(self.started)}.log"
        argv = [sys.executable, "-m", "ingest.cli", "--log-level", log_level, "--log-format", log_format]
        argv += ["worker", "--sources", str(sources_file), *args]
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                argv, env=ingest_env(database_url, **(env or {})), stdout=log, stderr=subprocess.STDOUT
            )
        worker = WorkerProcess(proc, log_path)
        self.started.append(worker)
        return worker

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    started = Workers(tmp_path)
    yield started
    started.stop_all()


@dataclass
class BlackHole:
    """A local HTTP server that accepts connections and never answers a byte."""

    url: str
    accepted: list[socket.socket] = field(default_factory=list)


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    hole = BlackHole(f"http://127.0.0.1:{server.getsockname()[1]}")
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            hole.accepted.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield hole
    stop.set()
    thread.join()
    for conn in hole.accepted:
        conn.close()
    server.close()


@pytest.fixture(scope="session")
def web() -> Iterator[SampleWeb]:
    """The sample web, its slow page at 1 s (a test that needs a crawl to hang raises it)."""
    with SampleWeb(base_port=0) as served:
        served.slow_seconds = 1.0
        yield served


def write_sources(
    path: Path,
    web: SampleWeb,
    outlets: list[str],
    every: str = "2s",
    extra: list[dict[str, Any]] | None = None,
) -> Path:
    """A sources file with these sample-web outlets on a short schedule, plus `extra` entries
    (which, like the sample web's own, may be fetched on 127.0.0.1)."""
    yaml = YAML(typ="safe")
    loaded = yaml.load(web.sources_yaml())
    entries = [dict(e, schedule={"every": every}) for e in loaded["sources"] if e["name"] in outlets]
    assert len(entries) == len(outlets), f"unknown outlets among {outlets}"
    entries += [{"schedule": {"every": every}, "allow_private_hosts": ["127.0.0.1"], **e} for e in extra or []]
    yaml.default_flow_style = False
    with path.open("w", encoding="utf-8") as out:
        yaml.dump({"sources": entries}, out)
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ingest.sqlite'}"


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    yield from postgres_schema_url(postgres_server)


@dataclass
class Store:
    """Read access to a store the worker processes write."""

    engine: Engine

    def runs(self, source: str | None = None) -> list[RunRow]:
        """Runs of `source` (or all), oldest first; none while the schema does not exist yet."""
        try:
            with Session(self.engine) as session:
                runs = list(session.scalars(select(RunRow).order_by(RunRow.id)))
        except DBAPIError:
            return []
        return [r for r in runs if source is None or source in r.sources.split(",")]

    def copy_count(self) -> int:
        try:
            with self.engine.connect() as conn:
                return int(conn.scalar(select(func.count()).select_from(CopyRow)) or 0)
        except DBAPIError:
            return 0

    def finished_runs(self, source: str | None = None) -> list[RunRow]:
        return [r for r in self.runs(source) if r.outcome != "running"]


@contextmanager
def store_at(url: str) -> Iterator[Store]:
    """The store at `url`, upgraded first (the Procfile's release step), read while workers write it."""
    engine = open_store(url)
    try:
        yield Store(engine)
    finally:
        engine.dispose()


def overlapping(runs: list[RunRow]) -> list[tuple[int, int]]:
    """Pairs of runs (ids) whose [started_at, finished_at] intervals overlap; a running run is open-ended."""
    far = datetime.max.replace(tzinfo=UTC)
    spans = sorted((r.started_at, r.finished_at or far, r.id) for r in runs)
    return [(a[2], b[2]) for i, a in enumerate(spans) for b in spans[i + 1 :] if b[0] < a[1]]
