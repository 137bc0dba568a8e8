"""A copy reached through an alias (AMP version, old URL, redirect) never replaces the copy fetched
from its own canonical URL, whichever arrives first."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Engine, select

from ingest.store.models import CopyRow
from tests.store.test_dedup_store import DOCS, article, store

CANONICAL = article(DOCS[0])
AMP = replace(
    CANONICAL, fetched_url=CANONICAL.url + "/amp", published_at=None, text="\n".join(CANONICAL.text.split("\n")[:-1])
)


def stored(engine: Engine) -> CopyRow:
    with engine.connect() as conn:
        return conn.execute(select(CopyRow).where(CopyRow.url == CANONICAL.url)).one()  # type: ignore[return-value]


def test_alias_fetched_after_the_canonical_page_changes_nothing(engine: Engine) -> None:
    store(engine, [CANONICAL])
    store(engine, [AMP])
    copy = stored(engine)
    assert (copy.text, copy.published_at) == (CANONICAL.text, CANONICAL.published_at)


def test_canonical_page_fetched_after_an_alias_replaces_it(engine: Engine) -> None:
    store(engine, [AMP])
    store(engine, [CANONICAL])
    copy = stored(engine)
    assert (copy.text, copy.published_at, copy.fetched_url) == (CANONICAL.text, CANONICAL.published_at, CANONICAL.url)
