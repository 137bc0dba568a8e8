"""Extraction on the sample web's ground truth: body-text quality, title/date/language accuracy,
chrome leaks, and throughput on one core.

    python bench/extract_quality.py [--repeat 3]

Pages are fetched once from a local SampleWeb (so the bytes, headers and charsets are exactly
what the crawler sees); extraction is then timed in this one process.
"""

from __future__ import annotations

import argparse
import statistics
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime

from ingest.demo import SampleWeb, load_ground_truth
from ingest.extract.extractor import extract
from ingest.records import Article, FetchedPage
from ingest.text import normalize
from ingest_dev.extractbench import token_prf

TIMEZONE = "Africa/Casablanca"


def fetch(web: SampleWeb, outlet: str, path: str) -> FetchedPage:
    """The page as the crawler gets it (the sample web answers some pages 503/429 once)."""
    url = web.base_url(outlet) + path
    for _attempt in range(3):
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                headers = {k.lower(): v for k, v in response.headers.items()}
                return FetchedPage(
                    url, response.geturl(), response.status, headers, response.read(), outlet, datetime.now(UTC)
                )
        except urllib.error.HTTPError as exc:
            if exc.code not in (429, 503):
                raise
    raise RuntimeError(f"{url} kept failing")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="timing passes over the pages (best is kept)")
    args = parser.parse_args()
    truth = load_ground_truth()
    expected = [p for p in truth.pages if p.expect == "stored"]
    SampleWeb.slow_seconds = 0.0
    with SampleWeb(base_port=0) as web:
        pages = [(p, fetch(web, p.outlet, p.path)) for p in expected]
    languages = ("ar", "fr")
    results = [(p, extract(page, timezone=TIMEZONE, languages=languages)) for p, page in pages]
    f1s, titles, dates, langs, leaks, missing = [], 0, 0, 0, 0, 0
    chrome = [normalize(c) for c in truth.chrome_phrases]
    for p, result in results:
        if not isinstance(result, Article):
            missing += 1
            f1s.append(0.0)
            continue
        f1s.append(token_prf(result.text, p.text)[2])
        titles += result.title.strip() == p.title.strip()
        dates += result.published_at == p.published
        langs += result.language == p.language
        text = normalize(f"{result.title}\n{result.text}")
        leaks += sum(c in text for c in chrome)
    best = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        for _p, page in pages:
            extract(page, timezone=TIMEZONE, languages=languages)
        best = min(best, time.perf_counter() - start)
    n = len(results)
    print(f"Extraction on the sample web ground truth ({n} article pages, one core)\n")
    print(
        "| body F1 (mean) | body F1 (min) | title exact | date exact | language | chrome phrases leaked "
        "| rejected | pages/s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {statistics.mean(f1s):.3f} | {min(f1s):.3f} | {titles}/{n} | {dates}/{n} | {langs}/{n} | {leaks} "
        f"| {missing} | {n / best:.0f} |"
    )


if __name__ == "__main__":
    main()
