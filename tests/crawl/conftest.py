"""Crawl-test fixtures; the helpers themselves live in crawlkit.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.crawl.crawlkit import TestWeb, serving


@pytest.fixture
def web() -> Iterator[TestWeb]:
    """A local HTTP server on 127.0.0.1 with an empty route table and a request log."""
    yield from serving()


@pytest.fixture
def internal() -> Iterator[TestWeb]:
    """A stand-in internal service on 127.0.0.2 (loopback too, on Linux): it must get no request."""
    yield from serving("127.0.0.2")
