"""Dedup inside the store: placement, election, idempotency and order independence, on the
labelled dev set and on SQLite and PostgreSQL alike."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, select

from ingest.config import Source
from ingest.dedup import Deduplicator
from ingest.devset import DevDoc, generate
from ingest.pipeline import ArticleWriter, Extracted, ensure_sources
from ingest.records import Article, RunStats
from ingest.store.db import write_transaction
from ingest.store.models import BucketRow, CopyRow, SourceRow, StoryRow

OUTLETS = [f"outlet{i}" for i in range(5)]
FETCHED = datetime(2025, 6, 1, tzinfo=UTC)


def article(doc: DevDoc, *, text: str | None = None) -> Article:
    outlet = OUTLETS[hash(doc.doc_id) % len(OUTLETS)]
    return Article(
        url=f"https://{outlet}.example.ma/{doc.doc_id}",
        source=outlet,
        title=doc.text.splitlines()[0][:120],
        text=text if text is not None else doc.text,
        published_at=doc.published_at.replace(tzinfo=UTC) if doc.published_at.tzinfo is None else doc.published_at,
        fetched_at=FETCHED,
        language="ar",
    )


def store(engine: Engine, articles: Sequence[Article]) -> RunStats:
    stats = RunStats()
    ids = ensure_sources(engine, [Source(name=o, homepage=f"https://{o}.example.ma/") for o in OUTLETS])
    writer = ArticleWriter(ids, Deduplicator(), stats)
    with write_transaction(engine) as session:
        for a in articles:
            writer.write(session, Extracted(a, 200, a.fetched_at))
    return stats


def grouping(engine: Engine) -> dict[str, int | None]:
    with engine.connect() as conn:
        return {url: story for url, story in conn.execute(select(CopyRow.url, CopyRow.story_id))}


def partition(engine: Engine) -> set[frozenset[str]]:
    groups: dict[int | None, set[str]] = defaultdict(set)
    for url, story in grouping(engine).items():
        groups[story].add(url)
    return {frozenset(g) for g in groups.values()}


def canonical_urls(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(CopyRow.url).join(StoryRow, StoryRow.canonical_copy_id == CopyRow.id)).scalars())


DOCS = generate(seed=0)


def expected_partition(docs: Sequence[DevDoc]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = defaultdict(set)
    for d in docs:
        groups[d.story_id].add(article(d).url)
    return {frozenset(g) for g in groups.values()}


def test_dev_set_copies_group_into_exactly_their_stories(engine: Engine) -> None:
    store(engine, [article(d) for d in DOCS])
    assert partition(engine) == expected_partition(DOCS)


def test_canonical_copy_is_the_earliest_published_of_each_story(engine: Engine) -> None:
    store(engine, [article(d) for d in DOCS])
    earliest: dict[str, DevDoc] = {}
    for d in DOCS:
        if d.story_id not in earliest or d.published_at < earliest[d.story_id].published_at:
            earliest[d.story_id] = d
    assert canonical_urls(engine) == {article(d).url for d in earliest.values()}


def test_storing_the_same_articles_twice_adds_nothing(engine: Engine) -> None:
    first = store(engine, [article(d) for d in DOCS[:40]])
    before = grouping(engine)
    second = store(engine, [article(d) for d in DOCS[:40]])
    assert grouping(engine) == before
    assert (second.articles_extracted, second.unchanged) == (0, 40)
    assert first.new_stories + first.copies_linked == 40


def test_a_changed_copy_is_re_evaluated_and_leaves_a_story_it_no_longer_matches(engine: Engine) -> None:
    story = next(s for s in {d.story_id for d in DOCS} if sum(d.story_id == s for d in DOCS) >= 3)
    copies = [d for d in DOCS if d.story_id == story]
    other = next(d for d in DOCS if d.story_id != story)
    store(engine, [article(d) for d in copies])
    store(engine, [article(copies[-1], text=other.text)])
    groups = grouping(engine)
    assert groups[article(copies[-1]).url] != groups[article(copies[0]).url]


def test_story_loses_its_index_rows_with_its_last_copy(engine: Engine) -> None:
    store(engine, [article(DOCS[0])])
    with write_transaction(engine) as session:
        copy = session.scalars(select(CopyRow)).one()
        Deduplicator().detach(session, copy, FETCHED)
        assert session.scalars(select(BucketRow)).all() == []
        assert session.scalars(select(StoryRow)).all() == []


def test_copy_matching_two_stories_joins_the_best_and_names_the_other(engine: Engine) -> None:
    stories = sorted({d.story_id for d in DOCS})
    a = next(d for d in DOCS if d.story_id == stories[0])
    b = next(d for d in DOCS if d.story_id == stories[1])
    # A page that quotes most of story A and half of story B.
    paragraphs_b = b.text.split("\n")
    bridge = DevDoc(
        "bridge",
        "bridge",
        a.text + "\n" + "\n".join(paragraphs_b[: len(paragraphs_b) // 2 + 1]),
        a.published_at + timedelta(hours=1),
    )
    store(engine, [article(a), article(b), article(bridge)])
    groups = grouping(engine)
    assert groups[article(bridge).url] == groups[article(a).url]
    assert groups[article(a).url] != groups[article(b).url]


@pytest.fixture(scope="module")
def sqlite_engine_factory(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from ingest.store.db import open_store

    counter = iter(range(10_000))

    def make() -> Engine:
        return open_store(f"sqlite:///{tmp_path_factory.mktemp('order') / f'{next(counter)}.sqlite'}")

    return make


SUBSET = [d for d in DOCS if d.story_id in sorted({x.story_id for x in DOCS})[:12]]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_ingestion_order_does_not_change_stories_or_canonical_choices(sqlite_engine_factory, seed: int) -> None:  # type: ignore[no-untyped-def]
    reference = sqlite_engine_factory()
    store(reference, [article(d) for d in SUBSET])
    shuffled = list(SUBSET)
    random.Random(seed).shuffle(shuffled)
    other = sqlite_engine_factory()
    store(other, [article(d) for d in shuffled])
    assert partition(other) == partition(reference)
    assert canonical_urls(other) == canonical_urls(reference)
    for eng in (reference, other):
        eng.dispose()


def test_sources_are_registered_once(engine: Engine) -> None:
    store(engine, [article(DOCS[0])])
    store(engine, [article(DOCS[1])])
    with engine.connect() as conn:
        assert sorted(conn.execute(select(SourceRow.name)).scalars()) == OUTLETS
        conn.execute(delete(BucketRow))
