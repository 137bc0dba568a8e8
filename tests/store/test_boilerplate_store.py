"""Chrome that survives extraction on single pages is learned per outlet and stripped."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Engine, select

from ingest.config import Source
from ingest.dedup.deduplicator import Deduplicator
from ingest.extract.boilerplate import RecurringLines
from ingest.records import RunStats
from ingest.service.pipeline import ArticleWriter, PageResult, Warmup, ensure_sources
from ingest.store.db import write_transaction
from ingest.store.models import CopyRow
from ingest.store.recurring import load_recurring, save_recurring
from tests.store.test_dedup_store import DOCS, FETCHED, OUTLETS, article

PROMO = "تابعونا على تطبيق الجريدة للهواتف الذكية"


def with_promo(i: int):  # type: ignore[no-untyped-def]
    a = article(DOCS[i])
    return replace(a, source="outlet0", url=f"https://outlet0.example.ma/p{i}", text=f"{a.text}\n{PROMO}")


def test_line_recurring_on_an_outlets_first_pages_is_stripped_from_all_of_them(engine: Engine) -> None:
    recurring = RecurringLines()
    warmup = Warmup(recurring, pages=6)
    items = [PageResult(with_promo(i), 200, FETCHED) for i in range(0, 60, 10)]
    ready = [r for item in items for r in warmup.admit(item)] + warmup.drain()
    stats = RunStats()
    ids = ensure_sources(engine, [Source(name=o, homepage=f"https://{o}.example.ma/") for o in OUTLETS])
    writer = ArticleWriter(ids, Deduplicator(), stats, recurring)
    with write_transaction(engine) as session:
        for item in ready:
            writer.write(session, item)
    with engine.connect() as conn:
        texts = list(conn.execute(select(CopyRow.text)).scalars())
    assert len(texts) == 6
    assert not any(PROMO in text for text in texts)


def test_outlet_pages_are_held_until_the_warmup_has_seen_enough() -> None:
    warmup = Warmup(RecurringLines(), pages=3)
    first = [warmup.admit(PageResult(with_promo(i), 200, FETCHED)) for i in (0, 10)]
    assert first == [[], []]
    assert len(warmup.admit(PageResult(with_promo(20), 200, FETCHED))) == 3


def test_learned_lines_survive_a_restart(engine: Engine) -> None:
    learned = RecurringLines()
    for i in range(5):
        learned.observe("outlet0", [PROMO], page=f"p{i}")
    with write_transaction(engine) as session:
        save_recurring(session, learned)
    assert load_recurring(engine, ["outlet0"]).is_boilerplate("outlet0", PROMO)


def test_an_outlet_whose_pages_share_no_line_is_learned_once_its_first_pages_are_seen(engine: Engine) -> None:
    first = Warmup(RecurringLines(), pages=3)
    for i in (0, 10, 20):  # three articles, no line in common
        first.admit(PageResult(replace(article(DOCS[i]), source="outlet0", url=f"https://outlet0.example.ma/{i}"), 200,
                              FETCHED))  # fmt: skip
    with write_transaction(engine) as session:
        save_recurring(session, first.recurring, first.learned())
    loaded = load_recurring(engine, ["outlet0"])
    page = PageResult(replace(article(DOCS[30]), source="outlet0", url="https://outlet0.example.ma/30"), 200, FETCHED)
    assert len(Warmup(loaded, pages=3).admit(page)) == 1  # the next run does not hold it back
    assert not loaded.is_boilerplate("outlet0", article(DOCS[30]).text.split("\n")[0])
