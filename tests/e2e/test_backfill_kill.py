"""A seven-day backfill killed outright (SIGKILL of `ingest run-once`) half-way, then run again:
the store ends as an uninterrupted backfill leaves it, and no article stored before the kill is
fetched again.

Deterministic, no clock: the web holds the answers for the window's last four days until the run
is dead, and the run is killed once the store holds exactly the first three days' articles. Two
outlets, one in Africa/Casablanca and one in Asia/Riyadh, five articles a day each, at times that
put the first and last hours of their local days on the other side of the UTC day; each outlet
has a sitemap dating every article and a listing of undated links, newest first. The articles
are the sample web's synthetic bulk articles (every tenth a syndicated copy of an earlier one),
so dedup groups copies across the two outlets.

15 early articles per outlet: on a fresh store an outlet's first 12 pages are held until its
chrome is learned (`pipeline.Warmup`), so fewer would not be stored before the end of the run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from ruamel.yaml import YAML
from sqlalchemy import select

from ingest.demo.bulk import bulk_articles
from ingest.store.db import make_engine
from ingest.store.models import CopyRow
from tests.crawl.crawlkit import Reply, TestWeb, serving
from tests.e2e.conftest import ingest, query_jsonl
from tests.worker.conftest import alive, descendants, wait_for

OUTLETS = {"casa": "Africa/Casablanca", "riyadh": "Asia/Riyadh"}
FIRST_DAY, DAYS = date(2025, 5, 10), 10  # served: 10 to 19 May
SINCE, UNTIL, HELD_FROM = "2025-05-12", "2025-05-18", "2025-05-15"  # the window; held from the 15th
LOCAL_TIMES = ((0, 20), (6, 0), (12, 0), (18, 0), (23, 40))  # five a day, two near the day's edges
LISTING_PAGE = 10
ENV = {
    "INGEST_EXTRACT_WORKERS": "1",
    "INGEST_CONCURRENT_PER_SOURCE": "64",  # every held request in flight, the others still answered
    "INGEST_CONCURRENT_REQUESTS": "160",
    "INGEST_DOWNLOAD_DELAY": "0",
    "INGEST_AUTOTHROTTLE": "false",
    "INGEST_DOWNLOAD_TIMEOUT": "600",
}


@dataclass(frozen=True)
class Item:
    outlet: str
    path: str
    published: datetime  # aware, in the outlet's time zone

    @property
    def day(self) -> str:
        return self.published.date().isoformat()


def items() -> list[Item]:
    out = []
    for name, tz in OUTLETS.items():
        for d in range(DAYS):
            for h, m in LOCAL_TIMES:
                when = datetime.combine(FIRST_DAY + timedelta(days=d), datetime.min.time(), ZoneInfo(tz))
                out.append(Item(name, f"/{name}/{d}-{h:02d}{m:02d}.html", when.replace(hour=h, minute=m)))
    return out


def article_page(k: int, item: Item) -> bytes:
    a = bulk_articles(k + 1)[k]
    body = "".join(f"<p>{p}</p>" for p in a.paragraphs)
    return (
        f'<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>{a.title}</title>'
        f'<meta property="article:published_time" content="{item.published.isoformat()}"></head>'
        f"<body><nav><a href='/'>الرئيسية</a></nav><article><h1>{a.title}</h1>{body}</article></body></html>"
    ).encode()


def sitemap(web: TestWeb, mine: list[Item]) -> str:
    urls = "".join(f"<url><loc>{web.url(i.path)}</loc><lastmod>{i.published.isoformat()}</lastmod></url>" for i in mine)
    return f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'


def listing(name: str, mine: list[Item], page: int) -> str:
    newest = sorted(mine, key=lambda i: i.published, reverse=True)
    chunk = newest[(page - 1) * LISTING_PAGE : page * LISTING_PAGE]
    links = "".join(f'<li><a href="{i.path}">{i.path}</a></li>' for i in chunk)
    more = f'<a class="next" href="/{name}/list?page={page + 1}">التالي</a>' if page * LISTING_PAGE < len(mine) else ""
    return f"<html><body><ul>{links}</ul>{more}</body></html>"


@dataclass
class Web:
    web: TestWeb
    sources: Path
    items: list[Item]
    released: threading.Event

    def urls(self, first: str, last: str) -> set[str]:
        return {self.web.url(i.path) for i in self.items if first <= i.day <= last}


@pytest.fixture
def web() -> Iterator[TestWeb]:
    yield from serving()


@pytest.fixture
def held_web(web: TestWeb, tmp_path: Path) -> Iterator[Web]:
    released = threading.Event()
    all_items = items()

    def page(k: int, item: Item) -> object:
        body = article_page(k, item)

        def answer(_headers: dict[str, str]) -> Reply:
            if HELD_FROM <= item.day <= UNTIL:
                released.wait(timeout=300)  # until the killed run is dead
            return Reply(200, body)

        return answer

    web.add("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain")
    for k, item in enumerate(all_items):
        web.handle(item.path, page(k, item))  # type: ignore[arg-type]
    sources = []
    for name, tz in OUTLETS.items():
        mine = [i for i in all_items if i.outlet == name]
        web.add(f"/{name}/sitemap.xml", sitemap(web, mine), "application/xml")
        for p in range(1, len(mine) // LISTING_PAGE + 2):
            web.add(f"/{name}/list?page={p}", listing(name, mine, p))
        sources.append({
            "name": name,
            "homepage": web.url(f"/{name}/"),
            "sitemaps": [web.url(f"/{name}/sitemap.xml")],
            "listings": [{"url": web.url(f"/{name}/list?page=1"), "next": "a.next", "max_pages": 10}],
            "article_url_pattern": rf"/{name}/\d+-\d+\.html$",
            "discover_feeds": False,
            "timezone": tz,
            "allow_private_hosts": ["127.0.0.1"],
        })  # fmt: skip
    path = tmp_path / "sources.yaml"
    YAML(typ="safe").dump({"sources": sources}, path)
    try:
        yield Web(web, path, all_items, released)
    finally:
        released.set()


def stored(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(select(CopyRow.url)).scalars())
    except Exception:  # the store is not created yet
        return set()
    finally:
        engine.dispose()


def the_store(url: str) -> list[tuple[object, ...]]:
    """The store as `ingest query --format jsonl` shows it: per story its canonical copy, title,
    first publication and copies (outlet, URL, title, date). Left out: ids (allocation order), a
    copy's similarity to the canonical copy *when it joined* and the text's learned chrome lines
    (`RecurringLines`): both depend on the order pages arrive in, which concurrency varies from
    one uninterrupted run to the next."""
    out = []
    for row in query_jsonl(url):
        copies = tuple(sorted((c["source"], c["url"], c["title"], c["published_at"]) for c in row["sources"]))  # type: ignore[attr-defined]
        out.append((row["url"], row["source"], row["title"], row["published_at"], copies))
    return sorted(out, key=str)


def backfill_argv(sources: Path) -> list[str]:
    return ["run-once", "--sources", str(sources), "--no-progress", "--since", SINCE, "--until", UNTIL]


def test_a_backfill_killed_half_way_ends_as_an_uninterrupted_one_without_fetching_a_stored_article_again(
    held_web: Web, tmp_path: Path, database_url: str
) -> None:
    """Killed on SQLite and on PostgreSQL; the uninterrupted backfill runs on SQLite."""
    web = held_web
    early, window = web.urls(SINCE, "2025-05-14"), web.urls(SINCE, UNTIL)
    assert len(early) == 30 and len(window) == 70
    killed, whole = database_url, f"sqlite:///{tmp_path / 'whole.sqlite'}"
    env = {**os.environ, **ENV, "INGEST_DATABASE_URL": killed}
    argv = [sys.executable, "-m", "ingest.cli", *backfill_argv(web.sources)]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for("the window's first three days stored", lambda: stored(killed) == early)
        family = descendants(proc.pid)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        web.released.set()
    wait_for("the killed run's extraction workers to stop", lambda: not any(alive(pid) for pid in family))
    assert stored(killed) == early

    start = len(web.web.hits)
    ingest(*backfill_argv(web.sources), database_url=killed, env=ENV, check=True)
    fetched_again = {web.web.url(h.path) for h in web.web.hits[start:]} & early
    assert fetched_again == set()

    ingest(*backfill_argv(web.sources), database_url=whole, env=ENV, check=True)
    assert stored(killed) == stored(whole) == window
    assert the_store(killed) == the_store(whole)
