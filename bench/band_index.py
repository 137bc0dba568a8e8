"""The band index alone: what writing a copy's index rows costs, and loading a time bucket.

    .venv/bin/python bench/band_index.py          # SQLite under /tmp, ~1-2 minutes
    .venv/bin/python bench/band_index.py --database-url postgresql://postgres@127.0.0.1/test

1. A store of `--stored` copies (random signatures) indexed through the store's `BandTables`: `--big`
   of them in one time bucket, the rest spread over 100 buckets (a week each: two years of news).
2. Timed: `--timed` new copies of the current week indexed `--batch` per write transaction:
   the index's own writes (`BandTables.write_seconds`) and the whole transaction (with commit).
3. Timed: a fresh process view loading the big bucket (median of 7), and probing the whole store
   with the probe keys of an undated copy (median of 50).
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, text

from ingest.dedup.fingerprint import DEFAULT, band_keys, probe_keys
from ingest.store.band_tables import BandTables
from ingest.store.db import open_store, write_transaction

BIG_BUCKET, CURRENT_BUCKET = 2_000, 1_100
PRELOAD_CHUNK = 5_000


def signatures(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 2**32, size=(n, 128), dtype=np.uint32)


def fresh_store(url: str, copies: int) -> Engine:
    """An empty store holding `copies` article copies (the index rows need them)."""
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    engine = open_store(url)
    when = datetime(2025, 6, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (id, name, consecutive_failed_runs, healthy) VALUES (1, 'o', 0, true)"))
        conn.execute(
            text(
                "INSERT INTO article_copies (id, source_id, url, fetched_url, title, text, search_text, fetched_at,"
                " extraction_method, content_hash, signature, token_count)"
                " VALUES (:i, 1, :u, :u, 't', 't', 't', :w, 'bench', 'h', :s, 1)"
            ),
            [{"i": i, "u": f"u{i}", "w": when, "s": b""} for i in range(1, copies + 1)],
        )
    return engine


def index_copies(engine: Engine, index: BandTables, ids: range, buckets: list[int], batch: int) -> float:
    """Index copies `ids`, `batch` per write transaction; returns the seconds the transactions took."""
    rng = np.random.default_rng(ids.start)
    keys = [(band_keys(s), probe_keys(s)) for s in signatures(rng, len(ids))]
    started = time.perf_counter()
    for lo in range(0, len(ids), batch):
        with write_transaction(engine) as session:
            index.attach(session)
            for i in range(lo, min(lo + batch, len(ids))):
                index.add(ids[i], buckets[i], *keys[i])
    return time.perf_counter() - started


def median_ms(runs: list[float]) -> str:
    return f"{statistics.median(runs) * 1e3:.1f} ms"


def prepare(engine: Engine, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    stored = range(1, args.stored + 1)
    spread = [BIG_BUCKET if c <= args.big else CURRENT_BUCKET - 100 + c % 100 for c in stored]
    index_copies(engine, BandTables(DEFAULT.bands), stored, spread, PRELOAD_CHUNK)
    print(f"prepared {args.stored:,} indexed copies in {time.perf_counter() - started:.0f} s")


def time_writes(engine: Engine, args: argparse.Namespace) -> None:
    index = BandTables(DEFAULT.bands)
    timed = range(args.stored + 1, args.stored + args.timed + 1)
    whole = index_copies(engine, index, timed, [CURRENT_BUCKET] * args.timed, args.batch) / args.timed
    print(f"index writes: {index.write_seconds / args.timed * 1e6:.0f} us/copy; transactions {whole * 1e6:.0f} us/copy")


def time_load(engine: Engine, args: argparse.Namespace) -> None:
    loads, entries = [], 0
    for _ in range(7):
        index = BandTables(DEFAULT.bands)  # a process that holds no bucket yet
        with write_transaction(engine) as session:
            index.attach(session)
            started = time.perf_counter()
            index.lookup([([BIG_BUCKET], np.zeros(1, np.int64))])
            loads.append(time.perf_counter() - started)
            entries = index.loaded_entries
    print(f"load a bucket of {args.big:,} copies ({entries:,} entries): {median_ms(loads)}")


def time_probe(engine: Engine) -> None:
    index, probes = BandTables(DEFAULT.bands), []
    with write_transaction(engine) as session:
        index.attach(session)
        for s in signatures(np.random.default_rng(1), 50):
            started = time.perf_counter()
            index.probe(probe_keys(s))
            probes.append(time.perf_counter() - started)
    print(f"first probe of the whole store (reads every copy's probe keys): {probes[0] * 1e3:.0f} ms")
    print(f"later probes of the whole store with an undated copy's keys: {median_ms(probes[1:])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="sqlite:////tmp/ingest-band-index.sqlite")
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=10_000, help="copies in the bucket whose load is timed")
    parser.add_argument("--timed", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    engine = fresh_store(args.database_url, args.stored + args.timed)
    prepare(engine, args)
    time_writes(engine, args)
    time_load(engine, args)
    time_probe(engine)
    if args.database_url.startswith("sqlite:///"):
        size = Path(args.database_url.removeprefix("sqlite:///")).stat().st_size
        print(f"SQLite file: {size / 1e6:.0f} MB (not counting its WAL)")
    engine.dispose()


if __name__ == "__main__":
    main()
