"""The store's story ledger: the copies and stories a batch of placements touches, for one write transaction.

`DbStoryLedger` implements `ingest.dedup.ports.StoryLedger`. Placing copies one statement at a
time costs ~6 round trips per copy (read the candidates, their stories, the story's members;
write the copy, the story, its election), more than the decisions themselves. The ledger reads
what a batch needs in a few bulk queries, lets placement decide in memory, copies placed earlier
in the batch being visible to later ones, and writes every change back in a few executemany
statements. The election it re-runs on every change of membership is dedup's
(`ingest.dedup.election`).

A ledger lives for one transaction: the store's writer lock keeps other processes out while it
is open, so what it holds cannot go stale.

The functions below it are the other reads and writes of the dedup commands (`ingest db reindex`,
`ingest explain`, through `ingest.service.reindex` and `ingest.service.explain`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Executable, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from ingest.dedup import election
from ingest.dedup.deduplicator import NewCopy
from ingest.dedup.election import Member, Story
from ingest.dedup.fingerprint import body_text
from ingest.dedup.ports import CopyColumns, InsertNew, StoredCopy, StoredFingerprint, StoredSignature
from ingest.store.db import allocate_ids, copy_rows, in_chunks, psycopg_connection
from ingest.store.models import CopyRow, StoryRow, UTCDateTime

__all__ = ["DbStoryLedger"]

_COPIES = select(
    CopyRow.id,
    CopyRow.story_id,
    CopyRow.published_at,
    CopyRow.content_hash,
    CopyRow.signature,
    CopyRow.shingles,
    CopyRow.numbers,
    CopyRow.token_count,
).where(CopyRow.id.in_(bindparam("ids", expanding=True)))
_MEMBERS = (
    select(
        CopyRow.story_id,
        StoryRow.canonical_copy_id,
        CopyRow.id,
        CopyRow.published_at,
        CopyRow.fetched_at,
        CopyRow.token_count,
        CopyRow.url,
        CopyRow.source_id,
    )
    .join(StoryRow, StoryRow.id == CopyRow.story_id)
    .where(CopyRow.story_id.in_(bindparam("ids", expanding=True)))
)
# The same reads on PostgreSQL, through the driver with the ids as one array parameter: one
# statement text whatever the count, so psycopg prepares it once per connection.
_COPIES_TABLE, _STORIES_TABLE = CopyRow.__tablename__, StoryRow.__tablename__
_PG_COPIES = (
    "SELECT id, story_id, published_at, content_hash, signature, shingles, numbers, token_count"
    f" FROM {_COPIES_TABLE} WHERE id = ANY(%s::integer[])"
)
_PG_MEMBERS = (
    "SELECT c.story_id, s.canonical_copy_id, c.id, c.published_at, c.fetched_at, c.token_count, c.url, c.source_id"
    f" FROM {_COPIES_TABLE} c JOIN {_STORIES_TABLE} s ON s.id = c.story_id WHERE c.story_id = ANY(%s::integer[])"
)
# New stories get their ids from `allocate_ids` and are inserted without a canonical copy: it is
# a copy of this batch, stored (by the caller) after its story, then set by the election.
_NEW_STORIES = insert(StoryRow)
_STORY_COLUMNS = ("id", "created_at", "updated_at")
# Rows of placement columns plus "copy_id": the SET clause is the rows' columns.
_SET_STORY = update(CopyRow).where(CopyRow.id == bindparam("copy_id"))
_ELECT = (
    update(StoryRow)
    .where(StoryRow.id == bindparam("story"))
    .values(
        canonical_copy_id=bindparam("canonical"),
        first_published_at=bindparam("first"),
        copy_count=bindparam("copies"),
        source_count=bindparam("sources"),
        updated_at=bindparam("now"),
    )
)
_UTC = UTCDateTime()
_ELECT_COLUMNS = ("story", "canonical", "first", "copies", "sources", "now")
_PG_ELECT = (
    f"UPDATE {_STORIES_TABLE} AS s SET canonical_copy_id = v.canonical, first_published_at = v.first,"
    " copy_count = v.copies, source_count = v.sources, updated_at = v.now"
    " FROM unnest(%s::integer[], %s::integer[], %s::timestamptz[], %s::integer[], %s::integer[], %s::timestamptz[])"
    " AS v(story, canonical, first, copies, sources, now) WHERE s.id = v.story"
)
_DELETE_STORY = delete(StoryRow).where(StoryRow.id == bindparam("story"))


@dataclass(frozen=True, slots=True)
class _Placed:
    story_id: int | None
    similarity: float | None
    reason: str | None
    also: tuple[tuple[int, float], ...]  # other stories it verified against, with their score
    stored: bool  # the copy's row exists (else the caller inserts it, with its placement)


@dataclass
class DbStoryLedger:
    """Copies and stories read for one batch, and the changes placement made to them
    (`ingest.dedup.ports.StoryLedger` on the store)."""

    conn: Connection
    stored_fingerprint: StoredFingerprint  # a stored copy's Fingerprint, from its columns
    copies: dict[int, StoredCopy] = field(default_factory=dict)
    story_of: dict[int, int | None] = field(default_factory=dict)  # copy id -> story id
    stories: dict[int, Story] = field(default_factory=dict)
    _placed: dict[int, _Placed] = field(default_factory=dict)
    _founded: int = 0
    _texts: dict[int, str] = field(default_factory=dict)

    # -- reads --------------------------------------------------------------------------------
    def load(self, ids: Iterable[int]) -> None:
        """Read the copies `ids` not held yet, and the stories they belong to."""
        wanted = sorted(set(ids) - self.copies.keys())
        stories: set[int] = set()
        for copy_id, story_id, published_at, content_hash, signature, shingles, numbers, tokens in self._rows(
            _COPIES, _PG_COPIES, (2,), wanted
        ):
            columns = CopyColumns(copy_id, content_hash, signature, shingles, numbers, tokens)
            fp = self.stored_fingerprint(columns, self.stored_text)
            self.copies[copy_id] = StoredCopy(copy_id, published_at, fp, content_hash)
            self.story_of[copy_id] = story_id
            if story_id is not None:
                stories.add(story_id)
        self.load_stories(stories)

    def load_stories(self, ids: Iterable[int]) -> None:
        """Read the stories `ids` not held yet, with every member's election facts."""
        wanted = sorted(set(ids) - self.stories.keys())
        for story_id, canonical_id, copy_id, published_at, fetched_at, tokens, url, source_id in self._rows(
            _MEMBERS, _PG_MEMBERS, (3, 4), wanted
        ):
            story = self.stories.get(story_id)
            if story is None:
                story = self.stories[story_id] = Story(story_id, {}, canonical_id)
            story.members[copy_id] = Member(copy_id, published_at, fetched_at, tokens, url, source_id)
            self.story_of.setdefault(copy_id, story_id)

    def _rows(
        self, statement: Executable, pg_sql: str, datetimes: tuple[int, ...], ids: list[int]
    ) -> Iterator[Sequence[Any]]:
        """The rows of `statement` (one expanding IN parameter) for `ids`, as plain tuples.

        On PostgreSQL through psycopg: one query with the ids as one array parameter (`pg_sql`),
        rows fetched at once in binary from a plain driver cursor, its datetimes made UTC by
        `UTCDateTime`. At a million stored copies a batch reads thousands of candidate
        and member rows: SQLAlchemy's row-by-row fetch and result processing cost more than the
        server spent on the queries, and IN lists of varying length were parsed and planned anew.
        Elsewhere: `statement`, `in_chunks` at a time (SQLite is in-process: no round trip to save).
        """
        if not ids:
            return
        raw = psycopg_connection(self.conn)
        if raw is None:
            for chunk in in_chunks(ids):
                yield from self.conn.execute(statement, {"ids": chunk})
            return
        with raw.cursor(binary=True) as cursor:
            rows = cursor.execute(pg_sql, (ids,)).fetchall()
        dialect = self.conn.dialect
        for row in rows:
            values = list(row)
            for i in datetimes:
                values[i] = _UTC.process_result_value(values[i], dialect)
            yield values

    def copy(self, copy_id: int) -> StoredCopy | None:
        if copy_id not in self.copies:
            self.load([copy_id])
        return self.copies.get(copy_id)

    def text(self, copy_id: int) -> str:
        """A stored copy's fingerprinted text ("" if it is not stored): read only for the pairs `align` needs."""
        if copy_id not in self._texts:
            self._texts[copy_id] = body_text(self.stored_text(copy_id))
        return self._texts[copy_id]

    def stored_text(self, copy_id: int) -> str:
        """A stored copy's whole text, as stored ("" if it is not stored)."""
        return self.conn.scalar(select(CopyRow.text).where(CopyRow.id == copy_id)) or ""

    # -- changes ------------------------------------------------------------------------------
    def found(self, member: Member) -> Story:
        """A new story of one copy (written, and given its id, by `write`)."""
        self._founded += 1
        story = election.founded(-self._founded, member)
        self.stories[story.id] = story
        return story

    def join(self, story_id: int, member: Member) -> None:
        election.joined(self.stories[story_id], member)

    def leave(self, story_id: int | None, copy_id: int, now: datetime) -> None:
        """Take a copy out of its story (re-electing it; a story left empty is deleted)."""
        story = self.stories.get(story_id) if story_id is not None else None
        if story is not None:
            election.left(story, copy_id, now)
        self.story_of[copy_id] = None
        self._placed[copy_id] = _Placed(None, None, None, (), stored=True)

    def place(
        self,
        copy: StoredCopy,
        story_id: int,
        similarity: float | None,
        reason: str,
        also: tuple[tuple[int, float], ...] = (),
        stored: bool = True,
    ) -> None:
        """Record where `copy` went; it is a candidate of the batch's later copies from now on.

        A copy not `stored` yet is inserted by `write`'s caller, with its placement columns."""
        self.copies[copy.id] = copy
        self.story_of[copy.id] = story_id
        self._placed[copy.id] = _Placed(story_id, similarity, reason, also, stored)

    # -- write back ---------------------------------------------------------------------------
    def write(self, insert_new: InsertNew | None = None) -> dict[int, int]:
        """Write the batch back in foreign-key order: new stories, new copies, placements, elections.

        `insert_new` stores the copies placed here but not stored yet, given their placement
        columns (story_id, similarity, join_reason) by copy id. Returns the ids the new stories
        got, by their temporary (negative) ids."""
        written = self._insert_founded()

        def resolve(story_id: int) -> int:
            return written.get(story_id, story_id)

        columns = {c: _placement_columns(p, resolve) for c, p in self._placed.items()}
        if new := {c: columns[c] for c, p in self._placed.items() if not p.stored}:
            if insert_new is None:
                raise ValueError(f"{len(new)} placed copies are not stored and nothing stores them")
            insert_new(new)
        if stored := [{"copy_id": c, **columns[c]} for c, p in self._placed.items() if p.stored]:
            self.conn.execute(_SET_STORY, stored)
        changed = [s for s in self.stories.values() if s.updated_at is not None]
        if kept := [_election_row(s, resolve) for s in changed if s.members]:
            self._elect(kept)
        if emptied := [{"story": s.id} for s in changed if not s.members]:
            self.conn.execute(_DELETE_STORY, emptied)
        return written

    def _elect(self, rows: list[dict[str, Any]]) -> None:
        """Store the stories' elections (`_election_row`s).

        On PostgreSQL through psycopg: one UPDATE joined with the rows as arrays (`_PG_ELECT`),
        not an executemany: that sent a Bind and an Execute per story, ~9,500 for 10,000 copies placed.
        """
        raw = psycopg_connection(self.conn)
        if raw is None:
            self.conn.execute(_ELECT, rows)
            return
        bind = _UTC.process_bind_param  # raises on a naive datetime, as the statement's own binding does
        dialect = self.conn.dialect
        columns = [
            [bind(row[name], dialect) for row in rows] if name in ("first", "now") else [row[name] for row in rows]
            for name in _ELECT_COLUMNS
        ]
        with raw.cursor() as cursor:
            cursor.execute(_PG_ELECT, columns)

    def _insert_founded(self) -> dict[int, int]:
        founded = [s for s in self.stories.values() if s.id < 0]
        ids = allocate_ids(self.conn, StoryRow.__tablename__, len(founded))
        written = dict(zip((s.id for s in founded), ids, strict=True))
        if founded:
            rows = [(written[s.id], s.created_at, s.updated_at) for s in founded]
            if not copy_rows(self.conn, StoryRow, _STORY_COLUMNS, rows):
                self.conn.execute(_NEW_STORIES, [dict(zip(_STORY_COLUMNS, r, strict=True)) for r in rows])
        return written


