"""Dedup inside the store: placement, election, idempotency and order independence, on the
labelled dev set and on SQLite and PostgreSQL alike."""

from __future__ import annotations

import itertools
import random
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, func, select

from ingest.config import Source
from ingest.dedup.deduplicator import Deduplicator
from ingest.records import Article, RunStats
from ingest.service.pipeline import ArticleWriter, PageResult, ensure_sources
from ingest.store.band_tables import BandTables
from ingest.store.db import write_transaction
from ingest.store.models import CopyRow, IndexKeysRow, ProbeRow, SourceRow, StoryRow
from ingest.store.story_ledger import DbStoryLedger
from ingest_dev.devset import DevDoc, generate

OUTLETS = [f"outlet{i}" for i in range(5)]
FETCHED = datetime(2025, 6, 1, tzinfo=UTC)


def article(doc: DevDoc, *, text: str | None = None) -> Article:
    # Copy k of a story comes from outlet k (mod 5): copies of one story are other outlets' (a
    # story holding many copies of one outlet is a series of its follow-ups, not copies).
    _, _, copy = doc.doc_id.rpartition("#")
    outlet = OUTLETS[(int(copy) if copy.isdigit() else zlib.crc32(doc.doc_id.encode())) % len(OUTLETS)]
    return Article(
        url=f"https://{outlet}.example.ma/{doc.doc_id}",
        source=outlet,
        title=doc.text.splitlines()[0][:120],
        text=text if text is not None else doc.text,
        published_at=doc.published_at.replace(tzinfo=UTC) if doc.published_at.tzinfo is None else doc.published_at,
        fetched_at=FETCHED,
        language="ar",
    )


def store(engine: Engine, articles: Sequence[Article], batches: Sequence[int] = ()) -> RunStats:
    """Write `articles` in one transaction: in batches of the given sizes, or one at a time."""
    stats = RunStats()
    ids = ensure_sources(engine, [Source(name=o, homepage=f"https://{o}.example.ma/") for o in OUTLETS])
    writer = ArticleWriter(ids, Deduplicator(), stats)
    items = [PageResult(a, 200, a.fetched_at) for a in articles]
    sizes = list(batches) or [1] * len(items)
    with write_transaction(engine) as session:
        for start, size in zip(itertools.accumulate(sizes, initial=0), sizes, strict=False):
            writer.write_all(session, items[start : start + size])
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
        dedup, index = Deduplicator(), BandTables()
        index.attach(session)
        ledger = DbStoryLedger(session.connection(), dedup.stored_fingerprint)
        dedup.detach(ledger, index, copy.id, copy.story_id, FETCHED)
        assert session.scalars(select(IndexKeysRow)).all() == []
        assert session.scalars(select(ProbeRow)).all() == []
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
def test_ingestion_order_and_batching_do_not_change_stories_or_canonical_choices(
    sqlite_engine_factory, seed: int
) -> None:  # type: ignore[no-untyped-def]
    reference = sqlite_engine_factory()
    store(reference, [article(d) for d in SUBSET])
    rng = random.Random(seed)
    shuffled = list(SUBSET)
    rng.shuffle(shuffled)
    sizes: list[int] = []
    while sum(sizes) < len(shuffled):  # batches that hold several copies of one story, and split others
        sizes.append(min(rng.choice([1, 3, 10, 40]), len(shuffled) - sum(sizes)))
    other = sqlite_engine_factory()
    store(other, [article(d) for d in shuffled], sizes)
    assert partition(other) == partition(reference)
    assert canonical_urls(other) == canonical_urls(reference)
    for eng in (reference, other):
        eng.dispose()


def test_sources_are_registered_once(engine: Engine) -> None:
    store(engine, [article(DOCS[0])])
    store(engine, [article(DOCS[1])])
    with engine.connect() as conn:
        assert sorted(conn.execute(select(SourceRow.name)).scalars()) == OUTLETS


def _words(seed: int, n: int) -> list[str]:
    """`n` words of the dev set's vocabulary in a random order: text that copies nothing."""
    vocabulary = sorted({w for d in DOCS for w in d.text.split() if not any(ch.isdigit() for ch in w)})
    return random.Random(seed).choices(vocabulary, k=n)


def _dated(doc_id: str, words: list[str], hours: int) -> DevDoc:
    lines = [" ".join(words[i : i + 20]) for i in range(0, len(words), 20)]
    return DevDoc(doc_id, doc_id, "\n".join(lines), DOCS[0].published_at + timedelta(hours=hours))


