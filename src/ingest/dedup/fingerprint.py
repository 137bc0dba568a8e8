"""Fingerprints of article texts for near-duplicate (syndicated copy) detection.

A fingerprint holds everything dedup needs about one text, computed once at ingest:

* `shingles`: the sorted, unique 32-bit hashes of the word n-grams of the normalised text; exact
  Jaccard and containment are computed on these (see `ingest.dedup.similarity`). 32 bits keep the
  stored set at 4 bytes a shingle; two texts of 1,000 shingles share a false one with
  probability ~2e-4, a containment error of 0.001.
* `signature`: a MinHash of the shingles, bit-for-bit the signature datasketch 2.0 computes with
  its default ``affine32`` scheme (``MinHash(num_perm, seed, hashfunc=int)`` fed the
  shingle hashes), but computed in C over the whole shingle set at once. The equality is
  pinned by a test, so `datasketch.LeanMinHash(seed=params.seed, hashvalues=signature,
  scheme="affine32")` is a valid reference object for any of our signatures.
* `numbers`: the numbers written in the text (decimals kept whole), each with a neighbouring
  word: "word|number|" for the first number after a word, "|number|word" for the first before
  one ("الرباط|7|", "|0.31|في"), so that two fillings of one template (weather bulletin,
  exchange rates) can be told apart from a real copy. Bare numbers would collide by chance (two
  weather bulletins share most of their small integers); next to the same word, two fillings
  disagree ("الرباط|7|" vs "الرباط|8|"), which is what `ingest.dedup.similarity` checks. Only the first
  number next to a word is kept: the story's own figures come first, and a related-articles
  block the extractor missed (other days' bulletins, say) would otherwise supply the other
  values and hide every disagreement. A chunk's first number is the one kept, either side.
* `length`: the number of normalised words.
* `text`: the body text fingerprinted (before a related-articles block), as given, for the
  sentence alignment of `ingest.dedup.similarity`; empty for a stored copy (its text is in the store,
  read only when a pair needs aligning).
* `sentences`: the least word 3-gram hash of each sentence, which `sentence_keys` samples for the
  index (made by `prepare`, so where extraction runs; None: made from `text` when needed).

`band_keys` cuts a signature into LSH bands and hashes each band, with its band index folded in,
to one non-negative 63-bit integer: a single (band_key, copy_id) table serves every band.

Everything here is pure: same text and params, same fingerprint, on every machine and run
(xxh3 and uint32/uint64 arithmetic are platform-independent; bytes are little-endian).

The per-document work (splitting, chunk lookups, token hashes, shingles, MinHash, numbers) is
the compiled `ingest.dedup._compiled`; what each chunk contributes is computed here, in Python, once per
distinct chunk (`_ChunkCache`), so the kernel only gathers and hashes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import xxhash

from ingest.dedup import _compiled
from ingest.text import heading_kind, normalize

__all__ = [
    "DEFAULT",
    "DedupParams",
    "Fingerprint",
    "band_keys",
    "body_text",
    "fingerprint",
    "fingerprints",
    "prepare",
    "probe_keys",
    "sentence_keys",
    "sentences",
    "words",
]

_U64 = np.uint64
_MASK63 = (1 << 63) - 1
# Odd 64-bit constants (from splitmix64 / murmur3) that spread the combination of token hashes.
# 0-d arrays, not numpy scalars: a ufunc takes them without converting (~0.25 us of ~0.8 a call).
_GOLDEN = np.array(0x9E3779B97F4A7C15, dtype=_U64)
_FMIX64 = tuple(np.array(c, dtype=_U64) for c in (33, 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53))
# A number as written: digits of any script, optionally with a decimal part ("10,85", "٢٫٥").
# The Arabic comma "،" is left out on purpose: it separates list items, not decimals.
_NUMBER = re.compile(r"\d+(?:[.,٫]\d+)*")
# A sentence ends at a line break or after . ! ? or the Arabic question mark.
_SENTENCE_END = re.compile(r"(?<=[.!?؟])\s+|\n+")


@dataclass(frozen=True)
class DedupParams:
    """Every knob of near-duplicate detection; `DEFAULT` holds the values chosen on the dev set.

    See bench/dedup_params.py for the sweep that chose them and README for the table.
    """

    ngram: int = 3
    """Words per shingle."""
    num_perm: int = 128
    """MinHash signature length."""
    bands: int = 64
    """LSH bands; bands * rows <= num_perm (the remaining hash values are not banded)."""
    rows: int = 2
    """Signature values per band."""
    lsh_threshold: float = 0.1
    """The Jaccard threshold (bands, rows) were optimised for, by datasketch's `_optimal_param`.

    Low on purpose: a trimmed or padded copy has high containment but Jaccard down to ~0.2,
    and LSH estimates Jaccard. Verification, not LSH, provides the precision."""
    min_containment: float = 0.55
    """A pair verifies on its shingles alone if |A n B| / min(|A|, |B|) reaches this (trimmed copies keep ~1.0)."""
    min_aligned_containment: float = 0.4
    """Below `min_containment` and from this containment up, the sentences of the two texts are aligned.

    Real copies are rewritten more than trimmed: a third of the labelled copies of the ANT
    corpus have a containment of 0.2-0.55, where independent reports of one event (shared
    quotes, names, stock phrases) also lie. Chosen on the tuning half (bench/dedup_real.py): at
    0.35 it found 2 more of its 80 copies, and merged the dev set's two government-council
    communiqués (one boilerplate sentence each) in 11 of 50 seeds; at 0.4, in none."""
    sentence_match: float = 0.4
    """A sentence aligns when this share of its word bigrams is in a sentence (or two adjacent ones) of the other."""
    min_aligned_share: float = 0.55
    """The share of the shorter text's words in aligned sentences that makes a copy ("about half or more")."""
    min_aligned_sentences: int = 2
    """And at least this many sentences align (the label: "at least two sentences match")."""
    outlet_copies: int = 2
    """A story holding this many copies from one outlet takes another from it only as a near-verbatim copy.

    An outlet rarely runs one story more than twice; its follow-ups of one event reuse its own
    background paragraphs, which glued up to 7 of them into one story on the ANT corpus."""
    max_substitution_containment: float = 0.95
    """Pairs verified below this containment are checked for a swapped name (`ingest.dedup.similarity`);
    above it the texts are near-verbatim and their stored text is not read."""
    outlet_containment: float = 0.8
    """The containment against a copy of the story that counts as near-verbatim for `outlet_copies`."""
    min_jaccard: float = 0.0
    """And if |A n B| / |A u B| reaches this (0 disables; containment alone decides)."""
    min_shingles: int = 8
    """Texts with fewer shingles than this are too short to call copies of anything."""
    min_numbers: int = 2
    """The number check applies once the texts write numbers next to this many common words.

    Two, not one: a single context in disagreement is a copy's own added figure as often as
    another filling of a template (bulletins disagree in several places). On the ANT tuning
    half, one rejected 1 of 80 copies ("14 June", another date, before the original's "16
    June") and no other pair; the dev set's hard negatives stay apart (0 merges in 100 seeds)."""
    min_number_agreement: float = 0.7
    """Of those common words, the share where both texts write the same number."""
    figures_aligned_sentences: int = 4
    """A pair the numbers rule out is checked again on its aligned sentences if this many align.

    A copy carried inside a round-up meets other figures next to the same words in the part it
    does not share (ant-062 of the ANT tuning half: 14 sentences align). A related block
    without a header, quoting another story's lead with its figures, aligns 2-3 sentences:
    without this floor, 7 more pairs of distinct dev-set stories verified (seeds 0-299, bare
    related blocks), with it none."""
    window_hours: float = 7 * 24
    """Copies are published at most this far apart (when both dates are known)."""
    late_hours: float = 48
    """Copies published further apart than this verify only as near-verbatim ones (`late_containment`).

    Wire copy runs within hours (73 of the ANT tuning half's 80 copies within 12 hours, 79 within
    48); what recurs days later with the same wording is a template filled again (missile
    interceptions, weekly communiqués, seizure statements) or a follow-up reusing its background.
    Over 48 hours apart, the tuning half holds 1 copy (54 hours, containment 0.57) and 2 non-copies
    that verified (two interceptions of one coalition template, 60 and 67 hours, 0.43 and 0.65).
    On the whole corpus, 136 candidate pairs 2-7 days apart verified below 0.8: of 25 read by
    their titles, 23 were follow-ups or other fillings of a template. On the synthetic dev set,
    grouped as bench/dedup_params.py groups it (seeds 0-99, bare related blocks included), false
    pairs fell from 520 to 325 (government-council communiqués 6-7 days apart, seizure and weather
    items 2-3 days apart) and every copy found before is found."""
    late_containment: float = 0.8
    """What counts as near-verbatim for a late copy (a story run again, a dateline added)."""
    seed: int = 1
    """MinHash permutation seed (datasketch's default, so its objects line up with ours)."""
    probe_values: int = 8
    """Signature values hashed to probe keys (`probe_keys`): how an undated copy searches the whole store."""
    sentence_keys: int = 16
    """Sentence keys a copy is indexed under besides its band keys (`sentence_keys`; 0: none).

    A second candidate channel for rewritten and contained copies, whose whole-text Jaccard is
    too low for the bands: on the ANT corpus's labelled copies, LSH found 76 of the tuning
    half's 80 and 63 of the check half's 71; bands or sentence keys find 80 and 66."""
    sentence_words: int = 8
    """Sentences of fewer words (datelines, bylines, stock one-liners) get no sentence key."""

    def __post_init__(self) -> None:
        if self.ngram < 1 or self.num_perm < 1 or self.bands < 1 or self.rows < 1:
            raise ValueError("ngram, num_perm, bands and rows must be positive")
        if self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands * rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")


