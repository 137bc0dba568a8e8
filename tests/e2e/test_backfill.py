"""Backfills of the sample web: a day's articles of every outlet and nothing else, resumable."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ingest.crawl.contracts import CrawlWindow
from ingest.demo.urls import ARTICLE_PATTERNS
from ingest.store.db import make_engine
from ingest.store.fetch_state import DbFrontier
from ingest.store.models import CopyRow
from tests.e2e.conftest import Site, ingest

# The sample sources name no time zone: their days are Africa/Casablanca's (the default).
TZ = ZoneInfo("Africa/Casablanca")
DAY = "2025-05-18"  # six articles, one or two per outlet, none of them a hostile case


def day_keys(site: Site, first: str, last: str) -> set[str]:
    """Canonical URLs of the articles the ground truth stores for these local days."""
    lo, hi = date.fromisoformat(first), date.fromisoformat(last)
    return {
        site.url(p.key) for p in site.truth.stored_pages() if lo <= p.published.astimezone(TZ).date() <= hi
    }  # fmt: skip


def stored_urls(url: str) -> set[str]:
    engine = make_engine(url)
    with engine.connect() as conn:
        urls = {u for (u,) in conn.execute(select(CopyRow.url))}
    engine.dispose()
    return urls


def article_requests(site: Site, start: int, *, redirect_targets: bool = True) -> list[str]:
    """Article pages asked for since request `start`, as 'outlet:/path', the hostile outlet's traps
    (redirects, aliases, refused links: every crawl pays them, whatever its window) left out."""
    hostile = {(c.outlet, c.path.split("#")[0]) for c in site.truth.hostile}
    if not redirect_targets:  # asked for again when the redirecting URL is new to the store
        hostile |= {tuple(c.target.split(":", 1)) for c in site.truth.hostile if c.target and "redirect" in c.kind}
    out = []
    for r in site.web.requests[start:]:
        pattern = ARTICLE_PATTERNS.get(r.outlet)
        if pattern and re.search(pattern, r.path.split("?")[0]) and (r.outlet, r.path) not in hostile:
            out.append(f"{r.outlet}:{r.path}")
    return out


@pytest.fixture
def store(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'ingest.sqlite'}"


def backfill(site: Site, url: str, since: str, until: str, env: dict[str, str] | None = None) -> str:
    args = ("run-once", "--sources", str(site.sources_file), "--no-progress", "--since", since, "--until", until)
    done = ingest(*args, database_url=url, check=True, env=env)
    return done.stdout


def test_one_day_backfill_stores_that_day_of_every_outlet_and_nothing_else(site: Site, database_url: str) -> None:
    store = database_url  # SQLite and PostgreSQL
    start = len(site.web.requests)
    summary = backfill(site, store, DAY, DAY)
    want = day_keys(site, DAY, DAY)
    assert stored_urls(store) == want
    asked = article_requests(site, start)
    assert len(asked) <= 1.2 * len(want), asked
    # The casapost AMP alias of an article of 13 May is linked undated: fetched, left out, counted.
    assert "casapost window: 0 articles found (0 stored before), 0 stored now, 0 could not be reached, " \
           "1 outside the window (not stored)" in summary  # fmt: skip
    assert "rifpress window: 2 articles found (0 stored before), 2 stored now" in summary
    # The page left out is remembered with its date: settled for this window, not for other runs.
    alias = site.url("casapost:/ar/economie/tourisme-arrivees-avril-17438/amp")
    frontier = DbFrontier(make_engine(store), recheck_window=timedelta(0), recheck_every=timedelta(0))
    day = CrawlWindow.parse(DAY, DAY).for_source(TZ)
    may = CrawlWindow.parse("2025-05-01", "2025-05-31").for_source(TZ)
    now = datetime.now(UTC)
    assert frontier.unseen_articles("casapost", [alias], now, day.contains) == set()
    assert frontier.unseen_articles("casapost", [alias], now, may.contains) == {alias}
    assert frontier.unseen_articles("casapost", [alias], now) == {alias}
    status = ingest("backfill-status", "--sources", str(site.sources_file), "--since", "2025-05-17",
                    "--until", DAY, "--format", "json", database_url=store, check=True)  # fmt: skip
    days = {s["source"]: s["days"] for s in json.loads(status.stdout)["sources"]}
    per_outlet = {o: sum(1 for u in want if u.startswith(site.web.base_url(o))) for o in site.web.base_urls()}
    assert days == {o: {"2025-05-17": 0, DAY: n} for o, n in per_outlet.items() if o in days}
    assert set(days) == set(per_outlet)


def test_an_interrupted_backfill_resumes_without_fetching_a_stored_article_again(site: Site, store: str) -> None:
    since, until = "2025-05-17", "2025-05-19"
    # Stopped half-way: one article per outlet, as a crawl killed early would leave the store.
    backfill(site, store, since, until, env={"INGEST_MAX_ARTICLES_PER_RUN": "1"})
    first = stored_urls(store)
    want = day_keys(site, since, until)
    assert first and first < want
    start = len(site.web.requests)
    backfill(site, store, since, until)
    assert stored_urls(store) == want
    again = {site.url(k) for k in article_requests(site, start, redirect_targets=False)}
    assert not again & first, again & first


def test_backfill_window_errors_are_one_line_and_exit_2(site: Site, store: str) -> None:
    done = ingest("run-once", "--sources", str(site.sources_file), "--since", "2025-05-19", "--until", "2025-05-18",
                  database_url=store)  # fmt: skip
    assert done.returncode == 2 and "is after" in done.stderr and "Traceback" not in done.stderr
    done = ingest("run-once", "--sources", str(site.sources_file), "--oldest-first", database_url=store)
    assert done.returncode == 2 and "--oldest-first orders a backfill" in done.stderr, done.stderr
    done = ingest("backfill-status", "--since", "yesterday", "--until", DAY, database_url=store)
    assert done.returncode == 2 and "not a day" in done.stderr and "Traceback" not in done.stderr


def test_a_backfill_shows_the_days_of_its_window_it_has_stored(site: Site, store: str) -> None:
    # --progress forces the live line into the pipe: the last one is drawn from the final figures.
    args = ("--sources", str(site.sources_file), "--progress", "--since", "2025-05-17", "--until", DAY)
    run = ingest("run-once", *args, database_url=store, check=True)
    last = run.stderr.split("\r")[-1]
    assert re.search(r"days 2/2  ETA -", last), last[-500:]


def test_the_window_lists_its_days_through_today_when_it_has_no_end() -> None:
    window = CrawlWindow.parse("2025-05-30", None)
    assert window.days(date(2025, 6, 2)) == ["2025-05-30", "2025-05-31", "2025-06-01", "2025-06-02"]
    assert CrawlWindow.parse(None, None).days(date(2025, 6, 2)) == []
