"""What `ingest status` tells an operator about each source."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from ingest.config import Source
from ingest.service.schedule import next_run_after
from ingest.store.db import read_session
from ingest.store.leases import holder_of
from ingest.store.models import CopyRow, RunRow, SourceRow
from ingest.store.runs import is_crawl, recent_runs

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
    error_rate: float | None  # page-level: errors per request over the last _WINDOW crawls
    zero_article_runs: int  # consecutive recent runs that fetched no article page and knew none
    copies: int
    crawling_now: str | None  # lease holder, when a worker is crawling it
    failed_run_rate: float | None = None  # failed or timed-out crawls among the last _WINDOW
    errors_by_reason: dict[str, int] = field(default_factory=dict)  # over the last _WINDOW crawls
    requests: int = 0  # over the last _WINDOW crawls
    last_rejected_share: float | None = None  # article pages rejected by extraction in the last crawl
    last_broken: str | None = None  # why the last crawl judged its extraction broken, if it did
    unreachable: bool = False  # the zero-article streak is of runs where the host never answered
    configured: bool = True  # False: in the store, not in the sources file read

    @property
    def warnings(self) -> list[str]:
        found = []
        if not self.healthy:
            found.append("unhealthy: several failed runs in a row")
        if self.zero_article_runs >= _ZERO_STREAK:
            n = self.zero_article_runs
            if self.unreachable:
                found.append(f"unreachable for {n} runs: its host did not answer (connection or timeout errors)")
            else:
                found.append(f"no articles for {n} runs: its template, feed or sitemap probably changed")
        if self.last_broken:
            found.append(f"last run: {self.last_broken}: its page template probably changed")
        return found

    @property
    def warning(self) -> str | None:
        return "; ".join(self.warnings) or None


def report_of(run: RunRow, name: str) -> dict[str, Any]:
    """One source's report within a run's detail (a run may crawl several sources); {} if absent."""
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


# Reasons that mean nothing answered at all (see ingest.crawl.spider.classify_failure).
_NO_ANSWER = frozenset({"transport", "timeout", "robots-unavailable"})


def _unreachable(report: dict[str, Any]) -> bool:
    errors = report.get("errors", {})
    return bool(errors) and set(errors) <= _NO_ANSWER


def _zero_streak(runs: list[RunRow], name: str) -> int:
    """Consecutive recent runs (newest first) in which the source found no article at all."""
    streak = 0
    for run in runs:
        if run.outcome in ("running", "interrupted", "timed-out"):  # incomplete: proves nothing
            continue
        found_nothing = _found_nothing(report_of(run, name))
        if found_nothing is None:
            continue
        if not found_nothing:
            break
        streak += 1
    return streak


def source_statuses(engine: Engine, sources: list[Source]) -> list[SourceStatus]:
    """Every configured source, then every source the store knows that the file does not name
    (a store filled from another sources file, e.g. by `make demo`)."""
    with read_session(engine) as session:
        health = {r.name: r for r in session.scalars(select(SourceRow)).all()}
        counts = select(SourceRow.name, func.count(CopyRow.id)).join(CopyRow, CopyRow.source_id == SourceRow.id)
        copies = {name: n for name, n in session.execute(counts.group_by(SourceRow.name))}
    out = [_status(engine, s.name, s, health.get(s.name), copies.get(s.name, 0)) for s in sources]
    configured = {s.name for s in sources}
    for name in sorted(set(health) - configured):
        out.append(_status(engine, name, None, health[name], copies.get(name, 0)))
    return out


def _status(engine: Engine, name: str, source: Source | None, row: SourceRow | None, copies: int) -> SourceStatus:
    runs = [r for r in recent_runs(engine, name, limit=_WINDOW * 2) if is_crawl(r)][:_WINDOW]
    finished = [r for r in runs if r.outcome != "running"]
    last = runs[0] if runs else None
    enabled = source.enabled if source is not None else False
    nxt = next_run_after(source, last.started_at if last else None) if source is not None and enabled else None
    reports = [report_of(r, name) for r in finished]
    errors: dict[str, int] = {}
    for report in reports:
        for kind, n in report.get("errors", {}).items():
            errors[kind] = errors.get(kind, 0) + n
    requests = sum(report.get("requests", 0) for report in reports)
    streak = _zero_streak(runs, name)
    last_report = reports[0] if reports else {}
    extraction = last_report.get("extraction") or {}
    pages = extraction.get("pages", 0)
    return SourceStatus(
        name=name,
        enabled=enabled,
        healthy=row.healthy if row else True,
        last_run_at=last.started_at if last else None,
        last_outcome=last.outcome if last else None,
        next_run_at=nxt,
        error_rate=sum(errors.values()) / requests if requests else None,
        zero_article_runs=streak,
        copies=copies,
        crawling_now=holder_of(engine, f"source:{name}"),
        failed_run_rate=(sum(r.outcome in ("failed", "timed-out") for r in finished) / len(finished))
        if finished
        else None,
        errors_by_reason=errors,
        requests=requests,
        last_rejected_share=(pages - extraction.get("stored", 0)) / pages if pages else None,
        last_broken=last_report.get("broken"),
        unreachable=streak > 0 and all(_unreachable(r) for r in reports[:streak]),
        configured=source is not None,
    )
