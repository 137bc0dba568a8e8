"""Crawl throughput against the bundled sample web's `bulk` outlet (N synthetic article pages).

    .venv/bin/python bench/crawl.py --pages 5000 --no-extract   # Scrapy + spider only, counting sink
    .venv/bin/python bench/crawl.py --pages 5000 --extract      # `ingest run-once`: extraction, dedup, SQLite
    .venv/bin/python bench/crawl.py --pages 5000 --both         # both (the default)

The sample web runs in its own process (`python -m ingest.demo serve`), so serving does not
share the crawler's GIL; every measured crawl runs in a fresh subprocess, because Twisted's reactor
starts once per process. The sources file holds only the bulk outlet, crawled as a backfill
(`--since` before its first article), so the spider walks every sitemap-index child.

Politeness is off for this bench, on purpose: AutoThrottle off, DOWNLOAD_DELAY 0 and 16 requests in
flight per source (INGEST_* settings), because the server is our own loopback process. With the
production defaults (0.25 s delay, 4 per source, AutoThrottle) a crawl is bounded by politeness, not
by CPU, and 5,000 pages of one outlet take over 20 minutes by design.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from run import machine  # bench/ is on sys.path when a bench runs as a script

ROOT = Path(__file__).resolve().parent.parent
SINCE = "2025-01-01"  # before the bulk outlet's first article (2025-04-01): every sitemap child is walked
# Loopback bench: see the module docstring for why politeness is off.
BENCH_ENV = {
    "INGEST_AUTOTHROTTLE": "false",
    "INGEST_DOWNLOAD_DELAY": "0",
    "INGEST_CONCURRENT_PER_SOURCE": "16",
    "INGEST_CONCURRENT_REQUESTS": "32",
}


@dataclass
class Result:
    mode: str
    pages: int  # article pages handed to the sink
    articles: int  # articles stored (extraction on) or 0
    requests: int  # HTTP requests the crawler sent
    crawl_seconds: float  # run_crawl start -> last page accepted (extraction off) / crawl+pipeline close (on)
    process_seconds: float  # the whole subprocess, interpreter start to exit
    cpu_seconds: float  # user+sys CPU of the crawl subprocess and its children (extraction workers)
    server_cpu_seconds: float  # user+sys CPU the sample web spent serving this crawl

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.crawl_seconds if self.crawl_seconds else 0.0


# ------------------------------------------------------------------------------------------ server


@contextmanager
def sample_web(scale: int) -> Iterator[tuple[str, int]]:
    """Serve the sample web (with `scale` bulk pages) in a subprocess; yields (bulk base URL, pid)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ingest.demo", "serve", "--port", "0", "--scale", str(scale)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        base = None
        for line in proc.stdout:  # one "outlet URL" line per outlet, bulk last
            name, _, url = line.strip().partition(" ")
            if name == "bulk":
                base = url.strip().rstrip("/")
                break
        if base is None:
            raise RuntimeError(f"sample web exited {proc.wait()} before serving the bulk outlet")
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _proc_cpu(pid: int) -> float:
    """user+sys CPU seconds of a live process (Linux /proc), 0 where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _sources_file(base: str, directory: Path) -> Path:
    from ingest.demo.sources import render_sources_yaml

    path = directory / "sources.yaml"
    path.write_text(render_sources_yaml({"bulk": base}), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------ children


def _child_noop(sources_path: str) -> None:
    """Extraction off: run_crawl with a counting sink and a frontier that knows nothing. Prints JSON."""
    from ingest.config import Settings, load_sources
    from ingest.crawl.contracts import CrawlWindow
    from ingest.crawl.crawler import run_crawl
    from ingest.crawl.frontier import Validators
    from ingest.records import FetchedPage, Rejection

    class CountingSink:
        def __init__(self) -> None:
            self.pages = 0
            self.rejected = 0
            self.last = 0.0

        def accept(self, page: FetchedPage) -> None:
            self.pages += 1
            self.last = time.perf_counter()

        def reject(self, rejection: Rejection) -> None:
            self.rejected += 1

    class BlankFrontier:
        """Every URL is new and nothing is remembered: the crawl alone, no store in the loop."""

        def unseen_articles(self, source: str, urls: Any, now: datetime, *_: Any) -> set[str]:
            return set(urls)

        def validators(self, url: str) -> Validators:
            return Validators()

        def settled_failure(self, url: str, now: datetime) -> str | None:
            return None

        def record(self, outcomes: Any) -> None:
            for _ in outcomes:
                pass

    sources = load_sources(Path(sources_path)).sources
    settings = Settings.from_env()
    sink = CountingSink()
    start = time.perf_counter()
    reports = run_crawl(sources, settings, sink, BlankFrontier(), CrawlWindow.parse(SINCE, None),
                        log_level="ERROR")  # fmt: skip
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "pages": sink.pages,
                "rejected": sink.rejected,
                "requests": sum(r.requests for r in reports),
                "errors": {k: v for r in reports for k, v in r.errors.items()},
                "crawl_seconds": (sink.last or time.perf_counter()) - start,
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
            }
        )
    )


# ------------------------------------------------------------------------------------------ measurements


def _run(cmd: list[str], env: dict[str, str], server_pid: int) -> tuple[subprocess.CompletedProcess[str], float, float]:
    server_cpu = _proc_cpu(server_pid)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=3600)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 3):
        raise RuntimeError(f"{' '.join(cmd[:4])} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc, elapsed, _proc_cpu(server_pid) - server_cpu


def _env(**extra: str) -> dict[str, str]:
    src = str(ROOT / "src")
    path = os.pathsep.join(p for p in (str(ROOT), src, os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, **BENCH_ENV, "PYTHONPATH": path, **extra}


def _children_cpu_before() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure_noop(sources: Path, server_pid: int) -> Result:
    cpu0 = _children_cpu_before()
    proc, elapsed, server_cpu = _run(
        [sys.executable, str(Path(__file__).resolve()), "_child-noop", str(sources)], _env(), server_pid
    )
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    if data["errors"]:
        print(f"warning: crawl errors {data['errors']}", file=sys.stderr)
    return Result(
        "extraction off (run_crawl, counting sink, blank in-memory frontier)",
        data["pages"],
        0,
        data["requests"],
        data["crawl_seconds"],
        elapsed,
        _children_cpu_before() - cpu0,
        server_cpu,
    )


_SUMMARY = re.compile(r"(\d+) pages fetched, (\d+) articles extracted")
_REQUESTS = re.compile(r"bulk: (\d+) requests")


def measure_extract(sources: Path, server_pid: int, workdir: Path) -> Result:
    db = workdir / "bench.sqlite"
    db.unlink(missing_ok=True)
    cpu0 = _children_cpu_before()
    cmd = [sys.executable, "-m", "ingest.cli", "run-once", "--sources", str(sources), "--since", SINCE]
    proc, elapsed, server_cpu = _run([*cmd, "--no-progress"], _env(INGEST_DATABASE_URL=f"sqlite:///{db}"), server_pid)
    summary = _SUMMARY.search(proc.stdout)
    requests = _REQUESTS.search(proc.stdout)
    if summary is None:
        raise RuntimeError(f"no run summary in:\n{proc.stdout}")
    pages, articles = int(summary.group(1)), int(summary.group(2))
    return Result(
        "extraction on (`ingest run-once`: pool + dedup + SQLite)",
        pages,
        articles,
        int(requests.group(1)) if requests else 0,
        elapsed,  # the CLI prints no timings: the whole command is the crawl
        elapsed,
        _children_cpu_before() - cpu0,
        server_cpu,
    )


# ------------------------------------------------------------------------------------------ report


def table(n: int, results: list[Result]) -> str:
    rows = [
        "| mode | N | pages | articles | requests | crawl s | process s | pages/s | articles/s | crawler CPU s "
        "| server CPU s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        arts = f"{r.articles / r.crawl_seconds:.0f}" if r.articles else "-"
        rows.append(
            f"| {r.mode} | {n} | {r.pages} | {r.articles or '-'} | {r.requests} | {r.crawl_seconds:.1f} "
            f"| {r.process_seconds:.1f} | {r.pages_per_s:.0f} | {arts} | {r.cpu_seconds:.1f} "
            f"| {r.server_cpu_seconds:.1f} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_child-noop"]:
        _child_noop(argv[1])
        return 0
    parser = argparse.ArgumentParser(prog="bench/crawl.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=5000, help="bulk article pages served (default 5000)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--no-extract", dest="mode", action="store_const", const="noop", help="extraction off only")
    mode.add_argument("--extract", dest="mode", action="store_const", const="extract", help="extraction on only")
    mode.add_argument("--both", dest="mode", action="store_const", const="both", help="both (default)")
    args = parser.parse_args(argv)
    mode_ = args.mode or "both"
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-crawl-") as tmp, sample_web(args.pages) as (base, pid):
        sources = _sources_file(base, Path(tmp))
        if mode_ in ("noop", "both"):
            results.append(measure_noop(sources, pid))
        if mode_ in ("extract", "both"):
            results.append(measure_extract(sources, pid, Path(tmp)))
    print(f"\nCrawl throughput, bulk outlet, loopback sample web in its own process; {machine()}.")
    print("Politeness off for the bench: " + ", ".join(f"{k}={v}" for k, v in BENCH_ENV.items()) + "\n")
    print(table(args.pages, results))
    return 0


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT), str(ROOT / "src")]
    raise SystemExit(main())