def _placement_columns(placed: _Placed, resolve: Callable[[int], int]) -> dict[str, Any]:
    """A copy row's placement columns."""
    story = resolve(placed.story_id) if placed.story_id is not None else None
    reason = placed.reason
    if placed.also:
        others = ", ".join(f"story {resolve(s)} ({score:.2f})" for s, score in placed.also)
        reason = f"{placed.reason}; also matched {others}, joined the best"
    return {"story_id": story, "similarity": placed.similarity, "join_reason": reason}


def _election_row(story: Story, resolve: Callable[[int], int]) -> dict[str, Any]:
    dates = [m.published_at for m in story.members.values() if m.published_at is not None]
    return {
        "story": resolve(story.id),
        "canonical": story.canonical_id,
        "first": min(dates) if dates else None,
        "copies": len(story.members),
        "sources": len({m.source_id for m in story.members.values()}),
        "now": story.updated_at,
    }


# -- the dedup commands' reads and writes ----------------------------------------------------------


def copies_by_id(session: Session, batch: int) -> Iterator[list[StoredSignature]]:
    """Every stored copy's `StoredSignature`, `batch` at a time in id order (`ingest db reindex`)."""
    conn = session.connection()
    last = 0
    cols = (CopyRow.id, CopyRow.signature, CopyRow.published_at, CopyRow.text)
    while rows := conn.execute(select(*cols).where(CopyRow.id > last).order_by(CopyRow.id).limit(batch)).all():
        yield [StoredSignature(r.id, r.signature, r.published_at, r.text or "") for r in rows]
        last = rows[-1].id


