"""One crawl run, start to finish: open the run, crawl, extract, dedup, store, close the run.

Used by `ingest run-once` and by each crawl the worker starts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine

from ingest.config import Settings, Source, parse_duration
from ingest.crawl import CrawlWindow, SourceReport, run_crawl
from ingest.pipeline import Pipeline
from ingest.records import RunStats
from ingest.store.frontier import DbFrontier
from ingest.store.runs import finish_run, record_source_health, start_run

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    run_id: int
    outcome: str  # ok, partial, failed
    stats: RunStats
    reports: list[SourceReport] = field(default_factory=list)
    failed_sources: list[str] = field(default_factory=list)
    unhealthy: list[str] = field(default_factory=list)


def source_failed(report: SourceReport) -> bool:
    """A source failed when it sent requests but got nothing usable at all."""
    useful = report.pages + report.skipped_known + report.not_modified
    return useful == 0 and (
        report.requests == 0 or sum(report.errors.values()) > 0 or report.articles_seen == 0
    )


def run_once(
    engine: Engine,
    sources: Sequence[Source],
    settings: Settings,
    *,
    window: CrawlWindow | None = None,
    on_progress: Callable[[RunStats], None] | None = None,
    log_level: str = "WARNING",
    run_id: int | None = None,
) -> RunResult:
    """Crawl `sources` once; `run_id` continues a run row opened by the worker."""
    names = [s.name for s in sources]
    if run_id is None:
        run_id = start_run(engine, names, {"window": _window_detail(window)})
    log.info("run %d started: %s", run_id, ", ".join(names))
    pipeline = Pipeline(engine, sources, workers=settings.extract_workers, on_progress=on_progress)
    frontier = DbFrontier(
        engine,
        recheck_window=parse_duration(settings.recheck_window),
        recheck_every=parse_duration(settings.recheck_every),
    )
    reports: list[SourceReport] = []
    try:
        reports = run_crawl(list(sources), settings, pipeline, frontier, window, log_level=log_level)
    finally:
        stats = pipeline.close()
        for report in reports:
            for kind, count in report.errors.items():
                stats.errors[kind] = stats.errors.get(kind, 0) + count
    failed = {r.source: source_failed(r) for r in reports}
    outcome = "failed" if failed and all(failed.values()) else ("partial" if any(failed.values()) else "ok")
    finish_run(engine, run_id, outcome, stats, {"sources": [vars(r) for r in reports]})
    unhealthy = record_source_health(engine, failed)
    log.info("run %d finished: %s", run_id, outcome)
    return RunResult(run_id, outcome, stats, reports, [n for n, f in failed.items() if f], unhealthy)


def _window_detail(window: CrawlWindow | None) -> dict[str, str | None] | None:
    if window is None:
        return None
    return {
        "since": window.since.isoformat() if window.since else None,
        "until": window.until.isoformat() if window.until else None,
    }
