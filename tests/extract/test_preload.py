"""The extraction processes start warm (`ingest.extract.extractor.preload`, run in the pool's forkserver), and
a warm process extracts exactly what a cold one does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PAGES = Path(__file__).parent / "pages"

EXTRACT_ALL = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from ingest.extract import extractor as extract
from ingest.records import FetchedPage

if sys.argv[2] == "warm":
    extract.preload()
for path in sorted(Path(sys.argv[1]).glob("*.html")):
    url = f"https://www.example.ma/2025/05/16/{path.stem}/"
    page = FetchedPage(url, url, 200, {"content-type": "text/html"}, path.read_bytes(), "example",
                       datetime(2025, 5, 16, 12, tzinfo=UTC))
    print(repr(extract.extract(page, languages=("ar", "fr"))))
"""


def extracted(mode: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", EXTRACT_ALL, str(PAGES), mode], capture_output=True, text=True, check=True
    )
    return done.stdout


def test_a_warmed_process_extracts_what_a_cold_one_does() -> None:
    cold = extracted("cold")
    assert cold.count("Article(") >= 5  # the pages are articles, in Arabic and in French
    assert extracted("warm") == cold
