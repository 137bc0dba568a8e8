"""The hostile web, end to end: the real crawl of the sample web into a real store (SQLite and
PostgreSQL), checked case by case against the sample web's ground truth (`site.truth.hostile`).

Each test states one behaviour. Checks about what was *requested* read `crawled.requests`, the
snapshot of the sample web's request log taken right after this module's crawl; each also checks
that the case was actually reached, so a crawler that never finds a hostile link cannot pass.
"""

from __future__ import annotations

import re
import unicodedata
import urllib.request
from functools import cache
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import pytest
from sqlalchemy import select

from ingest.config import load_sources
from ingest.sampleweb import HostileCase
from ingest.store.models import CopyRow
from ingest.urls import canonicalize
from tests.e2e.conftest import CrawledStore, Site

REJECTED_KINDS = (
    "redirect-loop",
    "not-found",
    "server-error",
    "huge-page",
    "non-html",
    "tag-page",
    "author-page",
    "video-page",
)
ALIAS_KINDS = ("tracking-params", "fragment", "amp-alias")
DAY_ARCHIVE = re.compile(r"^/\d{4}/\d{2}/\d{2}/$")


def case(site: Site, kind: str) -> HostileCase:
    return next(c for c in site.truth.hostile if c.kind == kind)


def stored_rows(crawled: CrawledStore) -> list[CopyRow]:
    with crawled.engine.connect() as conn:
        return list(conn.execute(select(CopyRow)).all())


def requested_paths(crawled: CrawledStore, outlet: str) -> list[str]:
    return [r.path for r in crawled.requests if r.outlet == outlet]


def same_text(text: str) -> str:
    """Exact text up to Unicode composition and whitespace layout (paragraph breaks, indentation)."""
    return " ".join(unicodedata.normalize("NFC", text).split())


@cache
def robots_parser(robots_url: str) -> RobotFileParser:
    parser = RobotFileParser(robots_url)
    with urllib.request.urlopen(robots_url, timeout=10) as resp:  # after the snapshot: not in it
        parser.parse(resp.read().decode("utf-8").splitlines())
    return parser


def listing_cap(site: Site, outlet: str) -> int:
    """The largest max_pages configured for the outlet's listings (the bound the crawler promises)."""
    source = next(s for s in load_sources(site.sources_file).sources if s.name == outlet)
    return max(listing.max_pages for listing in source.listings)


def test_the_crawl_run_succeeds(crawled: CrawledStore) -> None:
    # Page-level failures (404, 500, loops, oversized, non-HTML) are counted, not fatal: exit 0.
    assert crawled.first.returncode == 0, crawled.first.stdout + crawled.first.stderr[-3000:]


def test_no_request_hits_a_robots_disallowed_path(site: Site, crawled: CrawledStore) -> None:
    disallowed: list[str] = []
    for record in crawled.requests:
        if record.path == "/robots.txt":
            continue
        base = site.web.base_url(record.outlet)
        agent = record.headers.get("user-agent", "*")
        if not robots_parser(base + "/robots.txt").can_fetch(agent, base + record.path):
            disallowed.append(f"{record.outlet}:{record.path}")
    assert disallowed == []
    # Not vacuous: the print alias under Disallow: /print/ is linked from pages the crawl fetched.
    trap = case(site, "robots-disallowed")
    assert trap.target is not None and trap.target.split(":", 1)[1] in requested_paths(crawled, trap.outlet)


@pytest.mark.parametrize("kind", ["windows-1256-meta", "windows-1256-wrong-header"])
def test_windows_1256_page_is_stored_with_its_exact_text_and_title(
    site: Site, crawled: CrawledStore, kind: str
) -> None:
    c = case(site, kind)
    assert c.target is not None
    page = site.truth.by_key(c.target)
    rows = {row.url: row for row in stored_rows(crawled)}
    row = rows.get(site.url(c.target))
    assert row is not None, f"{kind} page not stored"
    assert row.title.strip() == page.title.strip()
    assert same_text(row.text) == same_text(page.text)


@pytest.mark.parametrize("kind", ALIAS_KINDS)
def test_alias_url_and_its_article_are_stored_once(site: Site, crawled: CrawledStore, kind: str) -> None:
    c = case(site, kind)
    assert c.target is not None
    target_url = site.url(c.target)
    variant_url = site.web.base_url(c.outlet) + c.path
    urls = [row.url for row in stored_rows(crawled)]
    # Every stored URL that extends the target (…?utm_…, …#comments, …/amp) must be the target itself.
    assert [u for u in urls if u.startswith(target_url)] == [target_url]
    assert {variant_url, canonicalize(variant_url)} & set(urls) <= {target_url}


def test_offsite_redirect_target_host_is_never_contacted(site: Site, crawled: CrawledStore) -> None:
    c = case(site, "redirect-offsite")
    assert c.path in requested_paths(crawled, c.outlet), "the offsite redirect was never reached"
    assert c.target is not None
    target_outlet, target_path = c.target.split(":", 1)
    # The redirect points at the target outlet's port under another host name ("localhost"):
    # the crawler addresses every outlet as 127.0.0.1, so any other Host is the offsite origin.
    own_host = urlsplit(site.web.base_url(target_outlet)).netloc
    offsite = [
        f"{r.headers.get('host')}{r.path}"
        for r in crawled.requests
        if r.outlet == target_outlet and r.headers.get("host", own_host) != own_host
    ]
    # (target_path itself is fetched legitimately from its own outlet, as 127.0.0.1.)
    assert offsite == [], f"offsite origin contacted for {target_path}: {offsite}"


@pytest.mark.parametrize("kind", REJECTED_KINDS)
def test_hostile_page_is_fetched_but_not_stored(site: Site, crawled: CrawledStore, kind: str) -> None:
    c = case(site, kind)
    assert c.path in requested_paths(crawled, c.outlet), f"{kind} was never requested"
    url = site.url(c.key)
    leaked = [(row.url, row.fetched_url) for row in stored_rows(crawled) if url in (row.url, row.fetched_url)]
    assert leaked == []


def test_listing_trap_is_bounded_by_max_pages(site: Site, crawled: CrawledStore) -> None:
    c = case(site, "listing-trap")
    pages = [p for p in requested_paths(crawled, c.outlet) if urlsplit(p).path == "/latest"]
    assert 1 <= len(pages) <= listing_cap(site, c.outlet)


def test_calendar_trap_is_bounded_by_max_pages(site: Site, crawled: CrawledStore) -> None:
    c = case(site, "calendar-trap")
    days = [p for p in requested_paths(crawled, c.outlet) if DAY_ARCHIVE.match(urlsplit(p).path)]
    assert 1 <= len(days) <= listing_cap(site, c.outlet)


def test_slow_page_is_still_stored(site: Site, crawled: CrawledStore) -> None:
    c = case(site, "slow")
    assert c.target is not None
    page = site.truth.by_key(c.target)
    rows = {row.url: row for row in stored_rows(crawled)}
    assert site.url(c.target) in rows
    assert rows[site.url(c.target)].title.strip() == page.title.strip()
