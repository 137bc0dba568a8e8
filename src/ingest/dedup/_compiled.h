/* The plain-C parts of ingest._compiled: chunk scanning, the search-text joiner, shingles, their
 * sort, MinHash, and the shared count of two shingle sets.
 *
 * Included by _compiled.pyx (after Python.h). The hashing is integer arithmetic on uint32 / uint64
 * with C's defined unsigned wraparound, so results are the same on every machine and compiler;
 * the MinHash loop is compiled twice on x86-64 Linux (AVX2 and baseline, chosen at
 * load time) so that a wheel built without -march still runs on any x86-64.
 */
#ifndef INGEST_KERNELS_H
#define INGEST_KERNELS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ING_GOLDEN 0x9E3779B97F4A7C15ULL

#ifndef ING_CLONES /* defining it empty (-DING_CLONES=) builds the one baseline version */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define ING_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define ING_CLONES
#endif
#endif

/* ---- whitespace, exactly as str.split() sees it ------------------------------------------ */

/* One bit per code point below 0x10000, filled from Py_UNICODE_ISSPACE at import. */
static uint8_t ing_space_bits[0x10000 / 8];

static void ing_init_space_bits(void) {
    for (Py_UCS4 ch = 0; ch < 0x10000; ch++) {
        if (Py_UNICODE_ISSPACE(ch)) ing_space_bits[ch >> 3] |= (uint8_t)(1u << (ch & 7));
    }
}

static inline int ing_isspace(Py_UCS4 ch) {
    if (ch < 0x10000) return (ing_space_bits[ch >> 3] >> (ch & 7)) & 1;
    return Py_UNICODE_ISSPACE(ch);
}

/* The next whitespace-separated chunk at or after *pos in a string of `n` code points: its start
 * in *start, its end in *pos. Returns 0 when there is none (then *pos == n). */
#define ING_NEXT_CHUNK_BODY(T)                                         \
    {                                                                  \
        const T *s = (const T *)data;                                  \
        Py_ssize_t i = *pos;                                           \
        while (i < n && ing_isspace(s[i])) i++;                        \
        if (i >= n) {                                                  \
            *pos = n;                                                  \
            return 0;                                                  \
        }                                                              \
        *start = i;                                                    \
        while (i < n && !ing_isspace(s[i])) i++;                       \
        *pos = i;                                                      \
        return 1;                                                      \
    }

static inline int ing_next_chunk(int kind, const void *data, Py_ssize_t n, Py_ssize_t *pos, Py_ssize_t *start) {
    switch (kind) {
        case PyUnicode_1BYTE_KIND:
            ING_NEXT_CHUNK_BODY(Py_UCS1)
        case PyUnicode_2BYTE_KIND:
            ING_NEXT_CHUNK_BODY(Py_UCS2)
        default:
            ING_NEXT_CHUNK_BODY(Py_UCS4)
    }
}

/* ---- the search text: " ".join of the non-empty folded chunks ------------------------------ */

/* Appends str pieces, a space between two, into one buffer: what str.join does, without a list
 * of the pieces. Pieces are copied as they come (the chunk cache may drop them later in the
 * scan). The buffer holds 2-byte code points until a 4-byte piece comes; the result gets the
 * widest piece's kind, as str.join gives it, so it is the canonical str of its content. */
typedef struct {
    char *data;
    Py_ssize_t length;   /* code points written */
    Py_ssize_t capacity; /* code points the buffer holds */
    int width;           /* bytes per code point in the buffer: 2 or 4 */
    Py_UCS4 bound;       /* the largest PyUnicode_MAX_CHAR_VALUE of a piece */
} ing_joiner;

