"""Chrome that survives extraction on single pages is learned per outlet and stripped."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Engine, select

from ingest.store.boilerplate import load_recurring, save_recurring
from ingest.store.db import write_transaction
from ingest.store.models import CopyRow
from tests.store.test_dedup_store import DOCS, article, store

PROMO = "تابعونا على تطبيق الجريدة للهواتف الذكية"


def with_promo(i: int):  # type: ignore[no-untyped-def]
    a = article(DOCS[i])
    return replace(a, source="outlet0", url=f"https://outlet0.example.ma/p{i}", text=f"{a.text}\n{PROMO}")


def test_line_recurring_on_many_pages_of_an_outlet_is_stripped(engine: Engine) -> None:
    store(engine, [with_promo(i) for i in range(0, 60, 10)])
    with engine.connect() as conn:
        texts = list(conn.execute(select(CopyRow.text).order_by(CopyRow.id)).scalars())
    assert PROMO in texts[0]
    assert PROMO not in texts[-1]


def test_learned_lines_survive_a_restart(engine: Engine) -> None:
    from ingest.boilerplate import RecurringLines

    learned = RecurringLines()
    for i in range(5):
        learned.observe("outlet0", [PROMO], page=f"p{i}")
    with write_transaction(engine) as session:
        save_recurring(session, learned)
    assert load_recurring(engine, ["outlet0"]).is_boilerplate("outlet0", PROMO)
