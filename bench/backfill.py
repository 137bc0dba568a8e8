"""A one-day backfill: what it stores and what it asks for, per outlet.

    .venv/bin/python bench/backfill.py --day 2025-05-18          # the bundled sample web
    .venv/bin/python bench/backfill.py --many --day 2025-03-06    # the many-outlet web (make bench)
    .venv/bin/python bench/backfill.py --many --outlets 14 --articles 900 --day 2025-03-10

Runs `ingest run-once --since DAY --until DAY` into a fresh SQLite store and prints per outlet:
the day's articles (ground truth, the day in the outlet's time zone), how many of them were
stored, articles stored from other days, and the article requests against discovery requests
(robots, feeds, sitemaps, listings).

The sample web is served in this process; its outlets are in Africa/Casablanca. The many-outlet
web is bench/crawl_many.py's (real-size pages, a sitemap index of one child per day known by its
`<lastmod>` alone, listings of 20 undated links newest first, one article every 37 minutes), its
outlets in Africa/Casablanca, Asia/Riyadh and UTC in turn; every article of it is extractable.
Figures only; tests assert the rules (tests/e2e/test_backfill.py, tests/e2e/test_backfill_kill.py).
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


MANY_TIMEZONES = ("Africa/Casablanca", "Asia/Riyadh", "UTC")


def many(day: date, outlets: int, articles: int) -> None:
    """The one-day backfill on the many-outlet web, per outlet in its own time zone."""
    import crawl_many

    with crawl_many.serving(outlets, articles) as (_, bases), tempfile.TemporaryDirectory() as tmp:
        zones = {name: MANY_TIMEZONES[i % len(MANY_TIMEZONES)] for i, name in enumerate(bases)}
        sources = Path(tmp, "sources.yaml")
        sources.write_text(crawl_many.sources_yaml(bases, "/sitemap_index.xml", zones), encoding="utf-8")
        db = f"sqlite:///{Path(tmp, 'ingest.sqlite')}"
        env = {**os.environ, "INGEST_DATABASE_URL": db, **crawl_many.FAST}
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "ingest.cli", "run-once", "--sources", str(sources), "--no-progress",
             "--since", day.isoformat(), "--until", day.isoformat()],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
        seconds = time.monotonic() - started
        kept = stored(db)
        asked = {name: crawl_many.requests_served(base) for name, base in bases.items()}
    print(f"one-day backfill of {day} on {outlets} outlets x {articles} articles (exit {proc.returncode}, "
          f"{seconds:.1f} s)")  # fmt: skip
    head = f"{'outlet':<9} {'time zone':<17} {'day':>4} {'stored':>6} {'share':>7} {'other days':>10} "
    print(head + f"{'article req':>11} {'per article':>11} {'discovery req':>13}")
    totals = Counter[str]()
    shares = []
    for name in bases:
        tz = ZoneInfo(zones[name])
        want = {f"/news/{k}.html" for k in range(articles) if crawl_many._when(k).astimezone(tz).date() == day}
        got = kept.get(name, set())
        row = {"day": len(want), "stored": len(want & got), "other": len(got - want), **asked[name]}
        totals.update(row)
        shares.append(row["stored"] / row["day"] if row["day"] else 1.0)
        print(f"{name:<9} {zones[name]:<17} {row['day']:>4} {row['stored']:>6} {shares[-1]:>7.1%} {row['other']:>10} "
              f"{row['article']:>11} {row['article'] / max(row['day'], 1):>11.2f} {row['discovery']:>13}")  # fmt: skip
    print(f"{'total':<27} {totals['day']:>4} {totals['stored']:>6} {totals['stored'] / max(totals['day'], 1):>7.1%} "
          f"{totals['other']:>10} {totals['article']:>11} {totals['article'] / max(totals['day'], 1):>11.2f} "
          f"{totals['discovery']:>13}")  # fmt: skip
    print(f"lowest share of an outlet's day stored: {min(shares):.1%}")
    if proc.returncode not in (0, 3):
        print(proc.stderr[-2000:], file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--day", help="the day to backfill (default 2025-05-18; with --many 2025-03-06)")
    parser.add_argument("--many", action="store_true", help="the many-outlet web of bench/crawl_many.py")
    parser.add_argument("--outlets", type=int, default=11, help="with --many")
    parser.add_argument("--articles", type=int, default=450, help="articles per outlet, with --many")
    args = parser.parse_args()
    if args.many:
        many(date.fromisoformat(args.day or "2025-03-06"), args.outlets, args.articles)
        return
    day = date.fromisoformat(args.day or "2025-05-18")
    truth = day_articles(day)
    SampleWeb.slow_seconds = 1.0
    with SampleWeb(base_port=0) as web, tempfile.TemporaryDirectory() as tmp:
        sources = Path(tmp, "sources.yaml")
        sources.write_text(web.sources_yaml(), encoding="utf-8")
        db = f"sqlite:///{Path(tmp, 'ingest.sqlite')}"
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "ingest.cli", "run-once", "--sources", str(sources), "--no-progress",
             "--since", day.isoformat(), "--until", day.isoformat()],
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
