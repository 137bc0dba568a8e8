"""Type stub of the compiled `ingest._kernels` (source: _kernels.pyx, _kernels.h)."""

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

def prepare(
    cache: Mapping[str, tuple[str, bytes, str, str, str]],
    title: str,
    text: str,
    cut: int,
    ngram: int,
    a: ArrayLike,
    b: ArrayLike,
) -> tuple[str, np.ndarray, np.ndarray, frozenset[str], int]: ...
def fingerprint(
    cache: Mapping[str, tuple[str, bytes, str, str, str]],
    text: str,
    cut: int,
    ngram: int,
    a: ArrayLike,
    b: ArrayLike,
) -> tuple[np.ndarray, np.ndarray, frozenset[str], int]: ...
def minhash(shingles: ArrayLike, a: ArrayLike, b: ArrayLike) -> np.ndarray: ...
def shared_count(a: ArrayLike, b: ArrayLike) -> int: ...
