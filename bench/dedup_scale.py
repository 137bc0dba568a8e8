"""Dedup at scale: placement speed, candidates, memory and start-up with a large persistent index.

    .venv/bin/python bench/dedup_scale.py                 # 100,000 stored copies (~3-5 minutes)
    .venv/bin/python bench/dedup_scale.py --n 1000000     # opt-in (`make bench-scale`), long
    .venv/bin/python bench/dedup_scale.py --database-url postgresql://postgres@127.0.0.1/test
    .venv/bin/python bench/dedup_scale.py --database-url 'postgresql://postgres@127.0.0.1/test?options=-csearch_path%3Dmine'
                                                          # in a schema of its own (dropped and created)

1. Corpus: synthetic Arabic wire copy, deterministic. Each story is 5-8 paragraphs (~2-3 KB) of
   sentences that are either stock clauses of the dev set (Zipf-weighted, so a few are everywhere,
   as "وتجدر الإشارة إلى أن" is) or fresh word sequences drawn from the dev set's word stream;
   0-4 syndicated copies per story carry the dev set's edits (trim, dateline, closing, related
   block...). Publication dates are spread over ~2 years; copies come 5 minutes to 36 hours
   after their original; the stream is in publication order, as a crawl meets it.
2. Preparation (own process, not timed): the first N-10k copies are bulk-inserted with their
   true stories, their exact fingerprints and the index rows the real placement path writes.
3. Timed (a fresh process, so its peak RSS and start-up are the dedup process's own): the last
   10k copies (which include syndicated copies of preloaded stories) plus the dev set, re-dated
   into the same week, go through `ArticleWriter` in write transactions of 200.
4. Then one undated copy (a late AMP copy): the process's first store-wide probe, which reads
   every stored copy's probe keys into memory. Its time and the peak RSS after it are reported.
5. Dev-set precision / recall: once inside the big store (those dev copies), once on an empty one.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import hashlib
import heapq
import itertools
import json
import multiprocessing
import os
import pickle
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import astuple, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, create_engine, event, insert, make_url, select, text
from sqlalchemy.orm import Session

from ingest.config import Source
from ingest.dedup.deduplicator import (
    Deduplicator,
    index_keys,
    numbers_text,
    shingle_bytes,
    signature_bytes,
    time_bucket,
)
from ingest.dedup.fingerprint import fingerprint, probe_keys
from ingest.records import Article, RunStats
from ingest.service.pipeline import ArticleWriter, PageResult, TextForms, ensure_sources, tune_gc
from ingest.store.band_tables import BandTables
from ingest.store.db import open_store, write_transaction
from ingest.store.models import CopyRow, StoryRow
from ingest.text import normalize
from ingest_dev import devset
from ingest_dev.devset import BaseStory, generate

OUTLETS = [f"outlet{i:02d}" for i in range(12)]
START = datetime(2023, 6, 1, tzinfo=UTC)
SPAN = timedelta(days=730)
TIMED = 10_000
BATCH = 200
PRELOAD_CHUNK = 5_000
# Share of sentences that are stock clauses. 0.05 gives ~500 candidates per new doc at 100k
# stored with the original whole-store index, ~5,000 at 1M by extrapolation: a stress above the
# "hundreds to thousands" expected of real wire copy.
STOCK = 0.05


@dataclass(frozen=True, slots=True)
class Doc:
    story: str
    url: str
    source: str
    title: str
    text: str
    published_at: datetime


# -- corpus ---------------------------------------------------------------------------------------
class Material:
    """Stock clauses (Zipf-weighted) and the word stream of the dev set's stories."""

    def __init__(self, rng: random.Random) -> None:
        stories = devset.base_stories()
        body = " ".join(p for s in stories for p in s.paragraphs)
        self.words = [w for w in re.findall(r"\w+", body) if not w.isdigit()]
        clauses = {c.strip() for c in re.split(r"[،.؛:]", body) if 4 <= len(c.split()) <= 12}
        self.clauses = sorted(clauses)
        rng.shuffle(self.clauses)
        self.cum = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(self.clauses))))

    def clause(self, rng: random.Random) -> str:
        return self.clauses[bisect.bisect(self.cum, rng.random() * self.cum[-1])]

    def fresh(self, rng: random.Random) -> str:
        words = rng.choices(self.words, k=rng.randint(8, 18))
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words)), str(rng.randint(2, 9999)))
        return " ".join(words)


