"""The ground truth is consistent with itself, with the content and with the brief."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from datetime import datetime, timedelta

from ingest.demo import GroundTruth, build_ground_truth
from ingest.demo.truth import truth_path


def _shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text)
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _jaccard(a: str, b: str) -> float:
    sa, sb = _shingles(a), _shingles(b)
    return len(sa & sb) / max(1, len(sa | sb))


def test_ground_truth_regenerates_identically() -> None:
    shipped = json.loads(truth_path().read_text(encoding="utf-8"))
    assert shipped == build_ground_truth(), "run: python -m ingest.demo truth"


def test_ground_truth_has_at_least_seventy_stored_articles(truth: GroundTruth) -> None:
    assert len(truth.stored_pages()) >= 70
    keys = [(p["outlet"], p["path"]) for p in truth.pages]
    assert len(keys) == len(set(keys))
    assert len({p["title"] for p in truth.stored_pages()}) == len(truth.stored_pages())


def test_ground_truth_syndicated_stories_span_several_outlets(truth: GroundTruth) -> None:
    syndicated = truth.syndicated()
    assert len(syndicated) >= 10
    for story, keys in syndicated.items():
        outlets = [k.split(":")[0] for k in keys]
        assert 2 <= len(outlets) <= 5 and len(set(outlets)) == len(outlets), story
        pages = [truth.page(*k.split(":", 1)) for k in keys]
        assert len({p["title"] for p in pages}) == len(pages), f"{story}: every outlet writes its own headline"
        assert len({p["text"] for p in pages}) == len(pages), f"{story}: every copy is edited"


def test_syndicated_copies_overlap_far_more_than_distinct_stories(truth: GroundTruth) -> None:
    for story, keys in truth.syndicated().items():
        texts = [truth.page(*k.split(":", 1))["text"] for k in keys]
        assert max(_jaccard(a, b) for a, b in itertools.combinations(texts, 2)) >= 0.5, story
    stored = truth.stored_pages()
    for a, b in itertools.combinations(stored, 2):
        if a["story"] != b["story"]:
            assert _jaccard(a["text"], b["text"]) < 0.2, (a["story"], b["story"])


def test_same_topic_stories_are_distinct_stories(truth: GroundTruth) -> None:
    botola = truth.topics["botola"]
    assert len(botola) >= 12
    for story in botola:
        assert len(truth.stories[story]) == 1, story  # each match report is its own story
    assert len({truth.page(*truth.stories[s][0].split(":", 1))["outlet"] for s in botola}) >= 5


def test_recurring_daily_formats_are_distinct_days(truth: GroundTruth) -> None:
    for topic in ("meteo-daily", "change-daily"):
        stories = truth.topics[topic]
        assert len(stories) >= 3, topic
        days = {truth.page(*truth.stories[s][0].split(":", 1))["published_at"][:10] for s in stories}
        assert len(days) == len(stories), topic


def test_french_pages_are_their_own_stories(truth: GroundTruth) -> None:
    french = [p for p in truth.stored_pages() if p["language"] == "fr"]
    assert len(french) >= 4
    for page in french:
        languages = {truth.page(*k.split(":", 1))["language"] for k in truth.stories[page["story"]]}
        assert languages == {"fr"}, page["story"]
    assert "s-tanger-med-trafic-fr" in truth.stories and "s-tanger-med-trafic" in truth.stories


def test_dates_are_utc_in_a_few_weeks_of_2025(truth: GroundTruth) -> None:
    stamps = [datetime.fromisoformat(p["published_at"]) for p in truth.stored_pages()]
    assert all(s.utcoffset() == timedelta(0) for s in stamps)
    assert min(stamps).year == 2025 and max(stamps) - min(stamps) < timedelta(weeks=5)


def test_bodies_have_realistic_lengths(truth: GroundTruth) -> None:
    words = [len(p["text"].split()) for p in truth.stored_pages()]
    paragraphs = [p["text"].count("\n") + 1 for p in truth.stored_pages()]
    assert max(words) <= 700 and min(paragraphs) >= 2 and max(paragraphs) <= 10
    assert sum(1 for w in words if w <= 90) >= 3  # a few short briefs
    assert sum(1 for w in words if w >= 150) >= len(words) // 3


def test_chrome_phrases_never_appear_in_ground_truth_text(truth: GroundTruth) -> None:
    assert len(truth.chrome_phrases) >= 20
    for page in truth.pages:
        for phrase in truth.chrome_phrases:
            assert phrase not in page["text"] and phrase not in page["title"], (phrase, page["path"])


def test_every_page_says_what_is_expected(truth: GroundTruth) -> None:
    assert Counter(p["expect"] for p in truth.pages).keys() <= {"stored", "rejected", "not-fetched"}
    for page in truth.pages:
        assert (page["story"] is not None) == (page["expect"] == "stored"), page["path"]
    for case in truth.hostile:
        assert case["expect"] in ("stored", "rejected", "not-fetched", "bounded"), case
        if case["target"]:
            outlet, path = case["target"].split(":", 1)
            assert truth.page(outlet, path)["expect"] == "stored"


def test_stories_index_lists_exactly_the_stored_pages(truth: GroundTruth) -> None:
    listed = sorted(k for keys in truth.stories.values() for k in keys)
    assert listed == sorted(f"{p['outlet']}:{p['path']}" for p in truth.stored_pages())
