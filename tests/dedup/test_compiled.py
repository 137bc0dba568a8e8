"""The compiled kernel (`ingest.dedup._compiled`) against plain-Python oracles written here.

`prepare`, `fingerprint` and `compare` run compiled code; these tests recompute what they must
return the slow, obvious way (whole-text `normalize`, xxh3 per word, Python-int shingle hashes,
datasketch's own MinHash, Python sets) on texts chosen to stress the compiled path: every kind of
whitespace `str.split` knows, look-alikes that are not whitespace, 1-, 2- and 4-byte strings,
digits of several scripts, empty and very short texts, long repetitive texts.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
import xxhash
from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.dedup import _compiled
from ingest.dedup.fingerprint import (
    _CHUNKS,
    DEFAULT,
    DedupParams,
    Fingerprint,
    _ChunkCache,
    _minhash,
    _related_block_start,
    fingerprint,
    prepare,
    sentences,
)
from ingest.dedup.similarity import compare
from ingest.text import normalize
from ingest_dev.devset import base_stories

_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_NUMBER = re.compile(r"\d+(?:[.,٫]\d+)*")

# Whitespace to str.split(): ASCII, the \x1c-\x1f separators, NEL, NBSP, Unicode spaces and separators.
_SPACES = [" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\xa0", "\u1680"]
_SPACES += ["\u2000", "\u2009", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
# Not whitespace to str.split(), though invisible or space-like: they stay inside a chunk.
_NOT_SPACES = ["\u200b", "\u200c", "\u180e", "\ufeff", "\u00ad", "\u2060"]
_LETTERS = [*"ابتثجحدرسعفقلمنهويأإآىةئؤءـ", "\u064e", "\u0651", "ﻻ", *"aZé"]
_DIGITS = [*"0123456789٠١٢٣٤٥٦٧٨٩۱۲", "𝟘", "𝟙"]  # the last two: 4-byte strings, \d, NFKC digits
_PUNCT = [*"،.,٫;:-()|", "😀", "𐍈"]
_CHAR = st.sampled_from(_LETTERS + _DIGITS + _PUNCT + _NOT_SPACES)
_WORD = st.text(_CHAR, min_size=1, max_size=7)
_GAP = st.text(st.sampled_from(_SPACES), min_size=1, max_size=3)
_TEXT = st.lists(st.tuples(_WORD, _GAP), max_size=40).map(lambda parts: "".join(w + g for w, g in parts))
_RAW = st.text(st.sampled_from(_LETTERS + _DIGITS + _PUNCT + _NOT_SPACES + _SPACES), max_size=120)
_LATIN = st.text(st.sampled_from([*"abc xyz 12,5 3.7", "\xa0", "\x85", "é", "\x1f"]), max_size=60)  # 1-byte strings
_HEADERS = ["أخبار ذات صلة", "اقرأ أيضا:", "- المزيد من الأخبار -", "الأكثر مشاهدة"]
_PARAGRAPHS = [p for story in base_stories()[:3] for p in story.paragraphs]  # ~200-400 characters each
# Lines, some of them related-articles headers: the fingerprint stops at one after 200 characters.
_LINE = _TEXT | _RAW | _LATIN | st.sampled_from(_HEADERS) | st.sampled_from(_PARAGRAPHS)
_ARTICLE = st.lists(_LINE, max_size=10).map("\n".join)
_ANY = _ARTICLE | _TEXT | _RAW | _LATIN


def _fmix64(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _M64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _M64
    return h ^ (h >> 33)


def _oracle_numbers(chunks: list[str]) -> frozenset[str]:
    """First number after each word ("word|n|") and before each word ("|n|word"), a chunk's first number."""
    numbers, firsts, lasts = [], [], []
    for chunk in chunks:
        words = normalize(chunk).split()
        found = _NUMBER.search(chunk)
        numbers.append(".".join(normalize(found.group()).split()) if found else "")
        firsts.append(words[0] if words else "")
        lasts.append(words[-1] if words and not words[-1][0].isdigit() else "")
    entries: dict[str, str] = {}
    for i, number in enumerate(numbers):
        if not number:
            continue
        if i and lasts[i - 1]:
            entries.setdefault(f"{lasts[i - 1]}|", f"{lasts[i - 1]}|{number}|")
        if i + 1 < len(chunks):
            entries.setdefault(f"|{firsts[i + 1]}", f"|{number}|{firsts[i + 1]}")
    return frozenset(entries.values())


def _oracle(text: str, params: DedupParams = DEFAULT) -> Fingerprint:
    """The fingerprint of `text`, computed the slow way from its definition."""
    body = text[: _related_block_start(text)]
    tokens = [xxhash.xxh3_64_intdigest(w.encode()) for w in normalize(body).split()]
    width = min(params.ngram, len(tokens))
    hashes = set()
    for i in range(len(tokens) - width + 1 if tokens else 0):
        acc = tokens[i]
        for token in tokens[i + 1 : i + width]:
            acc = (acc * _GOLDEN + token) & _M64
        hashes.add(_fmix64(acc) & 0xFFFFFFFF)
    shingles = np.array(sorted(hashes), dtype=np.uint32)
    reference = MinHash(num_perm=params.num_perm, seed=params.seed, hashfunc=int)
    reference.update_batch(shingles.tolist())
    return Fingerprint(shingles, reference.hashvalues.astype(np.uint32), _oracle_numbers(body.split()), len(tokens))