def test_no_chaining_a_copy_of_a_copys_new_half_founds_its_own_story(engine: Engine) -> None:
    from ingest.dedup.fingerprint import fingerprint
    from ingest.dedup.similarity import verify

    base = max(DOCS, key=lambda d: len(d.text.split())).text.split()
    half, third = len(base) // 2, len(base) // 3
    new_b, new_c = _words(1, third), _words(2, len(base) // 5)
    a, a2 = _dated("chain-a", base, 0), _dated("chain-a2", base, 1)
    b = _dated("chain-b", base[:half] + new_b, 2)
    c = _dated("chain-c", new_b + new_c, 3)
    fp = {d.doc_id: fingerprint(d.text) for d in (a, b, c)}
    # The premises: B is a trimmed copy of A; C copies B's new half only.
    assert verify(fp["chain-b"], fp["chain-a"]).same_story
    assert verify(fp["chain-c"], fp["chain-b"]).same_story
    assert not verify(fp["chain-c"], fp["chain-a"]).same_story
    store(engine, [article(a), article(a2), article(b), article(c)])
    groups = grouping(engine)
    assert groups[article(a).url] == groups[article(a2).url] == groups[article(b).url]
    assert groups[article(c).url] != groups[article(a).url]


def _shifted(doc: DevDoc, *, hours: float | None, doc_id: str) -> Article:
    when = None if hours is None else FETCHED + timedelta(hours=hours)
    return replace(article(doc), url=f"https://x.example.ma/{doc_id}", published_at=when)


def test_copies_further_apart_than_the_window_are_not_even_candidates(engine: Engine) -> None:
    doc = DOCS[0]
    window = Deduplicator().params.window_hours
    store(engine, [_shifted(doc, hours=0, doc_id="old"), _shifted(doc, hours=3 * window, doc_id="late")])
    groups = grouping(engine)
    assert groups["https://x.example.ma/old"] != groups["https://x.example.ma/late"]


@pytest.mark.parametrize("hours", [-1.0, 1.0, 150.0, None])
def test_copies_across_a_time_bucket_boundary_or_undated_are_found(engine: Engine, hours: float | None) -> None:
    from ingest.dedup.deduplicator import time_bucket

    # The first copy sits just before a bucket boundary; the second after it, or undated.
    window = Deduplicator().params.window_hours
    since_2000 = (FETCHED - datetime(2000, 1, 1, tzinfo=UTC)).total_seconds() / 3600  # the buckets' origin
    edge = FETCHED + timedelta(hours=window - since_2000 % window - 0.5)
    assert time_bucket(edge) + 1 == time_bucket(edge + timedelta(hours=1))
    first = replace(article(DOCS[0]), url="https://x.example.ma/first", published_at=edge)
    second = replace(
        first, url="https://x.example.ma/second", published_at=None if hours is None else edge + timedelta(hours=hours)
    )
    for order in ([first, second], [second, first]):
        with write_transaction(engine) as session:
            session.execute(delete(ProbeRow))
            session.execute(delete(IndexKeysRow))
            session.execute(delete(CopyRow))
            session.execute(delete(StoryRow))
        store(engine, order)
        groups = grouping(engine)
        assert groups["https://x.example.ma/first"] == groups["https://x.example.ma/second"]


def test_explain_says_where_a_copy_is_why_and_how_it_compares(engine: Engine) -> None:
    from ingest.service.explain import explain

    story = next(s for s in sorted({d.story_id for d in DOCS}) if sum(d.story_id == s for d in DOCS) >= 3)
    copies = sorted((d for d in DOCS if d.story_id == story), key=lambda d: d.published_at)
    store(engine, [article(d) for d in DOCS])
    with write_transaction(engine) as session:
        assert explain(session, "https://nowhere.example.ma/x") is None
        first = explain(session, article(copies[0]).url)
        later = explain(session, article(copies[-1]).url)
    assert first is not None and later is not None
    assert first.against_canonical is None and first.canonical_copy_id == first.copy_id
    assert later.story_id == first.story_id and later.against_canonical is not None
    assert later.against_canonical.verdict.same_story and later.join_reason
    assert all(o.story_id != later.story_id and not o.verdict.same_story for o in later.other_stories)
    assert len(later.other_stories) <= 3


@pytest.mark.parametrize("batches", [(), (2,)], ids=["one-by-one", "one-batch"])
def test_undated_copy_fetched_long_after_its_dated_original_joins_it(engine: Engine, batches: tuple[int]) -> None:
    original = replace(article(DOCS[0]), url="https://x.example.ma/original")
    late = replace(
        original, url="https://y.example.ma/amp-copy", published_at=None, fetched_at=FETCHED + timedelta(days=400)
    )
    store(engine, [original, late], batches)
    groups = grouping(engine)
    assert groups["https://x.example.ma/original"] == groups["https://y.example.ma/amp-copy"]


def test_rebuilt_index_equals_the_index_built_by_placement(engine: Engine) -> None:
    from ingest.service.reindex import rebuild_index

    store(engine, [article(d) for d in DOCS[:30]])
    blobs = select(IndexKeysRow.copy_id, IndexKeysRow.bucket, IndexKeysRow.keys)
    index = (blobs, select(ProbeRow.copy_id, ProbeRow.keys))
    with engine.connect() as conn:
        before = [set(conn.execute(q)) for q in index]
    with write_transaction(engine) as session:
        assert rebuild_index(session) == 30
    with engine.connect() as conn:
        assert [set(conn.execute(q)) for q in index] == before


def _outlet_article(outlet: str, slug: str, text: str, hours: float) -> Article:
    return Article(
        url=f"https://{outlet}.example.ma/{slug}",
        source=outlet,
        title=text.splitlines()[0][:80],
        text=text,
        published_at=FETCHED + timedelta(hours=hours),
        fetched_at=FETCHED + timedelta(hours=hours, minutes=5),
        language="ar",
    )


def test_daily_congratulation_cables_of_one_outlet_do_not_chain_into_one_story(engine: Engine) -> None:
    from tests.dedup.realcases import CABLE, COUNTRIES

    cables = [
        _outlet_article("outlet0", f"cable-{i}", CABLE.format(country=c), 24 * i) for i, c in enumerate(COUNTRIES)
    ]
    store(engine, cables, batches=[3, 4])
    assert len(set(grouping(engine).values())) == len(COUNTRIES)


def test_one_outlets_follow_ups_reusing_its_background_do_not_grow_one_story(engine: Engine) -> None:
    from tests.dedup.realcases import LEADS, follow_up

    follow_ups = [_outlet_article("outlet1", f"flood-{i}", follow_up(i), 6 * i) for i in range(len(LEADS))]
    wire = _outlet_article("outlet2", "flood-wire", follow_up(0), 1)  # another outlet's copy of the first
    store(engine, [follow_ups[0], wire, *follow_ups[1:]])
    groups = grouping(engine)
    story = groups[follow_ups[0].url]
    assert groups[wire.url] == story
    same_outlet = [a for a in follow_ups if groups[a.url] == story]
    assert len(same_outlet) == Deduplicator().params.outlet_copies
    with engine.connect() as conn:
        reasons = conn.execute(select(CopyRow.join_reason).where(CopyRow.story_id != story)).scalars().all()
    assert any("copies of its outlet already" in r for r in reasons)  # `ingest explain` says why


def test_a_reworded_copy_joins_its_stored_original_whose_text_is_read_back(engine: Engine) -> None:
    from tests.dedup.realcases import REWORDED, WIRE

    original = _outlet_article("outlet3", "wire", WIRE, 0)
    rewritten = _outlet_article("outlet4", "rewritten", REWORDED, 3)
    store(engine, [original])
    store(engine, [rewritten])  # a new writer: the original's fingerprint comes from the store
    groups = grouping(engine)
    assert groups[original.url] == groups[rewritten.url]
    with engine.connect() as conn:
        reason = conn.scalar(select(CopyRow.join_reason).where(CopyRow.url == rewritten.url))
    assert reason is not None and "of the shorter text align" in reason


@pytest.mark.parametrize("sentence_keys", [16, 0])
def test_a_reworded_copy_sharing_no_band_is_found_through_its_sentence_keys(engine: Engine, sentence_keys: int) -> None:
    # One band instead of 64: the pair shares none (its 3-gram Jaccard is 0.30), as real
    # rewritten copies at Jaccard 0.06-0.2 share none of the 64 (12 of the ANT corpus's 151).
    from tests.dedup.realcases import REWORDED, WIRE

    params = replace(Deduplicator().params, bands=1, sentence_keys=sentence_keys)
    ids = ensure_sources(engine, [Source(name=o, homepage=f"https://{o}.example.ma/") for o in OUTLETS])
    writer = ArticleWriter(ids, Deduplicator(params), RunStats())
    original, rewritten = _outlet_article("outlet3", "wire", WIRE, 0), _outlet_article("outlet4", "copy", REWORDED, 3)
    for a in (original, rewritten):
        with write_transaction(engine) as session:
            writer.write(session, PageResult(a, 200, a.fetched_at))
    groups = grouping(engine)
    assert (groups[original.url] == groups[rewritten.url]) is bool(sentence_keys)


def test_re_placement_applies_new_parameters_to_a_filled_store(engine: Engine) -> None:
    from ingest.dedup.fingerprint import DEFAULT
    from ingest.service.reindex import replace_stories

    store(engine, [article(d) for d in DOCS])
    placed, canonical = partition(engine), canonical_urls(engine)
    strict = replace(DEFAULT, min_containment=1.01, min_aligned_containment=1.01)  # nothing verifies
    with write_transaction(engine) as session:
        assert replace_stories(session, strict) == len(DOCS)
    assert len(partition(engine)) == len(DOCS)
    with write_transaction(engine) as session:
        replace_stories(session)
    assert partition(engine) == placed == expected_partition(DOCS)
    assert canonical_urls(engine) == canonical
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(IndexKeysRow)) == len(DOCS)
