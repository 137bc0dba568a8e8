"""The stories a batch of placements touches, held in memory for one write transaction.

Placing copies one statement at a time costs ~6 round trips per copy (read the candidates,
their stories, the story's members; write the copy, the story, its election), more than the
decisions themselves. A `StoryBook` reads what a batch needs in a few bulk queries, lets
placement decide in memory, copies placed earlier in the batch being visible to later ones,
and writes every change back in a few executemany statements.

A book lives for one transaction: the store's writer lock keeps other processes out while it
is open, so what it holds cannot go stale.

Election, kept here because every change of membership re-runs it: the canonical copy is the
earliest published (undated copies last), then the most complete (most words), then the
smallest URL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, insert, select, update

from ingest.dedup.fingerprint import Fingerprint, body_text
from ingest.store.db import allocate_ids, in_chunks
from ingest.store.models import CopyRow, StoryRow

__all__ = ["Member", "StoredCopy", "Story", "StoryBook", "election_key"]

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
    .where(CopyRow.story_id.in_(bindparam("stories", expanding=True)))
)
# New stories get their ids from `allocate_ids` and are inserted without a canonical copy: it is
# a copy of this batch, stored (by the caller) after its story, then set by the election.
_NEW_STORIES = insert(StoryRow)
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
_DELETE_STORY = delete(StoryRow).where(StoryRow.id == bindparam("story"))


@dataclass(frozen=True, slots=True)
class Member:
    """What election and counting need of a copy of a story."""

    id: int
    published_at: datetime | None
    fetched_at: datetime
    token_count: int
    url: str
    source_id: int


@dataclass(frozen=True, slots=True)
class StoredCopy:
    """What verification needs of a copy: its fingerprint and publication time."""

    id: int
    published_at: datetime | None
    fp: Fingerprint
    content_hash: str = ""  # which text `fp` is of (a re-fetched copy may have changed)


@dataclass(slots=True)
class Story:
    """A story as the batch sees it. `id` is negative until a story founded here is written."""

    id: int
    members: dict[int, Member]
    canonical_id: int | None
    updated_at: datetime | None = None  # set when its membership changed in this batch
    created_at: datetime | None = None  # of a story founded in this batch

    @property
    def canonical(self) -> Member | None:
        return self.members.get(self.canonical_id) if self.canonical_id is not None else None

    def recent(self, limit: int) -> list[int]:
        """Its `limit` most recently fetched copies: a long-running story is judged on a sample."""
        newest = sorted(self.members.values(), key=lambda m: (m.fetched_at, m.id), reverse=True)
        return [m.id for m in newest[:limit]]


@dataclass(frozen=True, slots=True)
class _Placed:
    story_id: int | None
    similarity: float | None
    reason: str | None
    also: tuple[tuple[int, float], ...]  # other stories it verified against, with their score
    stored: bool  # the copy's row exists (else the caller inserts it, with its placement)


def election_key(member: Member) -> tuple[bool, float, int, str]:
    """Earliest published first (undated last), then most words, then smallest URL."""
    published = member.published_at
    return (published is None, published.timestamp() if published else 0.0, -member.token_count, member.url)


@dataclass
class StoryBook:
    """Copies and stories read for one batch, and the changes placement made to them."""

    conn: Connection
    fingerprint_of: Callable[[Row[*tuple[Any, ...]]], Fingerprint]  # a stored copy's fingerprint, from its row
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
        for chunk in in_chunks(wanted):
            for row in self.conn.execute(_COPIES, {"ids": chunk}):
                self.copies[row.id] = StoredCopy(row.id, row.published_at, self.fingerprint_of(row), row.content_hash)
                self.story_of[row.id] = row.story_id
                if row.story_id is not None:
                    stories.add(row.story_id)
        self.load_stories(stories)

    def load_stories(self, ids: Iterable[int]) -> None:
        """Read the stories `ids` not held yet, with every member's election facts."""
        wanted = sorted(set(ids) - self.stories.keys())
        for chunk in in_chunks(wanted):
            for row in self.conn.execute(_MEMBERS, {"stories": chunk}):
                story = self.stories.get(row.story_id)
                if story is None:
                    story = self.stories[row.story_id] = Story(row.story_id, {}, row.canonical_copy_id)
                story.members[row.id] = Member(
                    row.id, row.published_at, row.fetched_at, row.token_count, row.url, row.source_id
                )
                self.story_of.setdefault(row.id, row.story_id)

    def copy(self, copy_id: int) -> StoredCopy | None:
        if copy_id not in self.copies:
            self.load([copy_id])
        return self.copies.get(copy_id)

    def text(self, copy_id: int) -> str:
        """A stored copy's fingerprinted text ("" if it is not stored): read only for the pairs `align` needs."""
        if copy_id not in self._texts:
            raw = self.conn.scalar(select(CopyRow.text).where(CopyRow.id == copy_id))
            self._texts[copy_id] = body_text(raw or "")
        return self._texts[copy_id]

    # -- changes ------------------------------------------------------------------------------
    def found(self, member: Member) -> Story:
        """A new story of one copy (written, and given its id, by `write`)."""
        self._founded += 1
        story = Story(-self._founded, {member.id: member}, member.id, member.fetched_at, member.fetched_at)
        self.stories[story.id] = story
        return story

    def join(self, story_id: int, member: Member) -> None:
        story = self.stories[story_id]
        story.members[member.id] = member
        canonical = story.canonical
        if canonical is None or election_key(member) < election_key(canonical):
            story.canonical_id = member.id
        story.updated_at = member.fetched_at

    def leave(self, story_id: int | None, copy_id: int, now: datetime) -> None:
        """Take a copy out of its story (re-electing it; a story left empty is deleted)."""
        story = self.stories.get(story_id) if story_id is not None else None
        if story is not None:
            story.members.pop(copy_id, None)
            if story.canonical_id == copy_id:
                story.canonical_id = min(story.members.values(), key=election_key).id if story.members else None
            story.updated_at = now
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
    def write(self, insert_new: Callable[[Mapping[int, dict[str, Any]]], None] | None = None) -> dict[int, int]:
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
            self.conn.execute(_ELECT, kept)
        if emptied := [{"story": s.id} for s in changed if not s.members]:
            self.conn.execute(_DELETE_STORY, emptied)
        return written

    def _insert_founded(self) -> dict[int, int]:
        founded = [s for s in self.stories.values() if s.id < 0]
        ids = allocate_ids(self.conn, StoryRow.__tablename__, len(founded))
        written = dict(zip((s.id for s in founded), ids, strict=True))
        if founded:
            rows = [{"id": written[s.id], "created_at": s.created_at, "updated_at": s.updated_at} for s in founded]
            self.conn.execute(_NEW_STORIES, rows)
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