def _assert_same(fp: Fingerprint, expected: Fingerprint) -> None:
    assert fp.shingles.dtype == np.uint32 and fp.signature.dtype == np.uint32
    assert fp.shingles.tolist() == expected.shingles.tolist()
    assert fp.signature.tolist() == expected.signature.tolist()
    assert fp.numbers == expected.numbers
    assert fp.length == expected.length and type(fp.length) is int


@given(_ANY, _ANY)
@settings(max_examples=400, deadline=None)
def test_prepare_equals_the_oracle(title: str, text: str) -> None:
    search_text, fp = prepare(title, text)
    assert search_text == normalize(f"{title}\n{text}")
    _assert_same(fp, _oracle(text))
    _assert_same(fingerprint(text), _oracle(text))


def _oracle_sentences(text: str, params: DedupParams = DEFAULT) -> list[int]:
    """The least 63-bit word 3-gram hash of each sentence of `sentence_words` words or more, sorted, unique."""
    minima = set()
    for sentence in sentences(text[: _related_block_start(text)]):
        tokens = [xxhash.xxh3_64_intdigest(w.encode()) for w in normalize(sentence).split()]
        if len(tokens) < max(params.sentence_words, params.ngram):
            continue
        grams = []
        for i in range(len(tokens) - params.ngram + 1):
            acc = tokens[i]
            for token in tokens[i + 1 : i + params.ngram]:
                acc = (acc * _GOLDEN + token) & _M64
            grams.append(_fmix64(acc) & ((1 << 63) - 1))
        minima.add(min(grams))
    return sorted(minima)


@given(_ANY, _ANY)
@settings(max_examples=300, deadline=None)
def test_sentence_hashes_of_prepare_equal_the_oracle(title: str, text: str) -> None:
    # Sentences end after . ! ? or ؟ and at line breaks, whatever whitespace separates the chunks.
    _, fp = prepare(title, text.replace("|", "؟\n").replace(":", "! "))
    assert fp.sentences is not None and fp.sentences.dtype == np.int64
    assert fp.sentences.tolist() == _oracle_sentences(fp.text)


@given(st.lists(st.sampled_from(["في", "من", "٢٠٢٥", "الرباط،", "7", "و", "ـ"]), max_size=700).map(" ".join))
@settings(max_examples=40, deadline=None)
def test_long_repetitive_texts_equal_the_oracle(text: str) -> None:
    # Hundreds of shingles, most of them repeated: the compiled sort and de-duplication at length.
    _assert_same(fingerprint(text), _oracle(text))


@given(_TEXT, st.integers(min_value=1, max_value=6), st.integers(min_value=1, max_value=40))
@settings(max_examples=60, deadline=None)
def test_other_params_equal_the_oracle(text: str, ngram: int, num_perm: int) -> None:
    params = DedupParams(ngram=ngram, num_perm=num_perm, bands=1, rows=1, probe_values=1)
    _assert_same(fingerprint(text, params), _oracle(text, params))


@pytest.mark.parametrize(
    "text",
    [
        "",
        " \t\n\x1c\x1d\x1e\x1f\x85\xa0\u2028\u3000",
        "الرباط",
        "\u3000الرباط\u2028",
        "الرباط ٧",
        "٧ الرباط",
        "درجة ١٠٫٨٥\x85و 2,9\xa0في\u2028المائة\x1fو٣",
        "٢٠٢٥،١٠ ١٢.٥٪ (٣)",
        "a\u200bb c\u180ed",
        "𝟘 😀 𝟙\u3000x",
    ],
)
def test_edge_texts_equal_the_oracle(text: str) -> None:
    _assert_same(fingerprint(text), _oracle(text))
    search_text, fp = prepare(text, text)
    assert search_text == normalize(f"{text}\n{text}")
    _assert_same(fp, _oracle(text))


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("", ""),
        ("", "abc x"),  # ASCII
        ("abc", "déf x"),  # 1-byte
        ("été", "الرباط x"),  # 1-byte, then 2-byte
        ("عنوان", "x 𐍈 ب 𠀀"),  # 2-byte, then 4-byte: the joined text widens on the way
        ("𠀀", "é"),
        ("، ؛", ".. x"),  # punctuation folds to nothing and is left out
    ],
)
def test_search_text_has_the_width_of_its_widest_word(title: str, text: str) -> None:
    search_text, _ = prepare(title, text)
    assert search_text == normalize(f"{title}\n{text}")
    assert search_text == " ".join(normalize(f"{title}\n{text}").split())


