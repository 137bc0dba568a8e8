"""Specification of `ingest.dedup.similarity`: what verifies as one story, and why not."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from ingest.dedup.fingerprint import DEFAULT, Fingerprint, fingerprint
from ingest.dedup.similarity import compare, verify
from ingest_dev.devset import DevDoc, base_stories, generate, hard_negative_groups

_T0 = datetime(2025, 5, 16, 11, 0)


def _story(story_id: str) -> str:
    story = next(s for s in base_stories() if s.story_id == story_id)
    return "\n".join([story.headline, *story.paragraphs])


def _paragraphs(story_id: str) -> list[str]:
    story = next(s for s in base_stories() if s.story_id == story_id)
    return [story.headline, *story.paragraphs]


def _fp(shingles: list[int]) -> Fingerprint:
    arr = np.array(sorted(set(shingles)), dtype=np.uint32)
    return Fingerprint(arr, np.zeros(DEFAULT.num_perm, np.uint32), frozenset(), len(arr))


def test_compare_computes_exact_jaccard_and_containment_over_the_smaller_set() -> None:
    sim = compare(_fp(list(range(10))), _fp(list(range(5, 25))))
    assert sim.jaccard == pytest.approx(5 / 25)
    assert sim.containment == pytest.approx(5 / 10)


def test_compare_of_empty_fingerprint_is_zero() -> None:
    assert compare(_fp([]), _fp([1, 2, 3])) == compare(_fp([1]), _fp([]))


def test_identical_texts_verify() -> None:
    fp = fingerprint(_story("tour-01"))
    verdict = verify(fp, fp, _T0, _T0)
    assert verdict.same_story and verdict.score == pytest.approx(1.0)
    assert verdict.reason.startswith("containment 1.00 >=")


def test_trimmed_copy_verifies() -> None:
    paragraphs = _paragraphs("court-01")
    original, trimmed = "\n".join(paragraphs), "\n".join(paragraphs[:3])
    assert verify(fingerprint(original), fingerprint(trimmed), _T0, _T0 + timedelta(hours=3)).same_story


def test_copy_with_dateline_closing_and_new_headline_verifies() -> None:
    paragraphs = _paragraphs("seiz-01")
    copy = "\n".join(["عاجل: حجز أطنان من المخدرات", "الرباط- متابعة", *paragraphs[1:], "(ومع)"])
    assert verify(fingerprint("\n".join(paragraphs)), fingerprint(copy)).same_story


def test_copies_published_too_far_apart_do_not_verify() -> None:
    fp = fingerprint(_story("book-01"))
    verdict = verify(fp, fp, _T0, _T0 + timedelta(days=9))
    assert not verdict.same_story and verdict.reason == "published 9 days apart"


def test_unknown_publication_time_does_not_block() -> None:
    fp = fingerprint(_story("book-01"))
    assert verify(fp, fp, _T0, None).same_story


def test_naive_and_aware_times_compare() -> None:
    fp = fingerprint(_story("book-01"))
    assert verify(fp, fp, _T0, _T0.replace(tzinfo=UTC) + timedelta(hours=1)).same_story


def test_template_fillings_with_other_numbers_do_not_verify() -> None:
    a, b = fingerprint(_story("wx-01")), fingerprint(_story("wx-02"))
    verdict = verify(a, b, _T0, _T0 + timedelta(days=1))
    assert compare(a, b).containment >= DEFAULT.min_containment  # the wording alone would merge them
    assert not verdict.same_story and verdict.reason.startswith("numbers differ")


def test_exchange_rate_notes_of_two_weeks_do_not_verify() -> None:
    assert not verify(fingerprint(_story("fx-01")), fingerprint(_story("fx-02")), params=DEFAULT).same_story


def test_low_containment_reason_names_the_measure() -> None:
    verdict = verify(fingerprint(_story("anniv-01")), fingerprint(_story("anniv-02")))
    assert not verdict.same_story and verdict.reason.startswith("containment 0.")


def test_too_short_texts_do_not_verify() -> None:
    fp = fingerprint("عاجل: زلزال")
    assert verify(fp, fp).reason.startswith("too short")


def test_no_two_distinct_stories_of_a_hard_negative_family_verify() -> None:
    texts = {s.story_id: _story(s.story_id) for s in base_stories()}
    for family in hard_negative_groups().values():
        for a, b in itertools.combinations(family, 2):
            assert not verify(fingerprint(texts[a]), fingerprint(texts[b])).same_story, (a, b)


def _family_false_merges(docs: list[DevDoc]) -> list[tuple[str, str, str]]:
    family = {s.story_id: s.group for s in base_stories()}
    fps = {d.doc_id: fingerprint(d.text) for d in docs}
    merges = []
    for a, b in itertools.combinations(docs, 2):
        if a.story_id != b.story_id and family[a.story_id] == family[b.story_id] != "none":
            verdict = verify(fps[a.doc_id], fps[b.doc_id], a.published_at, b.published_at)
            if verdict.same_story:
                merges.append((a.doc_id, b.doc_id, verdict.reason))
    return merges


# Fixed seeds, so the suite cannot fail by the draw; with the defaults tuned on real syndication,
# none of 2,000 seeds (1000-2999) merges two stories of one family (11 did before `late_hours`).
@pytest.mark.parametrize("seed", range(0, 300, 30))
def test_dev_set_hard_negatives_do_not_verify(seed: int) -> None:
    # Edited copies of distinct same-family stories: headlines, datelines, trims, related blocks.
    assert _family_false_merges(generate(seed, bare_related_blocks=False)) == []


def test_two_communiques_sharing_one_boilerplate_sentence_stay_apart() -> None:
    # Seed 797 once merged the two government-council communiqués through sentence alignment,
    # when the alignment began at containment 0.35.
    assert _family_false_merges(generate(797, bare_related_blocks=False)) == []


def test_a_communique_trimmed_to_its_template_sentences_stays_apart() -> None:
    # Seed 1775: a trimmed, respelled communiqué whose four sentences are all the council's template
    # (lead, spokesman, appointments) aligns with the next week's at containment 0.40. A stricter
    # sentence match (0.5) or alignment floor (0.45) cost 3-5 of the 80 ANT tuning-half copies; the
    # week between them is what tells them apart (`DedupParams.late_hours`).
    merges = _family_false_merges(generate(1775, bare_related_blocks=False))
    assert merges == []


@pytest.mark.xfail(
    reason="known limitation: a related block without a header, quoting a same-family "
    "story's lead, next to a trimmed copy of that story",
    strict=False,
)
def test_bare_related_blocks_do_not_glue_same_family_stories() -> None:
    assert all(_family_false_merges(generate(seed)) == [] for seed in range(100, 110))


def test_stricter_containment_threshold_rejects_a_trimmed_copy() -> None:
    paragraphs = _paragraphs("court-01")
    a = fingerprint("\n".join(paragraphs))
    b = fingerprint("\n".join(paragraphs[:2]) + "\n" + _story("tour-01"))
    assert not verify(a, b, params=replace(DEFAULT, min_containment=0.99)).same_story