def drop_stories(session: Session) -> list[int]:
    """Take every copy out of its story and delete the stories; returns the copy ids in publication
    order (undated last), the order `ingest db reindex --replace` places them in again."""
    conn = session.connection()
    conn.execute(update(CopyRow).values(story_id=None, similarity=None, join_reason=None))
    conn.execute(delete(StoryRow))
    order = (CopyRow.published_at.is_(None), CopyRow.published_at, CopyRow.id)
    return list(conn.execute(select(CopyRow.id).order_by(*order)).scalars())


def copies_to_place(session: Session, ids: Sequence[int]) -> list[tuple[NewCopy, str]]:
    """The stored copies `ids`, in that order, as placement takes them, each with its text."""
    cols = (CopyRow.id, CopyRow.published_at, CopyRow.fetched_at, CopyRow.content_hash, CopyRow.url)
    query = select(*cols, CopyRow.source_id, CopyRow.text).where(CopyRow.id.in_(ids))
    rows = {r.id: r for r in session.connection().execute(query)}
    return [
        (NewCopy(r.id, r.published_at, r.fetched_at, r.content_hash, r.url, r.source_id), r.text or "")
        for r in (rows[i] for i in ids)
    ]


def rewrite_fingerprints(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Store recomputed fingerprint columns: rows of "copy_id" plus the columns to set."""
    if rows:
        session.connection().execute(update(CopyRow).where(CopyRow.id == bindparam("copy_id")), rows)


def copy_at(session: Session, url: str) -> CopyRow | None:
    """The copy stored under `url`, else one fetched from it."""
    return session.scalar(select(CopyRow).where(CopyRow.url == url)) or session.scalar(
        select(CopyRow).where(CopyRow.fetched_url == url).limit(1)
    )


def canonical_copy_of(session: Session, story_id: int | None) -> int | None:
    """The canonical copy of a story (None for no story)."""
    story = session.get(StoryRow, story_id) if story_id is not None else None
    return story.canonical_copy_id if story is not None else None


def urls_of(session: Session, ids: Sequence[int]) -> dict[int, str]:
    return dict(session.execute(select(CopyRow.id, CopyRow.url).where(CopyRow.id.in_(ids))).all())
