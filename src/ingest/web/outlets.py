"""Per outlet: how much it runs, how often it is first, how late it copies, whom it follows.

Counted over a window of days ending at the newest story in the store (not at the clock), so an
archive that stopped crawling still shows its last weeks. Health, last run and error rate come
from `ingest.service.status`, the same figures `ingest status` prints.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from ingest.config import Source
from ingest.service.status import SourceStatus, report_of, source_statuses
from ingest.store.db import read_session
from ingest.store.models import CopyRow, SourceRow, StoryRow
from ingest.store.runs import last_runs

CHART_DAYS = 30


@dataclass
class OutletStats:
    name: str
    title: str | None = None
    stories: int = 0
    first: int = 0  # stories it published first (ties count for each outlet at the first time)
    lags: list[float] = field(default_factory=list)  # minutes behind the first publication, when copying
    follows: Counter[str] = field(default_factory=Counter)  # outlet that was first, when copying
    per_day: Counter[date] = field(default_factory=Counter)  # copies per day of publication
    status: SourceStatus | None = None
    page_error_rate: float | None = None  # failed fetches among the pages of its last run

    @property
    def originality(self) -> float | None:
        return self.first / self.stories if self.stories else None

    @property
    def median_lag(self) -> float | None:
        return statistics.median(self.lags) if self.lags else None

    def as_json(self) -> dict[str, Any]:
        """The `/api/outlets` record (version 1)."""
        s = self.status
        return {
            "source": self.name,
            "title": self.title,
            "stories": self.stories,
            "first_published": self.first,
            "originality": None if self.originality is None else round(self.originality, 4),
            "median_lag_minutes": None if self.median_lag is None else round(self.median_lag, 1),
            "follows": [{"source": n, "stories": k} for n, k in self.follows.most_common(3)],
            "last_run_at": _iso(s.last_run_at) if s else None,
            "last_outcome": s.last_outcome if s else None,
            "healthy": s.healthy if s else None,
            "run_error_rate": s.failed_run_rate if s else None,  # failed or timed-out crawls
            "page_error_rate": None if self.page_error_rate is None else round(self.page_error_rate, 4),
            "warnings": s.warnings if s else [],
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def outlet_report(engine: Engine, sources: list[Source], days: int = CHART_DAYS) -> tuple[list[OutletStats], date]:
    """Every outlet of the store and of the sources file, and the last day of the window."""
    with read_session(engine) as session:
        stats = {
            name: OutletStats(name, title) for name, title in session.execute(select(SourceRow.name, SourceRow.title))
        }
        newest = session.scalar(select(func.max(StoryRow.first_published_at)))
        end = (newest or datetime.now(UTC)).date()
        start = datetime.combine(end - timedelta(days=days - 1), time.min, tzinfo=UTC)
        _count(session, stats, start)
    for source in sources:
        stats.setdefault(source.name, OutletStats(source.name, source.title))
    _add_health(engine, stats, sources)
    return sorted(stats.values(), key=lambda o: (-o.stories, o.name)), end


def _count(session: Any, stats: dict[str, OutletStats], start: datetime) -> None:
    # The window's stories by their indexed date, then their copies by story: a join filtered on
    # the story's date led SQLite to scan every copy.
    window = select(StoryRow.id).where(StoryRow.first_published_at >= start)
    rows = session.execute(
        select(CopyRow.story_id, SourceRow.name, CopyRow.published_at, StoryRow.first_published_at)
        .join(SourceRow, SourceRow.id == CopyRow.source_id)
        .join(StoryRow, StoryRow.id == CopyRow.story_id)
        .where(CopyRow.story_id.in_(window))
    ).all()
    leaders: dict[int, set[str]] = defaultdict(set)
    for story_id, name, published, first in rows:
        if published is not None and published == first:
            leaders[story_id].add(name)
    seen: set[tuple[int, str]] = set()
    for story_id, name, published, first in rows:
        _count_copy(stats[name], seen, leaders[story_id], story_id, published, first)


def _count_copy(
    o: OutletStats, seen: set[tuple[int, str]], leaders: set[str], story_id: int, published: Any, first: Any
) -> None:
    if published is not None:
        o.per_day[published.date()] += 1
    if (story_id, o.name) in seen:  # a second copy of the same story by the same outlet
        return
    seen.add((story_id, o.name))
    o.stories += 1
    if o.name in leaders:
        o.first += 1
    elif published is not None and first is not None:
        o.lags.append((published - first).total_seconds() / 60)
        o.follows.update(leaders - {o.name})


def _add_health(engine: Engine, stats: dict[str, OutletStats], sources: list[Source]) -> None:
    for status in source_statuses(engine, sources):
        stats[status.name].status = status
    for name, run in last_runs(engine, list(stats)).items():
        report = report_of(run, name)
        errors = sum((report.get("errors") or {}).values())
        pages = report.get("pages", 0) + errors
        stats[name].page_error_rate = errors / pages if pages else None


def chart_svg(o: OutletStats, end: date, days: int = CHART_DAYS) -> str:
    """Copies per day over the window as a bar chart, inline SVG (no script, nothing to fetch).

    Built from numbers only, so nothing in it needs escaping; right to left like the page.
    """
    counts = [o.per_day.get(end - timedelta(days=i), 0) for i in range(days)]
    top = max(counts) or 1
    bars = []
    for i, n in enumerate(counts):
        h = round(28 * n / top, 1)
        tip = f"<title>{end - timedelta(days=i)}: {n}</title>"
        bars.append(f'<rect x="{i * 4}" y="{30 - h}" width="3" height="{h}">{tip}</rect>')
    return (
        f'<svg class="chart" viewBox="0 0 {days * 4} 30" width="{days * 4}" height="30" role="img" '
        f'aria-label="copies per day">{"".join(bars)}</svg>'
    )