DEFAULT = DedupParams()


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """What dedup keeps of one text (see the module docstring for each field)."""

    shingles: np.ndarray
    signature: np.ndarray
    numbers: frozenset[str] = field(default_factory=frozenset)
    length: int = 0
    text: str = ""
    sentences: np.ndarray | None = None  # `sentence_keys`' sentence hashes, if `prepare` made them


def fingerprint(text: str, params: DedupParams = DEFAULT) -> Fingerprint:
    """Fingerprint one article text (headline and body as extracted; normalisation happens here)."""
    a, b = _permutations(params.num_perm, params.seed)
    cut = _related_block_start(text)
    return Fingerprint(*_compiled.fingerprint(_CHUNKS, text, cut, params.ngram, a, b), text=text[:cut])


def prepare(title: str, text: str, params: DedupParams = DEFAULT) -> tuple[str, Fingerprint]:
    """`(normalize(f"{title}\\n{text}"), fingerprint(text, params))`: an article's search form and fingerprint.

    What the writer needs of every article, in one compiled pass over the chunks of title and
    text with one cache lookup per chunk (lookups and splitting are most of the cost of normalising).
    """
    a, b = _permutations(params.num_perm, params.seed)
    cut = _related_block_start(text)
    if not params.sentence_keys:
        search_text, shingles, signature, numbers, length = _compiled.prepare(
            _CHUNKS, title, text, cut, params.ngram, a, b
        )
        return search_text, Fingerprint(shingles, signature, numbers, length, text[:cut], _EMPTY_KEYS)
    search_text, shingles, signature, numbers, length, minima = _compiled.prepare_with_sentences(
        _CHUNKS, title, text, cut, params.ngram, a, b, params.sentence_words
    )
    return search_text, Fingerprint(
        shingles, signature, numbers, length, text[:cut], np.unique(np.array(minima, np.int64))
    )


