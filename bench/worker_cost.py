"""What an article page costs in an extraction process, part by part, in CPU time.

    .venv/bin/python bench/worker_cost.py [--pages 150] [--templates 80]

On the many-outlet bench's pages (`bench/crawl_many.py`: our Arabic text in chrome padded to
40-260 KB) and, when ../shared/datasets is present, on our Arabic articles inside real templates
(built as `bench/extract_real.py` builds them, two articles a template): `extract_page` in this
process (extraction, dedup forms, archive compression), the same pages through a one-process
extraction pool as `run-once` runs it (the difference is moving the page in and the result out),
the archive's compression (zlib level 6, the format before, against zstd level 1), and plain
`trafilatura.extract()` for scale. CPU time of the process doing the work; the machine may be
loaded, so run the rows you compare together.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def bench_pages(n: int) -> list[Any]:
    import crawl_many

    from ingest.records import FetchedPage

    pages = []
    for k in range(n):
        outlet = f"outlet{k % 11:02d}"
        url = f"http://127.0.0.1/news/{k}.html"
        body = crawl_many.article_page(outlet, k)
        pages.append(FetchedPage(url, url, 200, {"content-type": "text/html; charset=utf-8"}, body, outlet, _now()))
    return pages


def real_template_pages(templates: int) -> list[Any]:
    """Two of our articles in each real template; [] (and one line said) without ../shared."""
    import extract_real

    from ingest_dev.devset import base_stories

    stories = base_stories()
    pages = []
    for i, page in enumerate(extract_real.load(templates)):
        for n in range(2):
            body = extract_real.build(page, extract_real.make_fill(stories, i + n), n)
            if body is not None:
                pages.append(extract_real.fetched(extract_real.page_url(page, n), body, f"real{i}"))
    return pages


def _now() -> datetime:
    return datetime.now(UTC)


def cpu_ms(fn: Callable[[Any], object], pages: Sequence[Any]) -> list[float]:
    """CPU milliseconds of `fn` on each page (this process)."""
    out = []
    for page in pages:
        start = time.process_time()
        fn(page)
        out.append(1000 * (time.process_time() - start))
    return out


def _process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pool_ms(pages: Sequence[Any]) -> float:
    """Mean CPU milliseconds per page of one extraction process fed as `run-once` feeds it."""
    from ingest.service.lifecycle import arm_extraction_process
    from ingest.service.pipeline import extract_page

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["ingest.service.forkserver_init"])
    with ProcessPoolExecutor(1, mp_context=context, initializer=arm_extraction_process) as pool:
        pool.submit(int).result()  # the process is up (and warm)
        (pid,) = list(pool._processes)
        before = _process_cpu(pid)
        futures = [pool.submit(extract_page, page, "Africa/Casablanca", ("ar", "fr")) for page in pages]
        for future in futures:
            future.result()
        return 1000 * (_process_cpu(pid) - before) / len(pages)


def row(name: str, pages: Sequence[Any]) -> None:
    import trafilatura

    from ingest.extract.extractor import extract, preload
    from ingest.service.pipeline import extract_page
    from ingest.store.archive import compress

    preload()
    size = statistics.mean(len(p.body) for p in pages) / 1024
    inproc = cpu_ms(lambda p: extract_page(p, "Africa/Casablanca", ("ar", "fr")), pages)
    alone = cpu_ms(lambda p: extract(p, languages=("ar", "fr")), pages)
    pooled = pool_ms(pages)
    old = cpu_ms(lambda p: zlib.compress(p.body, 6), pages)
    new = cpu_ms(lambda p: compress(p.body), pages)
    total = sum(len(p.body) for p in pages)
    old_share = sum(len(zlib.compress(p.body, 6)) for p in pages) / total
    new_share = sum(len(compress(p.body)) for p in pages) / total
    plain = cpu_ms(lambda p: trafilatura.extract(p.body), pages)
    cells = [
        f"{name} ({len(pages)} pages, {size:.0f} KB)",
        f"{statistics.median(alone):.1f} / {statistics.mean(alone):.1f}",
        f"{statistics.mean(inproc):.1f}",
        f"{pooled:.1f}",
        f"{statistics.mean(old):.2f} ms, {old_share:.1%} -> {statistics.mean(new):.2f} ms, {new_share:.1%}",
        f"{statistics.median(plain):.1f} / {statistics.mean(plain):.1f}",
    ]
    print("| " + " | ".join(cells) + " |", flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=150, help="pages of the many-outlet bench's web")
    parser.add_argument("--templates", type=int, default=80, help="real templates per data set")
    args = parser.parse_args(argv)
    print(
        "| pages | extract: median / mean CPU-ms | extract_page in one process, mean | the same through a"
        " one-process pool | archive: zlib 6 -> zstd 1 (CPU-ms, share of the bytes) |"
        " plain trafilatura.extract: median / mean |"
    )
    print("|---|---|---|---|---|---|")
    row("many-outlet bench", bench_pages(args.pages))
    real = real_template_pages(args.templates)
    if real:
        row("our articles in real templates", real)
    return 0


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "src")]
    raise SystemExit(main(sys.argv[1:]))
