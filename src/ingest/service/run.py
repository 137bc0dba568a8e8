"""One crawl run, start to finish: open the run, crawl, extract, dedup, store, close the run.

Used by `ingest run-once` and by each crawl the worker starts.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType, TracebackType
from typing import Any

from sqlalchemy import Engine

from ingest.config import Settings, Source, parse_duration
from ingest.crawl.contracts import CrawlWindow, SourceReport
from ingest.crawl.crawler import run_crawl
from ingest.records import RunStats, rejections
from ingest.service.logcontext import log_context
from ingest.service.pipeline import Pipeline, tune_gc
from ingest.store.fetch_state import DbFrontier
from ingest.store.runs import close_dead_runs, finish_run, record_source_health, start_run

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    run_id: int
    outcome: str  # ok, partial, failed, interrupted
    stats: RunStats
    reports: list[SourceReport] = field(default_factory=list)
    failed_sources: list[str] = field(default_factory=list)
    unhealthy: list[str] = field(default_factory=list)
    broken: dict[str, str] = field(default_factory=dict)  # source -> why its extraction looks broken
    window: CrawlWindow | None = None  # the backfill's window, None for an incremental run

    def window_lines(self) -> list[str]:
        """Per source, for a backfill: what of the window it found, stored, could not reach, left out."""
        if self.window is None:
            return []
        out = []
        for r in self.reports:
            stored = self.stats.by_source.get(r.source, {}).get("stored", 0)
            out.append(
                f"  {r.source} window: {r.articles_seen - r.outside_window} articles found "
                f"({r.skipped_known} stored before), {stored} stored now, {r.article_errors} could not be "
                f"reached, {r.outside_window} outside the window (not stored)"
            )
        return out


# A run in which more than this share of a source's article pages were rejected says so (exit 3):
# an outlet's template change shows at once. Real outlets reject a few pages per run (video pages,
# tag pages matching the article pattern: 3 of 77 on the sample web), never most of them.
BROKEN_SHARE = 0.5


def extraction_broken(counts: dict[str, int]) -> str | None:
    """Why a source's extraction looks broken this run (most pages rejected, or all), else None."""
    pages, stored = counts.get("pages", 0), counts.get("stored", 0)
    rejected = rejections(counts)
    if not pages or not rejected or (stored and (pages - stored) / pages <= BROKEN_SHARE):
        return None
    reason, n = max(rejected.items(), key=lambda kv: kv[1])
    return f"{pages - stored} of {pages} article pages rejected (mostly {reason}: {n})"


def source_failed(report: SourceReport, *, backfill: bool = False) -> bool:
    """A source failed when it sent requests but got nothing usable at all. In a backfill, a
    source that read its feeds, sitemaps or listings and published nothing in the window did not."""
    useful = report.pages + report.skipped_known + report.not_modified
    if backfill:
        useful += report.outside_window + report.documents_read
    return useful == 0 and (report.requests == 0 or sum(report.errors.values()) > 0 or report.articles_seen == 0)


def run_outcome(reports: Sequence[SourceReport], failed: dict[str, bool], *, signalled: bool = False) -> str:
    """interrupted when a signal stopped the crawl (Scrapy's close reason "shutdown"), else by failures."""
    if signalled or any(r.finish_reason == "shutdown" for r in reports):
        return "interrupted"
    if failed and all(failed.values()):
        return "failed"
    return "partial" if any(failed.values()) else "ok"


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
    for dead in close_dead_runs(engine):
        log.warning("run %d was left running by a process that is gone; recorded interrupted", dead)
    if run_id is None:
        run_id = start_run(engine, names, {"window": _window_detail(window)})
    with log_context(run_id, ",".join(names), process_wide=True):
        return _run(engine, run_id, sources, settings, window, on_progress, log_level)


