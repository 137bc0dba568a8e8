"""A source's schedule as an APScheduler trigger (used by the worker and by `ingest status`)."""

from __future__ import annotations

from datetime import UTC

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
