"""Extraction workers killed under a running crawl (an operator's pkill, the kernel's OOM killer): the
pipeline starts new ones, the crawl never blocks, and no page is lost.

Before, a dead worker broke the process pool for good: every later page took an in-flight slot and
failed to submit, and once the slots were gone the crawler's reactor thread waited on them forever,
deaf to SIGTERM. The workers here are real processes of the real pool, killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from ingest.config import Source
from ingest.records import FetchedPage
from ingest.service.pipeline import Pipeline
from ingest.store.db import open_store
from ingest.store.models import CopyRow

PLACES = ["الرباط", "فاس", "مراكش", "طنجة", "أكادير", "وجدة", "مكناس", "تطوان", "العيون", "الداخلة", "آسفي", "القنيطرة"]
PAGES = 3 * len(PLACES)  # more than the pool's in-flight slots (8 a worker)
WATCHDOG_S = 600  # generous: only a blocked crawl gets near it


def article(n: int) -> FetchedPage:
    place, day = PLACES[n % len(PLACES)], 1 + n // len(PLACES)
    headline = f"افتتاح سوق أسبوعي جديد في {place} يوم {day} من الشهر"
    body = (
        f"<html lang='ar'><head><title>{headline}</title></head><body><article><h1>{headline}</h1>"
        f"<p>افتتحت السلطات المحلية في {place} سوقا أسبوعيا جديدا يضم مئات المحلات التجارية، في اليوم {day} "
        "من الشهر، بحضور ممثلي التجار والجمعيات المهنية وعدد من المنتخبين.</p>"
        f"<p>وأكد المنظمون أن السوق رقم {n} سيفتح أبوابه كل أسبوع ابتداء من الساعة الثامنة صباحا.</p>"
        "</article></body></html>"
    )
    url = f"https://x.ma/news/{n}.html"
    headers = {"content-type": "text/html; charset=utf-8"}
    return FetchedPage(url, url, 200, headers, body.encode(), "x", datetime(2025, 5, 16, 12, tzinfo=UTC))


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # gone meanwhile
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def extraction_workers() -> list[int]:
    """The pool's worker processes: children of the forkserver, itself a child of this process."""
    return [worker for child in children(os.getpid()) for worker in children(child)]


def in_thread(work: object) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)  # type: ignore[arg-type]
    thread.start()
    return thread


def test_killed_extraction_workers_are_replaced_and_no_page_is_lost(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'ingest.sqlite'}")
    pipeline = Pipeline(engine, [Source(name="x", homepage="https://x.ma/")], workers=1)
    pipeline.accept(article(0))
    deadline = time.monotonic() + WATCHDOG_S
    while not (workers := extraction_workers()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert workers, "no extraction worker started"
    for pid in workers:
        os.kill(pid, signal.SIGKILL)

    def crawl_on() -> None:
        for n in range(1, PAGES):
            pipeline.accept(article(n))
        pipeline.close()

    crawl = in_thread(crawl_on)
    crawl.join(WATCHDOG_S)
    assert not crawl.is_alive(), "the crawl blocked after its extraction workers were killed"
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(CopyRow)) == PAGES
