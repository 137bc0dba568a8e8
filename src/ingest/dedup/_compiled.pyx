# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled hot path of `ingest.dedup.fingerprint` and `ingest.dedup.similarity` (see those modules for the what).

`prepare` / `fingerprint` walk a text once: split it into whitespace-separated chunks exactly as
`str.split()` does, look each chunk up in the chunk cache (a dict whose `__missing__` computes
the per-chunk values in Python: that cache stays the one definition of them), and gather in the
same pass the folded words of the search text, the token hashes and the numbers in context.
Shingles, their sort and the MinHash signature are then plain C (`_compiled.h`).
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_Check, PyDict_GetItemWithError
from cpython.object cimport PyObject, PyObject_GetItem
from cpython.unicode cimport (
    PyUnicode_DATA,
    PyUnicode_GET_LENGTH,
    PyUnicode_KIND,
    PyUnicode_READ,
    PyUnicode_Substring,
)
from libc.stdint cimport uint32_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy

cimport numpy as cnp

cnp.import_array()


cdef extern from "_compiled.h":
    void ing_init_space_bits()
    bint ing_next_chunk(int kind, const void* data, Py_ssize_t n, Py_ssize_t* pos, Py_ssize_t* start)
    void ing_load_le64(uint64_t* dst, const char* src, size_t count)
    size_t ing_shingle_count(size_t n, size_t ngram)
    void ing_shingles(const uint64_t* token, size_t n, size_t ngram, uint32_t* out)
    size_t ing_sort_unique(uint32_t* v, size_t n, uint32_t* tmp)
    void ing_minhash(const uint32_t* shingle, size_t n, const uint32_t* a, const uint32_t* b, size_t num_perm,
                     uint32_t* hv, uint32_t* sig)
    size_t ing_shared_count(const uint32_t* a, size_t na, const uint32_t* b, size_t nb)
    uint64_t ing_fmix64(uint64_t h)
    uint64_t ING_GOLDEN
    ctypedef struct ing_joiner:
        char* data
    int ing_joiner_init(ing_joiner* j) except -1
    int ing_joiner_add(ing_joiner* j, object piece) except -1
    object ing_joiner_finish(ing_joiner* j)


ing_init_space_bits()

cdef frozenset _NO_NUMBERS = frozenset()


@cython.final
@cython.no_gc  # its fields are str and bytes: no reference cycle can go through a Chunk
cdef class Chunk:
    """What one whitespace-separated chunk of raw text contributes; see `ingest.dedup.fingerprint._ChunkCache`.

    A C struct with typed fields, so the kernel reads them without checks or tuple indexing, and
    untracked by the cycle collector, which would otherwise walk the whole chunk cache.
    """

    cdef readonly str folded
    """normalize(chunk): its words, as search sees them ("" for punctuation)."""
    cdef readonly bytes packed
    """xxh3 hashes of the normalised words, little-endian uint64."""
    cdef readonly str number
    """The first number written in the chunk, normalised ("10.85"); "" if none."""
    cdef readonly str first
    """The first normalised word: the right-hand context of a number before it."""
    cdef readonly str last
    """The last normalised word: the left-hand context of a number after it ("" if a number)."""

    def __init__(self, str folded not None, bytes packed not None, str number not None, str first not None,
                 str last not None):
        if len(packed) % 8:
            raise ValueError("packed must hold whole uint64 values")
        self.folded = folded
        self.packed = packed
        self.number = number
        self.first = first
        self.last = last

    def __repr__(self):
        return (
            f"Chunk(folded={self.folded!r}, packed={self.packed!r}, number={self.number!r}, "
            f"first={self.first!r}, last={self.last!r})"
        )


cdef inline Chunk _lookup(object cache, str chunk):
    """cache[chunk], through the cache's __missing__ on a miss."""
    cdef PyObject* found = PyDict_GetItemWithError(cache, chunk)
    value = <object>found if found is not NULL else PyObject_GetItem(cache, chunk)
    if type(value) is not Chunk:
        raise TypeError(f"the chunk cache holds {value!r}, not a Chunk")
    return <Chunk>value


