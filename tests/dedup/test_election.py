"""The election of a story's canonical copy, pure (`ingest.dedup.election`): no store needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ingest.dedup.election import Member, election_key, founded, joined, left

T0 = datetime(2025, 6, 1, 8, tzinfo=UTC)


def member(copy_id: int, hours: float | None, words: int = 300, url: str = "") -> Member:
    published = None if hours is None else T0 + timedelta(hours=hours)
    return Member(
        copy_id, published, T0 + timedelta(days=1, minutes=copy_id), words, url or f"https://o.ma/{copy_id}", 1
    )


def test_the_earliest_published_copy_wins_then_the_longest_then_the_smallest_url() -> None:
    undated, late, early_short, early_long = member(1, None), member(2, 5), member(3, 1, 200), member(4, 1, 400)
    same_a, same_b = member(5, 1, 400, "https://a.ma/x"), member(6, 1, 400, "https://b.ma/x")
    ranked = sorted([undated, late, early_short, early_long, same_b, same_a], key=election_key)
    assert [m.id for m in ranked] == [5, 6, 4, 3, 2, 1]


def test_a_joining_copy_is_elected_only_if_it_wins_and_the_story_records_the_change() -> None:
    story = founded(-1, member(1, 3))
    joined(story, member(2, 5))
    assert story.canonical_id == 1
    joined(story, member(3, 1))
    assert (story.canonical_id, story.updated_at) == (3, member(3, 1).fetched_at)


def test_the_canonical_copy_leaving_elects_the_best_of_the_rest_and_the_last_leaves_none() -> None:
    story = founded(-1, member(1, 3))
    joined(story, member(2, None))
    joined(story, member(3, 4))
    left(story, 1, T0)
    assert story.canonical_id == 3
    left(story, 3, T0)
    left(story, 2, T0)
    assert (story.canonical_id, story.members, story.updated_at) == (None, {}, T0)
