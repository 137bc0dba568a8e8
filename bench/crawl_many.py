"""Crawl throughput on a many-outlet web of real-size pages: `ingest run-once`, end to end.

    .venv/bin/python bench/crawl_many.py                      # 11 outlets x 450 articles, news-please politeness
    .venv/bin/python bench/crawl_many.py --outlets 4 --articles 100 --polite   # default politeness

Each outlet serves robots.txt, an RSS feed (newest 50), a sitemap (every article, dated), a
sitemap index of one child per UTC day (each entry dated, the children by `<lastmod>` alone: their
names say nothing of their day; bench/backfill.py reads this one), a listing (20 undated links a
page, newest first), and article pages of 40-260 KB: our own Arabic article text (words
drawn from the sample web's corpus, so no two articles are copies) inside page chrome padded to a
real page's size (menus, sidebars, inline style and script), the sizes real outlets serve. The
web runs in its own process (a threaded server per outlet), so serving does not share the
crawler's GIL.

Politeness as news-please's defaults unless --polite: 4 requests in flight per site, no delay,
AutoThrottle off, 16 in flight in all. With --polite: the production defaults (0.1 s minimum
delay per source, AutoThrottle): the time is then bounded by the slowest outlet's delays.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FAST = {
    "INGEST_DOWNLOAD_DELAY": "0",
    "INGEST_AUTOTHROTTLE": "false",
    "INGEST_CONCURRENT_PER_SOURCE": "4",
    "INGEST_CONCURRENT_REQUESTS": "16",
}
START = datetime(2025, 3, 1, 8, tzinfo=UTC)
LISTING_PAGE = 20


# ------------------------------------------------------------------------------------------ the web


@cache
def vocabulary() -> list[str]:
    """Arabic words of the sample web's own corpus (written for this project)."""
    content = ROOT / "src" / "ingest" / "demo" / "content"
    words: set[str] = set()
    for path in content.glob("*.yaml"):
        words.update(re.findall(r"[\u0621-\u064a]{3,}", path.read_text(encoding="utf-8")))
    return sorted(words)