cdef cnp.ndarray _u32(object values, str name):
    """`values` as a 1-D C-contiguous native uint32 array (itself when it already is one)."""
    if cnp.PyArray_Check(values):
        arr = <cnp.ndarray>values
        if (
            cnp.PyArray_TYPE(arr) == cnp.NPY_UINT32
            and cnp.PyArray_NDIM(arr) == 1
            and cnp.PyArray_ISCARRAY_RO(arr)
            and cnp.PyArray_ISNOTSWAPPED(arr)
        ):
            return arr
    try:
        return cnp.PyArray_FROMANY(values, cnp.NPY_UINT32, 1, 1, cnp.NPY_ARRAY_IN_ARRAY)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be a 1-D array of uint32 (or safely castable to it): {e}") from None


cdef cnp.ndarray _new_u32(Py_ssize_t n):
    cdef cnp.npy_intp dims[1]
    dims[0] = n
    return cnp.PyArray_SimpleNew(1, dims, cnp.NPY_UINT32)


cdef class _Tokens:
    """A growable C array of uint64 token hashes, freed with its owner."""

    cdef uint64_t* data
    cdef size_t size
    cdef size_t capacity

    def __cinit__(self):
        self.capacity = 1024
        self.data = <uint64_t*>malloc(self.capacity * sizeof(uint64_t))
        if self.data is NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.data)

    cdef int append_le64(self, bytes packed) except -1:
        cdef size_t count = <size_t>PyBytes_GET_SIZE(packed) >> 3
        cdef size_t need = self.size + count
        cdef size_t capacity = self.capacity
        cdef uint64_t* grown
        if need > capacity:
            while need > capacity:
                capacity *= 2
            grown = <uint64_t*>realloc(self.data, capacity * sizeof(uint64_t))
            if grown is NULL:
                raise MemoryError()
            self.data = grown
            self.capacity = capacity
        ing_load_le64(self.data + self.size, PyBytes_AS_STRING(packed), count)
        self.size = need
        return 0


cdef frozenset _scan(object cache, str title, str text, Py_ssize_t cut, _Tokens tokens, ing_joiner* search, list ends):
    """One pass over the chunks: token hashes into `tokens`, folded words into `search` (unless
    NULL), the token offsets where sentences end into `ends` (unless None: after a chunk ending
    in . ! ? or ؟, and at a line break), and the numbers in context, returned."""
    cdef Py_ssize_t previous = -1, i
    cdef Py_UCS4 last
    cdef Py_ssize_t pos = 0, start = 0
    cdef Py_ssize_t n
    cdef int kind
    cdef const void* data
    cdef Chunk chunk
    cdef str word

    # The title: its words belong to the search text only.
    if search is not NULL:
        n = PyUnicode_GET_LENGTH(title)
        kind = PyUnicode_KIND(title)
        data = PyUnicode_DATA(title)
        while ing_next_chunk(kind, data, n, &pos, &start):
            word = _lookup(cache, PyUnicode_Substring(title, start, pos)).folded
            if PyUnicode_GET_LENGTH(word):
                ing_joiner_add(search, word)

    # The body: token hashes and numbers up to `cut` (where a related-articles block starts, at a
    # line start, so no chunk straddles it), folded words to the end when a search text is wanted.
    cdef dict after_word = None  # "word|" entries by word: the first number after each word
    cdef dict before_word = None  # "|word" entries by word: the first number before each word
    cdef str number = None  # the number of the previous chunk, waiting for the next word
    cdef str before = None  # the previous chunk's last word ("" if it ends in a number)
    n = PyUnicode_GET_LENGTH(text)
    kind = PyUnicode_KIND(text)
    data = PyUnicode_DATA(text)
    pos = 0
    if cut > n:
        cut = n
    while ing_next_chunk(kind, data, n, &pos, &start):
        if start >= cut:
            if search is NULL:
                break
            word = _lookup(cache, PyUnicode_Substring(text, start, pos)).folded
            if PyUnicode_GET_LENGTH(word):
                ing_joiner_add(search, word)
            continue
        if ends is not None and previous >= 0:
            for i in range(previous, start):
                if PyUnicode_READ(kind, <void*>data, i) == 10:  # a line break between the chunks
                    ends.append(tokens.size)
                    break
        chunk = _lookup(cache, PyUnicode_Substring(text, start, pos))
        if search is not NULL and PyUnicode_GET_LENGTH(chunk.folded):
            ing_joiner_add(search, chunk.folded)
        tokens.append_le64(chunk.packed)
        if ends is not None:
            last = PyUnicode_READ(kind, <void*>data, pos - 1)
            if last == 46 or last == 33 or last == 63 or last == 0x061F:  # . ! ? ؟
                ends.append(tokens.size)
            previous = pos
        # Numbers in context: the first number written after each word ("word|number|") and the
        # first before each word ("|number|word"), chunk by chunk in text order.
        if number is not None:
            if before_word is None:
                before_word = {}
            if chunk.first not in before_word:
                before_word[chunk.first] = f"|{number}|{chunk.first}"
            number = None
        if PyUnicode_GET_LENGTH(chunk.number):
            number = chunk.number
            if before is not None and PyUnicode_GET_LENGTH(before):
                if after_word is None:
                    after_word = {}
                if before not in after_word:
                    after_word[before] = f"{before}|{number}|"
        before = chunk.last
    if after_word is None and before_word is None:
        return _NO_NUMBERS
    return frozenset([*(after_word or {}).values(), *(before_word or {}).values()])