def words(text: str) -> list[str]:
    """The normalised words of `text` (those of `normalize(text)`), through the chunk cache: ~20x faster."""
    return [w for chunk in text.split() for w in _CHUNKS[chunk].folded.split()]


def body_text(text: str) -> str:
    """The part of a text that is fingerprinted: all of it, up to a related-articles block."""
    return text[: _related_block_start(text)]


def fingerprints(texts: Iterable[str], params: DedupParams = DEFAULT) -> list[Fingerprint]:
    """Fingerprint many texts (same result as `fingerprint` on each; shares the permutation tables)."""
    return [fingerprint(text, params) for text in texts]


def band_keys(signature: np.ndarray, params: DedupParams = DEFAULT) -> np.ndarray:
    """One non-negative 63-bit LSH key per band (int64, `params.bands` long).

    Two signatures share key i iff their rows of band i are equal (up to a 2^-63 collision);
    the band index seeds the hash, so equal rows in different bands give different keys and
    one column of keys can index all bands. A stack of signatures (n, num_perm) gets a stack
    of keys (n, bands), in one pass.
    """
    if signature.shape[-1] < params.bands * params.rows:
        raise ValueError(f"signature of {signature.shape[-1]} values is shorter than bands * rows")
    # Values as uint32 whatever dtype the signature came back from storage in; numpy's uint64
    # arithmetic wraps identically on every machine, so stored keys stay valid everywhere.
    values = signature[..., : params.bands * params.rows].astype(np.uint32)
    rows = values.reshape(*signature.shape[:-1], params.bands, params.rows)
    h = np.arange(1, params.bands + 1, dtype=_U64) * _GOLDEN  # the band index seeds the hash
    for j in range(params.rows):
        h = _fmix64((h ^ rows[..., j].astype(_U64)) * _GOLDEN)
    return (h & _U64(_MASK63)).astype(np.int64)


