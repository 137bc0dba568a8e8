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
from datetime import UTC, datetime, timedelta
from functools import cache
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.config import load_sources
from ingest.demo import HostileCase
from ingest.store.fetch_state import DbFrontier
from ingest.store.models import CopyRow, FetchStateRow, RunRow
from ingest.urls import MAX_URL_LENGTH, canonicalize
from tests.e2e.conftest import CrawledStore, Site, ingest

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


# ------------------------------------------------------------------ request forgery, robots, caps


def fetch_state(crawled: CrawledStore) -> dict[str, FetchStateRow]:
    with Session(crawled.engine) as session:
        return {row.url: row for row in session.scalars(select(FetchStateRow))}


def run_errors(crawled: CrawledStore) -> dict[str, int]:
    with Session(crawled.engine) as session:
        run = session.scalars(select(RunRow).order_by(RunRow.id)).first()
        assert run is not None
        return dict(run.errors)


def test_no_request_reaches_the_internal_service_or_leaves_the_outlets_own_hosts(
    site: Site, crawled: CrawledStore
) -> None:
    c = case(site, "request-forgery")
    assert c.path in requested_paths(crawled, c.outlet), "the request-forgery index was never reached"
    assert [r.path for r in crawled.requests if r.outlet == "internal"] == []
    wrong_host = [
        f"{r.outlet}: {r.headers.get('host')}{r.path}"
        for r in crawled.requests
        if r.headers.get("host") != urlsplit(site.web.base_url(r.outlet)).netloc
    ]
    # (the offsite-redirect case's target answers as 127.0.0.1 only: localhost is never asked)
    assert wrong_host == []


def test_request_forgery_links_are_recorded_with_their_reasons(site: Site, crawled: CrawledStore) -> None:
    state = fetch_state(crawled)
    internal = site.web.base_url("internal")
    port = internal.rsplit(":", 1)[1]
    oujdacity = site.web.base_url("oujdacity")
    expected = {
        "file:///etc/passwd": "bad-scheme",
        "file:///dev/zero": "bad-scheme",
        f"{internal}/secret.xml": "offsite-request",
        f"{internal}/sitemap.xml": "offsite-request",  # a robots.txt Sitemap: line
        f"http://2130706434:{port}/secret.xml": "offsite-request",
        f"http://0177.0.0.2:{port}/secret.xml": "offsite-request",
        "http://169.254.169.254/latest/meta-data/": "offsite-request",
        f"{oujdacity}/hostile/to-internal.xml": "offsite-redirect",
    }
    assert {url: state[url].error if url in state else None for url in expected} == expected
    assert state["file:///etc/passwd"].content_hash is None  # never read
    assert run_errors(crawled)["bad-scheme"] >= 2


def test_sitemap_host_whose_robots_answers_503_is_asked_once_and_nothing_else(
    site: Site, crawled: CrawledStore
) -> None:
    assert [r.path for r in crawled.requests if r.outlet == "oujdacity-cdn"] == ["/robots.txt"]
    cdn = site.web.base_url("oujdacity-cdn")
    assert fetch_state(crawled)[f"{cdn}/sitemap.xml"].error == "robots-unavailable"
    assert run_errors(crawled)["robots-unavailable"] >= 1


def test_every_outlet_robots_txt_is_asked_once_per_run(site: Site, crawled: CrawledStore) -> None:
    for outlet in site.web.outlets:
        assert requested_paths(crawled, outlet).count("/robots.txt") == 1, outlet


def test_gzip_bomb_sitemap_is_recorded_too_large(site: Site, crawled: CrawledStore) -> None:
    c = case(site, "gzip-bomb")
    assert c.path in requested_paths(crawled, c.outlet)
    assert fetch_state(crawled)[site.web.base_url(c.outlet) + c.path].error == "too-large"


def test_sitemap_cut_by_an_xml_error_is_counted_and_its_entries_still_read(site: Site, crawled: CrawledStore) -> None:
    c = case(site, "xml-error")
    assert fetch_state(crawled)[site.web.base_url(c.outlet) + c.path].error == "xml-error"
    assert run_errors(crawled)["xml-error"] >= 1


def test_content_encoding_bomb_is_rejected_too_large_and_settled(site: Site, crawled: CrawledStore) -> None:
    c = case(site, "encoding-bomb")
    url = site.web.base_url(c.outlet) + c.path
    assert c.path in requested_paths(crawled, c.outlet)
    assert fetch_state(crawled)[url].error == "too-large"
    frontier = DbFrontier(crawled.engine, recheck_window=timedelta(days=2), recheck_every=timedelta(hours=6))
    assert frontier.unseen_articles(c.outlet, [url], datetime.now(UTC)) == set()  # not fetched again


def test_too_long_url_is_counted_and_never_requested(site: Site, crawled: CrawledStore) -> None:
    assert not [r.path for r in crawled.requests if len(r.path) > MAX_URL_LENGTH]
    assert run_errors(crawled)["url-too-long"] >= 1


def test_redirect_loop_is_recorded_as_one(site: Site, crawled: CrawledStore) -> None:
    c = case(site, "redirect-loop")
    assert fetch_state(crawled)[site.web.base_url(c.outlet) + c.path].error == "redirect-loop"


def test_the_hostile_outlets_ordinary_articles_are_all_stored(site: Site, crawled: CrawledStore) -> None:
    stored = {row.url for row in stored_rows(crawled)}
    wanted = [p for p in site.truth.stored_pages() if p["outlet"] == "oujdacity" and not p["hostile"]]
    assert wanted and [p["path"] for p in wanted if site.url(f"oujdacity:{p['path']}") not in stored] == []


def test_page_of_100000_links_is_capped_and_the_next_run_continues(
    site: Site, tmp_path_factory: pytest.TempPathFactory
) -> None:
    c = case(site, "link-flood")
    base = site.web.base_url(c.outlet)
    tmp = tmp_path_factory.mktemp("flood")
    sources = tmp / "sources.yaml"
    sources.write_text(
        "sources:\n  - name: flood\n"
        f"    homepage: {base}/\n"
        "    discover_feeds: false\n"
        f"    listings: [{{url: '{base}{c.path}', max_pages: 1}}]\n"
        "    article_url_pattern: '-ghamr\\.html$'\n"
        "    allow_private_hosts: [127.0.0.1]\n",
        encoding="utf-8",
    )
    url = f"sqlite:///{tmp / 'ingest.sqlite'}"
    taken: list[set[str]] = []
    for left in (99_980, 99_960):  # the second run skips the 20 it knows and takes 20 more
        before = len(site.web.requests)
        # (The flood's links are all 404s: a run that finds nothing else exits 5, "every source failed".)
        run = ingest("run-once", "--sources", str(sources), "--no-progress", database_url=url,
                     env={"INGEST_MAX_LINKS_PER_PAGE": "20"})  # fmt: skip
        assert f"links-capped {left}" in run.stdout, run.stdout + run.stderr[-2000:]
        taken.append({r.path for r in site.web.requests[before:] if r.path.endswith("-ghamr.html")})
    assert len(taken[0]) == len(taken[1]) == 20 and not taken[0] & taken[1]