def article_text(rng: random.Random) -> tuple[str, list[str]]:
    """A headline and its paragraphs. The headline takes two thirds of its words from the lead, in
    order, as a real one sums up its lead: drawn apart from the text, no page's text shared a word
    with its headline, so extraction never trusted its first candidate and ran all five (60 of 60
    pages; 12.0 CPU-ms a page against 4.1 for plain trafilatura), which no real article asks."""
    words = vocabulary()
    paragraphs = [" ".join(rng.choices(words, k=rng.randint(25, 60))) + "." for _ in range(rng.randint(3, 12))]
    lead = paragraphs[0].rstrip(".").split()
    n = rng.randint(6, 11)
    picked = sorted(rng.sample(range(len(lead)), k=2 * n // 3))
    title = " ".join([lead[i] for i in picked] + rng.choices(words, k=n - len(picked)))
    return title, paragraphs


CHROME_VARIANTS = 8  # distinct chromes per outlet; real outlets repeat theirs on every page


@cache
def _sidebar(outlet: str, variant: int) -> str:
    """Menus and tables, built once per outlet and variant: building them and the style per
    request cost the server 1.8 of its 4.1 CPU-ms per article page."""
    rng = random.Random(f"{outlet}-chrome-{variant}")
    words = vocabulary()
    menu = "".join(f'<li><a href="/category/{i}">{rng.choice(words)}</a></li>' for i in range(60))
    rows = "".join(f"<tr><td>{rng.choice(words)}</td><td>{rng.randint(1, 99)}</td></tr>" for _ in range(40))
    side = f'<aside class="sidebar"><ul class="menu">{menu}</ul><table class="standings">{rows}</table></aside>'
    return side


@cache
def _filler() -> tuple[str, list[int]]:
    """Inline style for the largest page, and where its first n rules end."""
    rules = [f".c{i}{{margin:{i % 9}px;color:#{i:06x}}}" for i in range(260_000 // 40 + 1)]
    ends = [0]
    for rule in rules:
        ends.append(ends[-1] + len(rule))
    return "".join(rules), ends


def chrome(rng: random.Random, outlet: str, size: int) -> tuple[str, str]:
    """(head extras, sidebar+footer) adding up to about `size` bytes: menus, tables, style, script."""
    side = _sidebar(outlet, rng.randrange(CHROME_VARIANTS))
    filler, ends = _filler()
    style = f"<style>{filler[: max(0, min(ends[size // 40], size - len(side) - 2000))]}</style>"
    script = f"<script>window.__{outlet}={{}};</script>"
    return style + script, side


def article_page(outlet: str, k: int) -> bytes:
    rng = random.Random(f"{outlet}-{k}")
    title, paragraphs = article_text(rng)
    head, side = chrome(rng, outlet, rng.randint(40_000, 260_000))
    published = (START + timedelta(minutes=37 * k)).isoformat()
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<!doctype html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>{title} | {outlet}</title>'
        f'<meta property="og:type" content="article"><meta property="article:published_time" content="{published}">'
        f"{head}</head><body><header><nav>{outlet}</nav></header><main><article><h1>{title}</h1>"
        f'<time datetime="{published}">{published}</time>{body}</article></main>{side}'
        f"<footer>{outlet} 2025</footer></body></html>"
    ).encode()


def feed(base: str, outlet: str, n: int) -> bytes:
    items = "".join(
        f"<item><title>{outlet} {k}</title><link>{base}/news/{k}.html</link>"
        f"<pubDate>{format_datetime(START + timedelta(minutes=37 * k))}</pubDate></item>"
        for k in range(n - 1, max(-1, n - 51), -1)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{outlet}</title>{items}</channel></rss>'.encode()


def _when(k: int) -> datetime:
    return START + timedelta(minutes=37 * k)


def sitemap(base: str, n: int) -> bytes:
    urls = "".join(
        f"<url><loc>{base}/news/{k}.html</loc><lastmod>{_when(k).isoformat()}</lastmod></url>" for k in range(n)
    )
    return f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode()


def daily_children(n: int) -> dict[int, list[int]]:
    """Sitemap-index child number -> the articles of its UTC day (oldest child first)."""
    out: dict[int, list[int]] = {}
    for k in range(n):
        out.setdefault((_when(k).date() - START.date()).days + 1, []).append(k)
    return out


def sitemap_index(base: str, n: int) -> bytes:
    kids = "".join(
        f"<sitemap><loc>{base}/sitemap-{c}.xml</loc><lastmod>{_when(ks[-1]).isoformat()}</lastmod></sitemap>"
        for c, ks in daily_children(n).items()
    )
    return f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{kids}</sitemapindex>'.encode()


def sitemap_child(base: str, n: int, child: int) -> bytes | None:
    ks = daily_children(n).get(child)
    if ks is None:
        return None
    urls = "".join(f"<url><loc>{base}/news/{k}.html</loc><lastmod>{_when(k).isoformat()}</lastmod></url>" for k in ks)
    return f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode()


def listing(n: int, page: int) -> bytes:
    top = n - 1 - (page - 1) * LISTING_PAGE
    links = "".join(f'<li><a href="/news/{k}.html">{k}</a></li>' for k in range(top, max(-1, top - LISTING_PAGE), -1))
    nxt = f'<a class="next" href="/list?page={page + 1}">next</a>' if top - LISTING_PAGE >= 0 else ""
    return f"<html><body><ul>{links}</ul>{nxt}</body></html>".encode()


def serve(outlets: int, articles: int) -> None:
    """Serve the web, print one `name URL` line per outlet, run until killed."""
    for i in range(outlets):
        name = f"outlet{i:02d}"
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(name, articles))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        print(name, f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    print("ready", flush=True)
    threading.Event().wait()


def _handler(outlet: str, n: int) -> type[BaseHTTPRequestHandler]:
    counts = {"article": 0, "discovery": 0}  # requests served, for GET /_requests
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            base = f"http://{self.headers.get('Host')}"
            path, _, query = self.path.partition("?")
            found = re.fullmatch(r"/news/(\d+)\.html", path)
            child = re.fullmatch(r"/sitemap-(\d+)\.xml", path)
            if path == "/_requests":
                with lock:
                    self._send(json.dumps(counts).encode(), "application/json")
                return
            with lock:
                counts["article" if found else "discovery"] += 1
            if path == "/robots.txt":
                self._send(b"User-agent: *\nAllow: /\n", "text/plain")
            elif path == "/feed":
                self._send(feed(base, outlet, n), "application/rss+xml")
            elif path == "/sitemap.xml":
                self._send(sitemap(base, n), "application/xml")
            elif path == "/sitemap_index.xml":
                self._send(sitemap_index(base, n), "application/xml")
            elif child and (body := sitemap_child(base, n, int(child.group(1)))) is not None:
                self._send(body, "application/xml")
            elif path == "/list":
                self._send(listing(n, int(query.removeprefix("page=") or 1)), "text/html; charset=utf-8")
            elif found and int(found.group(1)) < n:
                self._send(article_page(outlet, int(found.group(1))), "text/html; charset=utf-8")
            else:
                self._send(b"not found", "text/plain", 404)

        def _send(self, body: bytes, ctype: str, status: int = 200) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    return Handler


# ------------------------------------------------------------------------------------------ the run


def sources_yaml(bases: dict[str, str], sitemap: str = "/sitemap.xml", timezones: dict[str, str] | None = None) -> str:
    from ingest.config import Source

    private = "allow_private_hosts" in Source.model_fields  # loopback must be allowed by name
    lines = ["sources:"]
    for name, base in bases.items():
        lines += [
            f"  - name: {name}",
            f'    homepage: "{base}/"',
            f'    feeds: ["{base}/feed"]',
            f'    sitemaps: ["{base}{sitemap}"]',
            *([f"    timezone: {timezones[name]}"] if timezones and name in timezones else []),
            f'    listings: [{{url: "{base}/list?page=1", next: "a.next", max_pages: 30}}]',
            '    allowed_domains: ["127.0.0.1"]',
            *(['    allow_private_hosts: ["127.0.0.1"]'] if private else []),
            '    article_url_pattern: "/news/\\\\d+\\\\.html$"',
            "    languages: [ar]",
        ]
    return "\n".join(lines) + "\n"


def _proc_cpu(pid: int, task: int | None = None) -> float:
    """CPU seconds of a process (all its threads), or of one of its threads."""
    try:
        stat = Path(f"/proc/{pid}/task/{task}/stat" if task else f"/proc/{pid}/stat")
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _children(pid: int) -> list[int]:
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        return [int(c) for t in tasks for c in (t / "children").read_text().split()]
    except (OSError, ValueError):
        return []


def _waited(pid: int) -> float:
    """Seconds this process's main thread spent runnable but waiting for a core (/proc/PID/schedstat)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


class TreeCpu(threading.Thread):
    """CPU of run-once's descendants (the forkserver and its extraction workers), sampled every 0.2 s.

    getrusage(RUSAGE_CHILDREN) misses them: the forkserver outlives run-once, so nobody waits for
    it. On the first version of this bench the printed "CPU ms/article" (5.6-6.9) left out the
    extraction workers' 12 ms per article. The last sample of each process is kept.
    """

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.cpu: dict[int, float] = {}
        self.wait: dict[int, float] = {}
        self.reactor = 0.0  # run-once's main thread: Scrapy's reactor and the spiders
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            self.reactor = _proc_cpu(self.root, self.root) or self.reactor
            todo = _children(self.root)
            while todo:
                pid = todo.pop()
                todo += _children(pid)
                self.cpu[pid] = _proc_cpu(pid) or self.cpu.get(pid, 0.0)
                self.wait[pid] = _waited(pid) or self.wait.get(pid, 0.0)


def read_bases(lines: Iterable[str]) -> dict[str, str]:
    """Outlet name -> base URL, as a `_serve` process prints them, one a line, before "ready"."""
    bases: dict[str, str] = {}
    for line in lines:
        if line.strip() == "ready":
            break
        name, url = line.split()
        bases[name] = url
    return bases


@contextmanager
def serving(outlets: int, articles: int) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """The web in its own process: (the process, outlet name -> base URL) until the block ends."""
    server = subprocess.Popen(
        [sys.executable, __file__, "_serve", str(outlets), str(articles)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        yield server, read_bases(server.stdout)
    finally:
        server.terminate()
        server.wait(timeout=10)


def requests_served(base: str) -> dict[str, int]:
    """{"article": n, "discovery": n}: what one outlet of the web has answered so far."""
    with urllib.request.urlopen(f"{base}/_requests", timeout=30) as answer:
        counts: dict[str, int] = json.load(answer)
    return counts


def run(outlets: int, articles: int, polite: bool, keep: Path | None, workers: int | None = None) -> dict[str, Any]:
    with serving(outlets, articles) as (server, bases), tempfile.TemporaryDirectory(prefix="bench-many-") as tmp:
        work = keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        (work / "sources.yaml").write_text(sources_yaml(bases), encoding="utf-8")
        db = work / "bench.sqlite"
        db.unlink(missing_ok=True)
        env = {**os.environ, "INGEST_DATABASE_URL": f"sqlite:///{db}", **({} if polite else FAST)}
        cmd = ["run-once", "--sources", str(work / "sources.yaml"), *(["--workers", str(workers)] if workers else [])]
        server_cpu = _proc_cpu(server.pid)
        proc, figures = measured_run(cmd, env)
        if proc.returncode not in (0, 3):
            raise RuntimeError(f"run-once exited {proc.returncode}:\n{proc.stderr[-3000:]}")
        return {
            "outlets": outlets,
            "articles_served": outlets * articles,
            **figures,
            "server_cpu_seconds": _proc_cpu(server.pid) - server_cpu,
        }


def measured_run(args: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """`ingest ARGS --no-progress` (a run-once), and what it took: pages and articles from its summary,
    wall seconds, CPU seconds of run-once, of its reactor thread and of its extraction processes."""
    cmd = [sys.executable, "-m", "ingest.cli", *args, "--no-progress"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    tree = TreeCpu(proc.pid)
    tree.start()
    out, err = proc.communicate(timeout=3600)
    elapsed = time.perf_counter() - t0
    tree.done.set()
    tree.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = re.search(r"(\d+) pages fetched, (\d+) articles extracted", out)
    figures = {
        "pages": int(summary.group(1)) if summary else 0,
        "stored": int(summary.group(2)) if summary else 0,
        "seconds": elapsed,
        "crawler_cpu_seconds": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "reactor_cpu_seconds": tree.reactor,
        "worker_cpu_seconds": sum(tree.cpu.values()),
        "worker_wait_seconds": sum(tree.wait.values()),
        "load": os.getloadavg()[0],
    }
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err), figures


def per_article(figures: dict[str, Any]) -> dict[str, float]:
    """`measured_run`'s figures an article: CPU milliseconds of run-once, of its reactor thread and of
    the extraction processes, and the articles stored a second."""
    n = figures["stored"] or 1
    return {
        "run_once": 1000 * figures["crawler_cpu_seconds"] / n,
        "reactor": 1000 * figures["reactor_cpu_seconds"] / n,
        "workers": 1000 * figures["worker_cpu_seconds"] / n,
        "rate": figures["stored"] / figures["seconds"],
    }


def main(argv: list[str]) -> int:
    if argv[:1] == ["_serve"]:
        serve(int(argv[1]), int(argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outlets", type=int, default=11)
    parser.add_argument("--articles", type=int, default=450, help="articles per outlet")
    parser.add_argument("--polite", action="store_true", help="the production politeness defaults")
    parser.add_argument("--keep", type=Path, help="keep the store and sources file in this directory")
    parser.add_argument("--workers", type=int, help="extraction processes (run-once's default: one per core)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    r = run(args.outlets, args.articles, args.polite, args.keep, args.workers)
    if args.json:
        print(json.dumps(r))
        return 0
    mode = "production politeness" if args.polite else ", ".join(f"{k}={v}" for k, v in FAST.items())
    print(f"Many-outlet web ({r['outlets']} outlets, {r['articles_served']} articles of 40-260 KB); {mode}")
    print(
        "| stored | pages | seconds | articles/s | CPU ms/article: run-once + extraction workers (= total)"
        " | of run-once: reactor thread | workers waiting for a core, s | server CPU ms/article | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    each = per_article(r)
    cells = [
        r["stored"],
        r["pages"],
        f"{r['seconds']:.1f}",
        f"{each['rate']:.1f}",
        f"{each['run_once']:.1f} + {each['workers']:.1f} (= {each['run_once'] + each['workers']:.1f})",
        f"{each['reactor']:.1f}",
        f"{r['worker_wait_seconds']:.1f}",
        f"{1000 * r['server_cpu_seconds'] / (r['stored'] or 1):.1f}",
        f"{r['load']:.1f}",
    ]
    print("| " + " | ".join(map(str, cells)) + " |")
    return 0


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT), str(ROOT / "src")]
    raise SystemExit(main(sys.argv[1:]))