def sentence_keys(fp: Fingerprint, params: DedupParams = DEFAULT) -> np.ndarray:
    """`params.sentence_keys` non-negative 63-bit keys (int64) of the text's sentences: a candidate channel.

    A sentence's key is the least hash of its word 3-grams (the shingle hash before its cut to
    32 bits): two sentences share it with the probability of their 3-gram Jaccard, high for a
    sentence copied with light edits, so a copy that keeps a few sentences of its original
    shares a key with it even when the texts' Jaccard is near zero (a short item inside a
    round-up, a rewritten lead). The smallest keys are kept (a bottom-k sample, consistent
    between texts: two texts sharing sentences tend to keep the same ones); a text with fewer
    sentences is padded with keys of 3-row signature bands, shared only by near-verbatim copies.
    `prepare` hashes the sentences where extraction runs (`Fingerprint.sentences`, ~80 µs a
    copy of ~270 words); otherwise they are hashed here, from `fp.text`.
    """
    n = params.sentence_keys
    if n == 0:
        return _EMPTY_KEYS
    found = (fp.sentences if fp.sentences is not None else _sentence_hashes(fp.text, params))[:n]
    if found.size == n:
        return found
    rows = fp.signature[: 3 * (n - found.size)].astype(np.uint32).astype(_U64).reshape(-1, 3)
    h = np.arange(n - found.size, dtype=_U64) * _GOLDEN ^ _PAD_SALT
    for j in range(3):
        h = _fmix64((h ^ rows[:, j]) * _GOLDEN)
    return np.concatenate([found, (h & _U64(_MASK63)).astype(np.int64)])


def _sentence_hashes(text: str, params: DedupParams) -> np.ndarray:
    """The sorted sentence hashes `sentence_keys` samples (none if the params index no sentence)."""
    return _sentence_minima(text, params.sentence_words, params.ngram) if params.sentence_keys else _EMPTY_KEYS


def _sentence_minima(text: str, min_words: int, ngram: int) -> np.ndarray:
    """The distinct least word n-gram hashes of the sentences of `min_words` or more, sorted (int64).

    Sentences as `sentences` cuts them, in the compiled pass of `prepare` (`ingest.dedup._compiled`):
    in numpy and Python, chunk by chunk, they cost twice the rest of `prepare` (~400 µs a
    synthetic copy on a loaded machine), and a compiled pass of their own as much as `prepare`.
    """
    a, b = _permutations(DEFAULT.num_perm, DEFAULT.seed)  # a signature is made too, and not used
    minima = _compiled.prepare_with_sentences(_CHUNKS, "", text, len(text), ngram, a, b, min_words)[5]
    return np.unique(np.array(minima, np.int64))


def sentences(text: str) -> list[str]:
    """The text cut at line breaks and after . ! ? and the Arabic question mark."""
    return _SENTENCE_END.split(text)


