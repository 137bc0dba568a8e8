"""Crawl runs as rows: opened when a run starts, closed with its outcome and statistics."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, or_, select

from ingest.records import RunStats
from ingest.store.db import read_session, write_transaction
from ingest.store.models import RunRow, SourceRow

# After this many consecutive runs in which a source yielded nothing but errors, it is unhealthy.
UNHEALTHY_AFTER = 3


def start_run(engine: Engine, sources: Sequence[str], detail: dict[str, Any]) -> int:
    with write_transaction(engine) as session:
        row = RunRow(
            started_at=datetime.now(UTC),
            outcome="running",
            sources=",".join(sources),
            errors={},
            detail={**detail, "host": socket.gethostname(), "pid": os.getpid()},
        )
        session.add(row)
        session.flush()
        return row.id


def finish_run(engine: Engine, run_id: int, outcome: str, stats: RunStats, detail: dict[str, Any]) -> None:
    """Record the run's figures, and its outcome unless a supervisor already decided it (the
    worker records `timed-out` before it stops a crawl that overran: the crawl, stopped, would
    otherwise say `interrupted` first, and a reader could see that before the worker's verdict)."""
    with write_transaction(engine) as session:
        row = session.get(RunRow, run_id)
        assert row is not None
        if row.outcome == "running":
            row.finished_at = datetime.now(UTC)
            row.outcome = outcome
        row.pages_fetched = stats.pages_fetched
        row.articles_extracted = stats.articles_extracted
        row.new_stories = stats.new_stories
        row.copies_linked = stats.copies_linked
        row.errors = dict(stats.errors)
        row.detail = {**(row.detail or {}), **detail}


def record_source_health(engine: Engine, failed: dict[str, bool]) -> list[str]:
    """Count consecutive failed runs per source; returns the sources that just became unhealthy."""
    now = datetime.now(UTC)
    newly_unhealthy: list[str] = []
    with write_transaction(engine) as session:
        rows = session.scalars(select(SourceRow).where(SourceRow.name.in_(list(failed)))).all()
        for row in rows:
            row.last_run_at = now
            row.consecutive_failed_runs = row.consecutive_failed_runs + 1 if failed[row.name] else 0
            healthy = row.consecutive_failed_runs < UNHEALTHY_AFTER
            if row.healthy and not healthy:
                newly_unhealthy.append(row.name)
            row.healthy = healthy
    return newly_unhealthy


def recent_runs(engine: Engine, source: str | None = None, limit: int = 20) -> list[RunRow]:
    with read_session(engine) as session:
        stmt = select(RunRow).order_by(RunRow.started_at.desc()).limit(limit)
        if source:
            stmt = stmt.where(_names(source))
        return list(session.scalars(stmt).all())


def is_crawl(row: RunRow) -> bool:
    """Crawls only: a `reextract` run fetches nothing, so it neither schedules nor judges a source."""
    return (row.detail or {}).get("kind") != "reextract"


def last_runs(engine: Engine, sources: Sequence[str], *, crawls_only: bool = True) -> dict[str, RunRow]:
    """The most recent run of each named source (runs of several sources count for each); by
    default its last crawl, so a `reextract` does not push the next scheduled crawl back."""
    found: dict[str, RunRow] = {}
    for name in sources:
        for row in recent_runs(engine, name, limit=50):
            if not crawls_only or is_crawl(row):
                found[name] = row
                break
    return found


def _names(name: str) -> ColumnElement[bool]:
    """Runs whose comma-separated `sources` include `name` exactly."""
    col = RunRow.sources
    return or_(col == name, col.like(f"{name},%"), col.like(f"%,{name}"), col.like(f"%,{name},%"))


def process_alive(pid: int) -> bool:
    """Whether a process with this pid runs on this host (permission to signal it or not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def close_dead_runs(engine: Engine) -> list[int]:
    """Record `interrupted` the runs still `running` whose process, on this host, is gone; returns
    their ids.

    A `kill -9` (or an out-of-memory kill) of `ingest run-once` leaves its run `running` forever:
    nothing in the process runs to close it. Each run records the host and pid that opened it,
    so the next `run-once` or worker on the same host can tell. A run of another host is left to
    that host (or, for worker runs, to the lease: see `close_abandoned_runs`).
    """
    host = socket.gethostname()
    closed: list[int] = []
    with write_transaction(engine) as session:
        for row in session.scalars(select(RunRow).where(RunRow.outcome == "running")).all():
            detail = row.detail or {}
            pid = detail.get("pid")
            if detail.get("host") != host or not isinstance(pid, int) or process_alive(pid):
                continue
            _close(row, "interrupted", abandoned=True)
            closed.append(row.id)
    return closed


def decide_run(engine: Engine, run_id: int, outcome: str) -> None:
    """Close a run still `running` with the outcome its supervisor decided (see `finish_run`)."""
    with write_transaction(engine) as session:
        row = session.get(RunRow, run_id)
        if row is not None and row.outcome == "running":
            _close(row, outcome)


def settle_run(
    engine: Engine, run_id: int, forced: str | None, left_running: str, **detail: Any
) -> tuple[RunRow, bool] | None:
    """Close a run for a supervisor whose crawl process could not say how it ended: `forced` wins
    (timed-out), a run still `running` becomes `left_running` (the crawl crashed or was stopped);
    a run the crawl closed itself is kept. Returns the run (usable after the transaction) and
    whether it was closed here; None if there is no such run."""
    with write_transaction(engine) as session:
        row = session.get(RunRow, run_id)
        if row is None:
            return None
        closed_here = bool(forced) or row.outcome == "running"
        if closed_here:
            _close(row, forced or left_running, **detail)
        return row, closed_here


def _close(row: RunRow, outcome: str, **detail: Any) -> None:
    row.outcome = outcome
    row.finished_at = datetime.now(UTC)
    row.detail = {**(row.detail or {}), **detail}


def close_abandoned_runs(engine: Engine, source: str) -> list[int]:
    """Record `interrupted` the worker runs of `source` still `running`; returns their ids.

    Call it only while holding the source's lease, before starting a crawl: no worker can be
    crawling the source then, so such a run belongs to a worker that died (SIGKILL, lost machine)
    before its crawl could record an outcome. Runs of `ingest run-once` by hand hold no lease and
    are left alone.
    """
    closed: list[int] = []
    with write_transaction(engine) as session:
        rows = session.scalars(select(RunRow).where(RunRow.outcome == "running", _names(source))).all()
        for row in rows:
            detail = row.detail or {}
            if detail.get("trigger") != "worker":
                continue
            _close(row, "interrupted", abandoned=True)
            closed.append(row.id)
    return closed
