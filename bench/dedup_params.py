"""Sweep near-duplicate parameters on the labelled dev set and print the tables for the README.

    .venv/bin/python bench/dedup_params.py            # 3 dev-set seeds, ~1 minute on one core
    .venv/bin/python bench/dedup_params.py --seeds 0  # quicker

For each shingling (word 1..5-grams, char 5-grams) it measures:
* the separation: lowest containment of a true copy pair vs highest containment of two distinct
  stories of one hard-negative family (the margin verification thresholds live in);
* LSH candidate-pair recall for (bands, rows) optimised by datasketch for several thresholds;
* pairwise precision / recall / F1 of the final grouping (LSH candidates -> `verify` -> union of
  verified pairs), and merges between distinct stories of one family (must be 0).
Then a containment-threshold table for the chosen shingling, and fingerprint throughput.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import xxhash
from datasketch.lsh import _optimal_param

from ingest.dedup.fingerprint import DEFAULT, DedupParams, Fingerprint, _minhash, band_keys, fingerprint
from ingest.dedup.similarity import compare, verify
from ingest.text import normalize
from ingest_dev.devset import DevDoc, base_stories, generate

SHINGLINGS = ("w1", "w2", "w3", "w4", "w5", "c5")
LSH_THRESHOLDS = (0.1, 0.15, 0.2, 0.3, 0.5)
CONTAINMENTS = (0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 0.9)


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    f1: float
    family_merges: int
    candidate_recall: float


def fingerprint_as(text: str, shingling: str, params: DedupParams) -> Fingerprint:
    """A word n-gram fingerprint through the production code, or a char n-gram one for comparison."""
    if shingling.startswith("w"):
        return fingerprint(text, replace(params, ngram=int(shingling[1:])))
    n = int(shingling[1:])
    norm = normalize(text)
    grams = {norm[i : i + n] for i in range(max(1, len(norm) - n + 1))}
    hashes = np.array([xxhash.xxh3_64_intdigest(g.encode()) for g in grams], dtype=np.uint64)
    shingles = np.unique(hashes.astype(np.uint32))  # the low 32 bits, as word shingles keep
    base = fingerprint(text, params)
    return Fingerprint(shingles, _minhash(shingles, params.num_perm, params.seed), base.numbers, base.length)


def pairs(n: int) -> Iterator[tuple[int, int]]:
    return itertools.combinations(range(n), 2)


def candidates(fps: Sequence[Fingerprint], params: DedupParams) -> set[tuple[int, int]]:
    """Pairs sharing at least one band key: what the store-backed index would return."""
    by_key: dict[int, list[int]] = {}
    for i, fp in enumerate(fps):
        for key in band_keys(fp.signature, params).tolist():
            by_key.setdefault(key, []).append(i)
    return {(a, b) for ids in by_key.values() for a, b in itertools.combinations(ids, 2)}


def groups(n: int, edges: Sequence[tuple[int, int]]) -> list[int]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        parent[find(a)] = find(b)
    return [find(i) for i in range(n)]


def evaluate(docs: Sequence[DevDoc], fps: Sequence[Fingerprint], params: DedupParams) -> tuple[int, ...]:
    """(tp, fp, fn, family merges, true pairs found by LSH, true pairs) of one dev set."""
    family = {s.story_id: s.group for s in base_stories()}
    cands = candidates(fps, params)
    verified = [
        (a, b)
        for a, b in cands
        if verify(fps[a], fps[b], docs[a].published_at, docs[b].published_at, params).same_story
    ]
    label = groups(len(docs), verified)
    tp = fp = fn = merges = found = true = 0
    for a, b in pairs(len(docs)):
        same, said = docs[a].story_id == docs[b].story_id, label[a] == label[b]
        tp, fp, fn = tp + (same and said), fp + (said and not same), fn + (same and not said)
        true += same
        found += same and (a, b) in cands
        sa, sb = family[docs[a].story_id], family[docs[b].story_id]
        merges += said and not same and sa == sb != "none"
    return tp, fp, fn, merges, found, true


def score(counts: list[tuple[int, ...]]) -> Score:
    tp, fp, fn, merges, found, true = (sum(c[i] for c in counts) for i in range(6))
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return Score(p, r, 2 * p * r / (p + r) if p + r else 0.0, merges, found / true if true else 1.0)


def separation(docs: Sequence[DevDoc], fps: Sequence[Fingerprint]) -> tuple[float, float, float]:
    """(min containment of true pairs, max of same-family distinct stories, max of template families
    *after* excluding pairs the number check rejects)."""
    family = {s.story_id: s.group for s in base_stories()}
    low, high, high_num = 1.0, 0.0, 0.0
    for a, b in pairs(len(docs)):
        sa, sb = docs[a].story_id, docs[b].story_id
        if sa != sb and family[sa] != family[sb]:
            continue
        c = compare(fps[a], fps[b]).containment
        if sa == sb:
            low = min(low, c)
        elif family[sa] != "none":
            high = max(high, c)
            if verify(fps[a], fps[b], params=replace(DEFAULT, min_containment=0.0)).same_story:
                high_num = max(high_num, c)
    return low, high, high_num


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    bands, rows = _optimal_param(threshold, num_perm, 0.5, 0.5)
    return int(bands), int(rows)


def throughput(texts: Sequence[str], rounds: int = 3) -> tuple[float, float]:
    """Cold (first sight of every text) and warm docs/s of `fingerprint` on this process's core."""
    start = time.perf_counter()
    for text in texts:
        fingerprint(text)
    cold = len(texts) / (time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            fingerprint(text)
    return cold, rounds * len(texts) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--chosen", default=f"w{DEFAULT.ngram}", help="shingling for the threshold table")
    args = parser.parse_args()
    sets = [generate(seed) for seed in args.seeds]
    n_docs, n_stories = sum(map(len, sets)), len(base_stories())
    print(f"dev set: seeds {args.seeds}, {n_docs} docs, {n_stories} stories per seed\n")
    lsh = {t: lsh_params(t, DEFAULT.num_perm) for t in LSH_THRESHOLDS}
    print(
        "LSH (bands, rows) by datasketch _optimal_param, num_perm=128:",
        ", ".join(f"t={t}: {b}x{r}" for t, (b, r) in lsh.items()),
        "\n",
    )

    fps = {sh: [[fingerprint_as(d.text, sh, DEFAULT) for d in docs] for docs in sets] for sh in SHINGLINGS}
    print_separation(sets, fps)
    print_candidate_recall(sets, fps, lsh)
    print_best_per_shingling(sets, fps, lsh)
    print_threshold_table(sets, fps[args.chosen], args.chosen)
    print_default(sets, fps[f"w{DEFAULT.ngram}"])
    cold, warm = throughput([d.text for d in sets[0]])
    words = np.mean([len(d.text.split()) for d in sets[0]])
    print(
        f"\nfingerprint throughput (DEFAULT, {words:.0f}-word dev docs, 1 core): "
        f"{cold:,.0f} docs/s cold cache, {warm:,.0f} docs/s warm"
    )


def print_separation(sets: list[list[DevDoc]], fps: dict[str, list[list[Fingerprint]]]) -> None:
    print("## Separation (exact containment)\n")
    print("| shingles | min true-copy pair | max same-family distinct pair | ... passing the number check |")
    print("|---|---|---|---|")
    for sh in SHINGLINGS:
        seps = [separation(docs, f) for docs, f in zip(sets, fps[sh], strict=True)]
        low, high, high_num = min(s[0] for s in seps), max(s[1] for s in seps), max(s[2] for s in seps)
        print(f"| {sh} | {low:.3f} | {high:.3f} | {high_num:.3f} |")
    print()


def print_candidate_recall(
    sets: list[list[DevDoc]], fps: dict[str, list[list[Fingerprint]]], lsh: dict[float, tuple[int, int]]
) -> None:
    print("## LSH candidate-pair recall (true copy pairs sharing a band key) / candidates per doc\n")
    print("| shingles | " + " | ".join(f"t={t} ({b}x{r})" for t, (b, r) in lsh.items()) + " |")
    print("|---|" + "---|" * len(lsh))
    for sh in SHINGLINGS:
        cells = []
        for b, r in lsh.values():
            params = replace(DEFAULT, bands=b, rows=r)
            found = true = n_cands = 0
            for docs, f in zip(sets, fps[sh], strict=True):
                cands = candidates(f, params)
                n_cands += len(cands)
                for x, y in pairs(len(docs)):
                    if docs[x].story_id == docs[y].story_id:
                        true += 1
                        found += (x, y) in cands
            cells.append(f"{found / true:.3f} / {2 * n_cands / sum(map(len, sets)):.1f}")
        print(f"| {sh} | " + " | ".join(cells) + " |")
    print()


def print_best_per_shingling(
    sets: list[list[DevDoc]], fps: dict[str, list[list[Fingerprint]]], lsh: dict[float, tuple[int, int]]
) -> None:
    print("## Final grouping: best setting per shingling (max F1, then fewest family merges)\n")
    print("| shingles | LSH t (b x r) | min containment | numbers | P | R | F1 | family merges | cand. recall |")
    print("|---|---|---|---|---|---|---|---|---|")
    for sh in SHINGLINGS:
        best: tuple[tuple[float, int], str, Score] | None = None
        for (t, (b, r)), c, numbers in itertools.product(lsh.items(), CONTAINMENTS, (True, False)):
            params = replace(
                DEFAULT,
                bands=b,
                rows=r,
                lsh_threshold=t,
                min_containment=c,
                min_numbers=DEFAULT.min_numbers if numbers else 10**6,
            )
            s = score([evaluate(docs, f, params) for docs, f in zip(sets, fps[sh], strict=True)])
            key = (s.f1, -s.family_merges)
            if best is None or key > best[0]:
                best = (key, f"{t} ({b}x{r}) | {c} | {'on' if numbers else 'off'}", s)
        assert best is not None
        _, setting, s = best
        print(
            f"| {sh} | {setting} | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} "
            f"| {s.family_merges} | {s.candidate_recall:.3f} |"
        )
    print()


def print_threshold_table(sets: list[list[DevDoc]], fps: list[list[Fingerprint]], shingling: str) -> None:
    print(f"## Containment threshold vs precision / recall ({shingling}, LSH and other params as DEFAULT)\n")
    print("| min containment | P | R | F1 | family merges | P without number check |")
    print("|---|---|---|---|---|---|")
    for c in CONTAINMENTS:
        on = replace(DEFAULT, min_containment=c)
        s = score([evaluate(d, f, on) for d, f in zip(sets, fps, strict=True)])
        off = replace(DEFAULT, min_containment=c, min_numbers=10**6)
        s_off = score([evaluate(d, f, off) for d, f in zip(sets, fps, strict=True)])
        print(f"| {c} | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} | {s.family_merges} | {s_off.precision:.3f} |")
    print()


def print_default(sets: list[list[DevDoc]], fps: list[list[Fingerprint]]) -> None:
    s = score([evaluate(d, f, DEFAULT) for d, f in zip(sets, fps, strict=True)])
    print(
        f"DEFAULT {DEFAULT}\n  precision {s.precision:.3f}  recall {s.recall:.3f}  F1 {s.f1:.3f}  "
        f"family merges {s.family_merges}  LSH candidate recall {s.candidate_recall:.3f}"
    )


if __name__ == "__main__":
    main()
