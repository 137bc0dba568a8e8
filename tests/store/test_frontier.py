"""The crawler's URL memory in the store: what is fetched again, and with which validators."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from ingest.crawl.frontier import FetchOutcome, Validators
from ingest.store.fetch_state import DbFrontier
from tests.store.test_dedup_store import DOCS, FETCHED, article, store

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


def frontier(engine: Engine) -> DbFrontier:
    return DbFrontier(engine, recheck_window=timedelta(days=2), recheck_every=timedelta(hours=6))


def outcome(url: str, status: int, when: datetime = NOW, **kw: object) -> FetchOutcome:
    return FetchOutcome(url=url, source="s", kind=kw.pop("kind", "article"), status=status, fetched_at=when, **kw)  # type: ignore[arg-type]


def test_stored_article_is_not_fetched_again(engine: Engine) -> None:
    stored = article(DOCS[0])
    store(engine, [stored])
    assert frontier(engine).unseen_articles("s", [stored.url, "https://x.ma/new"], NOW) == {"https://x.ma/new"}


def test_recent_article_is_rechecked_once_the_recheck_interval_passed(engine: Engine) -> None:
    fresh = replace(article(DOCS[0]), published_at=FETCHED - timedelta(hours=1))
    store(engine, [fresh])
    f = frontier(engine)
    assert f.unseen_articles("s", [fresh.url], FETCHED + timedelta(hours=1)) == set()
    assert f.unseen_articles("s", [fresh.url], FETCHED + timedelta(hours=7)) == {fresh.url}


def test_old_article_is_never_rechecked(engine: Engine) -> None:
    old = replace(article(DOCS[0]), published_at=FETCHED - timedelta(days=10))
    store(engine, [old])
    assert frontier(engine).unseen_articles("s", [old.url], FETCHED + timedelta(days=1)) == set()


def test_permanent_failure_is_not_retried(engine: Engine) -> None:
    frontier(engine).record([outcome("https://x.ma/gone", 404, error="http-404")])
    assert frontier(engine).unseen_articles("s", ["https://x.ma/gone"], NOW) == set()


def test_transient_failure_is_retried_until_three_in_a_row(engine: Engine) -> None:
    f = frontier(engine)
    url = "https://x.ma/flaky"
    for attempt in range(3):
        assert f.unseen_articles("s", [url], NOW) == {url}, attempt
        f.record([outcome(url, 503, error="http-503")])
    assert f.unseen_articles("s", [url], NOW) == set()
    assert f.unseen_articles("s", [url], NOW + timedelta(days=2)) == {url}


def test_successful_article_fetch_is_left_to_the_store(engine: Engine) -> None:
    f = frontier(engine)
    f.record([outcome("https://x.ma/a", 200)])
    assert f.unseen_articles("s", ["https://x.ma/a"], NOW) == {"https://x.ma/a"}


def test_feed_validators_survive_a_304(engine: Engine) -> None:
    f = frontier(engine)
    feed = "https://x.ma/feed/"
    f.record([outcome(feed, 200, kind="feed", validators=Validators('"v1"', "Mon, 02 Jun 2025 10:00:00 GMT"))])
    f.record([outcome(feed, 304, kind="feed", when=NOW + timedelta(hours=1))])
    assert f.validators(feed) == Validators('"v1"', "Mon, 02 Jun 2025 10:00:00 GMT")


def test_unknown_url_has_no_validators(engine: Engine) -> None:
    assert frontier(engine).validators("https://x.ma/never") == Validators()


def test_refusals_decided_by_the_crawler_are_not_retried(engine: Engine) -> None:
    f = frontier(engine)
    reasons = ["too-large", "redirect-loop", "offsite-request", "private-address", "bad-scheme", "url-too-long"]
    urls = [f"https://x.ma/{r}" for r in reasons]
    f.record([outcome(u, 0, error=r) for u, r in zip(urls, reasons, strict=True)])
    assert f.unseen_articles("s", urls, NOW) == set()


def test_robots_unavailable_is_a_temporary_refusal(engine: Engine) -> None:
    f = frontier(engine)
    f.record([outcome("https://x.ma/later", 0, error="robots-unavailable: https://x.ma/later (http-503)")])
    assert f.unseen_articles("s", ["https://x.ma/later"], NOW) == {"https://x.ma/later"}


def test_document_whose_links_were_capped_is_read_whole_next_time(engine: Engine) -> None:
    f = frontier(engine)
    url = "https://x.ma/sitemap.xml"
    f.record([outcome(url, 200, kind="sitemap", validators=Validators('"v1"', "Sun, 01 Jun 2025 10:00:00 GMT"))])
    assert f.validators(url).etag == '"v1"' and f.fetched_before(url)
    f.record([outcome(url, 200, NOW + timedelta(hours=1), kind="sitemap", error="links-capped")])
    assert f.validators(url) == Validators() and not f.fetched_before(url)  # no 304, not "done"
    assert f.settled_failure(url, NOW + timedelta(hours=2)) is None


def test_oversized_document_is_not_fetched_again_for_a_week(engine: Engine) -> None:
    f = frontier(engine)
    url = "https://x.ma/bomb.xml.gz"
    f.record([outcome(url, 200, kind="sitemap", error="too-large")])
    assert f.settled_failure(url, NOW + timedelta(days=6)) == "too-large"
    assert f.settled_failure(url, NOW + timedelta(days=8)) is None
    assert f.settled_failure("https://x.ma/never-seen.xml", NOW) is None