def probe_keys(signature: np.ndarray, params: DedupParams = DEFAULT) -> np.ndarray:
    """One non-negative 63-bit key per each of the first `params.probe_values` signature values (int64).

    Two signatures share key i iff their value i is equal (up to a 2^-63 collision); the
    position seeds the hash, as the band index does in `band_keys`. Single values, not 2-row
    bands: with this few keys, a pair at Jaccard J shares at least one with probability
    1 - (1 - J)^8 (0.83 at J = 0.2, a trimmed copy), where 8 two-row bands would give 0.28.
    A stack of signatures gets a stack of keys, as in `band_keys`.
    """
    if signature.shape[-1] < params.probe_values:
        raise ValueError(f"signature of {signature.shape[-1]} values is shorter than probe_values")
    values = signature[..., : params.probe_values].astype(np.uint32).astype(_U64)
    h = np.arange(1, params.probe_values + 1, dtype=_U64) * _GOLDEN  # the position seeds the hash
    return (_fmix64((h ^ values) * _GOLDEN) & _U64(_MASK63)).astype(np.int64)


class _ChunkCache(dict[str, _compiled.Chunk]):
    """Whitespace-separated chunk of raw text -> its normalised form and what fingerprinting needs of it.

    `normalize` costs ~0.45 ms on a 3 KB article (per-character translate and regex), more than
    the whole budget of 0.25 ms per document. Normalisation never joins or splits words across
    whitespace, so normalising chunk by chunk gives the words of `normalize(text)` (a test pins
    this), and chunks repeat across a corpus, so a dict makes most of them one lookup.
    `ingest.dedup._compiled` looks every chunk up here (calling `__missing__` on a miss): this class
    is the one definition of what a chunk contributes (a `_compiled.Chunk`, whose fields the
    kernel reads as a C struct).
    """

    max_size = 1 << 19  # ~100 MB at worst; cleared wholesale, an LRU costs more than it saves

    def __missing__(self, chunk: str) -> _compiled.Chunk:
        if len(self) >= self.max_size:
            self.clear()
        folded = normalize(chunk)
        words = folded.split()
        number = _NUMBER.search(chunk)
        value = self[chunk] = _compiled.Chunk(
            folded=folded,
            packed=b"".join(xxhash.xxh3_64_intdigest(w.encode()).to_bytes(8, "little") for w in words),
            number=".".join(normalize(number.group()).split()) if number else "",
            # Words, not "word|" keys: for a one-word chunk, folded, first and last are one string.
            first=words[0] if words else "",
            # A number is no left-hand context of the next one ("2025|10|" would pair two numbers).
            last=words[-1] if words and not words[-1][0].isdigit() else "",
        )
        return value


_CHUNKS = _ChunkCache()
_EMPTY_KEYS = np.empty(0, np.int64)
_PAD_SALT = np.array(0x5E47E7CE5A17, dtype=_U64)  # padding keys apart from any band key


def _related_block_start(text: str) -> int:
    """Where a line that heads a related-articles block starts (after the first 200 characters).

    len(text) if there is none.
    """
    # str.find from line to line: 3x faster than a regex scan of the text for short lines.
    start = text.find("\n", 200) + 1  # 0: no line starts after the first 200 characters
    while start:
        end = text.find("\n", start)
        stop = end if end >= 0 else len(text)
        # A related/read-also heading (`ingest.text.heading_kind`, the vocabulary extraction cuts
        # at): what follows is other stories, which would hide a trimmed copy and glue stories.
        # (Only short lines are copied out: most lines are paragraphs.)
        if 0 < stop - start < 40 and heading_kind(text[start:stop]):
            return start
        start = end + 1
    return len(text)


def _fmix64(h: np.ndarray) -> np.ndarray:
    shift, m1, m2 = _FMIX64
    h = h ^ (h >> shift)
    h = h * m1
    h = h ^ (h >> shift)
    h = h * m2
    return h ^ (h >> shift)


@lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch 2.0's affine32 permutation parameters (a odd, b), drawn exactly as it draws them."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def _minhash(shingles: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """MinHash (uint32, num_perm long) of any set of uint32 hashes, as `fingerprint` computes it.

    An empty set gets the all-0xFFFFFFFF signature, as an empty datasketch MinHash has.
    """
    return _compiled.minhash(shingles, *_permutations(num_perm, seed))