cdef tuple _run(
    object cache, str title, str text, Py_ssize_t cut, Py_ssize_t ngram, object a, object b, Py_ssize_t min_words
):
    """(search text or None, shingles, signature, numbers, length, sentence minima or None); see
    `prepare` and `prepare_with_sentences` (min_words > 0)."""
    if not PyDict_Check(cache):
        raise TypeError(f"the chunk cache must be a dict (subclass), not {type(cache).__name__}")
    if ngram < 1:
        raise ValueError("ngram must be positive")
    cdef cnp.ndarray perm_a = _u32(a, "a"), perm_b = _u32(b, "b")
    cdef Py_ssize_t num_perm = cnp.PyArray_DIM(perm_a, 0)
    if cnp.PyArray_DIM(perm_b, 0) != num_perm:
        raise ValueError("a and b must have one value per permutation")

    cdef _Tokens tokens = _Tokens()
    cdef ing_joiner joiner
    cdef frozenset numbers
    cdef list ends = [] if min_words > 0 else None
    search = None
    if title is None:
        numbers = _scan(cache, title, text, cut, tokens, NULL, ends)
    else:
        ing_joiner_init(&joiner)
        try:
            numbers = _scan(cache, title, text, cut, tokens, &joiner, ends)
            search = ing_joiner_finish(&joiner)
        finally:
            free(joiner.data)

    # Shingles: sorted unique uint32; then the MinHash of them.
    cdef size_t count = ing_shingle_count(tokens.size, <size_t>ngram)
    cdef size_t unique
    cdef uint32_t* scratch = <uint32_t*>malloc((2 * count + 1) * sizeof(uint32_t))
    if scratch is NULL:
        raise MemoryError()
    cdef cnp.ndarray shingles, signature
    try:
        ing_shingles(tokens.data, tokens.size, <size_t>ngram, scratch)
        unique = ing_sort_unique(scratch, count, scratch + count)
        shingles = _new_u32(<Py_ssize_t>unique)
        memcpy(cnp.PyArray_DATA(shingles), scratch, unique * sizeof(uint32_t))
        signature = _new_u32(num_perm)
        ing_minhash(
            scratch,
            unique,
            <const uint32_t*>cnp.PyArray_DATA(perm_a),
            <const uint32_t*>cnp.PyArray_DATA(perm_b),
            <size_t>num_perm,
            scratch + count,
            <uint32_t*>cnp.PyArray_DATA(signature),
        )
    finally:
        free(scratch)
    cdef list minima = None
    cdef size_t opened = 0, shortest = <size_t>(min_words if min_words > ngram else ngram)
    if ends is not None:
        minima = []
        ends.append(tokens.size)
        for end in ends:
            _close_sentence(tokens, opened, <size_t>end, <size_t>ngram, shortest, minima)
            opened = <size_t>end
    return search, shingles, signature, numbers, <Py_ssize_t>tokens.size, minima