static int ing_joiner_init(ing_joiner *j) {
    j->length = 0;
    j->capacity = 4096;
    j->width = 2;
    j->bound = 0x7F;
    j->data = (char *)malloc((size_t)j->capacity * 2);
    if (j->data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

/* Room for `extra` more code points of up to `width` bytes each. */
static int ing_joiner_reserve(ing_joiner *j, Py_ssize_t extra, int width) {
    Py_ssize_t need = j->length + extra, capacity = j->capacity;
    while (capacity < need) capacity *= 2;
    if (width > j->width) {
        Py_UCS4 *wide = (Py_UCS4 *)malloc((size_t)capacity * 4);
        if (wide == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        const Py_UCS2 *narrow = (const Py_UCS2 *)j->data;
        for (Py_ssize_t i = 0; i < j->length; i++) wide[i] = narrow[i];
        free(j->data);
        j->data = (char *)wide;
        j->width = 4;
    } else if (capacity > j->capacity) {
        char *grown = (char *)realloc(j->data, (size_t)capacity * j->width);
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        j->data = grown;
    }
    j->capacity = capacity;
    return 0;
}

/* Appends `piece` (a non-empty str), after a space unless it is the first. */
static int ing_joiner_add(ing_joiner *j, PyObject *piece) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(piece);
    int kind = PyUnicode_KIND(piece);
    const void *src = PyUnicode_DATA(piece);
    const int space = j->length > 0;
    if (ing_joiner_reserve(j, n + 1, kind == PyUnicode_4BYTE_KIND ? 4 : 2) < 0) return -1;
    Py_UCS4 bound = PyUnicode_MAX_CHAR_VALUE(piece);
    if (bound > j->bound) j->bound = bound;
    if (j->width == 2) {
        Py_UCS2 *dst = (Py_UCS2 *)j->data + j->length;
        if (space) *dst++ = ' ';
        if (kind == PyUnicode_2BYTE_KIND) {
            memcpy(dst, src, (size_t)n * 2);
        } else {
            for (Py_ssize_t i = 0; i < n; i++) dst[i] = ((const Py_UCS1 *)src)[i];
        }
    } else {
        Py_UCS4 *dst = (Py_UCS4 *)j->data + j->length;
        if (space) *dst++ = ' ';
        if (kind == PyUnicode_4BYTE_KIND) {
            memcpy(dst, src, (size_t)n * 4);
        } else if (kind == PyUnicode_2BYTE_KIND) {
            for (Py_ssize_t i = 0; i < n; i++) dst[i] = ((const Py_UCS2 *)src)[i];
        } else {
            for (Py_ssize_t i = 0; i < n; i++) dst[i] = ((const Py_UCS1 *)src)[i];
        }
    }
    j->length += space + n;
    return 0;
}

/* The joined str (a new reference), or NULL with an exception set. */
static PyObject *ing_joiner_finish(ing_joiner *j) {
    PyObject *s = PyUnicode_New(j->length, j->bound);
    if (s == NULL) return NULL;
    int kind = PyUnicode_KIND(s);
    void *dst = PyUnicode_DATA(s);
    if (kind == j->width) { /* 2 or 4: the buffer as it is */
        memcpy(dst, j->data, (size_t)j->length * j->width);
    } else { /* 1-byte pieces only (and spaces): the buffer is 2 bytes wide */
        const Py_UCS2 *src = (const Py_UCS2 *)j->data;
        for (Py_ssize_t i = 0; i < j->length; i++) ((Py_UCS1 *)dst)[i] = (Py_UCS1)src[i];
    }
    return s;
}

/* ---- token hashes ------------------------------------------------------------------------ */

/* Appends `count` little-endian uint64 values read from `src` to `dst`. */
static inline void ing_load_le64(uint64_t *dst, const char *src, size_t count) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(dst, src, count * 8);
#else
    const unsigned char *p = (const unsigned char *)src;
    for (size_t i = 0; i < count; i++, p += 8) {
        uint64_t v = 0;
        for (int k = 7; k >= 0; k--) v = (v << 8) | p[k];
        dst[i] = v;
    }
#endif
}

/* ---- shingles ---------------------------------------------------------------------------- */

static inline uint64_t ing_fmix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 33;
    return h;
}

static inline uint32_t ing_fmix32(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85EBCA6BU;
    h ^= h >> 13;
    h *= 0xC2B2AE35U;
    h ^= h >> 16;
    return h;
}

/* How many shingles `n` tokens give with word n-grams of `ngram` (one of all words if fewer). */
static inline size_t ing_shingle_count(size_t n, size_t ngram) {
    if (n == 0) return 0;
    return ngram < n ? n - ngram + 1 : 1;
}

/* The shingle hashes, unsorted: for each n-gram, acc = t0; acc = acc * GOLDEN + tk (mod 2^64),
 * an order-sensitive combination of its token hashes, then fmix64, an avalanche so that the low
 * 32 bits (the shingle, what MinHash consumes) depend on every token of the n-gram.
 * `out` holds ing_shingle_count(n, ngram) values. */
static void ing_shingles(const uint64_t *token, size_t n, size_t ngram, uint32_t *out) {
    size_t width = ngram < n ? ngram : n;
    size_t count = ing_shingle_count(n, ngram);
    for (size_t i = 0; i < count; i++) {
        uint64_t acc = token[i];
        for (size_t k = 1; k < width; k++) acc = acc * ING_GOLDEN + token[i + k];
        out[i] = (uint32_t)ing_fmix64(acc);
    }
}