@pytest.mark.parametrize("header", _HEADERS)
def test_a_related_articles_block_is_cut_where_its_header_starts(header: str) -> None:
    lead = "\n".join(_PARAGRAPHS[:2])
    text = f"{lead}\n{header}\n{_PARAGRAPHS[5]}\nالعدد ٣"
    assert _related_block_start(text) == len(lead) + 1
    _assert_same(fingerprint(text), _oracle(lead))
    search_text, fp = prepare("", text)
    assert search_text == normalize(text)
    _assert_same(fp, _oracle(lead))


def test_a_chunk_cache_cleared_in_the_middle_of_a_text_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel holds on to chunks it has looked up while the cache clears itself under it.
    text = " ".join(f"كلمة{i} ٢{i}" for i in range(300))
    expected = _oracle(text)
    monkeypatch.setattr(_ChunkCache, "max_size", 7)
    _CHUNKS.clear()
    _assert_same(fingerprint(text), expected)
    search_text, fp = prepare("عنوان ١ آخر", text)
    assert search_text == normalize(f"عنوان ١ آخر\n{text}")
    _assert_same(fp, expected)
    assert len(_CHUNKS) <= 7
    _CHUNKS.clear()


@pytest.mark.parametrize(
    ("cache", "text"),
    [
        ({"x": ("x", b"\0" * 8, "", "x", "x")}, "x"),  # a tuple of the right fields is not a Chunk
        ({"x": None}, "x"),
        ([], "x"),  # not a dict
    ],
)
def test_the_kernel_rejects_a_cache_of_something_else(cache: Any, text: str) -> None:
    # Checked, not trusted: the kernel reads a Chunk's fields as a C struct.
    with pytest.raises(TypeError):
        _compiled.fingerprint(cache, text, len(text), 3, np.ones(4, np.uint32), np.ones(4, np.uint32))


def test_a_chunk_holds_what_it_was_given_and_only_whole_hashes() -> None:
    chunk = _compiled.Chunk(folded="ب 3", packed=b"\1" * 16, number="3", first="ب", last="")
    assert (chunk.folded, chunk.packed, chunk.number, chunk.first, chunk.last) == ("ب 3", b"\1" * 16, "3", "ب", "")
    with pytest.raises(ValueError):
        _compiled.Chunk("x", b"\1" * 7, "", "x", "x")
    bad: Any = None
    with pytest.raises(TypeError):
        _compiled.Chunk("x", b"", "", bad, "x")


@given(st.sets(st.integers(min_value=0, max_value=(1 << 32) - 1), max_size=300))
@settings(deadline=None)
def test_minhash_of_any_set_is_datasketchs(values: set[int]) -> None:
    reference = MinHash(num_perm=DEFAULT.num_perm, seed=DEFAULT.seed, hashfunc=int)
    reference.update_batch(sorted(values))
    signature = _minhash(np.array(sorted(values), dtype=np.uint32), DEFAULT.num_perm, DEFAULT.seed)
    assert signature.tolist() == reference.hashvalues.tolist()


def _fp(values: set[int]) -> Fingerprint:
    return Fingerprint(np.array(sorted(values), dtype=np.uint32), np.zeros(DEFAULT.num_perm, np.uint32))


_SMALL_SET = st.sets(st.integers(min_value=0, max_value=400), max_size=30)
_LARGE_SET = st.sets(st.integers(min_value=0, max_value=400), max_size=400)
_WIDE_SET = st.sets(st.sampled_from([0, 1, 2, 1 << 31, (1 << 32) - 2, (1 << 32) - 1]) | st.integers(0, (1 << 32) - 1))


@given(_SMALL_SET | _LARGE_SET | _WIDE_SET, _SMALL_SET | _LARGE_SET | _WIDE_SET)
@settings(max_examples=300)
def test_compare_equals_set_intersection(a: set[int], b: set[int]) -> None:
    # Sizes from equal to 1:400 take both the merge and the galloping search.
    sim = compare(_fp(a), _fp(b))
    if not a or not b:
        assert (sim.jaccard, sim.containment) == (0.0, 0.0)
        return
    shared = len(a & b)
    assert sim.jaccard == shared / len(a | b)
    assert sim.containment == shared / min(len(a), len(b))
    assert _compiled.shared_count(_fp(b).shingles, _fp(a).shingles) == shared


def test_shared_count_at_the_ends_of_a_long_set() -> None:
    step = 1 << 20
    large = np.arange(0, 1 << 32, step, dtype=np.uint64).astype(np.uint32)  # 4096 values up to the top
    top = (1 << 32) - step
    for small in ([0], [top], [5, step, (1 << 32) - 1], [0, step, 2 * step, top]):
        expected = len(set(small) & set(large.tolist()))
        assert _compiled.shared_count(np.array(small, dtype=np.uint32), large) == expected
        assert _compiled.shared_count(large, np.array(small, dtype=np.uint32)) == expected
