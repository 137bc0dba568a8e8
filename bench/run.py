"""`make bench`: every benchmark, each in its own process, printing its figures.

    python bench/run.py            extraction (sample web, real chrome), dedup quality (dev set, ANT), prepare
                                   cost, crawl throughput, dedup at 100k copies, story browser latency at 100k
    python bench/run.py --scale    the same, with dedup and the story browser at 1,000,000 copies (long)

Figures depend on the machine: the first lines say which one.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"
    )


def steps(scale: bool) -> list[tuple[str, list[str]]]:
    return [
        ("Extraction on the sample web (quality and one-core speed)", ["extract_quality.py"]),
        ("Extraction on real chrome (English pages; our articles in real templates)", ["extract_real.py"]),
        ("Real templates crawled as a user would (run-once, query --format jsonl)", ["extract_real_crawl.py"]),
        ("Dedup on the labelled dev set (pairwise precision/recall)", ["dedup_params.py", "--seeds", "0", "1", "2"]),
        ("Dedup on real syndication (ANT corpus, labelled pairs)", ["dedup_real.py"]),
        ("A verification model fitted on the ANT tuning half, against the rule", ["fit_verify.py"]),
        ("Per-copy cost of prepare (search text and fingerprint) and compare", ["prepare_cost.py"]),
        ("Crawl throughput against a local server", ["crawl.py", "--pages", "5000", "--both"]),
        ("Crawl throughput on a many-outlet web of real-size pages", ["crawl_many.py"]),
        ("One-day backfill on the many-outlet web, per outlet in its own time zone", ["backfill.py", "--many"]),
        ("CPU of an article page in an extraction process, part by part", ["worker_cost.py"]),
        ("Dedup throughput, memory and start-up at scale", ["dedup_scale.py", "--n", "1000000" if scale else "100000"]),
        ("Story browser latency (ingest serve)", ["web_latency.py", "--copies", "1000000" if scale else "100000"]),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", action="store_true", help="dedup at 1,000,000 copies instead of 100,000")
    args = parser.parse_args()
    print(f"# ingest benchmarks\n\nmachine: {machine()}\n", flush=True)
    failed = []
    for title, argv in steps(args.scale):
        print(f"## {title}\n", flush=True)
        start = time.monotonic()
        code = subprocess.call([sys.executable, str(HERE / argv[0]), *argv[1:]])
        print(f"\n({time.monotonic() - start:.0f} s)\n", flush=True)
        if code:
            failed.append(title)
    for title in failed:
        print(f"FAILED: {title}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
