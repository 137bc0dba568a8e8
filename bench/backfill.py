"""A one-day backfill of the bundled sample web: what it stores and what it asks for.

    .venv/bin/python bench/backfill.py --day 2025-05-18

Serves the sample web in this process, runs `ingest run-once --since DAY --until DAY` into a
fresh SQLite store, and prints per outlet: the day's articles (ground truth, the day in
Africa/Casablanca, the sample sources' time zone), how many of them were stored, articles stored
from other days, and the article requests (pages of the ground truth and anything matching an
article pattern) against discovery requests (robots, feeds, sitemaps, listings). Figures only;
tests assert the rules (tests/e2e/test_backfill.py).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ingest.demo import SampleWeb, load_ground_truth
from ingest.demo.urls import ARTICLE_PATTERNS
from ingest.store.db import make_engine
from ingest.store.models import CopyRow, SourceRow

TZ = ZoneInfo("Africa/Casablanca")


def day_articles(day: date) -> dict[str, set[str]]:
    """outlet -> paths of the articles the ground truth stores for that local day."""
    out: dict[str, set[str]] = {}
    for page in load_ground_truth().stored_pages():
        if page.published.astimezone(TZ).date() == day:
            out.setdefault(page.outlet, set()).add(page.path)
    return out


def is_article_request(outlet: str, path: str) -> bool:
    pattern = ARTICLE_PATTERNS.get(outlet)
    return pattern is not None and re.search(pattern, path.split("?")[0]) is not None


def stored(url: str) -> dict[str, set[str]]:
    """outlet -> stored URL paths, with their days."""
    engine = make_engine(url)
    out: dict[str, set[str]] = {}
    with engine.connect() as conn:
        rows = conn.execute(select(SourceRow.name, CopyRow.url).join(SourceRow, SourceRow.id == CopyRow.source_id))
        for name, copy_url in rows:
            out.setdefault(name, set()).add("/" + copy_url.split("/", 3)[3])
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--day", default="2025-05-18")
    args = parser.parse_args()
    day = date.fromisoformat(args.day)
    truth = day_articles(day)
    SampleWeb.slow_seconds = 1.0
    with SampleWeb(base_port=0) as web, tempfile.TemporaryDirectory() as tmp:
        sources = Path(tmp, "sources.yaml")
        sources.write_text(web.sources_yaml(), encoding="utf-8")
        db = f"sqlite:///{Path(tmp, 'ingest.sqlite')}"
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "ingest.cli", "run-once", "--sources", str(sources), "--no-progress",
             "--since", args.day, "--until", args.day],
            capture_output=True, text=True, env={**os.environ, "INGEST_DATABASE_URL": db}, check=False,
        )  # fmt: skip
        seconds = time.monotonic() - started
        print(proc.stdout, end="")
        kept = stored(db)
        requests = Counter((r.outlet, is_article_request(r.outlet, r.path)) for r in web.requests)
    print(f"one-day backfill of {day} (exit {proc.returncode}, {seconds:.1f} s)")
    print(f"{'outlet':<10} {'day':>4} {'stored':>6} {'other days':>10} {'article req':>11} {'discovery req':>13}")
    totals = Counter[str]()
    for outlet in sorted({o for o, _ in requests} | set(truth)):
        want = truth.get(outlet, set())
        got = kept.get(outlet, set())
        row = {
            "day": len(want),
            "stored": len(want & got),
            "other": len(got - want),
            "articles": requests[(outlet, True)],
            "discovery": requests[(outlet, False)],
        }
        totals.update(row)
        print(f"{outlet:<10} {row['day']:>4} {row['stored']:>6} {row['other']:>10} {row['articles']:>11} "
              f"{row['discovery']:>13}")  # fmt: skip
    print(f"{'total':<10} {totals['day']:>4} {totals['stored']:>6} {totals['other']:>10} {totals['articles']:>11} "
          f"{totals['discovery']:>13}")  # fmt: skip
    if totals["day"]:
        print(f"article requests per article of the day: {totals['articles'] / totals['day']:.2f}")


if __name__ == "__main__":
    main()
