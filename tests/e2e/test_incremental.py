"""Incremental crawls: a copy found later joins the story already stored."""

from __future__ import annotations

from collections import defaultdict

import pytest

from tests.e2e.conftest import Site, query_jsonl, run_once


@pytest.fixture
def store_url(database_url: str) -> str:
    return database_url


def test_copy_found_by_a_later_crawl_links_to_the_existing_canonical_article(site: Site, store_url: str) -> None:
    outlets_of: dict[str, set[str]] = defaultdict(set)
    for page in site.truth.stored_pages():
        outlets_of[page.story].add(page.outlet)
    first_outlet = sorted(site.web.outlets)[0]
    story = next(s for s, outlets in sorted(outlets_of.items()) if first_outlet in outlets and len(outlets) > 1)

    run_once(site, store_url, "--source", first_outlet)
    before = {r["id"]: r for r in query_jsonl(store_url)}
    run_once(site, store_url)
    after = {r["id"]: r for r in query_jsonl(store_url)}

    key = next(p.key for p in site.truth.stored_pages() if p.story == story and p.outlet == first_outlet)
    story_id = next(i for i, r in before.items() if site.url(key) in {c["url"] for c in r["sources"]})
    assert after[story_id]["source_count"] == len(outlets_of[story])