def prepare(cache, str title not None, str text not None, Py_ssize_t cut, Py_ssize_t ngram, a, b):
    """(search text, shingles, signature, numbers, length) of one article, in one pass over its chunks.

    `cache` maps a chunk to its _Chunk (computing it on a miss); the search text is the non-empty
    folded chunks of title and text joined by single spaces; the fingerprint fields are those of
    the text's chunks that start before `cut`; `a`, `b` are the MinHash permutations.
    """
    return _run(cache, title, text, cut, ngram, a, b, 0)[:5]


def prepare_with_sentences(
    cache, str title not None, str text not None, Py_ssize_t cut, Py_ssize_t ngram, a, b, Py_ssize_t min_words
):
    """`prepare`'s five fields, then the least word n-gram hash (63 bits) of each sentence of the
    text of `min_words` words or more, in the same pass over the chunks (`ingest.fingerprint.sentence_keys`)."""
    return _run(cache, title, text, cut, ngram, a, b, min_words)


def fingerprint(cache, str text not None, Py_ssize_t cut, Py_ssize_t ngram, a, b):
    """(shingles, signature, numbers, length) of the text's chunks that start before `cut`."""
    return _run(cache, None, text, cut, ngram, a, b, 0)[1:5]


cdef uint64_t _MASK63 = (<uint64_t>1 << 63) - 1


cdef int _close_sentence(_Tokens tokens, size_t start, size_t end, size_t ngram, size_t shortest, list out) except -1:
    """Append the least 63-bit word n-gram hash of tokens[start:end] to `out` if it has `shortest` words."""
    if end < start + shortest:
        return 0
    cdef uint64_t acc, h, best = _MASK63
    cdef size_t i, k
    for i in range(start, end - ngram + 1):
        acc = tokens.data[i]
        for k in range(1, ngram):
            acc = acc * ING_GOLDEN + tokens.data[i + k]
        h = ing_fmix64(acc) & _MASK63
        if h < best:
            best = h
    out.append(best)
    return 0


def minhash(shingles, a, b):
    """The MinHash signature (uint32, one value per permutation) of a set of uint32 shingle hashes."""
    cdef cnp.ndarray values = _u32(shingles, "shingles"), perm_a = _u32(a, "a"), perm_b = _u32(b, "b")
    cdef Py_ssize_t n = cnp.PyArray_DIM(values, 0), num_perm = cnp.PyArray_DIM(perm_a, 0)
    if cnp.PyArray_DIM(perm_b, 0) != num_perm:
        raise ValueError("a and b must have one value per permutation")
    cdef cnp.ndarray signature = _new_u32(num_perm)
    cdef uint32_t* hv = <uint32_t*>malloc((n + 1) * sizeof(uint32_t))
    if hv is NULL:
        raise MemoryError()
    ing_minhash(
        <const uint32_t*>cnp.PyArray_DATA(values),
        <size_t>n,
        <const uint32_t*>cnp.PyArray_DATA(perm_a),
        <const uint32_t*>cnp.PyArray_DATA(perm_b),
        <size_t>num_perm,
        hv,
        <uint32_t*>cnp.PyArray_DATA(signature),
    )
    free(hv)
    return signature


def shared_count(a, b):
    """|a n b| of two sorted arrays of unique uint32 values."""
    cdef cnp.ndarray x = _u32(a, "a"), y = _u32(b, "b")
    return ing_shared_count(
        <const uint32_t*>cnp.PyArray_DATA(x),
        <size_t>cnp.PyArray_DIM(x, 0),
        <const uint32_t*>cnp.PyArray_DATA(y),
        <size_t>cnp.PyArray_DIM(y, 0),
    )
