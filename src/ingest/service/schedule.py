"""A source's schedule as an APScheduler trigger (used by the worker and by `ingest status`)."""

from __future__ import annotations

from datetime import UTC, datetime

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from ingest.config import Source


def trigger_for(source: Source) -> BaseTrigger:
    schedule = source.schedule
    jitter = schedule.jitter_seconds or None
    if schedule.cron:
        trigger = CronTrigger.from_crontab(schedule.cron, timezone=source.tz)
        trigger.jitter = jitter
        return trigger
    assert schedule.interval is not None
    return IntervalTrigger(seconds=schedule.interval.total_seconds(), jitter=jitter, timezone=UTC)


def next_run_after(source: Source, last_started: datetime | None) -> datetime:
    """When a source is due: the first fire time of its schedule after its last run; now if it never ran.

    The trigger is asked with the last run as its previous fire time: an interval trigger then
    counts the interval from that run (asked without one, it counts from its own creation), and a
    cron fire missed since then is returned (in the past: the source is overdue).
    """
    now = datetime.now(UTC)
    if last_started is None:
        return now
    nxt = trigger_for(source).get_next_fire_time(last_started, last_started)
    return nxt if nxt is not None else now
