"""Per-document cost of `prepare` (search text and fingerprint) and of `compare`, in CPU time.

    .venv/bin/python bench/prepare_cost.py              # 6,000 synthetic copies, ~15 seconds
    .venv/bin/python bench/prepare_cost.py --n 20000 --rounds 5

The copies are `dedup_scale`'s synthetic wire copy (~270 words, ~1,600 characters each). The
first pass meets every chunk for the first time (the chunk cache starts empty); the warm figure is
the best of `--rounds` further passes, as a long-running writer sees most chunks. `compare` runs
on pairs of consecutive copies. CPU time of this process (`time.process_time`): other load on the
machine inflates it less than wall time, but still does (shared caches): run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dedup_scale import corpus

from ingest.dedup.fingerprint import fingerprint, prepare
from ingest.dedup.similarity import compare


def best_of(rounds: int, run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=6000, help="synthetic copies (default 6,000)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=4, help="warm passes; the best is reported")
    args = parser.parse_args()

    docs = [(d.title, d.text) for d in corpus(args.n, seed=args.seed)]
    words = sum(len(text.split()) for _, text in docs) / len(docs)
    print(f"{len(docs):,} copies, {words:.0f} words on average\n")
    start = time.process_time()
    prepared = [prepare(title, text) for title, text in docs]
    cold = time.process_time() - start
    warm = best_of(args.rounds, lambda: [prepare(title, text) for title, text in docs])
    alone = best_of(args.rounds, lambda: [fingerprint(text) for _, text in docs])
    pairs = [(prepared[i][1], prepared[i + 1][1]) for i in range(len(prepared) - 1)]
    compared = best_of(args.rounds, lambda: [compare(a, b) for a, b in pairs])
    print("| step | µs per copy |\n|---|---|")
    print(f"| prepare, first pass (every chunk new to the cache) | {cold / len(docs) * 1e6:.1f} |")
    print(f"| prepare, warm (best of {args.rounds}) | {warm / len(docs) * 1e6:.1f} |")
    print(f"| fingerprint alone, warm | {alone / len(docs) * 1e6:.1f} |")
    print(f"| compare, one pair | {compared / len(pairs) * 1e6:.2f} |")


if __name__ == "__main__":
    main()
