"""What a backfill left in the store: articles stored per source and day, so the holes show.

Days are each source's own (its `timezone` in the sources file), as `run-once --since/--until`
reads them; a source the store knows but the sources file does not name is read in
Africa/Casablanca, the sources' default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from ingest.crawl.contracts import CrawlWindow
from ingest.extract.dates import DEFAULT_TZ
from ingest.store.db import read_session
from ingest.store.models import CopyRow, SourceRow


@dataclass
class SourceDays:
    """One source over the window: articles stored per local day (every day listed, 0 = a hole)."""

    source: str
    timezone: str
    days: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.days.values())

    @property
    def empty_days(self) -> list[str]:
        return [d for d, n in self.days.items() if n == 0]


def day_range(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def backfill_status(
    engine: Engine, first: date, last: date, timezones: Mapping[str, str], only: Sequence[str] = ()
) -> list[SourceDays]:
    """Per source (those named in `only`, else every source the store knows), its stored
    articles per local day from `first` to `last` inclusive. One query over the window's
    instants, bucketed here: the days differ by source."""
    window = CrawlWindow(first, last)
    with read_session(engine) as session:
        names = [n for (n,) in session.execute(select(SourceRow.name).order_by(SourceRow.name))]
        names = [n for n in names if not only or n in only]
        out = []
        for name in names:
            tz_name = timezones.get(name, DEFAULT_TZ)
            tz = ZoneInfo(tz_name)
            bounds = window.for_source(tz)
            row = SourceDays(name, tz_name, {d.isoformat(): 0 for d in day_range(first, last)})
            stmt = (
                select(CopyRow.published_at)
                .join(SourceRow, SourceRow.id == CopyRow.source_id)
                .where(SourceRow.name == name, CopyRow.published_at >= bounds.start, CopyRow.published_at <= bounds.end)
            )
            for (published,) in session.execute(stmt):
                day = _aware(published).astimezone(tz).date().isoformat() if published else ""
                if day in row.days:
                    row.days[day] += 1
            out.append(row)
    return out


def _aware(when: datetime) -> datetime:
    """SQLite gives back naive UTC."""
    return when if when.tzinfo else when.replace(tzinfo=UTC)
