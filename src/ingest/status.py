"""What `ingest status` tells an operator about each source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from ingest.config import Source
from ingest.schedule import next_run_after
from ingest.store.db import read_session
from ingest.store.leases import holder_of
from ingest.store.models import CopyRow, RunRow, SourceRow
from ingest.store.runs import recent_runs

_WINDOW = 10  # runs considered for the error rate and the zero-article streak
_ZERO_STREAK = 3


@dataclass(frozen=True)
class SourceStatus:
    name: str
    enabled: bool
    healthy: bool
    last_run_at: datetime | None
    last_outcome: str | None
    next_run_at: datetime | None  # None when disabled; in the past when overdue
    error_rate: float | None  # failed or timed-out runs among the last _WINDOW
    zero_article_runs: int  # consecutive recent runs that fetched no article page and knew none
    copies: int
    crawling_now: str | None  # lease holder, when a worker is crawling it

    @property
    def warnings(self) -> list[str]:
        found = []
        if not self.healthy:
            found.append("unhealthy: several failed runs in a row")
        if self.zero_article_runs >= _ZERO_STREAK:
            n = self.zero_article_runs
            found.append(f"no articles for {n} runs: its template, feed or sitemap probably changed")
        return found

    @property
    def warning(self) -> str | None:
        return "; ".join(self.warnings) or None


def _report_of(run: RunRow, name: str) -> dict[str, Any]:
    for report in (run.detail or {}).get("sources", []):
        if report.get("source") == name:
            return dict(report)
    return {}


def _found_nothing(report: dict[str, Any]) -> bool | None:
    """True: the run found no article; False: it found some; None: a quiet run, nothing to judge.

    A run that fetched article pages or skipped known ones found articles. One whose feeds and
    sitemaps answered "not modified" without an error is quiet (the outlet published nothing
    new). Anything else found nothing: every channel failed, or none led to an article page.
    """
    if report.get("pages", 0) or report.get("skipped_known", 0):
        return False
    if report.get("not_modified", 0) and not sum(report.get("errors", {}).values()):
        return None
    return True


def _zero_streak(runs: list[RunRow], name: str) -> int:
    """Consecutive recent runs (newest first) in which the source found no article at all."""
    streak = 0
    for run in runs:
        if run.outcome in ("running", "interrupted", "timed-out"):  # incomplete: proves nothing
            continue
        found_nothing = _found_nothing(_report_of(run, name))
        if found_nothing is None:
            continue
        if not found_nothing:
            break
        streak += 1
    return streak


def source_statuses(engine: Engine, sources: list[Source]) -> list[SourceStatus]:
    with read_session(engine) as session:
        health = {r.name: r for r in session.scalars(select(SourceRow)).all()}
        counts = select(SourceRow.name, func.count(CopyRow.id)).join(CopyRow, CopyRow.source_id == SourceRow.id)
        copies = {name: n for name, n in session.execute(counts.group_by(SourceRow.name))}
    out = []
    for source in sources:
        runs = recent_runs(engine, source.name, limit=_WINDOW)
        finished = [r for r in runs if r.outcome != "running"]
        last = runs[0] if runs else None
        nxt = next_run_after(source, last.started_at if last else None) if source.enabled else None
        row = health.get(source.name)
        out.append(
            SourceStatus(
                name=source.name,
                enabled=source.enabled,
                healthy=row.healthy if row else True,
                last_run_at=last.started_at if last else None,
                last_outcome=last.outcome if last else None,
                next_run_at=nxt,
                error_rate=(sum(r.outcome in ("failed", "timed-out") for r in finished) / len(finished))
                if finished
                else None,
                zero_article_runs=_zero_streak(runs, source.name),
                copies=copies.get(source.name, 0),
                crawling_now=holder_of(engine, f"source:{source.name}"),
            )
        )
    return out
