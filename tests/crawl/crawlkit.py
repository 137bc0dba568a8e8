"""Helpers for crawl tests: a tiny scriptable HTTP server, an in-memory Frontier, a recording
sink, and `crawl(...)`, which runs `ingest.crawl.crawler.run_crawl` in a fresh Python process (Twisted's
reactor cannot restart, so every crawl test gets its own process) and returns what it saw.

Run as a script (``python crawlkit.py spec.json out.json``) this file is that child process.
(Not named conftest.py: test modules import it by name, and the suite has more than one conftest.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ingest.crawl.frontier import FetchOutcome, Validators
from ingest.records import FetchedPage, Rejection

ROOT = Path(__file__).resolve().parents[2]

# ------------------------------------------------------------------------------------ the server


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Hit:
    path: str
    host: str
    headers: dict[str, str]
    at: float
    status: int


Handler = Callable[[dict[str, str]], Reply]


class TestWeb:
    """Routes by exact path (with query if given); anything else is a 404. Logs every request."""

    __test__ = False  # not a test class

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Handler] = {}
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        web = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                handler = web.routes.get(self.path) or web.routes.get(self.path.split("?")[0])
                reply = handler(headers) if handler else Reply(404, b"<html>not found</html>")
                with web._lock:
                    web.hits.append(Hit(self.path, headers.get("host", ""), headers, time.monotonic(), reply.status))
                self.send_response(reply.status)
                sent = {k.lower() for k in reply.headers}
                chunked = reply.headers.get("Transfer-Encoding") == "chunked"  # no length announced
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                if "content-type" not in sent:
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                if "content-length" not in sent and not chunked:
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                try:
                    if chunked:
                        for i in range(0, len(reply.body), 65536):
                            piece = reply.body[i : i + 65536]
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                        self.wfile.write(b"0\r\n\r\n")
                    elif reply.status != 304:
                        self.wfile.write(reply.body)
                except ConnectionError:  # the crawler hung up (a size limit): fine
                    pass

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        # A deep listen backlog: socketserver's default of 5 drops concurrent SYNs, and the 1 s SYN
        # retransmits then look like a slow crawler.
        _Server = type("_Server", (ThreadingHTTPServer,), {"request_queue_size": 256})
        self.server = _Server((host, 0), _H)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = f"http://{host}:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, body: bytes | str = b"", content_type: str | None = None, *, status: int = 200,
            headers: dict[str, str] | None = None) -> None:  # fmt: skip
        data = body.encode("utf-8") if isinstance(body, str) else body
        h = dict(headers or {})
        if content_type:
            h["Content-Type"] = content_type
        self.routes[path] = lambda _req: Reply(status, data, h)

    def handle(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def paths(self) -> list[str]:
        return [h.path for h in self.hits]

    def count(self, path: str) -> int:
        return sum(1 for h in self.hits if h.path == path)


def serving(host: str = "127.0.0.1") -> Iterator[TestWeb]:
    w = TestWeb(host)
    w.thread.start()
    try:
        yield w
    finally:
        w.server.shutdown()
        w.server.server_close()


def article_html(title: str, body: str = "") -> str:
    return (
        f"<!DOCTYPE html><html lang=ar dir=rtl><head><meta charset=utf-8><title>{title}</title></head>"
        f"<body><article><h1>{title}</h1><p>{body or title}</p></article></body></html>"
    )


# ------------------------------------------------------------------- in-memory frontier and sink


class MemoryFrontier:
    """The Frontier contract, in memory: `known` URLs are never unseen; everything is logged."""

    def __init__(
        self,
        known: Iterable[str] = (),
        validators: dict[str, dict[str, str | None]] | None = None,
        settled: dict[str, str] | None = None,
    ):
        self.known = set(known)
        self.settled = dict(settled or {})
        self._validators = {u: Validators(**v) for u, v in (validators or {}).items()}
        self.recorded: list[FetchOutcome] = []
        self.unseen_calls: list[list[str]] = []

    def unseen_articles(
        self,
        source: str,
        urls: Iterable[str],
        now: datetime,
        in_window: Callable[[datetime | None], bool] | None = None,
    ) -> set[str]:
        batch = list(urls)
        self.unseen_calls.append(batch)
        return {u for u in batch if u not in self.known}

    def validators(self, url: str) -> Validators:
        return self._validators.get(url, Validators())

    def fetched_before(self, url: str) -> bool:
        last = next((o for o in reversed(self.recorded) if o.url == url), None)  # the last outcome wins
        return url in self._validators or (last is not None and 0 < last.status < 400 and not last.error)

    def settled_failure(self, url: str, now: datetime) -> str | None:
        return self.settled.get(url)

    def record(self, outcomes: Iterable[FetchOutcome]) -> None:
        for o in outcomes:
            self.recorded.append(o)
            if o.kind == "article" and o.error is None:
                self.known.add(o.url)

    def record_read_whole(self, outcomes: Iterable[FetchOutcome]) -> None:
        self.record(outcomes)


class RecordingSink:
    def __init__(self) -> None:
        self.accepted: list[FetchedPage] = []
        self.rejected: list[Rejection] = []

    def accept(self, page: FetchedPage) -> None:
        self.accepted.append(page)

    def reject(self, rejection: Rejection) -> None:
        self.rejected.append(rejection)


# --------------------------------------------------------------------------- crawl in a process


@dataclass
class CrawlResult:
    accepted: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    recorded: list[dict[str, Any]]
    unseen_calls: list[list[str]]
    reports: list[dict[str, Any]]
    progress: list[str]
    seconds: float

    def accepted_urls(self) -> list[str]:
        return [p["url"] for p in self.accepted]

    def reasons(self) -> dict[str, str]:
        return {r["url"]: r["reason"] for r in self.rejected}

    @property
    def report(self) -> dict[str, Any]:
        return self.reports[0]


def crawl(
    sources: list[dict[str, Any]],
    *,
    settings: dict[str, Any] | None = None,
    known: Iterable[str] = (),
    validators: dict[str, dict[str, str | None]] | None = None,
    settled: dict[str, str] | None = None,
    since: str | None = None,
    until: str | None = None,
    oldest_first: bool = False,
    timeout: float = 90,
) -> CrawlResult:
    """Run one crawl in a child process; fast settings unless overridden."""
    spec = {
        "sources": sources,
        "settings": {
            "download_delay": 0,
            "autothrottle": False,
            "retry_times": 1,
            "download_timeout": 5,
            **(settings or {}),
        },
        "known": list(known),
        "validators": validators or {},
        "settled": settled or {},
        "since": since,
        "until": until,
        "oldest_first": oldest_first,
    }
    with tempfile.TemporaryDirectory() as tmp:
        spec_path, out_path = Path(tmp, "spec.json"), Path(tmp, "out.json")
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}
        proc = subprocess.run(
            [sys.executable, __file__, str(spec_path), str(out_path)],
            capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT,
        )  # fmt: skip
        if proc.returncode != 0 or not out_path.exists():
            raise AssertionError(f"crawl process failed ({proc.returncode}):\n{proc.stderr[-5000:]}")
        return CrawlResult(**json.loads(out_path.read_text(encoding="utf-8")))


def _child(spec_path: str, out_path: str) -> None:
    import hashlib

    from ingest.config import Settings, Source
    from ingest.crawl.contracts import CrawlWindow
    from ingest.crawl.crawler import run_crawl

    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    sources = [Source.model_validate(s) for s in spec["sources"]]
    frontier = MemoryFrontier(spec["known"], spec["validators"], spec["settled"])
    sink = RecordingSink()
    window = None
    if spec["since"] or spec["until"]:
        window = CrawlWindow.parse(spec["since"], spec["until"], oldest_first=spec["oldest_first"])
    progress: list[str] = []
    started = time.monotonic()
    reports = run_crawl(
        sources, Settings(**spec["settings"]), sink, frontier, window,
        progress=lambda r: progress.append(r.source), log_level=os.environ.get("CRAWL_LOG", "WARNING"),
    )  # fmt: skip
    seconds = time.monotonic() - started

    def page(p: FetchedPage) -> dict[str, Any]:
        return {
            "url": p.url, "final_url": p.final_url, "status": p.status, "headers": p.headers,
            "body_sha1": hashlib.sha1(p.body).hexdigest(), "body_hex": p.body[:4096].hex(),
            "source": p.source, "fetched_at": p.fetched_at.isoformat(), "hint_title": p.hint_title,
            "hint_published": p.hint_published.isoformat() if p.hint_published else None,
        }  # fmt: skip

    def outcome(o: FetchOutcome) -> dict[str, Any]:
        d = asdict(o)
        d["fetched_at"] = o.fetched_at.isoformat()
        return d

    result = {
        "accepted": [page(p) for p in sink.accepted],
        "rejected": [asdict(r) for r in sink.rejected],
        "recorded": [outcome(o) for o in frontier.recorded],
        "unseen_calls": frontier.unseen_calls,
        "reports": [asdict(r) for r in reports],
        "progress": progress,
        "seconds": seconds,
    }
    Path(out_path).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
