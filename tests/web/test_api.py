"""The HTTP API through a real `ingest serve` process, on SQLite and PostgreSQL: the records are
exactly `ingest query --format jsonl`'s, filters and paging agree with it, bad input is one line."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from datetime import date
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.e2e.conftest import query_jsonl
from tests.web.conftest import Server

FILTERS: list[dict[str, str]] = [
    {},
    {"min_sources": "2"},
    {"source": "rifpress"},
    {"since": "2025-05-20", "until": "2025-05-31"},
    {"contains": "الامن الوطني"},
    {"source": "madar24", "min_sources": "3"},
]


def cli_args(params: dict[str, str]) -> list[str]:
    return [arg for key, value in params.items() for arg in (f"--{key.replace('_', '-')}", value)]


def all_pages(server: Server, params: dict[str, str], per_page: int) -> list[dict[str, Any]]:
    """Every record of a filtered listing, following `next` links from page 1."""
    records: list[dict[str, Any]] = []
    path: str | None = "/api/stories?" + urlencode({**params, "per_page": per_page})
    while path:
        body = server.json(path)
        assert body["version"] == 1
        records += body["stories"]
        path = body["next"] and body["next"].removeprefix(server.base)
    return records


@pytest.mark.parametrize("params", FILTERS, ids=lambda p: urlencode(p) or "all")
def test_records_equal_query_jsonl(served: Server, params: dict[str, str]) -> None:
    expected = query_jsonl(served.database_url, *cli_args(params))
    assert all_pages(served, params, per_page=7) == expected


def test_the_filters_select_something(served: Server) -> None:
    """The comparisons above are not vacuous: each filter keeps some stories and drops others."""
    total = len(query_jsonl(served.database_url))
    for params in FILTERS[1:-1]:
        assert 0 < len(all_pages(served, params, per_page=100)) < total, params


def test_pages_are_disjoint_and_end(served: Server) -> None:
    first = served.json("/api/stories?per_page=5")
    second = served.json("/api/stories?per_page=5&page=2")
    assert len(first["stories"]) == 5 and first["page"] == 1
    assert first["next"].endswith("page=2") and second["page"] == 2
    assert not {s["id"] for s in first["stories"]} & {s["id"] for s in second["stories"]}
    total = len(query_jsonl(served.database_url))
    last_page = -(-total // 5)
    last = served.json(f"/api/stories?per_page=5&page={last_page}")
    assert last["next"] is None and 1 <= len(last["stories"]) <= 5
    status, body = served.get(f"/api/stories?per_page=5&page={last_page + 1}")
    assert status == 404 and "past the end" in json.loads(body)["error"]


def test_one_story_is_its_query_record(served: Server) -> None:
    for record in query_jsonl(served.database_url, "--min-sources", "2")[:5]:
        body = served.json(f"/api/stories/{record['id']}")
        assert body == {"version": 1, "story": record}


def test_outlets_count_the_stories_each_ran(served: Server) -> None:
    body = served.json("/api/outlets")
    start = date.fromisoformat(body["window"]["from"])
    records = [r for r in query_jsonl(served.database_url) if date.fromisoformat(r["published_at"][:10]) >= start]
    outlets = {o["source"]: o for o in body["outlets"]}
    configured = {
        line.split(":", 1)[1].strip()
        for line in served.sources_file.read_text().splitlines()
        if line.strip().startswith("- name:")
    }
    assert configured <= set(outlets)
    for name, outlet in outlets.items():
        ran = [r for r in records if name in {c["source"] for c in r["sources"]}]
        assert outlet["stories"] == len(ran), name
        assert 0 <= outlet["first_published"] <= outlet["stories"]
        assert outlet["last_run_at"] is not None and outlet["healthy"] is True
    assert any(o["follows"] for o in outlets.values()) and any(o["median_lag_minutes"] for o in outlets.values())


BAD = [
    ("/api/stories/999999", 404, "no story 999999"),
    ("/api/stories/99999999999999999999", 404, "no story"),
    ("/api/stories?since=yesterday", 422, "since"),
    ("/api/stories?until=2025-13-45", 422, "until"),
    ("/api/stories?min_sources=zero", 422, "min_sources"),
    ("/api/stories?per_page=100000", 422, "per_page"),
    ("/api/stories?page=0", 422, "page"),
    ("/api/stories?page=9999", 404, "past the end"),
    ("/api/stories?contains=" + "x" * 500, 422, "contains"),
    ("/api/stories?limit=5", 422, "unknown parameter"),
    ("/api/nothing-here", 404, "Not Found"),
]


@pytest.mark.parametrize(("path", "status", "message"), BAD, ids=[b[0][:40] for b in BAD])
def test_bad_input_is_one_line(served: Server, path: str, status: int, message: str) -> None:
    got, body = served.get(path)
    assert got == status
    assert "\n" not in body.strip() and "Traceback" not in body
    assert message in json.loads(body)["error"]


def test_pages_answer_bad_input_with_a_message(served: Server) -> None:
    for path, status, message in [("/stories/999999", 404, "no story 999999"), ("/?since=bad", 422, "since")]:
        got, body = served.get(path)
        assert got == status and message in body and "Traceback" not in body


def test_read_only_and_escaped(served: Server) -> None:
    assert served.get("/api/stories", method="POST")[0] == 405
    assert served.get("/stories/1", method="DELETE")[0] == 405
    status, body = served.get("/?" + urlencode({"contains": '"><script>alert(1)</script>'}))
    assert status == 200 and "<script>" not in body and "&lt;script&gt;" in body
    assert served.json("/healthz") == {"status": "ok"}
    assert not [line for line in served.log if "Traceback" in line]


def test_port_in_use_is_one_line_and_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "ingest.cli", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "in use" in proc.stderr
