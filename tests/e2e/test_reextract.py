"""Re-extraction from the raw-page archive: no network, idempotent, and it repairs stored copies."""

from __future__ import annotations

from sqlalchemy import func, select, update

from ingest.store.models import CopyRow, RawPageRow, StoryRow
from tests.e2e.conftest import CrawledStore, Site, ingest


def reextract(site: Site, crawled: CrawledStore) -> str:
    out = ingest(
        "reextract", "--sources", str(site.sources_file), "--no-progress", database_url=crawled.url, check=True
    )
    return out.stdout


def counts(crawled: CrawledStore) -> tuple[int, int]:
    with crawled.engine.connect() as conn:
        return (
            conn.scalar(select(func.count()).select_from(CopyRow)) or 0,
            conn.scalar(select(func.count()).select_from(StoryRow)) or 0,
        )


def test_every_extracted_page_is_archived(site: Site, crawled: CrawledStore) -> None:
    with crawled.engine.connect() as conn:
        archived = set(conn.execute(select(RawPageRow.url)).scalars())
        fetched = set(conn.execute(select(CopyRow.fetched_url)).scalars())
    assert fetched <= archived


def test_reextract_uses_no_network_and_changes_nothing_when_extraction_is_unchanged(
    site: Site, crawled: CrawledStore
) -> None:
    before = counts(crawled)
    site.web.clear_requests()
    out = reextract(site, crawled)
    assert site.web.requests == []
    assert counts(crawled) == before
    assert " 0 changed" in out


def test_reextract_repairs_a_copy_whose_stored_text_went_wrong(site: Site, crawled: CrawledStore) -> None:
    with crawled.engine.begin() as conn:
        copy_id, good = conn.execute(select(CopyRow.id, CopyRow.text).order_by(CopyRow.id).limit(1)).one()
        conn.execute(
            update(CopyRow).where(CopyRow.id == copy_id).values(text=good + "\nاترك تعليقاً", content_hash="stale")
        )
    reextract(site, crawled)
    with crawled.engine.connect() as conn:
        assert conn.scalar(select(CopyRow.text).where(CopyRow.id == copy_id)) == good