def _run(
    engine: Engine,
    run_id: int,
    sources: Sequence[Source],
    settings: Settings,
    window: CrawlWindow | None,
    on_progress: Callable[[RunStats], None] | None,
    log_level: str,
) -> RunResult:
    log.info("run %d started: %s", run_id, ", ".join(s.name for s in sources))
    reports: list[SourceReport] = []
    pipeline: Pipeline | None = None
    tune_gc()
    with _StopSignals() as stop:
        try:
            pipeline = Pipeline(engine, sources, workers=settings.extract_workers, on_progress=on_progress)
            frontier = DbFrontier(
                engine,
                recheck_window=parse_duration(settings.recheck_window),
                recheck_every=parse_duration(settings.recheck_every),
                writer=pipeline.record_fetches,
                writer_after_pages=pipeline.record_fetches_after_pages,
            )
            reports = run_crawl(list(sources), settings, pipeline, frontier, window, log_level=log_level)
        except KeyboardInterrupt:  # SIGINT/SIGTERM before Scrapy took the signals over
            stop.interrupted = True
        finally:
            stats = pipeline.close() if pipeline is not None else RunStats()
            stats.refused_live = 0  # now counted in the reports' errors, merged below
            for report in reports:
                for kind, count in report.errors.items():
                    stats.errors[kind] = stats.errors.get(kind, 0) + count
        signalled = stop.received()
    broken = {name: why for name, counts in stats.by_source.items() if (why := extraction_broken(counts))}
    # An outlet whose every page was rejected yielded nothing: it failed, whatever it fetched.
    backfill = window is not None
    failed = {
        r.source: source_failed(r, backfill=backfill) or _all_rejected(stats.by_source.get(r.source, {}))
        for r in reports
    }
    outcome = run_outcome(reports, failed, signalled=signalled)
    if outcome == "ok" and broken:
        outcome = "partial"
    per_source = [
        {**vars(r), "extraction": stats.by_source.get(r.source, {}), "broken": broken.get(r.source)} for r in reports
    ]
    finish_run(engine, run_id, outcome, stats, {"sources": per_source})
    # A source stopped by a signal did not fail: its health is judged by its next complete run.
    judged = {} if outcome == "interrupted" else failed
    unhealthy = record_source_health(engine, judged)
    log.info("run %d finished: %s", run_id, outcome)
    failed_names = [n for n, f in failed.items() if f]
    return RunResult(run_id, outcome, stats, reports, failed_names, unhealthy, broken, window)


def _all_rejected(counts: dict[str, int]) -> bool:
    return counts.get("pages", 0) > 0 and counts.get("stored", 0) == 0


class _StopSignals:
    """Whether SIGTERM/SIGINT stopped this run, whoever handled the signal.

    Until Scrapy's reactor runs, SIGTERM raises KeyboardInterrupt here, as Ctrl-C does, so the
    run is still closed and recorded. Then Scrapy handles both signals (a graceful stop; a second
    signal forces it) and swaps its handler on the first one: that swap is how a stop is told
    afterwards, since spiders stopped while starting up close without a report ("shutdown").
    Only in the main thread (signal handlers cannot be set elsewhere).
    """

    def __init__(self) -> None:
        self.active = threading.current_thread() is threading.main_thread()
        self.interrupted = False
        self._saved: dict[int, Any] = {}

    def __enter__(self) -> _StopSignals:
        if self.active:
            self._saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
            signal.signal(signal.SIGTERM, self._raise)
        return self

    @staticmethod
    def _raise(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    def received(self) -> bool:
        if self.interrupted:
            return True
        for sig, saved in self._saved.items():
            handler = signal.getsignal(sig)
            if getattr(handler, "__name__", "").startswith("_signal_kill"):  # Scrapy's after a first signal
                return True
            if handler == signal.SIG_IGN and saved != signal.SIG_IGN:  # ... after a second one
                return True
        return False

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        for sig, saved in self._saved.items():
            signal.signal(sig, saved)


def _window_detail(window: CrawlWindow | None) -> dict[str, str | None] | None:
    if window is None:
        return None
    return window.describe()
