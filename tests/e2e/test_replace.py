"""`ingest db reindex --replace`: improved dedup reaches what is already stored. Placing every
stored copy again with unchanged rules gives back the same stories (same copies together, same
canonical copies), whatever order the crawl stored them in."""

from __future__ import annotations

from tests.e2e.conftest import CrawledStore, ingest, query_jsonl


def partition(records: list[dict[str, object]]) -> set[tuple[str, frozenset[str]]]:
    """Each story as (canonical URL, every copy's URL): ids may change, the grouping may not."""
    out = set()
    for r in records:
        copies = r["sources"]
        assert isinstance(copies, list)
        out.add((str(r["url"]), frozenset(str(c["url"]) for c in copies)))
    return out


def test_replacing_every_copy_with_the_same_rules_gives_the_same_stories(crawled: CrawledStore) -> None:
    before = partition(query_jsonl(crawled.url))
    done = ingest("db", "reindex", "--replace", database_url=crawled.url, check=True)
    assert f"stories rebuilt for {sum(len(c) for _, c in before)} copies" in done.stdout
    assert partition(query_jsonl(crawled.url)) == before
