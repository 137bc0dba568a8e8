"""Dedup on real syndication: the ANT corpus through the real write path, scored on labelled pairs.

    .venv/bin/python bench/dedup_real.py                # whole corpus (30,179 articles), ~1-2 minutes
    .venv/bin/python bench/dedup_real.py --data DIR     # another copy of the data set

Reads ../shared/datasets/ant-syndication (README.md and LABELLING.md there say what it is); never
copies it anywhere. Prints one "skipped: <path> not found" line when it is absent.

1. Every article goes, in publication order and in write transactions of 200, through
   `Warmup` and `ArticleWriter` (each outlet's recurring lines learned and stripped, placement,
   band index, election) into a fresh SQLite store, as `run-once` writes what it extracts.
2. The 240 labelled pairs are scored as "in the same story or not" (copy = positive,
   same_event and different = negative): pairwise P/R/F1 over all pairs, the tuning half and
   the check half (split by a fixed seed; tune on the first half only), recall on `containment:`
   copies, and recall without the 4 `rewrite:` copies.
3. The largest stories, and the most copies of one story from one outlet (template chains).
4. `verify()` on the gold texts of the pairs alone (no store), and candidate recall: the
   labelled copies whose fingerprints share at least one band key, or one band key or two
   sentence keys (`ingest.dedup.deduplicator.index_keys`: what the index returns).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from ingest.config import Source
from ingest.dedup.candidates import MIN_POINTS, key_points
from ingest.dedup.deduplicator import Deduplicator, index_keys
from ingest.dedup.fingerprint import DEFAULT, band_keys, fingerprint
from ingest.dedup.similarity import verify
from ingest.records import Article, RunStats
from ingest.service.pipeline import ArticleWriter, PageResult, TextForms, Warmup, ensure_sources
from ingest.store.db import open_store, write_transaction
from ingest.store.models import CopyRow

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "ant-syndication"
BATCH = 200
SPLIT_SEED = 13  # the tuning / check split of the labelled pairs; never change it after tuning


@dataclass(frozen=True)
class Pair:
    pair_id: str
    a: str
    b: str
    label: str
    note: str

    @property
    def copy(self) -> bool:
        return self.label == "copy"

    def kind(self, word: str) -> bool:
        """Whether the note carries `word:` (after an optional `same-source:`)."""
        return f"{word}:" in self.note.split(" ")[:2] or self.note.startswith(f"{word}:")


def load_articles(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def load_pairs(path: Path) -> list[Pair]:
    with path.open(encoding="utf-8") as f:
        return [Pair(r["pair_id"], r["id_a"], r["id_b"], r["label"], r["note"] or "") for r in csv.DictReader(f)]


def split(pairs: Sequence[Pair]) -> tuple[list[Pair], list[Pair]]:
    """(tuning half, check half), by a fixed shuffle of the pair ids."""
    ids = sorted(p.pair_id for p in pairs)
    random.Random(SPLIT_SEED).shuffle(ids)
    tuning = set(ids[: len(ids) // 2])
    return [p for p in pairs if p.pair_id in tuning], [p for p in pairs if p.pair_id not in tuning]


def when(raw: str | None) -> datetime | None:
    return datetime.fromisoformat(raw.replace("Z", "+00:00")) if raw else None


def as_article(row: dict[str, Any]) -> Article:
    published = when(row["published_at"])
    return Article(
        url=f"https://{row['source'].lower()}.ant.example/{row['id']}",
        source=row["source"].lower(),
        title=row["title"] or "",
        text=row["text"] or "",
        published_at=published,
        fetched_at=published or datetime.fromisoformat("2018-12-01T00:00:00+00:00"),
        language="ar",
        author=row.get("author"),
    )


def load_store(url: str, rows: Sequence[dict[str, Any]]) -> tuple[dict[str, int], float, Deduplicator]:
    """Feed every article through the writer; returns article id -> story id, seconds, the deduplicator."""
    engine = open_store(url)
    outlets = [Source(name=s.lower(), homepage=f"https://{s.lower()}.ant.example/") for s in SOURCES]
    ids = ensure_sources(engine, outlets)
    writer = ArticleWriter(ids, Deduplicator(), RunStats())
    warmup = Warmup(writer.recurring)  # as a crawl does: each outlet's recurring lines, learned as it goes
    ordered = sorted(rows, key=lambda r: (r["published_at"] or "9999", r["id"]))
    started = time.perf_counter()
    for i in range(0, len(ordered) + BATCH, BATCH):
        articles = [as_article(r) for r in ordered[i : i + BATCH]]
        pages = [PageResult(a, 200, a.fetched_at, forms=TextForms.of(a)) for a in articles]
        ready = [item for page in pages for item in warmup.admit(page)] if articles else warmup.drain()
        with write_transaction(engine) as session:
            writer.write_all(session, ready)
    seconds = time.perf_counter() - started
    with engine.connect() as conn:
        placed = {url.rsplit("/", 1)[1]: story for url, story in conn.execute(select(CopyRow.url, CopyRow.story_id))}
    engine.dispose()
    return placed, seconds, writer.dedup


SOURCES = ("Alarabia", "BBC", "CNN", "France24", "SkyNews")


def prf(decisions: Iterable[tuple[bool, bool]]) -> tuple[float, float, float, int, int, int]:
    """(precision, recall, F1, tp, fp, fn) of (truth, said) decisions."""
    tp = fp = fn = 0
    for truth, said in decisions:
        tp, fp, fn = tp + (truth and said), fp + (said and not truth), fn + (truth and not said)
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, 2 * p * r / (p + r) if p + r else 0.0, tp, fp, fn


def score_lines(name: str, pairs: Sequence[Pair], said: dict[str, bool]) -> list[str]:
    """Table rows: all pairs, tuning half, check half; then containment and no-rewrite recall."""
    tuning, check = split(pairs)
    lines = []
    for part, chosen in (("all", pairs), ("tuning half", tuning), ("check half", check)):
        p, r, f1, tp, fp, fn = prf((x.copy, said[x.pair_id]) for x in chosen)
        cont = [said[x.pair_id] for x in chosen if x.copy and x.kind("containment")]
        plain = prf((x.copy, said[x.pair_id]) for x in chosen if not x.kind("rewrite"))
        lines.append(
            f"| {name} | {part} | {len(chosen)} | {p:.3f} | {r:.3f} | {f1:.3f} | {tp}/{fp}/{fn} "
            f"| {sum(cont)}/{len(cont)} | {plain[1]:.3f} |"
        )
    return lines


def print_scores(sections: Sequence[tuple[str, dict[str, bool]]], pairs: Sequence[Pair]) -> None:
    print("| decided by | pairs | n | precision | recall | F1 | tp/fp/fn | containment found | recall w/o rewrite |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, said in sections:
        for line in score_lines(name, pairs, said):
            print(line)
    print()


def chains(placed: dict[str, int], source_of: dict[str, str]) -> None:
    """The largest stories, and the most copies of one story from one outlet."""
    members: dict[int, list[str]] = {}
    for article_id, story in placed.items():
        members.setdefault(story, []).append(article_id)
    sizes = sorted(members.values(), key=len, reverse=True)
    per_outlet = sorted(
        ((max(Counter(source_of[a] for a in m).values()), len(m)) for m in members.values()), reverse=True
    )
    multi = sum(1 for m in members.values() if len(m) > 1)
    print(f"stories: {len(members):,} ({multi:,} with more than one copy)")
    print(f"largest stories (copies): {', '.join(str(len(m)) for m in sizes[:10])}")
    print(f"stories above 25 copies: {sum(1 for m in sizes if len(m) > 25)}")
    print(f"most copies of one story from one outlet: {', '.join(f'{o} (of {n})' for o, n in per_outlet[:10])}")
    print(f"stories with more than 4 copies from one outlet: {sum(1 for o, _ in per_outlet if o > 4)}")
    top = sizes[0]
    print(f"largest story by outlet: {dict(Counter(source_of[a] for a in top))}\n")


def gold_decisions(
    pairs: Sequence[Pair], by_id: dict[str, dict[str, Any]]
) -> tuple[dict[str, bool], dict[str, bool], dict[str, bool]]:
    """`verify()` on each pair's texts alone, and whether the index returns it as a candidate:
    through the LSH bands alone, and through bands or sentence keys (one band key, or two
    sentence keys: `ingest.dedup.candidates.MIN_POINTS`)."""
    verified, candidate, either = {}, {}, {}
    for p in pairs:
        a, b = by_id[p.a], by_id[p.b]
        fa, fb = fingerprint(a["text"] or ""), fingerprint(b["text"] or "")
        verified[p.pair_id] = verify(fa, fb, when(a["published_at"]), when(b["published_at"])).same_story
        candidate[p.pair_id] = bool(np.intersect1d(band_keys(fa.signature), band_keys(fb.signature)).size)
        ka, kb = index_keys(fa), index_keys(fb)
        shared = np.flatnonzero(np.isin(ka, kb))  # positions among a's keys: band keys first
        either[p.pair_id] = int(key_points(shared, DEFAULT.bands).sum()) >= MIN_POINTS
    return verified, candidate, either


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--limit", type=int, default=0, help="only the first N articles (plus the labelled ones)")
    parser.add_argument("--errors", action="store_true", help="list the tuning half's false merges and misses")
    args = parser.parse_args()
    if not (args.data / "articles.jsonl.gz").exists():
        print(f"skipped: {args.data} not found")
        return 0
    rows = load_articles(args.data / "articles.jsonl.gz")
    pairs = load_pairs(args.data / "pairs.csv")
    if args.limit:
        labelled = {i for p in pairs for i in (p.a, p.b)}
        rows = rows[: args.limit] + [r for r in rows[args.limit :] if r["id"] in labelled]
    by_id = {r["id"]: r for r in rows}
    tuning, check = split(pairs)
    print(f"{len(rows):,} articles, {len(pairs)} labelled pairs ({sum(p.copy for p in pairs)} copies); ", end="")
    print(f"tuning half {len(tuning)} ({sum(p.copy for p in tuning)} copies), check half {len(check)}\n")
    with tempfile.TemporaryDirectory() as tmp:
        placed, seconds, dedup = load_store(f"sqlite:///{tmp}/ant.sqlite", rows)
    c = dedup.counters
    rate = len(placed) / seconds
    print(f"placed {len(placed):,} copies in {seconds:.1f} s ({rate:,.0f} docs/s, whole writer); ", end="")
    print(
        f"candidates / verified per copy: {c.candidates / c.placements:.1f} / {c.verified / c.placements:.1f}; ", end=""
    )
    print(f"pairs needing the texts (alignment, names): {getattr(c, 'aligned', 0):,} of {c.verified:,} verified\n")
    in_store = {p.pair_id: placed.get(p.a) is not None and placed.get(p.a) == placed.get(p.b) for p in pairs}
    verified, candidate, either = gold_decisions(pairs, by_id)
    print_scores([("store (whole corpus)", in_store), ("verify() on gold texts", verified)], pairs)
    if args.errors:  # the tuning half only: the check half is read once, for its figures
        for p in tuning:
            if p.copy != in_store[p.pair_id]:
                print(f"tuning half {'missed' if p.copy else 'false merge'}: {p.pair_id} {p.label}: {p.note}")
        print()
    for part, chosen in (("all", pairs), ("tuning half", tuning), ("check half", check)):
        copies = [p for p in chosen if p.copy]
        found, found_either = sum(candidate[p.pair_id] for p in copies), sum(either[p.pair_id] for p in copies)
        print(
            f"candidate recall ({part}): LSH bands {found}/{len(copies)} = {found / len(copies):.3f}, "
            f"bands or sentence keys {found_either}/{len(copies)} = {found_either / len(copies):.3f}"
        )
    print()
    chains(placed, {r["id"]: r["source"] for r in rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
