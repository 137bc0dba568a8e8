"""The story browser in a real browser: headless Chromium (Debian's `chromium`) renders the pages
`ingest serve` gives for the demo store (the sample web crawled into SQLite).

Outside CI a missing Chromium skips these tests, saying so; in CI (`.ci/run` installs it) it fails.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import IN_CI
from tests.web.conftest import Server

BROWSER_TIMEOUT = 180  # a failure guard only


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or (Path("/usr/bin/chromium").exists() and "/usr/bin/chromium") or None
    if not found:
        message = "headless Chromium not found: install Debian's `chromium` package (`.ci/run` does)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def browse(chromium: str, tmp: Path, url: str, *flags: str) -> str:
    """Load `url` in a fresh headless Chromium; its stdout (the DOM with --dump-dom)."""
    argv = [
        chromium,
        "--headless",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--no-first-run",
        f"--user-data-dir={tmp / 'profile'}",
        *flags,
        url,
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=BROWSER_TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_list_shows_the_multi_outlet_stories(served_sqlite: Server, chromium: str, tmp_path: Path) -> None:
    multi = served_sqlite.json("/api/stories?min_sources=2&per_page=100")["stories"]
    assert multi, "the demo store has stories run by several outlets"
    dom = browse(chromium, tmp_path, served_sqlite.base + "/?per_page=100", "--dump-dom")
    assert re.search(r'<html[^>]*lang="ar"[^>]*dir="rtl"', dom)
    for story in multi:
        item = dom.split(f'data-id="{story["id"]}"', 1)[1].split("</li>", 1)[0]
        badges = re.findall(r'class="badge">([^<]+)<', item)
        assert set(badges) == {c["source"] for c in story["sources"]}, story["id"]


def test_story_page_shows_every_copy_and_a_diff(served_sqlite: Server, chromium: str, tmp_path: Path) -> None:
    multi = served_sqlite.json("/api/stories?min_sources=2&per_page=100")["stories"]
    story = max(multi, key=lambda s: s["copy_count"])
    dom = browse(chromium, tmp_path, f"{served_sqlite.base}/stories/{story['id']}", "--dump-dom")
    assert dom.count('<li class="copy') == story["copy_count"] == len(story["sources"])
    for copy in story["sources"]:
        assert f'href="{copy["url"]}"' in dom
    assert re.search(r'class="(added|dropped|reworded|headline-change)"', dom)
    assert "copie canonique" in dom and 'class="lag"' in dom and 'class="reason"' in dom


def test_outlets_page_shows_each_outlet(served_sqlite: Server, chromium: str, tmp_path: Path) -> None:
    names = [o["source"] for o in served_sqlite.json("/api/outlets")["outlets"]]
    dom = browse(chromium, tmp_path, served_sqlite.base + "/outlets", "--dump-dom")
    for name in names:
        assert f'data-source="{name}"' in dom
    assert dom.count('<svg class="chart"') == len(names)


def test_rtl_screenshot(served_sqlite: Server, chromium: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A phone-sized screenshot of a story page, kept as an artifact (its path is printed)."""
    story = served_sqlite.json("/api/stories?min_sources=3&per_page=1")["stories"][0]
    out = tmp_path_factory.mktemp("screenshots") / "story-rtl.png"
    browse(
        chromium,
        out.parent,
        f"{served_sqlite.base}/stories/{story['id']}",
        f"--screenshot={out}",
        "--window-size=412,1600",
        "--hide-scrollbars",
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"RTL screenshot: {out}")
