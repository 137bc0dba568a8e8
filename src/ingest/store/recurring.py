"""Persisting the per-outlet recurring-line table, so chrome learned in one run is stripped in the next."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ingest.extract.boilerplate import RecurringLines
from ingest.store.db import in_chunks, read_session, upsert
from ingest.store.models import BoilerplateRow


def load_recurring(engine: Engine, sources: Iterable[str]) -> RecurringLines:
    names = list(sources)
    with read_session(engine) as session:
        rows = session.execute(
            select(BoilerplateRow.source, BoilerplateRow.fingerprint, BoilerplateRow.pages_seen).where(
                BoilerplateRow.source.in_(names)
            )
        ).all()
    return RecurringLines.from_rows((r.source, r.fingerprint, r.pages_seen) for r in rows)


# The row that marks an outlet whose first pages were all seen (its warm-up is done), so that it is
# known as learned even when no line recurs on its pages: such an outlet was otherwise held back
# again in every run, and a run killed before its twelfth page stored none of its pages. Counted on
# one page, it never makes a line chrome (that takes `RecurringLines.k` pages).
LEARNED_MARK = 0


def save_recurring(session: Session, recurring: RecurringLines, learned: Iterable[str] = ()) -> None:
    """Upsert every line seen on two pages or more (lines seen once are the article prose), and the
    mark of each outlet in `learned`."""
    rows = [{"source": s, "fingerprint": fp, "pages_seen": n} for s, fp, n in recurring.to_rows() if n >= 2]
    rows += [{"source": s, "fingerprint": LEARNED_MARK, "pages_seen": 1} for s in learned]
    table = BoilerplateRow.__table__
    for chunk in in_chunks(rows, 1000):
        upsert(
            session,
            table,
            chunk,
            ["source", "fingerprint"],
            lambda ex: (
                {"pages_seen": func.max(ex.pages_seen, table.c.pages_seen)}
                if session.get_bind().dialect.name == "sqlite"
                else {"pages_seen": func.greatest(ex.pages_seen, table.c.pages_seen)}
            ),
        )
