"""SampleWeb: every outlet on its own 127.0.0.1 port, served by stdlib ThreadingHTTPServer."""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from ingest.demo.bulk import Bulk
from ingest.demo.dates import http_date
from ingest.demo.hostile import HOSTILE_ADDRESSES, hostile_hosts
from ingest.demo.registry import SITE_CLASSES
from ingest.demo.site import Response, Site
from ingest.demo.sources import render_sources_yaml
from ingest.demo.urls import BULK, OUTLETS


@dataclass(frozen=True)
class RequestRecord:
    outlet: str
    method: str
    path: str  # with the query string
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # request headers, lower-case keys
    time: float = 0.0


class _OutletServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # idle keep-alive connections must not hold up stop()
    request_queue_size = 128

    def __init__(self, addr: tuple[str, int], web: SampleWeb, outlet: str) -> None:
        self.web, self.outlet = web, outlet
        super().__init__(addr, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Crawlers drop connections mid-body (size limits, timeouts): not worth a traceback.
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: crawlers reuse connections
    disable_nagle_algorithm = True  # headers and body go out in two writes: Nagle would add 40 ms
    server: _OutletServer
    timeout = 30

    def do_GET(self) -> None:
        self.server.web._handle(self, self.server.outlet, head_only=False)

    def do_HEAD(self) -> None:
        self.server.web._handle(self, self.server.outlet, head_only=True)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the request log is web.requests
        pass


def _not_modified(resp: Response, headers: dict[str, str]) -> bool:
    inm = headers.get("if-none-match")
    if inm is not None:
        return resp.etag in {t.strip() for t in inm.split(",")} or inm.strip() == "*"
    ims = headers.get("if-modified-since")
    if ims and resp.last_modified is not None:
        try:
            return resp.last_modified.replace(microsecond=0) <= parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
    return False


class SampleWeb:
    """A fake web of Moroccan news outlets. Use as a context manager, or serve_forever()."""

    slow_seconds: float = 3.0  # how long the "slow" hostile page waits; tests lower it

    def __init__(self, host: str = "127.0.0.1", base_port: int = 0, scale: int = 0) -> None:
        self.host, self.scale = host, scale
        self.outlets: list[str] = list(OUTLETS) + ([BULK] if scale > 0 else [])
        self._lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self._served_once: set[tuple[str, str]] = set()
        self._threads: list[threading.Thread] = []
        self._servers: dict[str, _OutletServer] = {}
        try:
            for k, name in enumerate(self.outlets):
                port = 0 if base_port == 0 else base_port + k
                self._servers[name] = _OutletServer((host, port), self, name)
        except OSError:
            self.close()
            raise
        self._sites: dict[str, Any] = {name: self._make_site(name) for name in self.outlets}
        self._add_hostile_hosts()

    def _add_hostile_hosts(self) -> None:
        """The hosts the hostile outlet points at that no crawl may use: a stand-in internal
        service on another loopback address (Linux answers all of 127/8; where binding it fails,
        those links point at a closed port of it) and a sitemap host on the outlet's address whose
        robots.txt answers 503. Their requests are logged like an outlet's."""
        for name, (address, site) in hostile_hosts().items():
            try:
                self._servers[name] = _OutletServer((address, 0), self, name)
                self._sites[name] = site
            except OSError:
                continue

    def _make_site(self, name: str) -> Site:
        if name == BULK:
            return Bulk(self.base_url, self.scale)
        return SITE_CLASSES[name](self.base_url)

    # -- public API -------------------------------------------------------------------------
    def base_url(self, outlet: str) -> str:
        server = self._servers.get(outlet)
        if server is None:  # a hostile host that could not be bound: a closed port on its address
            return f"http://{HOSTILE_ADDRESSES.get(outlet, self.host)}:9"
        host, port = server.server_address[:2]
        return f"http://{host!s}:{port}"

    def base_urls(self) -> dict[str, str]:
        return {name: self.base_url(name) for name in self.outlets}

    def sources_yaml(self) -> str:
        return render_sources_yaml(self.base_urls())

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def reset_state(self) -> None:
        """Forget which once-only errors (503/429) were served, so they are served again."""
        with self._lock:
            self._served_once.clear()

    def bulk_articles(self) -> list[Any]:
        site = self._sites.get(BULK)
        return list(site.all_articles) if site else []

    def start(self) -> SampleWeb:
        if not self._threads:
            for name, srv in self._servers.items():
                t = threading.Thread(target=srv.serve_forever, name=f"sampleweb-{name}", daemon=True)
                t.start()
                self._threads.append(t)
        return self

    def close(self) -> None:
        for srv in self._servers.values():
            if self._threads:
                srv.shutdown()
            srv.server_close()
        self._threads.clear()

    def __enter__(self) -> SampleWeb:
        return self.start()

    def __exit__(self, exc: type[BaseException] | None, val: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def serve_forever(self) -> None:
        """Serve until SIGINT (Ctrl-C) or SIGTERM, printing each outlet's URL first."""
        stop = threading.Event()
        # Explicit handlers: a parent may have started us with SIGINT ignored (background jobs
        # of non-interactive shells), and SIGTERM would otherwise end us without closing.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        self.start()
        for name in self.outlets:
            print(f"{name:<10} {self.base_url(name)}/", flush=True)
        try:
            stop.wait()
            print("stopping", flush=True)
        finally:
            self.close()

    # -- serving ----------------------------------------------------------------------------
    def _handle(self, h: _Handler, outlet: str, head_only: bool) -> None:
        headers = {k.lower(): v for k, v in h.headers.items()}
        try:
            resp = self._sites[outlet].resolve(h.path)
        except Exception as exc:  # a bug in a template must show as a 500, not a hung connection
            resp = Response(status=500, body=f"sampleweb error: {exc!r}".encode(), ctype="text/plain")
        status, body, extra = self._pick(outlet, h.path, resp, headers)
        if resp.slow:
            time.sleep(self.slow_seconds)
        with self._lock:
            self._requests.append(RequestRecord(outlet, h.command, h.path, status, headers, time.time()))
        h.send_response(status)
        if status != 304:
            h.send_header("Content-Type", resp.ctype if status == resp.status else "text/html; charset=utf-8")
        h.send_header("Content-Length", str(len(body)))
        for k, v in extra.items():
            h.send_header(k, v)
        h.end_headers()
        if not head_only and body:
            h.wfile.write(body)

    def _pick(
        self, outlet: str, target: str, resp: Response, headers: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        """Status, body and extra headers: once-only errors first, then conditional 304s."""
        if resp.first is not None:
            key = (outlet, target.split("?")[0])
            with self._lock:
                first_time = key not in self._served_once
                self._served_once.add(key)
            if first_time:
                code, extra = resp.first
                return code, f"<h1>{code}</h1>".encode(), dict(extra)
        extra = dict(resp.headers)
        if resp.last_modified is not None:
            extra["Last-Modified"] = http_date(resp.last_modified)
        if resp.conditional:
            extra["ETag"] = resp.etag
            extra["Cache-Control"] = "max-age=300"
        if resp.status == 200 and (resp.conditional or resp.last_modified) and _not_modified(resp, headers):
            return 304, b"", extra
        return resp.status, resp.body, extra
