"""Real templates tried as a user would: served on loopback, crawled by `ingest run-once`, read back
with `ingest query --format jsonl`.

    python bench/extract_real_crawl.py [--limit 40] [--fills 3] [--outlets 14]

The pages are bench/extract_real.py's (our Arabic articles, from a two-line brief to a long report,
in the main-content element of real pages of ../shared/datasets, read at bench time and written
only to a temporary directory). The templates are dealt round-robin to `--outlets` outlets; each
outlet serves robots.txt, an RSS feed and a sitemap of its pages from its own port on 127.0.0.1 (a
separate server process). One `ingest run-once` crawls them all into a fresh SQLite store.

Printed per outlet: pages served, copies stored (coverage: the URLs `ingest query --format jsonl`
lists among its stories' sources), empty stored texts, token F1 of the canonical texts the query
returns against the text we inserted, and of every stored copy (read from the store, since the
query gives one text per story); then the run's exit code and its per-source summary lines.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent))

from crawl_many import FAST, measured_run, per_article, read_bases
from extract_real import DATASETS, RealPage, build, load, make_fill

from ingest_dev.devset import base_stories
from ingest_dev.extractbench import token_prf

PATTERN = r"/news/[a-z]+-[0-9a-z]+-\d+\.html$"


@dataclass(frozen=True, slots=True)
class Served:
    outlet: str
    path: str
    text: str  # what we inserted
    headline: str
    published: datetime  # UTC


def _path(page: RealPage, n: int) -> str:
    return f"/news/{page.set_name}-{page.id.lower()}-{n}.html"


def write_web(pages: list[RealPage], fills: int, outlets: int, root: Path) -> list[Served]:
    """Every outlet's files under root/<outlet>/: the article pages, feed.xml, sitemap.xml, robots.txt."""
    stories = base_stories()
    served: list[Served] = []
    dated: dict[str, list[tuple[str, str, datetime]]] = {}
    k = 0
    for i, page in enumerate(pages):
        outlet = f"real{k % outlets:02d}"
        made = [(n, make_fill(stories, i * fills + n)) for n in range(fills)]
        bodies = [(n, fill, build(page, fill, n)) for n, fill in made]
        if any(body is None for _, _, body in bodies):
            continue  # the main element was not found: no template
        k += 1
        for n, fill, body in bodies:
            path = _path(page, n)
            target = root / outlet / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body or b"")
            served.append(Served(outlet, path, fill.text, fill.headline, fill.published_utc))
            dated.setdefault(outlet, []).append((path, fill.headline, fill.published_utc))
    for outlet, items in dated.items():
        (root / outlet / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
        (root / outlet / "feed.xml").write_text(_rss(outlet, items), encoding="utf-8")
        (root / outlet / "sitemap.xml").write_text(_sitemap(items), encoding="utf-8")
    return served


def _rss(outlet: str, items: list[tuple[str, str, datetime]]) -> str:
    entries = "".join(
        f"<item><title>{escape(title)}</title><link>{{BASE}}{path}</link>"
        f"<pubDate>{format_datetime(when.replace(tzinfo=UTC))}</pubDate></item>"
        for path, title, when in sorted(items, key=lambda x: x[2], reverse=True)[:50]
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{outlet}</title>{entries}</channel></rss>'


def _sitemap(items: list[tuple[str, str, datetime]]) -> str:
    urls = "".join(f"<url><loc>{{BASE}}{path}</loc><lastmod>{when:%Y-%m-%d}</lastmod></url>" for path, _, when in items)
    return f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'


# ------------------------------------------------------------------------------------------ serving


class _Handler(SimpleHTTPRequestHandler):
    """Static files; feed.xml and sitemap.xml get this server's base URL in place of {BASE}."""

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path in ("/feed.xml", "/sitemap.xml"):
            body = (Path(self.directory) / path.lstrip("/")).read_text(encoding="utf-8")
            data = body.replace("{BASE}", f"http://{self.headers.get('Host')}").encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        super().do_GET()

    def log_message(self, *_: Any) -> None:
        pass


def serve(root: Path) -> None:
    """Serve each outlet directory on its own port; print `name URL` lines, then `ready`; run until killed."""
    for outlet in sorted(p.name for p in root.iterdir() if p.is_dir()):
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(root / outlet)))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        print(outlet, f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    print("ready", flush=True)
    threading.Event().wait()


def sources_yaml(bases: dict[str, str]) -> str:
    lines = ["sources:"]
    for name, base in bases.items():
        lines += [
            f"  - name: {name}",
            f'    homepage: "{base}/"',
            f'    feeds: ["{base}/feed.xml"]',
            f'    sitemaps: ["{base}/sitemap.xml"]',
            '    allowed_domains: ["127.0.0.1"]',
            '    allow_private_hosts: ["127.0.0.1"]',
            f"    article_url_pattern: {json.dumps(PATTERN)}",
            "    languages: [ar]",
        ]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------ the run


def ingest(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "ingest.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)


def crawl(
    root: Path, work: Path
) -> tuple[dict[str, str], subprocess.CompletedProcess[str], dict[str, Any], list[dict[str, Any]]]:
    """Crawl the web under `root`: the outlets' URLs, run-once's process and figures, the query's records."""
    server = subprocess.Popen([sys.executable, __file__, "_serve", str(root)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        bases = read_bases(server.stdout)
        (work / "sources.yaml").write_text(sources_yaml(bases), encoding="utf-8")
        env = {**os.environ, "INGEST_DATABASE_URL": f"sqlite:///{work / 'crawl.sqlite'}", **FAST}
        run, figures = measured_run(["run-once", "--sources", str(work / "sources.yaml")], env)
        query = ingest("query", "--format", "jsonl", env=env)
        records = [json.loads(line) for line in query.stdout.splitlines() if line.strip()]
        return bases, run, figures, records
    finally:
        server.terminate()
        server.wait(timeout=10)


@dataclass(frozen=True, slots=True)
class Stored:
    text: str
    title: str
    published: datetime | None  # UTC


def stored_copies(db: Path) -> dict[str, Stored]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT url, text, title, published_at FROM article_copies")
        return {url: Stored(text, title, _utc(when)) for url, text, title, when in rows}


def _utc(value: str | None) -> datetime | None:
    if not value:
        return None
    when = datetime.fromisoformat(value)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _title_right(stored: Stored | None, served: Served) -> bool:
    return stored is not None and " ".join(stored.title.split()) == " ".join(served.headline.split())


def _minute_right(stored: Stored | None, served: Served) -> bool:
    when = stored.published if stored is not None else None
    return when is not None and when.replace(second=0) == served.published


def report(
    served: list[Served], bases: dict[str, str], records: list[dict[str, Any]], stored: dict[str, Stored]
) -> None:
    copies = {url: s.text for url, s in stored.items()}
    want = {bases[s.outlet] + s.path: s for s in served}
    listed = {c["url"] for r in records for c in r["sources"]}
    canonical = {r["url"]: r["text"] for r in records}
    print(
        "| outlet | templates | pages | stored | empty stored | canonical texts: n, F1 | every copy: F1, worst "
        "| titles | dates to the minute |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    rows: dict[str, list[Served]] = {}
    for s in served:
        rows.setdefault(s.outlet, []).append(s)
    for outlet in [*sorted(rows), "all"]:
        group = served if outlet == "all" else rows[outlet]
        urls = [u for u, s in want.items() if s in group]
        kept = [u for u in urls if u in listed]
        empty = sum(not (copies.get(u) or "").strip() for u in kept)
        titles = sum(_title_right(stored.get(u), want[u]) for u in kept) / max(len(kept), 1)
        dates = sum(_minute_right(stored.get(u), want[u]) for u in kept) / max(len(kept), 1)
        canon = [token_prf(canonical[u], want[u].text)[2] for u in urls if u in canonical]
        every = [token_prf(copies.get(u, ""), want[u].text)[2] for u in urls]  # a missing page scores 0
        templates = len({s.path.rsplit("-", 1)[0] for s in group})
        print(
            f"| {outlet} | {templates} | {len(urls)} | {len(kept) / len(urls):.1%} | {empty} "
            f"| {len(canon)}, {f'{statistics.mean(canon):.3f}' if canon else '-'} "
            f"| {statistics.mean(every):.3f}, {min(every):.3f} | {titles:.1%} | {dates:.1%} |"
        )
    _print_worst(want, stored)


def _print_worst(want: dict[str, Served], stored: dict[str, Stored], limit: int = 12) -> None:
    """The pages a regression would name: not stored, below F1 0.98, a wrong title or date."""
    lines = []
    for url, served in want.items():
        got = stored.get(url)
        f1 = token_prf(got.text, served.text)[2] if got is not None else 0.0
        if got is None or f1 < 0.98 or not _title_right(got, served) or not _minute_right(got, served):
            when = got.published if got is not None else None
            lines.append(f"  {served.outlet}{served.path}: F1 {f1:.3f}, date stored {when}, set {served.published}")
    print(f"\n{len(lines)} pages not stored, below F1 0.98, or with a wrong title or date" + (":" if lines else ""))
    print("\n".join(lines[:limit]))


def _speed(figures: dict[str, Any]) -> str:
    """The crawl's speed, as bench/crawl_many.py prints it: real chrome costs more than its padding."""
    each = per_article(figures)
    crawler, workers = each["run_once"], each["workers"]
    return (
        f"{figures['stored']} articles in {figures['seconds']:.1f} s: {each['rate']:.1f} articles/s; CPU ms an "
        f"article: run-once {crawler:.1f} (reactor {each['reactor']:.1f}) + extraction processes {workers:.1f} = "
        f"{crawler + workers:.1f}; load {figures['load']:.1f}"
    )


def main(argv: list[str]) -> int:
    if argv[:1] == ["_serve"]:
        serve(Path(argv[1]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=40, help="pages per data set")
    parser.add_argument("--fills", type=int, default=3, help="articles served in each template")
    parser.add_argument("--outlets", type=int, default=14)
    parser.add_argument("--keep", type=Path, help="keep the web, the store and the sources file in this directory")
    args = parser.parse_args(argv)
    if not DATASETS.exists():
        print(f"skipped: {DATASETS.resolve()} not found")
        return 0
    pages = load(args.limit)
    if not pages:
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-real-crawl-") as tmp:
        work = args.keep or Path(tmp)
        root = work / "web"
        (work / "crawl.sqlite").unlink(missing_ok=True)
        served = write_web(pages, args.fills, args.outlets, root)
        bases, run, figures, records = crawl(root, work)
        print(f"{len(served)} pages in {len({s.outlet for s in served})} outlets, crawled by `ingest run-once`")
        print(_speed(figures) + "\n")
        report(served, bases, records, stored_copies(work / "crawl.sqlite"))
        print(f"\nrun-once exit {run.returncode}; its summary:")
        print("\n".join("    " + line for line in run.stdout.strip().splitlines()[-2 * len(bases) - 4 :]))
        if run.returncode not in (0, 3):
            print(run.stderr[-2000:])
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
