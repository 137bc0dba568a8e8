"""One reading of the time bounds a user gives, for the crawl window, `ingest query` and the browser."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from ingest.bounds import instant, parse_bound, parse_instant

CASABLANCA = timezone(timedelta(hours=1))


def test_a_day_stays_a_day_until_it_is_placed_in_a_time_zone() -> None:
    assert parse_bound("2026-03-04") == date(2026, 3, 4)
    assert instant(date(2026, 3, 4), CASABLANCA, end=False) == datetime(2026, 3, 3, 23, tzinfo=UTC)
    assert instant(date(2026, 3, 4), UTC, end=True) == datetime(2026, 3, 4, 23, 59, 59, 999999, tzinfo=UTC)


def test_a_naive_instant_is_read_in_the_zone_and_an_aware_one_as_given() -> None:
    assert instant(parse_bound("2026-03-04T10:00"), CASABLANCA, end=False) == datetime(2026, 3, 4, 9, tzinfo=UTC)
    assert parse_instant("2026-03-04T10:00+03:00") == datetime(2026, 3, 4, 7, tzinfo=UTC)


def test_a_query_day_is_the_whole_utc_day() -> None:
    assert parse_instant("2026-03-04") == datetime(2026, 3, 4, tzinfo=UTC)
    assert parse_instant("2026-03-04", end=True) == datetime(2026, 3, 4, 23, 59, 59, 999999, tzinfo=UTC)
    assert parse_instant(None) is None and parse_instant("  ") is None


def test_bad_text_says_what_it_is_not() -> None:
    with pytest.raises(ValueError, match=r"'yesterday' is not a date \(YYYY-MM-DD\) or ISO 8601 timestamp"):
        parse_bound("yesterday")
