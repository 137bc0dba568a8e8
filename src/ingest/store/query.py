"""Reading the canonical articles: one record per story, with every copy that ran it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, and_, exists, select
from sqlalchemy.orm import aliased

from ingest.store.db import in_chunks, read_session
from ingest.store.models import CopyRow, SourceRow, StoryRow
from ingest.text import normalize


@dataclass(frozen=True, slots=True)
class StoryFilter:
    since: datetime | None = None
    until: datetime | None = None
    sources: tuple[str, ...] = ()
    contains: str | None = None
    min_sources: int = 1
    limit: int | None = None
    ids: tuple[int, ...] = ()
    offset: int = 0  # stories skipped, newest first: how a page of results is cut


@dataclass(frozen=True, slots=True)
class CopyView:
    source: str
    url: str
    title: str
    published_at: datetime | None
    similarity: float | None
    join_reason: str | None


@dataclass(frozen=True, slots=True)
class StoryView:
    id: int
    title: str
    text: str
    url: str
    source: str
    published_at: datetime | None
    language: str | None
    source_count: int
    copy_count: int
    sources: list[CopyView] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The documented JSON record (`ingest query --format json|jsonl`)."""
        data = asdict(self)
        data["published_at"] = _iso(self.published_at)
        data["sources"] = [
            {
                "source": c.source,
                "url": c.url,
                "title": c.title,
                "published_at": _iso(c.published_at),
                "similarity": None if c.similarity is None else round(c.similarity, 4),
            }
            for c in self.sources
        ]
        return data


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _story_query(f: StoryFilter) -> Select[StoryRow, CopyRow, str]:
    canonical = aliased(CopyRow)
    # The election sets first_published_at to the earliest date of the story's copies, NULL only
    # when none is dated (so its canonical copy is undated too): ordering and filtering on the
    # indexed column itself lets a page of the newest stories be read from the index instead of
    # sorting every story.
    published = StoryRow.first_published_at
    stmt = (
        select(StoryRow, canonical, SourceRow.name)
        .join(canonical, canonical.id == StoryRow.canonical_copy_id)
        .join(SourceRow, SourceRow.id == canonical.source_id)
        .where(StoryRow.source_count >= f.min_sources)
    )
    if f.ids:
        stmt = stmt.where(StoryRow.id.in_(f.ids))
    if f.since:
        stmt = stmt.where(published >= f.since)
    if f.until:
        stmt = stmt.where(published <= f.until)
    member = aliased(CopyRow)
    if f.sources:
        src = aliased(SourceRow)
        stmt = stmt.where(
            exists().where(and_(member.story_id == StoryRow.id, member.source_id == src.id, src.name.in_(f.sources)))
        )
    if f.contains:
        needle = f"%{_like_escape(normalize(f.contains))}%"
        stmt = stmt.where(
            exists().where(and_(member.story_id == StoryRow.id, member.search_text.like(needle, escape="\\")))
        )
    stmt = stmt.order_by(published.desc().nulls_last(), StoryRow.id.desc())
    if f.limit:
        stmt = stmt.limit(f.limit)
    if f.offset:
        stmt = stmt.offset(f.offset)
    return stmt


def find_stories(engine: Engine, f: StoryFilter) -> list[StoryView]:
    """Stories matching `f`, newest first, each with all its copies (canonical first)."""
    with read_session(engine) as session:
        rows = session.execute(_story_query(f)).all()
        copies = _copies_of(session, [story.id for story, _c, _n in rows])
        return [
            StoryView(
                id=story.id,
                title=canon.title,
                text=canon.text,
                url=canon.url,
                source=source_name,
                published_at=story.first_published_at or canon.published_at,
                language=canon.language,
                source_count=story.source_count,
                copy_count=story.copy_count,
                sources=copies.get(story.id, []),
            )
            for story, canon, source_name in rows
        ]


def _copies_of(session: Any, story_ids: list[int]) -> dict[int, list[CopyView]]:
    out: dict[int, list[CopyView]] = {}
    for chunk in in_chunks(story_ids):
        rows = session.execute(
            select(CopyRow, SourceRow.name, StoryRow.canonical_copy_id)
            .join(SourceRow, SourceRow.id == CopyRow.source_id)
            .join(StoryRow, StoryRow.id == CopyRow.story_id)
            .where(CopyRow.story_id.in_(chunk))
        ).all()
        for copy, name, _canonical_id in sorted(rows, key=lambda r: _canonical_then_chronological(r[0], r[2])):
            view = CopyView(name, copy.url, copy.title, copy.published_at, copy.similarity, copy.join_reason)
            out.setdefault(copy.story_id, []).append(view)
    return out


def _canonical_then_chronological(copy: CopyRow, canonical_id: int | None) -> tuple[bool, bool, datetime, int]:
    return (copy.id != canonical_id, copy.published_at is None, copy.published_at or copy.fetched_at, copy.id)


def known_sources(engine: Engine) -> list[str]:
    """Names of the sources the store has seen, sorted (to tell a misspelt --source at once)."""
    with read_session(engine) as session:
        return sorted(session.scalars(select(SourceRow.name)).all())


@dataclass(frozen=True, slots=True)
class CopyText:
    """A copy's own headline and text, for comparing it with its story's canonical copy."""

    url: str
    title: str
    text: str


def copy_texts(engine: Engine, story_id: int) -> dict[str, CopyText]:
    """Every copy of one story, by URL: the story record carries only the canonical copy's text."""
    with read_session(engine) as session:
        rows = session.execute(select(CopyRow.url, CopyRow.title, CopyRow.text).where(CopyRow.story_id == story_id))
        return {url: CopyText(url, title, text) for url, title, text in rows}
