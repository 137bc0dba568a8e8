"""The writer's last check: a copy whose text the outlet's recurring lines empty is never stored."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from ingest.config import Source
from ingest.dedup.deduplicator import Deduplicator
from ingest.extract.boilerplate import RecurringLines
from ingest.records import Article, RunStats
from ingest.service.pipeline import ArticleWriter, PageResult, ensure_sources
from ingest.store.db import write_transaction
from ingest.store.models import CopyRow

AT = datetime(2025, 11, 4, 9, tzinfo=UTC)
STANDINGS = ["الترتيب", "الوداد 45 نقطة", "الرجاء 42 نقطة", "الجيش الملكي 40 نقطة"]
BRIEF = "توقيف شخص بالدار البيضاء للاشتباه في تورطه في سرقة الهواتف المحمولة من المارة."


def sidebar_article(n: int, *alternatives: tuple[str, str], cut: int = 0) -> Article:
    """What the extractor returned for a page where it took the standings sidebar for the article."""
    text = "\n".join(STANDINGS)
    return Article(f"https://x.ma/a/{n}", "x", f"خبر رقم {n}", text, AT, AT, alternatives=alternatives, cut_chars=cut)


def write(engine: Engine, *articles: Article) -> tuple[RunStats, list[str]]:
    recurring = RecurringLines(k=5)
    for i in range(5):
        recurring.observe("x", STANDINGS, page=f"https://x.ma/old/{i}")
    stats = RunStats()
    writer = ArticleWriter(
        ensure_sources(engine, [Source(name="x", homepage="https://x.ma/")]), Deduplicator(), stats, recurring
    )
    with write_transaction(engine) as session:
        writer.write_all(session, [PageResult(a, 200, AT) for a in articles])
    with engine.connect() as conn:
        texts = list(conn.execute(select(CopyRow.text).order_by(CopyRow.url)).scalars())
    return stats, texts


def test_copy_emptied_by_the_outlets_recurring_lines_is_an_empty_rejection(engine: Engine) -> None:
    stats, texts = write(engine, sidebar_article(1))
    assert texts == []
    assert stats.errors == {"empty": 1}


def test_copy_emptied_by_the_outlets_recurring_lines_is_stored_from_its_next_candidate(engine: Engine) -> None:
    stats, texts = write(engine, sidebar_article(1, ("paragraphs", BRIEF)))
    assert texts == [BRIEF]
    assert stats.errors == {}


def test_a_text_cut_to_the_cap_is_counted(engine: Engine) -> None:
    stats, _ = write(engine, sidebar_article(1, ("paragraphs", BRIEF), cut=1200))
    assert stats.texts_capped == 1


def test_no_stored_copy_is_empty(engine: Engine) -> None:
    write(engine, sidebar_article(1), sidebar_article(2, ("paragraphs", BRIEF)))
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).where(func.trim(CopyRow.text) == "")).scalar() == 0
