"""Fit a small model of "is this pair a copy" on the ANT tuning half, and compare it with `verify`'s rule.

    .venv/bin/python bench/fit_verify.py                # ~10 s (the 240 labelled pairs' texts only)
    .venv/bin/python bench/fit_verify.py --data DIR     # another copy of the data set

Issue 13 asks for a verification that reads like the label definition, with thresholds or a small
model fitted on the tuning half only. This fits an L2-regularised logistic regression (Newton's
method, numpy only) on features of each labelled pair as `verify` sees it in production: the
fingerprints of the two texts (body only, no title), their publication times, and the texts for
the sentence alignment. Features:

* `containment`: word 3-gram containment of the shorter text in the longer (`compare`);
* `aligned share`: the share of the shorter text's words in sentences that align (`align`);
* `log(1 + aligned sentences)`;
* `days apart` (0 when a date is missing);
* `numbers differ`: 1 when `_number_check` rejects the pair;
* `title overlap` (optional, `--title`): Jaccard of the normalised title words. `verify` never
  sees titles (fingerprints are of the body), so this column only tells whether plumbing them
  through would pay.

Two ways to use the model, each printed as a precision/recall curve over its threshold (tuning
half; the check half alongside, read for the report only, never to choose):

* `whole`: the model decides every pair (the window and swapped names stay hard rules);
* `grey zone`: containment >= 0.55 verifies as today, and the model decides the pairs from
  containment 0.2 to 0.55 that pass the numbers, names and window checks.

The last lines give, for each model, the best tuning-half recall at a tuning-half precision no
lower than the current rule's, which is what a model must beat to replace the rule.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from dedup_real import DATA, Pair, load_articles, load_pairs, prf, split, when  # bench/ is on sys.path

from ingest.dedup.fingerprint import DEFAULT, fingerprint
from ingest.dedup.similarity import _hours_apart, _number_check, align, compare, substitution, verify
from ingest.text import normalize

FEATURES = ("containment", "aligned share", "log(1 + aligned sentences)", "days apart", "numbers differ")
GREY_ZONE = (0.2, DEFAULT.min_containment)
L2 = 0.01  # on standardised features: just enough to keep separable subsets finite
THRESHOLDS = np.round(np.arange(0.05, 1.0, 0.05), 2)  # on the predicted probability


@dataclass(frozen=True)
class Row:
    """One labelled pair: its features, its label, the current rule's decision, and the hard checks."""

    pair: Pair
    x: tuple[float, ...]
    rule: bool  # `verify` as it stands
    hard_ok: bool  # within the window and no swapped names (the numbers are a feature)
    containment: float


def features(pair: Pair, by_id: dict[str, dict[str, Any]], title: bool) -> Row:
    a, b = by_id[pair.a], by_id[pair.b]
    fa, fb = fingerprint(a["text"] or ""), fingerprint(b["text"] or "")
    ta, tb = when(a["published_at"]), when(b["published_at"])
    sim = compare(fa, fb)
    found = align(fa.text, fb.text)
    hours = _hours_apart(ta, tb)
    numbers_differ = _number_check(fa.numbers, fb.numbers, DEFAULT) is not None
    x = [sim.containment, found.share, math.log1p(found.sentences), (hours or 0.0) / 24, float(numbers_differ)]
    if title:
        wa, wb = set(normalize(a["title"] or "").split()), set(normalize(b["title"] or "").split())
        x.append(len(wa & wb) / len(wa | wb) if wa | wb else 0.0)
    in_window = hours is None or hours <= DEFAULT.window_hours
    swapped = sim.containment < DEFAULT.max_substitution_containment and substitution(fa.text, fb.text) is not None
    rule = verify(fa, fb, ta, tb).same_story
    return Row(pair, tuple(x), rule, in_window and not swapped, sim.containment)


