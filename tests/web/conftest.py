"""Story browser fixtures: the sample web crawled into a store, then `ingest serve` on that store
in a real process, on a free port, stopped at the end of the module."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Site, backend_url, run_once, site  # noqa: F401  (site: the sample web fixture)

READY_TIMEOUT = 120  # a failure guard only: the server says when it listens


@dataclass
class Server:
    base: str
    database_url: str
    sources_file: Path
    log: list[str] = field(default_factory=list)

    def get(self, path: str, method: str = "GET") -> tuple[int, str]:
        request = urllib.request.Request(self.base + path, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8")

    def json(self, path: str) -> Any:
        status, body = self.get(path)
        assert status == 200, f"{path}: {status} {body}"
        return json.loads(body)


def _drain(stream: Any, lines: list[str], ready: queue.Queue[str]) -> None:
    """Read the server's stderr to the end (a full pipe would block it); hand on the ready line."""
    for line in stream:
        lines.append(line)
        if line.startswith("serving on "):
            ready.put(line.split()[-1].rstrip("/"))
    ready.put("")


@contextmanager
def serving(database_url: str, sources_file: Path) -> Iterator[Server]:
    env = {**os.environ, "INGEST_DATABASE_URL": database_url}
    argv = [sys.executable, "-m", "ingest.cli", "serve", "--port", "0", "--sources", str(sources_file)]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    ready: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_drain, args=(proc.stderr, lines, ready), daemon=True)
    reader.start()
    try:
        base = ready.get(timeout=READY_TIMEOUT)
        assert base, f"ingest serve exited {proc.wait()}:\n{''.join(lines)[-3000:]}"
        yield Server(base, database_url, sources_file, lines)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(timeout=30)


def _crawl_and_serve(backend: str, web: Site, tmp: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    for url in backend_url(backend, tmp, request):
        run_once(web, url)
        with serving(url, web.sources_file) as server:
            yield server


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(
    request: pytest.FixtureRequest,
    site: Site,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    """`ingest serve` on the crawled sample web, per backend."""
    yield from _crawl_and_serve(request.param, site, tmp_path_factory.mktemp(request.param), request)


@pytest.fixture(scope="module")
def served_sqlite(
    request: pytest.FixtureRequest,
    site: Site,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    """The demo store (the sample web crawled into SQLite) served: what the browser tests look at."""
    yield from _crawl_and_serve("sqlite", site, tmp_path_factory.mktemp("browser"), request)