def synthetic_story(material: Material, rng: random.Random, sid: str, when: datetime) -> BaseStory:
    def sentence() -> str:
        return material.clause(rng) if rng.random() < STOCK else material.fresh(rng)

    paragraphs = tuple("، ".join(sentence() for _ in range(rng.randint(2, 4))) + "." for _ in range(rng.randint(5, 8)))
    return BaseStory(sid, "none", when, " ".join(rng.choices(material.words, k=rng.randint(6, 10))), paragraphs)


def corpus(n: int, seed: int = 0) -> Iterator[Doc]:
    """`n` copies in publication order (deterministic)."""
    rng = random.Random(seed)
    material = Material(rng)
    pending: list[tuple[datetime, int, Doc]] = []
    # Stories have 2.0 copies on average: a few spare stories make sure `n` copies come out.
    times = iter(sorted(START + SPAN * rng.random() for _ in range(n // 2 + n // 40 + 10)))
    emitted = tie = 0
    recent: list[BaseStory] = list(devset.base_stories())
    for k, when in enumerate(times):
        story = synthetic_story(material, rng, f"s{k}", when)
        recent = [*recent[-30:], story]
        for doc in story_copies(story, rng, recent):
            tie += 1
            heapq.heappush(pending, (doc.published_at, tie, doc))
        while pending and pending[0][0] <= when and emitted < n:
            emitted += 1
            yield heapq.heappop(pending)[2]
        if emitted >= n:
            return
    while pending and emitted < n:
        emitted += 1
        yield heapq.heappop(pending)[2]


def story_copies(story: BaseStory, rng: random.Random, recent: list[BaseStory]) -> Iterator[Doc]:
    outlets = rng.sample(OUTLETS, 5)
    text = "\n".join([story.headline, *story.paragraphs])
    yield Doc(
        story.story_id,
        f"https://{outlets[0]}.example.ma/{story.story_id}",
        outlets[0],
        story.headline,
        text,
        story.published_at,
    )
    for k in range(1, rng.choices((1, 2, 3, 4, 5), weights=(50, 20, 15, 10, 5))[0]):
        copy = devset._copy(story, rng, recent, True)  # the dev set's own syndication edits
        lag = timedelta(minutes=rng.randint(5, 36 * 60))
        yield Doc(
            story.story_id,
            f"https://{outlets[k]}.example.ma/{story.story_id}-{k}",
            outlets[k],
            copy.split("\n", 1)[0],
            copy,
            story.published_at + lag,
        )


def dev_docs(at: datetime) -> list[Doc]:
    """The dev set (seed 0), moved so that its stories are published in the timed week."""
    docs = generate(0)
    shift = at - min(d.published_at for d in docs).replace(tzinfo=UTC)
    return [
        Doc(
            f"dev:{d.story_id}",
            f"https://dev.example.ma/{d.doc_id}",
            OUTLETS[i % len(OUTLETS)],
            d.text.split("\n", 1)[0][:120],
            d.text,
            d.published_at.replace(tzinfo=UTC) + shift,
        )
        for i, d in enumerate(docs)
    ]


def as_article(doc: Doc) -> Article:
    return Article(
        url=doc.url,
        source=doc.source,
        title=doc.title,
        text=doc.text,
        published_at=doc.published_at,
        fetched_at=doc.published_at + timedelta(minutes=7),
        language="ar",
    )


# -- preparation (own process) --------------------------------------------------------------------
def prepare(url: str, n: int, workload: Path) -> None:
    engine = open_store(url)
    ids = ensure_sources(engine, [Source(name=o, homepage=f"https://{o}.example.ma/") for o in OUTLETS])
    docs = corpus(n)
    preload = itertools.islice(docs, max(0, n - TIMED))
    stories: dict[str, list[Any]] = {}  # story label -> [story id, copy count, sources]
    next_copy = itertools.count(1)
    band_index = BandTables()
    started = time.perf_counter()
    chunks = iter(lambda: list(itertools.islice(preload, PRELOAD_CHUNK)), [])
    # Fingerprinting is the slow part: the other core does it while this one writes, a few
    # chunks ahead (not the whole corpus: a million copies would sit in memory).
    with multiprocessing.get_context("forkserver").Pool(2) as pool:
        ahead: collections.deque[Any] = collections.deque()
        for chunk in itertools.chain(chunks, [None]):
            if chunk is not None:
                ahead.append(pool.apply_async(fingerprint_rows, (chunk,)))
            while ahead and (chunk is None or len(ahead) > 3):
                done, rows = ahead.popleft().get()
                with engine.begin() as conn:
                    bulk_insert(conn, band_index, ids, done, rows, stories, next_copy)
    with engine.begin() as conn:
        finish_stories(conn, stories)
        if conn.dialect.name == "postgresql":  # ids were given explicitly: move the sequences past them
            for table in ("article_copies", "stories"):
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )
    if engine.dialect.name == "postgresql":
        # Planner statistics, as autovacuum would gather after a bulk load. Without them (this
        # machine's server runs with autovacuum off) PostgreSQL reads `story_id IN (...)` as ~900
        # rows a story and seq-scans 1M copies for each batch's members: 0.8-2 s a batch, 114 docs/s.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("article_copies", "stories", "lsh_keys", "lsh_probe", "lsh_log"):
                conn.execute(text(f"ANALYZE {table}"))
    rest = list(docs)
    print(f"prepared {n - len(rest):,} copies in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    workload.write_bytes(pickle.dumps([astuple(d) for d in rest]))  # plain data: any __main__ loads it
    engine.dispose()


def fingerprint_rows(chunk: Sequence[Doc]) -> tuple[Sequence[Doc], list[dict[str, Any]]]:
    """The stored fields of each copy that come from its text (a pool worker computes them)."""
    rows = []
    for doc in chunk:
        fp = fingerprint(doc.text)
        search = normalize(f"{doc.title}\n{doc.text}")
        rows.append(
            {
                "search_text": search,
                "content_hash": hashlib.sha1(search.encode()).hexdigest(),
                "signature": signature_bytes(fp),
                "shingles": shingle_bytes(fp),
                "numbers": numbers_text(fp),
                "token_count": fp.length,
                "keys": index_keys(fp).tolist(),
                "probe": probe_keys(fp.signature).tolist(),
            }
        )
    return chunk, rows


def bulk_insert(
    conn: Any,
    band_index: BandTables,
    ids: dict[str, int],
    chunk: Sequence[Doc],
    rows: Sequence[dict[str, Any]],
    stories: dict[str, list[Any]],
    next_copy: Iterator[int],
) -> None:
    copies, index, new_stories, canon = [], [], [], []
    for doc, row in zip(chunk, rows, strict=True):
        cid = next(next_copy)
        entry = stories.get(doc.story)
        if entry is None:
            entry = stories[doc.story] = [len(stories) + 1, 0, set()]
            new_stories.append(
                {
                    "id": entry[0],
                    "first_published_at": doc.published_at,
                    "created_at": doc.published_at,
                    "updated_at": doc.published_at,
                    "copy_count": 1,
                    "source_count": 1,
                }
            )
            canon.append({"sid": entry[0], "cid": cid})
        entry[1] += 1
        entry[2].add(doc.source)
        keys, probe = row.pop("keys"), row.pop("probe")
        copies.append(
            row
            | {
                "id": cid,
                "source_id": ids[doc.source],
                "story_id": entry[0],
                "url": doc.url,
                "fetched_url": doc.url,
                "title": doc.title,
                "text": doc.text,
                "published_at": doc.published_at,
                "fetched_at": as_article(doc).fetched_at,
                "language": "ar",
                "extraction_method": "bench",
                "join_reason": "preloaded",
            }
        )
        bucket = time_bucket(doc.published_at)
        index.append((cid, bucket, np.array(keys, dtype=np.int64), np.array(probe, dtype=np.int64)))
    if new_stories:
        conn.execute(insert(StoryRow), new_stories)
    conn.execute(insert(CopyRow), copies)
    session = Session(bind=conn)  # the index rows and log go through the real write path
    band_index.attach(session)
    for copy_id, bucket, keys, probe in index:
        band_index.add(copy_id, bucket, keys, probe)
    band_index.flush()
    if canon:
        conn.execute(text("UPDATE stories SET canonical_copy_id = :cid WHERE id = :sid"), canon)


def finish_stories(conn: Any, stories: dict[str, list[Any]]) -> None:
    rows = [{"sid": sid, "c": count, "s": len(src)} for sid, count, src in stories.values() if count > 1]
    if rows:
        conn.execute(text("UPDATE stories SET copy_count = :c, source_count = :s WHERE id = :sid"), rows)


# -- timed placement (fresh process) --------------------------------------------------------------
def timed(url: str, workload: Path, spawned: float, limit: int, cache_mb: int = 0) -> dict[str, Any]:
    engine = open_store(url, auto_upgrade=False)
    if cache_mb and engine.dialect.name == "sqlite":
        engine.dispose()  # the next connections get the larger page cache
        pragma = f"PRAGMA cache_size=-{cache_mb * 1024}"
        event.listen(engine, "connect", lambda conn, _rec: conn.execute(pragma))
    ids = ensure_sources(engine, [Source(name=o, homepage=f"https://{o}.example.ma/") for o in OUTLETS])
    stats = RunStats()
    writer = ArticleWriter(ids, Deduplicator(), stats)
    tune_gc()  # as `ingest run-once` does
    ready = time.time() - spawned
    rest = [Doc(*t) for t in pickle.loads(workload.read_bytes())[:limit]]
    docs = sorted(rest + dev_docs(rest[len(rest) // 3].published_at), key=lambda d: d.published_at)
    preparing = 0.0  # normalise + fingerprint, timed apart from the writes
    first_placed = 0.0  # after process start: when the first batch is placed and committed
    started = time.perf_counter()
    for i in range(0, len(docs), BATCH):
        articles = [as_article(doc) for doc in docs[i : i + BATCH]]
        t0 = time.perf_counter()
        prepared = [TextForms.of(article) for article in articles]
        preparing += time.perf_counter() - t0
        with write_transaction(engine) as session:
            writer.write_all(
                session, [PageResult(a, 200, a.fetched_at, forms=p) for a, p in zip(articles, prepared, strict=True)]
            )
        first_placed = first_placed or time.time() - spawned
    elapsed = time.perf_counter() - started
    counted = writer.dedup.counters
    # The copies' own rows are inserted inside placement (with their story), but are the store's work.
    dedup_seconds = preparing + counted.seconds - counted.storing_seconds + writer.index.write_seconds
    rss_placing = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    undated_seconds = first_undated(engine, writer, docs[0])
    counters = getattr(writer.dedup, "counters", None)
    result = {
        "docs": len(docs),
        "seconds": elapsed,
        "dedup_seconds": dedup_seconds,
        "buckets_loaded": writer.index.cached_buckets,
        "entries": writer.index.loaded_entries,
        "ready": ready,
        "first_placed": first_placed,
        "rss_mb": rss_placing,
        "undated_seconds": undated_seconds,
        "rss_undated_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "counters": dict(vars(counters)) if counters is not None else {},
    }
    result |= {f"big_{k}": v for k, v in pair_scores(engine, docs, "dev:").items()}
    result |= {f"syn_{k}": v for k, v in pair_scores(engine, docs, "s").items()}
    engine.dispose()
    return result


def first_undated(engine: Engine, writer: ArticleWriter, doc: Doc) -> float:
    """Seconds to place one undated copy (a late AMP copy of `doc`): the process's first store-wide probe."""
    late = replace(as_article(doc), url=f"{doc.url}/amp", published_at=None, fetched_at=doc.published_at + SPAN)
    started = time.perf_counter()
    with write_transaction(engine) as session:
        writer.write(session, PageResult(late, 200, late.fetched_at))
    return time.perf_counter() - started


def pair_scores(engine: Engine, docs: Sequence[Doc], prefix: str) -> dict[str, float]:
    """Pairwise precision / recall among the timed copies whose story label starts with `prefix`."""
    label = {d.url: d.story for d in docs if d.story.startswith(prefix)}
    with engine.connect() as conn:
        placed = {u: s for u, s in conn.execute(select(CopyRow.url, CopyRow.story_id)) if u in label}
    tp = fp = fn = 0
    for a, b in itertools.combinations(sorted(placed), 2):
        same, said = label[a] == label[b], placed[a] == placed[b]
        tp, fp, fn = tp + (same and said), fp + (said and not same), fn + (same and not said)
    return {"precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / (tp + fn) if tp + fn else 1.0}


def dev_on_empty_store() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_store(f"sqlite:///{tmp}/dev.sqlite")
        ids = ensure_sources(engine, [Source(name=o, homepage=f"https://{o}.example.ma/") for o in OUTLETS])
        docs = dev_docs(START)
        writer = ArticleWriter(ids, Deduplicator(), RunStats())
        with write_transaction(engine) as session:
            for doc in docs:
                writer.write(session, PageResult(as_article(doc), 200, doc.published_at))
        scores = pair_scores(engine, docs, "dev:")
        engine.dispose()
        return scores


# -- driver ---------------------------------------------------------------------------------------
def reset(url: str) -> None:
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
        return
    # The schema the URL's search_path names (`?options=-csearch_path%3Dmine`), else public: a
    # shared server's other schemas are left alone.
    schema = "public"
    for option in str(make_url(url).query.get("options", "")).split():
        if option.startswith("-csearch_path="):
            schema = option.split("=", 1)[1].split(",")[0]
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"'))
    engine.dispose()


def report(args: argparse.Namespace, result: dict[str, Any], dev: dict[str, float]) -> None:
    c = result["counters"]
    per = (lambda k: f"{c[k] / max(1, c.get('placements', 1)):.1f}") if c else (lambda k: "n/a")
    rows = [
        ("stored copies before the timed run", f"{args.n - TIMED:,}"),
        ("timed copies (last 10k + dev set)", f"{result['docs']:,}"),
        ("dedup throughput, docs/s (1 core)", f"{result['docs'] / result['dedup_seconds']:,.0f}"),
        ("whole writer throughput, docs/s (1 core)", f"{result['docs'] / result['seconds']:,.0f}"),
        ("candidates per doc (index hits)", per("candidates")),
        ("verified per doc", per("verified")),
        ("peak RSS, MB", f"{result['rss_mb']:,.0f}"),
        ("first undated copy placed (reads every probe key), s", f"{result['undated_seconds']:.2f}"),
        ("peak RSS after it, MB", f"{result['rss_undated_mb']:,.0f}"),
        ("ready after process start, s", f"{result['ready']:.2f}"),
        ("first batch committed after process start, s", f"{result['first_placed']:.2f}"),
        ("index buckets loaded / entries cached", f"{result['buckets_loaded']} / {result['entries']:,}"),
        ("dev set in the big store: P / R", f"{result['big_precision']:.3f} / {result['big_recall']:.3f}"),
        ("synthetic timed copies: P / R", f"{result['syn_precision']:.3f} / {result['syn_recall']:.3f}"),
        ("dev set on an empty store: P / R", f"{dev['precision']:.3f} / {dev['recall']:.3f}"),
    ]
    print(f"\n## Dedup at {args.n:,} stored copies ({args.database_url.split(':')[0]})\n")
    print("| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="stored copies at the end of the run")
    parser.add_argument("--database-url", default=None, help="default: SQLite under /tmp")
    parser.add_argument("--keep", action="store_true", help="reuse an existing prepared store and workload")
    parser.add_argument("--limit", type=int, default=TIMED, help="time only the first LIMIT of the last 10k")
    parser.add_argument("--sqlite-cache-mb", type=int, default=0, help="SQLite page cache of the timed process")
    parser.add_argument("--phase", choices=("prepare", "timed"), help=argparse.SUPPRESS)
    parser.add_argument("--spawned", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    # One default store per checkout: two checkouts benching at once must not share a file.
    checkout = hashlib.sha1(str(Path(__file__).resolve().parent).encode()).hexdigest()[:8]
    args.database_url = args.database_url or f"sqlite:////tmp/ingest-dedup-scale-{args.n}-{checkout}.sqlite"
    tag = hashlib.sha1(args.database_url.encode()).hexdigest()[:8]
    workload = Path(tempfile.gettempdir()) / f"ingest-dedup-scale-{args.n}-{tag}.workload"
    if args.phase == "prepare":
        return prepare(args.database_url, args.n, workload)
    if args.phase == "timed":
        print(json.dumps(timed(args.database_url, workload, args.spawned, args.limit, args.sqlite_cache_mb)))
        return None
    base = [sys.executable, __file__, "--n", str(args.n), "--database-url", args.database_url]
    sqlite = args.database_url.removeprefix("sqlite:///") if args.database_url.startswith("sqlite:///") else None
    if not (args.keep and sqlite and workload.exists() and Path(sqlite + ".prepared").exists()):
        reset(args.database_url)
        subprocess.run([*base, "--phase", "prepare"], check=True)
        if sqlite:  # kept so that --keep can time again on the same prepared store
            shutil.copyfile(sqlite, sqlite + ".prepared")
    elif sqlite:
        reset(args.database_url)
        shutil.copyfile(sqlite + ".prepared", sqlite)
    os.sync()  # the copy's writeback (GBs at a million copies) would otherwise compete with the timed run
    spawned = time.time()
    timed_args = ["--limit", str(args.limit), "--sqlite-cache-mb", str(args.sqlite_cache_mb)]
    out = subprocess.run(
        [*base, "--phase", "timed", "--spawned", str(spawned), *timed_args], check=True, capture_output=True, text=True
    ).stdout
    report(args, json.loads(out.strip().splitlines()[-1]), dev_on_empty_store())
    return None


if __name__ == "__main__":
    main()
