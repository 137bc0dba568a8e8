"""Type stub of the compiled `ingest.dedup._compiled` (source: _compiled.pyx, _compiled.h)."""

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

class Chunk:
    """What one whitespace-separated chunk of raw text contributes; see `ingest.dedup.fingerprint._ChunkCache`."""

    @property
    def folded(self) -> str: ...
    @property
    def packed(self) -> bytes: ...
    @property
    def number(self) -> str: ...
    @property
    def first(self) -> str: ...
    @property
    def last(self) -> str: ...
    def __init__(self, folded: str, packed: bytes, number: str, first: str, last: str) -> None: ...

def prepare(
    cache: Mapping[str, Chunk],
    title: str,
    text: str,
    cut: int,
    ngram: int,
    a: ArrayLike,
    b: ArrayLike,
) -> tuple[str, np.ndarray, np.ndarray, frozenset[str], int]: ...
def prepare_with_sentences(
    cache: Mapping[str, Chunk],
    title: str,
    text: str,
    cut: int,
    ngram: int,
    a: ArrayLike,
    b: ArrayLike,
    min_words: int,
) -> tuple[str, np.ndarray, np.ndarray, frozenset[str], int, list[int]]: ...
def fingerprint(
    cache: Mapping[str, Chunk],
    text: str,
    cut: int,
    ngram: int,
    a: ArrayLike,
    b: ArrayLike,
) -> tuple[np.ndarray, np.ndarray, frozenset[str], int]: ...
def minhash(shingles: ArrayLike, a: ArrayLike, b: ArrayLike) -> np.ndarray: ...
def shared_count(a: ArrayLike, b: ArrayLike) -> int: ...