def fit_logistic(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weights with the intercept first, feature means, feature deviations): Newton on standardised features."""
    mean, dev = x.mean(axis=0), x.std(axis=0)
    dev[dev == 0] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / dev])
    w = np.zeros(z.shape[1])
    penalty = L2 * np.eye(len(w))
    penalty[0, 0] = 0.0  # the intercept is not shrunk
    for _ in range(100):
        p = 1 / (1 + np.exp(-z @ w))
        step = np.linalg.solve(z.T @ (z * (p * (1 - p))[:, None]) + penalty, z.T @ (p - y) + penalty @ w)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return w, mean, dev


def probability(w: np.ndarray, mean: np.ndarray, dev: np.ndarray, x: Sequence[float]) -> float:
    return float(1 / (1 + np.exp(-(w[0] + w[1:] @ ((np.asarray(x) - mean) / dev)))))


Decide = Callable[[Row, float], bool]


def model(rows: Sequence[Row], grey: bool) -> tuple[Decide, list[str]]:
    """Fit on `rows` (the tuning half); the decision at a threshold, and the coefficients in raw units."""
    chosen = [r for r in rows if not grey or _in_grey_zone(r)]
    x = np.array([r.x for r in chosen])
    w, mean, dev = fit_logistic(x, np.array([r.pair.copy for r in chosen], dtype=float))
    raw = w[1:] / dev
    names = [*FEATURES, "title overlap"][: x.shape[1]]
    described = [f"intercept {w[0] - float(raw @ mean):+.3f}"]
    described += [f"{n} {c:+.3f}" for n, c in zip(names, raw, strict=True)]
    described.append(f"(fitted on {len(chosen)} pairs, {sum(r.pair.copy for r in chosen)} copies)")

    def decide(row: Row, threshold: float) -> bool:
        if grey and row.containment >= GREY_ZONE[1]:
            return row.rule
        if not row.hard_ok or (grey and not _in_grey_zone(row)):
            return False
        return probability(w, mean, dev, row.x) >= threshold

    return decide, described


def _rule(row: Row, _threshold: float) -> bool:
    return row.rule


def _in_grey_zone(row: Row) -> bool:
    """Containment 0.2-0.55, within the window, no swapped names, numbers agreeing."""
    return GREY_ZONE[0] <= row.containment < GREY_ZONE[1] and row.hard_ok and not row.x[4]


def score(rows: Sequence[Row], decide: Decide, threshold: float) -> tuple[float, float, float, int, int, int]:
    return prf((r.pair.copy, decide(r, threshold)) for r in rows)


def curve(name: str, decide: Decide, tuning: Sequence[Row], check: Sequence[Row], floor: float) -> None:
    print(f"\n{name}: threshold | tuning P / R / F1 (tp/fp/fn) | check P / R / F1")
    best: tuple[float, float] | None = None
    for t in THRESHOLDS:
        pt, pc = score(tuning, decide, t), score(check, decide, t)
        print(
            f"  {t:.2f} | {pt[0]:.3f} / {pt[1]:.3f} / {pt[2]:.3f} ({pt[3]}/{pt[4]}/{pt[5]}) "
            f"| {pc[0]:.3f} / {pc[1]:.3f} / {pc[2]:.3f}"
        )
        if pt[0] >= floor and (best is None or pt[1] > best[1]):
            best = (t, pt[1])
    said = "none" if best is None else f"recall {best[1]:.3f} at threshold {best[0]:.2f}"
    print(f"  best tuning recall at tuning precision >= {floor:.3f} (the current rule's): {said}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--title", action="store_true", help="add the title overlap (verify does not see titles)")
    args = parser.parse_args()
    if not (args.data / "articles.jsonl.gz").exists():
        print(f"skipped: {args.data} not found")
        return 0
    pairs = load_pairs(args.data / "pairs.csv")
    wanted = {i for p in pairs for i in (p.a, p.b)}
    by_id = {r["id"]: r for r in load_articles(args.data / "articles.jsonl.gz") if r["id"] in wanted}
    halves = split(pairs)
    tuning, check = ([features(p, by_id, args.title) for p in half] for half in halves)
    rule_t, rule_c = score(tuning, _rule, 0.0), score(check, _rule, 0.0)
    print(f"features: {', '.join(FEATURES)}{', title overlap' if args.title else ''}")
    print(f"current rule (verify): tuning P / R / F1 {rule_t[0]:.3f} / {rule_t[1]:.3f} / {rule_t[2]:.3f} ", end="")
    print(f"({rule_t[3]}/{rule_t[4]}/{rule_t[5]}), check {rule_c[0]:.3f} / {rule_c[1]:.3f} / {rule_c[2]:.3f}")
    for name, grey in (("whole: the model decides every pair", False), ("grey zone: containment 0.2-0.55", True)):
        decide, described = model(tuning, grey)
        print(f"\n{name}\n  coefficients (raw units): {'; '.join(described)}")
        curve(name.split(":")[0], decide, tuning, check, rule_t[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
