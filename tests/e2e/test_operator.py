"""What a person running `ingest` every day sees: quiet logs, one clear line per bad input with the
documented exit code, a broken outlet named at once, no process left behind by `kill -9`, and
read-only stores that can still be read. Real processes, real stores, the sample web."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from ruamel.yaml import YAML
from sqlalchemy import select

from ingest.store.db import make_engine
from ingest.store.models import RunRow
from tests.e2e.conftest import CrawledStore, Site, ingest
from tests.worker.conftest import alive, descendants, wait_for

EXIT_USAGE, EXIT_PARTIAL, EXIT_STORE, EXIT_FAILED = 2, 3, 4, 5


def sources_file(path: Path, site: Site, outlets: list[str], **override: Any) -> Path:
    """A sources file with these sample-web outlets; `override` maps an outlet to changed keys."""
    yaml = YAML(typ="safe")
    entries = [dict(e, **override.get(e["name"], {})) for e in yaml.load(site.web.sources_yaml())["sources"]]
    yaml.default_flow_style = False
    with path.open("w", encoding="utf-8") as out:
        yaml.dump({"sources": [e for e in entries if e["name"] in outlets]}, out)
    return path


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{stderr[-2000:]}"
    return lines[0]


# -- logs ------------------------------------------------------------------------------------------


def test_a_crawl_in_a_pipe_prints_a_few_lines_at_the_default_level(crawled: CrawledStore) -> None:
    # Before: 502 lines (Scrapy's DEBUG and INFO, one per request, and its settings dumps).
    assert len(crawled.first.stderr.splitlines()) <= 30, crawled.first.stderr[-3000:]


def test_an_outlet_whose_pages_are_all_rejected_is_named_and_the_run_is_partial(site: Site, tmp_path: Path) -> None:
    # Arabic pages kept only if French: the outlet "loses every article", as a broken template does.
    path = sources_file(tmp_path / "s.yaml", site, ["almasaa", "rifpress"], rifpress={"languages": ["fr"]})
    url = f"sqlite:///{tmp_path / 'ingest.sqlite'}"
    run = ingest("--log-level", "error", "run-once", "--sources", str(path), "--no-progress", database_url=url)
    assert run.returncode == EXIT_PARTIAL, run.stderr
    assert len(run.stderr.splitlines()) <= 10, run.stderr
    warning = next(line for line in run.stderr.splitlines() if "rifpress" in line)
    assert "wrong-language" in warning
    assert "almasaa" not in run.stderr
    with make_engine(url).connect() as conn:
        outcome = conn.scalar(select(RunRow.outcome))
    assert outcome == "partial"


# -- bad input: one line, the documented exit code ---------------------------------------------


def test_extract_of_a_missing_page_is_one_line(site: Site, tmp_path: Path) -> None:
    missing = site.web.base_url("almasaa") + "/no-such-page-anywhere.html"
    out = ingest("extract", missing, database_url=f"sqlite:///{tmp_path / 'x.sqlite'}")
    assert out.returncode == EXIT_FAILED
    assert "404" in one_line(out.stderr)


def test_extract_of_an_unreachable_host_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port bound but never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        out = ingest("extract", f"http://127.0.0.1:{port}/a.html", database_url=f"sqlite:///{tmp_path / 'x'}")
    assert out.returncode == EXIT_FAILED
    assert "refused" in one_line(out.stderr).lower()


@pytest.mark.parametrize(
    ("database_url", "code", "says"),
    [
        ("not a url", EXIT_USAGE, "not a database URL"),
        ("mysql://someone@127.0.0.1/news", EXIT_USAGE, "unsupported database 'mysql'"),
        ("sqlite:////proc/no/such/dir/ingest.sqlite", EXIT_STORE, "cannot create the store's directory"),
    ],
)
def test_a_store_url_that_cannot_be_used_is_one_line(database_url: str, code: int, says: str) -> None:
    out = ingest("query", database_url=database_url)
    assert out.returncode == code
    assert says in one_line(out.stderr)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("show", "99999999999999999999"), "STORY_ID"),
        (("query", "--contains", "a" * 100_000), "at most 1000 characters"),
        (("query", "--since", "2025-05-02", "--until", "2025-05-01"), "is after --until"),
        (("query", "--source", "nosuch"), "no source named nosuch"),
    ],
)
def test_a_bad_query_is_one_line_and_exit_2(crawled: CrawledStore, args: tuple[str, ...], says: str) -> None:
    out = ingest(*args, database_url=crawled.url)
    assert out.returncode == EXIT_USAGE
    assert says in one_line(out.stderr)


def test_a_port_in_use_is_one_line(site: Site, tmp_path: Path) -> None:
    taken = urlsplit(site.web.base_url("almasaa")).port
    out = ingest("sample-web", "--port", str(taken), database_url=f"sqlite:///{tmp_path / 'x'}")
    assert out.returncode == EXIT_USAGE
    assert f"port {taken}" in one_line(out.stderr)


def test_query_into_a_reader_that_stops_early_exits_0(crawled: CrawledStore) -> None:
    env = {**os.environ, "INGEST_DATABASE_URL": crawled.url}
    shell = f"{sys.executable} -m ingest.cli query --format jsonl | head -n 1 > /dev/null; echo ${{PIPESTATUS[0]}}"
    done = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, env=env, timeout=600)
    assert done.stdout.strip() == "0", done.stderr


# -- read-only stores --------------------------------------------------------------------------


@pytest.fixture
def immutable_copy(crawled: CrawledStore, tmp_path: Path) -> Iterator[str]:
    """A copy of the crawled SQLite store that nobody, root included, may write (chattr +i)."""
    if not crawled.url.startswith("sqlite"):
        pytest.skip("a read-only file is a SQLite matter")
    copy = tmp_path / "snapshot.sqlite"
    shutil.copyfile(crawled.url.removeprefix("sqlite:///"), copy)
    if subprocess.run(["chattr", "+i", str(copy)], capture_output=True).returncode != 0:
        if os.environ.get("CI"):
            pytest.fail("chattr +i failed: CI needs a file system with immutable files")
        pytest.skip("chattr +i is not supported on this file system")
    try:
        yield f"sqlite:///{copy}"
    finally:
        subprocess.run(["chattr", "-i", str(copy)], check=True)


def test_a_read_only_store_can_be_queried(immutable_copy: str) -> None:
    for args in (("query", "--format", "jsonl"), ("show", "1"), ("runs",)):
        out = ingest(*args, database_url=immutable_copy)
        assert out.returncode == 0, (args, out.stderr)
        assert out.stdout.strip()


def test_a_crawl_into_a_read_only_store_is_one_line_and_exit_4(site: Site, immutable_copy: str) -> None:
    out = ingest("run-once", "--sources", str(site.sources_file), "--no-progress", database_url=immutable_copy)
    assert out.returncode == EXIT_STORE
    assert "read-only" in one_line(out.stderr)


# -- kill -9 ---------------------------------------------------------------------------------------


def test_kill_9_of_run_once_leaves_no_process_and_the_next_run_closes_its_run(site: Site, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ingest.sqlite'}"
    env = {**os.environ, "INGEST_DATABASE_URL": url, "INGEST_EXTRACT_WORKERS": "2"}
    argv = [sys.executable, "-m", "ingest.cli", "run-once", "--sources", str(site.sources_file), "--no-progress"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # The forkserver, the resource tracker and an extraction process are up.
        wait_for("the extraction pool", lambda: len(descendants(proc.pid)) >= 3, every=0.02)
        children = descendants(proc.pid)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    wait_for("every child of the killed run to stop", lambda: not any(alive(pid) for pid in children))

    path = sources_file(tmp_path / "one.yaml", site, ["almasaa"])
    ingest("run-once", "--sources", str(path), "--no-progress", database_url=url, check=True)
    with make_engine(url).connect() as conn:
        outcomes = dict(conn.execute(select(RunRow.id, RunRow.outcome).order_by(RunRow.id)).all())
    assert outcomes[1] == "interrupted"
    assert "running" not in outcomes.values()
