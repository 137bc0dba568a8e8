"""Story browser latency: p50/p95 of the story list and the story page on a large store.

    .venv/bin/python bench/web_latency.py                    # 100,000 copies (`make bench`)
    .venv/bin/python bench/web_latency.py --copies 1000000   # the issue's size (`make bench-scale`)
    .venv/bin/python bench/web_latency.py --database-url postgresql://postgres@127.0.0.1/test

1. Build (not timed): a synthetic SQLite store of N copies in stories of 1-5 copies from 12
   outlets over two years, bulk-inserted with the columns the pages read (texts of ~1 KB).
2. Serve it with `ingest serve --port 0` in its own process, as in production.
3. Timed, sequentially over one keep-alive connection, after a warm-up: the first list page, a
   deep list page, a filtered list (min_sources=3), and story pages of random stories.
Figures only; nothing is asserted. Latency is the client's: request sent to body read.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, insert, text, update

from ingest.store.db import open_store, write_transaction
from ingest.store.models import CopyRow, SourceRow, StoryRow

OUTLETS = [f"outlet{i:02d}" for i in range(12)]
START = datetime(2023, 6, 1, tzinfo=UTC)
SPAN_MINUTES = 730 * 24 * 60
CHUNK = 20_000
WORDS = [
    "الحكومة",
    "المغرب",
    "الرباط",
    "مشروع",
    "وزارة",
    "الأمن",
    "الوطني",
    "مليون",
    "درهم",
    "جهة",
    "إقليم",
    "المدينة",
    "المواطنين",
]


def paragraphs(rng: random.Random, n: int) -> list[str]:
    return [" ".join(rng.choices(WORDS, k=rng.randint(15, 30))) for _ in range(n)]


def stories(n_copies: int, rng: random.Random) -> Iterator[tuple[int, datetime, list[int]]]:
    """(story id, first publication, outlets of its copies) until n_copies copies are placed."""
    placed, sid = 0, 0
    while placed < n_copies:
        sid += 1
        size = min(n_copies - placed, rng.choice((1, 1, 1, 2, 2, 3, 4, 5)))
        first = START + timedelta(minutes=SPAN_MINUTES * placed / n_copies)
        yield sid, first, rng.sample(range(len(OUTLETS)), size)
        placed += size


def build(url: str, n_copies: int) -> int:
    """Bulk-insert the store; returns the number of stories."""
    engine = open_store(url)
    rng = random.Random(7)
    pool = paragraphs(rng, 400)
    now = datetime.now(UTC)
    with write_transaction(engine) as s:
        s.execute(insert(SourceRow), [{"id": i + 1, "name": n, "title": n} for i, n in enumerate(OUTLETS)])
    story_rows: list[dict[str, Any]] = []
    copy_rows: list[dict[str, Any]] = []
    copy_id = n_stories = 0
    for sid, first, outlets in stories(n_copies, rng):
        n_stories = sid
        body = rng.sample(pool, 4)
        for k, outlet in enumerate(outlets):
            copy_id += 1
            when = first + timedelta(minutes=37 * k)
            copy_rows.append(_copy(copy_id, sid, outlet, when, now, body if k == 0 else body[: 3 + k % 2], k))
        story_rows.append(
            {
                "id": sid,
                "canonical_copy_id": copy_id - len(outlets) + 1,
                "first_published_at": first,
                "source_count": len(outlets),
                "copy_count": len(outlets),
                "created_at": now,
                "updated_at": now,
            }
        )
        if len(copy_rows) >= CHUNK:
            _flush(engine, story_rows, copy_rows)
    _flush(engine, story_rows, copy_rows)
    if engine.dialect.name == "postgresql":  # autovacuum analyses a live store; a bulk load has no statistics yet
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    engine.dispose()
    return n_stories


def _copy(cid: int, sid: int, outlet: int, when: datetime, now: datetime, body: list[str], k: int) -> dict[str, Any]:
    title = f"عنوان الخبر {sid} " + ("" if k == 0 else f"({OUTLETS[outlet]})")
    text_ = "\n".join(body)
    return {
        "id": cid,
        "source_id": outlet + 1,
        "story_id": sid,
        "url": f"https://{OUTLETS[outlet]}.ma/{sid}-{cid}.html",
        "fetched_url": f"https://{OUTLETS[outlet]}.ma/{sid}-{cid}.html",
        "title": title,
        "text": text_,
        "search_text": title + " " + text_,
        "published_at": when,
        "fetched_at": now,
        "language": "ar",
        "extraction_method": "bench",
        "content_hash": f"{cid:040d}",
        "signature": b"",
        "token_count": 100,
        "similarity": None if k == 0 else 0.9,
        "join_reason": None if k == 0 else "bench: synthetic copy",
    }


def _flush(engine: Any, story_rows: list[dict[str, Any]], copy_rows: list[dict[str, Any]]) -> None:
    """Stories without their canonical copy, then the copies, then each story's canonical copy:
    stories and copies reference each other (PostgreSQL checks each statement, SQLite too)."""
    canonical = [{"sid": r["id"], "cid": r["canonical_copy_id"]} for r in story_rows]
    with write_transaction(engine) as s:
        if story_rows:  # Core inserts (executemany): the ORM's bulk path costs several times more
            s.execute(insert(StoryRow.__table__), [{**r, "canonical_copy_id": None} for r in story_rows])
        if copy_rows:
            s.execute(insert(CopyRow.__table__), copy_rows)
        if canonical:
            s.execute(_SET_CANONICAL, canonical)
    story_rows.clear()
    copy_rows.clear()


_SET_CANONICAL = (
    update(StoryRow.__table__)
    .where(StoryRow.__table__.c.id == bindparam("sid"))
    .values(canonical_copy_id=bindparam("cid"))
)


def start_server(url: str, tmp: str) -> tuple[subprocess.Popen[str], str, int]:
    """`ingest serve` on the store; no sources file (the outlets come from the store)."""
    env = {**os.environ, "INGEST_DATABASE_URL": url}
    argv = [sys.executable, "-m", "ingest.cli", "serve", "--port", "0", "--sources", str(Path(tmp) / "none.yaml")]
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    if not line.startswith("serving on "):
        proc.kill()
        raise SystemExit(f"ingest serve did not start: {line}{proc.stderr.read()}")
    host_port = line.split("//", 1)[1].strip().rstrip("/")
    host, port = host_port.rsplit(":", 1)
    return proc, host, int(port)


def timed(conn: http.client.HTTPConnection, paths: list[str]) -> list[float]:
    out = []
    for path in paths:
        start = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        out.append((time.perf_counter() - start) * 1000)
        if response.status != 200:
            raise SystemExit(f"{path}: HTTP {response.status}")
    return out


def report(name: str, ms: list[float]) -> None:
    q = statistics.quantiles(ms, n=100, method="inclusive")
    print(f"  {name:<34} n={len(ms):<4} p50 {q[49]:7.1f} ms   p95 {q[94]:7.1f} ms   max {max(ms):7.1f} ms", flush=True)


def measure(host: str, port: int, n_stories: int, n: int) -> None:
    rng = random.Random(11)
    conn = http.client.HTTPConnection(host, port, timeout=600)
    timed(conn, ["/", "/stories/1", "/?min_sources=3"])  # warm-up: templates, caches, pool
    report("story list, page 1 (/)", timed(conn, ["/"] * n))
    report("story list, page 50", timed(conn, ["/?page=50"] * n))
    report("story list, min_sources=3", timed(conn, ["/?min_sources=3"] * n))
    report("story list, since one month", timed(conn, ["/?since=2024-06-01&until=2024-06-30"] * n))
    report("story page (/stories/ID, random)", timed(conn, [f"/stories/{rng.randint(1, n_stories)}" for _ in range(n)]))
    report("API story list (/api/stories)", timed(conn, ["/api/stories"] * n))
    report("outlets page (/outlets)", timed(conn, ["/outlets"] * max(3, n // 20)))
    conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per kind of page")
    parser.add_argument("--database-url", help="an empty store to fill (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="web-bench-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        started = time.monotonic()
        n_stories = build(url, args.copies)
        print(
            f"store: {args.copies:,} copies in {n_stories:,} stories, 12 outlets, "
            f"{url.split(':', 1)[0]}, built in {time.monotonic() - started:.0f} s",
            flush=True,
        )
        proc, host, port = start_server(url, tmp)
        try:
            measure(host, port, n_stories, args.requests)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
