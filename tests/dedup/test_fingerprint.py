"""Specification of `ingest.dedup.fingerprint`: shingles, MinHash signatures, numbers and LSH band keys."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.dedup.fingerprint import (
    DEFAULT,
    DedupParams,
    Fingerprint,
    band_keys,
    fingerprint,
    fingerprints,
    prepare,
    probe_keys,
)
from ingest.dedup.similarity import compare
from ingest.text import normalize
from ingest_dev.devset import base_stories, generate

_WORD = st.text(st.sampled_from(list("ابتثجحدرسعفقلمنهوي")), min_size=2, max_size=8)
_TEXT = st.lists(_WORD, min_size=5, max_size=120).map(" ".join)
# Raw text as outlets write it: mixed scripts, digits, punctuation glued to words, odd spaces.
_RAW = st.text(st.sampled_from(list("ابتثجحدرسعفقلمنهويأإىةـ٠١٢3، .؛:-()\n\u064e\u200f")), max_size=200)
# Raw lines, long paragraphs, related-articles headers and numbers: prepare cuts some of them.
_LINE = _RAW | st.sampled_from(["أخبار ذات صلة", " اقرأ أيضا: ", "١٠٫٨٥ %", "2,9", *base_stories()[0].paragraphs])
_ARTICLE = st.lists(_LINE, max_size=12).map("\n".join)


def _story(story_id: str) -> str:
    story = next(s for s in base_stories() if s.story_id == story_id)
    return "\n".join([story.headline, *story.paragraphs])


def _same(a: Fingerprint, b: Fingerprint) -> bool:
    return (
        np.array_equal(a.shingles, b.shingles)
        and np.array_equal(a.signature, b.signature)
        and a.numbers == b.numbers
        and a.length == b.length
    )


def test_fingerprints_are_those_already_stored() -> None:
    # Stored fingerprints and band keys must stay valid: any change to these bytes needs a migration.
    digest = hashlib.sha256()
    for doc in generate(0):
        fp = fingerprint(doc.text)
        digest.update(fp.shingles.astype("<u4").tobytes())
        digest.update(fp.signature.astype("<u4").tobytes())
        digest.update("\n".join(sorted(fp.numbers)).encode())
        digest.update(fp.length.to_bytes(4, "little"))
    assert digest.hexdigest() == "4c434bb3144a9d95e24d68aee59b3e61c8a0245e59634517eca410648791aff7"


@given(_RAW, _ARTICLE)
@settings(max_examples=300)
def test_prepare_is_normalize_and_fingerprint(title: str, text: str) -> None:
    search_text, fp = prepare(title, text)
    assert search_text == normalize(f"{title}\n{text}")
    assert _same(fp, fingerprint(text))


@given(_TEXT)
def test_fingerprint_is_deterministic(text: str) -> None:
    a, b = fingerprint(text), fingerprint(text)
    assert np.array_equal(a.signature, b.signature)
    assert np.array_equal(a.shingles, b.shingles)
    assert a.numbers == b.numbers


@given(_RAW)
def test_words_are_those_of_normalize(text: str) -> None:
    # Fingerprinting normalises chunk by chunk (cached); it must see the words normalize() sees.
    assert fingerprint(text).length == len(normalize(text).split())


@given(_TEXT)
def test_shingles_are_sorted_unique_uint32(text: str) -> None:
    shingles = fingerprint(text).shingles
    assert shingles.dtype == np.uint32
    assert np.all(shingles[1:] > shingles[:-1])


@given(_TEXT)
def test_shingle_count_is_that_of_distinct_word_ngrams(text: str) -> None:
    words = normalize(text).split()
    n = DEFAULT.ngram
    grams = {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}
    assert fingerprint(text).shingles.size == len(grams)


def test_spelling_variants_give_the_same_fingerprint() -> None:
    a = fingerprint("أعلنت الوزارة أن نسبة النجاح بلغت 67 في المائة")
    b = fingerprint("اعلنت الـوزارة ان نسبه النجاح بلغت ٦٧ فى المائه")
    assert np.array_equal(a.shingles, b.shingles)
    assert np.array_equal(a.signature, b.signature)


def test_signature_equals_datasketch_minhash() -> None:
    # The reference: datasketch's own MinHash (affine32) fed our 32-bit shingle hashes.
    fp = fingerprint(_story("anniv-01"))
    reference = MinHash(num_perm=DEFAULT.num_perm, seed=DEFAULT.seed, hashfunc=int)
    reference.update_batch(fp.shingles.tolist())
    assert reference.scheme == "affine32"
    assert np.array_equal(fp.signature, reference.hashvalues)


def test_signature_jaccard_estimate_agrees_with_exact_jaccard() -> None:
    a, b = fingerprint(_story("fx-01")), fingerprint(_story("fx-02"))
    lean_a = LeanMinHash(seed=DEFAULT.seed, hashvalues=a.signature, scheme="affine32")
    lean_b = LeanMinHash(seed=DEFAULT.seed, hashvalues=b.signature, scheme="affine32")
    # 128 permutations: standard error sqrt(J(1-J)/128) <= 0.045; allow ~3 of them.
    assert lean_a.jaccard(lean_b) == pytest.approx(compare(a, b).jaccard, abs=0.13)


def test_signature_length_and_dtype_follow_params() -> None:
    fp = fingerprint(_story("bac-01"), replace(DEFAULT, num_perm=64, bands=32, rows=2))
    assert fp.signature.shape == (64,)
    assert fp.signature.dtype == np.uint32


def test_empty_text_has_no_shingles_and_the_empty_signature() -> None:
    fp = fingerprint("")
    assert fp.shingles.size == 0 and fp.length == 0
    assert np.all(fp.signature == np.iinfo(np.uint32).max)


def test_text_shorter_than_ngram_is_one_shingle() -> None:
    assert fingerprint("عاجل").shingles.size == 1


def test_batch_equals_one_by_one() -> None:
    texts = [_story("wx-01"), _story("wx-02"), ""]
    for one, batch in zip(map(fingerprint, texts), fingerprints(texts), strict=True):
        assert np.array_equal(one.signature, batch.signature)


def test_numbers_keep_decimals_and_fold_digits() -> None:
    numbers = fingerprint("ارتفع بنسبة ٠٫٣١ في المائة و2,9 في المائة").numbers
    assert "بنسبه|0.31|" in numbers
    assert "المايه|2.9|" in numbers


def test_related_articles_block_is_not_fingerprinted() -> None:
    body = _story("dams-01")
    block = "\nأخبار ذات صلة\n" + _story("tour-01")
    assert np.array_equal(fingerprint(body + block).shingles, fingerprint(body).shingles)


@pytest.mark.parametrize("header", ["أخبار ذات صلة", "الأكثر قراءة", "اقرأ أيضا:", "الأكثر مشاهدة"])
def test_every_spelling_of_a_related_block_header_cuts_the_fingerprint(header: str) -> None:
    body = _story("dams-01")
    assert np.array_equal(fingerprint(f"{body}\n{header}\n{_story('tour-01')}").shingles, fingerprint(body).shingles)


def test_related_header_inside_a_sentence_is_kept() -> None:
    body = _story("dams-01") + "\nوتابعت الصحف أخبار ذات صلة بالموضوع خلال الأسبوع الماضي في عدة مدن."
    assert fingerprint(body).length == len(normalize(body).split())


@given(_TEXT, _TEXT)
@settings(max_examples=50)
def test_text_is_contained_in_itself_plus_an_appended_paragraph(text: str, extra: str) -> None:
    assert compare(fingerprint(text), fingerprint(text + "\n" + extra)).containment >= DEFAULT.min_containment


def test_band_keys_are_one_nonnegative_int64_per_band() -> None:
    keys = band_keys(fingerprint(_story("court-01")).signature)
    assert keys.dtype == np.int64 and keys.shape == (DEFAULT.bands,)
    assert np.all(keys >= 0)


def test_band_keys_differ_between_bands_with_equal_rows() -> None:
    # The band index is folded in: identical rows in two bands must not collide in one key column.
    signature = np.zeros(DEFAULT.num_perm, dtype=np.uint32)
    assert len(set(band_keys(signature).tolist())) == DEFAULT.bands


def test_band_keys_do_not_depend_on_signature_dtype() -> None:
    # A signature read back from storage as int64 must index like the original uint32 one.
    signature = fingerprint(_story("parl-01")).signature
    assert np.array_equal(band_keys(signature), band_keys(signature.astype(np.int64)))


def test_band_keys_match_iff_band_rows_match() -> None:
    a = fingerprint(_story("foot-01")).signature
    b = a.copy()
    b[0] ^= 1  # change one value of band 0 only
    same = band_keys(a) == band_keys(b)
    assert not same[0] and same[1:].all()


def test_probe_keys_are_deterministic_nonnegative_and_one_per_probed_value() -> None:
    signature = fingerprint(_story("court-01")).signature
    keys = probe_keys(signature)
    assert keys.dtype == np.int64 and keys.shape == (DEFAULT.probe_values,)
    assert np.all(keys >= 0)
    assert np.array_equal(keys, probe_keys(signature.astype(np.int64)))  # as read back from storage


def test_probe_keys_match_iff_values_match_at_the_same_position() -> None:
    a = np.arange(DEFAULT.num_perm, dtype=np.uint32)
    b = a.copy()
    b[3] ^= 1
    assert (probe_keys(a) == probe_keys(b)).tolist() == [i != 3 for i in range(DEFAULT.probe_values)]
    # The position is folded in: one value at two positions gives two keys.
    assert len(set(probe_keys(np.zeros(DEFAULT.num_perm, dtype=np.uint32)).tolist())) == DEFAULT.probe_values


def test_a_stack_of_signatures_gets_the_keys_of_each_signature() -> None:
    signatures = np.stack([fingerprint(_story(s)).signature for s in ("court-01", "parl-01", "foot-01")])
    assert np.array_equal(band_keys(signatures), np.stack([band_keys(s) for s in signatures]))
    assert np.array_equal(probe_keys(signatures), np.stack([probe_keys(s) for s in signatures]))


def test_params_reject_more_banded_rows_than_permutations() -> None:
    with pytest.raises(ValueError):
        DedupParams(num_perm=128, bands=65, rows=2)
