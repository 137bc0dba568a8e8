"""A running SampleWeb for the sample-web tests, and a raw HTTP helper that never follows redirects."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from ingest.demo import GroundTruth, SampleWeb, load_ground_truth


@dataclass
class Fetched:
    status: int
    headers: dict[str, str]  # lower-case keys
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def fetch(url: str, headers: dict[str, str] | None = None, method: str = "GET", timeout: float = 10) -> Fetched:
    """One request, redirects NOT followed (urllib would follow them)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, target or "/", headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        return Fetched(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body)
    finally:
        conn.close()


@pytest.fixture(scope="session")
def web() -> Iterator[SampleWeb]:
    SampleWeb.slow_seconds = 0.3  # the slow page is slow, but tests need not wait 3 s
    with SampleWeb(host="127.0.0.1", base_port=0) as instance:
        yield instance


@pytest.fixture(scope="session")
def truth() -> GroundTruth:
    return load_ground_truth()
