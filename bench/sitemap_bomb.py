"""What a 1 GiB gzip sitemap costs a crawl: wall time and peak memory of the crawl process, twice.

    .venv/bin/python bench/sitemap_bomb.py            # ~1-2 minutes, most of it building the bombs

The crawl of an empty sitemap is the baseline (a crawl process costs that much with no bomb).

Three bodies, each served as a source's only sitemap on a local server and crawled by
`ingest.crawl.crawler.run_crawl` in a fresh process (a frontier that knows nothing, extraction off):

* zeros: 1 GiB of NUL bytes, gzipped (~1 MB);
* entries: 1 GiB of distinct <url> entries, gzipped (its trailer declares the size);
* entries, lying trailer: the same with the trailer's size zeroed, so the size is found by reading.

Each is crawled twice: the second run gets the first run's fetch records (the frontier remembers
the bomb), as the store would give them. Prints seconds and peak RSS per crawl.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GIB = 1 << 30


def gzip_stream(parts: Iterator[bytes]) -> bytes:
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    return b"".join(packer.compress(p) for p in parts) + packer.flush()


def zeros() -> Iterator[bytes]:
    chunk = b"\0" * (1 << 20)
    for _ in range(GIB >> 20):
        yield chunk


def entries(base: str) -> Iterator[bytes]:
    yield b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    size, n = 0, 0
    while size < GIB:
        block = "".join(f"<url><loc>{base}/news/{i}.html</loc></url>" for i in range(n, n + 20000)).encode()
        n += 20000
        size += len(block)
        yield block
    yield b"</urlset>"


def serve(bodies: dict[str, bytes]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = bodies.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/x-gzip")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _peak_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited across fork+exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(spec_path: str) -> None:
    """One crawl of one source; prints its seconds, peak RSS (MB) and what the frontier recorded."""
    from datetime import datetime

    from ingest.config import Settings, Source
    from ingest.crawl.crawler import run_crawl
    from ingest.crawl.frontier import FetchOutcome, Validators

    spec = json.loads(Path(spec_path).read_text())

    class Sink:
        def accept(self, page: Any) -> None:
            pass

        def reject(self, rejection: Any) -> None:
            pass

    class Frontier:
        def __init__(self, settled: dict[str, str]) -> None:
            self.settled = settled
            self.recorded: list[FetchOutcome] = []

        def unseen_articles(self, source: str, urls: Any, now: datetime, *_: Any) -> set[str]:
            return set(urls)

        def validators(self, url: str) -> Validators:
            return Validators()

        def fetched_before(self, url: str) -> bool:
            return False

        def settled_failure(self, url: str, now: datetime) -> str | None:
            return self.settled.get(url)

        def record(self, outcomes: Any) -> None:
            self.recorded.extend(outcomes)

    frontier = Frontier(spec["settled"])
    source = Source.model_validate(spec["source"])
    # One article may be queued: the figures are the sitemap's cost, not that of fetching articles.
    settings = Settings(download_delay=0, autothrottle=False, retry_times=0, max_articles_per_run=1)
    start = time.perf_counter()
    [report] = run_crawl([source], settings, Sink(), frontier, log_level="ERROR")
    seconds = time.perf_counter() - start
    peak = _peak_mb()
    errors = {o.url: o.error for o in frontier.recorded if o.error}
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "errors": errors, "report": report.errors}))


def crawl(base: str, path: str, settled: dict[str, str]) -> dict[str, Any]:
    source = {
        "name": "bomb",
        "homepage": base + "/",
        "sitemaps": [base + path],
        "discover_feeds": False,
        "allow_private_hosts": ["127.0.0.1"],
    }
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp, "spec.json")
        spec.write_text(json.dumps({"source": source, "settled": settled}))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(spec)], capture_output=True, text=True, env=env, check=True
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    bodies: dict[str, bytes] = {}
    server = serve(bodies)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    t = time.perf_counter()
    bodies["/zeros.xml.gz"] = gzip_stream(zeros())
    bodies["/entries.xml.gz"] = gzip_stream(entries(base))
    bodies["/lying.xml.gz"] = bodies["/entries.xml.gz"][:-4] + b"\0\0\0\0"
    bodies["/empty.xml"] = b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>'  # the baseline
    print(f"built the bombs in {time.perf_counter() - t:.0f} s: " + ", ".join(
        f"{p} {len(b) / 1e6:.1f} MB" for p, b in bodies.items()))  # fmt: skip
    from ingest.crawl.discovery import parse_sitemap

    for path in ("/zeros.xml.gz", "/entries.xml.gz", "/lying.xml.gz"):
        t = time.perf_counter()
        doc = parse_sitemap(bodies[path], base)
        print(f"parse_sitemap {path}: {time.perf_counter() - t:.2f} s, {len(doc.entries)} entries, {doc.problem}")
    print(f"{'sitemap':<18} {'run':<6} {'seconds':>8} {'peak MB':>8}  recorded")
    for path in bodies:
        settled: dict[str, str] = {}
        for run in ("first", "second"):
            r = crawl(base, path, settled)
            error = r["errors"].get(base + path, "-")
            print(f"{path:<18} {run:<6} {r['seconds']:>8.2f} {r['peak_mb']:>8.0f}  {error}")
            settled = {u: e for u, e in r["errors"].items() if e.startswith("too-large")}
    server.shutdown()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