/* Sorts v[0..n) ascending (LSD radix sort on bytes, `tmp` as large as `v`; insertion sort when
 * short), then drops repeats. Returns the number of unique values left at the front of v. */
static size_t ing_sort_unique(uint32_t *v, size_t n, uint32_t *tmp) {
    if (n < 2) return n;
    if (n <= 48) {
        for (size_t i = 1; i < n; i++) {
            uint32_t x = v[i];
            size_t j = i;
            while (j > 0 && v[j - 1] > x) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = x;
        }
    } else {
        size_t hist[4][256];
        memset(hist, 0, sizeof hist);
        for (size_t i = 0; i < n; i++) {
            uint32_t x = v[i];
            hist[0][x & 0xFF]++;
            hist[1][(x >> 8) & 0xFF]++;
            hist[2][(x >> 16) & 0xFF]++;
            hist[3][x >> 24]++;
        }
        uint32_t *src = v, *dst = tmp;
        for (int pass = 0; pass < 4; pass++) {
            size_t *h = hist[pass];
            int shift = pass * 8;
            size_t sum = 0;
            for (int d = 0; d < 256; d++) {
                size_t c = h[d];
                h[d] = sum;
                sum += c;
            }
            for (size_t i = 0; i < n; i++) {
                uint32_t x = src[i];
                dst[h[(x >> shift) & 0xFF]++] = x;
            }
            uint32_t *t = src;
            src = dst;
            dst = t;
        } /* four passes: the sorted values are back in v */
    }
    size_t m = 1;
    for (size_t i = 1; i < n; i++) {
        if (v[i] != v[m - 1]) v[m++] = v[i];
    }
    return m;
}

/* ---- MinHash ----------------------------------------------------------------------------- */

/* sig[p] = min over i of (a[p] * fmix32(shingle[i]) + b[p]) mod 2^32: datasketch's affine32
 * permutations. `hv` is scratch for n values. An empty set gives 0xFFFFFFFF everywhere. */
ING_CLONES
static void ing_minhash(const uint32_t *shingle, size_t n, const uint32_t *a, const uint32_t *b, size_t num_perm,
                        uint32_t *hv, uint32_t *sig) {
    for (size_t i = 0; i < n; i++) hv[i] = ing_fmix32(shingle[i]);
    for (size_t p = 0; p < num_perm; p++) {
        const uint32_t ap = a[p], bp = b[p];
        uint32_t m = UINT32_MAX;
        for (size_t i = 0; i < n; i++) {
            uint32_t x = ap * hv[i] + bp;
            m = x < m ? x : m;
        }
        sig[p] = m;
    }
}

/* ---- shared count of two sorted unique sets ---------------------------------------------- */

/* First index in b[lo..n) whose value is >= x, searching from lo with doubling steps. */
static inline size_t ing_gallop(const uint32_t *b, size_t lo, size_t n, uint32_t x) {
    if (lo >= n || b[lo] >= x) return lo;
    size_t step = 1, hi = lo + 1; /* invariant: b[lo] < x */
    while (hi < n && b[hi] < x) {
        lo = hi;
        step <<= 1;
        hi = lo + step;
    }
    if (hi > n) hi = n;
    /* b[lo] < x, and hi == n or b[hi] >= x: binary search in (lo, hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (b[mid] < x)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

/* |a n b| for sorted arrays of unique values: a merge when the sizes are close, a galloping
 * search of the smaller in the larger when one is much larger. */
static size_t ing_shared_count(const uint32_t *a, size_t na, const uint32_t *b, size_t nb) {
    if (na > nb) {
        const uint32_t *t = a;
        a = b;
        b = t;
        size_t tn = na;
        na = nb;
        nb = tn;
    }
    size_t shared = 0;
    if (na == 0) return 0;
    if (na * 16 < nb) {
        size_t j = 0;
        for (size_t i = 0; i < na && j < nb; i++) {
            j = ing_gallop(b, j, nb, a[i]);
            if (j < nb && b[j] == a[i]) {
                shared++;
                j++;
            }
        }
        return shared;
    }
    size_t i = 0, j = 0;
    while (i < na && j < nb) {
        uint32_t x = a[i], y = b[j];
        shared += x == y;
        i += x <= y;
        j += y <= x;
    }
    return shared;
}

#endif
