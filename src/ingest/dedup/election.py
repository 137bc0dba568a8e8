"""A story's members and the election of its canonical copy: pure, re-run whenever membership changes.

The canonical copy is the earliest published (undated copies last), then the most complete (most
words), then the smallest URL. The store's story ledger (`ingest.store.story_ledger`, the
`StoryLedger` port of `ingest.dedup.ports`) calls `joined` and `left` as placement moves copies, so
the rule has this one home.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["Member", "Story", "election_key", "founded", "joined", "left"]


@dataclass(frozen=True, slots=True)
class Member:
    """What election and counting need of a copy of a story."""

    id: int
    published_at: datetime | None
    fetched_at: datetime
    token_count: int
    url: str
    source_id: int


@dataclass(slots=True)
class Story:
    """A story as a batch sees it. `id` is negative until a story founded in the batch is written."""

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


def election_key(member: Member) -> tuple[bool, float, int, str]:
    """Earliest published first (undated last), then most words, then smallest URL."""
    published = member.published_at
    return (published is None, published.timestamp() if published else 0.0, -member.token_count, member.url)


def founded(story_id: int, member: Member) -> Story:
    """A new story of one copy, its canonical copy."""
    return Story(story_id, {member.id: member}, member.id, member.fetched_at, member.fetched_at)


def joined(story: Story, member: Member) -> None:
    """`member` joins `story`: it becomes canonical if it wins the election against the canonical copy."""
    story.members[member.id] = member
    canonical = story.canonical
    if canonical is None or election_key(member) < election_key(canonical):
        story.canonical_id = member.id
    story.updated_at = member.fetched_at


def left(story: Story, copy_id: int, now: datetime) -> None:
    """A copy leaves `story`: if it was canonical, the story elects again among the rest."""
    story.members.pop(copy_id, None)
    if story.canonical_id == copy_id:
        story.canonical_id = min(story.members.values(), key=election_key).id if story.members else None
    story.updated_at = now
