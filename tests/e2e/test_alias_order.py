"""An article reached in one crawl through its AMP alias and through its own URL is stored from its
own page, whichever of the two was stored first: the AMP page has no date, and a crawl that stored
it first kept a copy without a publication time when the two texts agreed.

Deterministic: the own page is held by the web until the store holds the alias's copy (twelve
other articles come first: an outlet's first twelve pages are held until its chrome is learned)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from sqlalchemy import select

from ingest.store.db import make_engine
from ingest.store.models import CopyRow
from tests.crawl.crawlkit import Reply, TestWeb, serving
from tests.e2e.conftest import ingest

TITLE = "انطلاق موسم جني الزيتون بإقليم تاونات وسط توقعات بإنتاج وفير"
PARAGRAPHS = (
    "انطلق موسم جني الزيتون بإقليم تاونات هذا الأسبوع، وسط توقعات بإنتاج يفوق الموسم الماضي بفضل "
    "التساقطات المطرية التي عرفتها المنطقة خلال فصل الربيع.",
    "وأفادت المديرية الإقليمية للفلاحة أن المساحة المغروسة بأشجار الزيتون تجاوزت مائة ألف هكتار، "
    "وأن وحدات العصر العصرية والتقليدية استعدت لاستقبال المحصول.",
    "ودعت المديرية الفلاحين إلى احترام مواعيد الجني وتفادي الضرب العشوائي للأغصان، حفاظا على جودة "
    "الزيت وعلى مردودية الأشجار في المواسم المقبلة.",
)
PUBLISHED = "2026-11-18T10:30:00+01:00"


WARMUP = 12  # an outlet's first pages held by the pipeline until its recurring lines are known


def page(web: TestWeb, *, amp: bool, number: int | None = None) -> bytes:
    paragraphs = PARAGRAPHS if number is None else [f"{p} (تقرير رقم {number} من سلسلة المواسم)" for p in PARAGRAPHS]
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    canonical = f'<link rel="canonical" href="{web.url("/news/1")}">'
    dated = "" if amp else f'<time datetime="{PUBLISHED}">18 نونبر 2026</time>'
    extra = "" if amp else f'<link rel="amphtml" href="{web.url("/news/1/amp")}">'
    return (
        f'<!DOCTYPE html><html lang="ar" dir="rtl"{" amp" if amp else ""}><head><meta charset="utf-8">'
        f"<title>{TITLE}</title>{canonical}{extra}</head><body><article><h1>{TITLE}</h1>{dated}{body}"
        "</article></body></html>"
    ).encode()


@pytest.fixture
def web() -> Iterator[TestWeb]:
    yield from serving()


def test_an_articles_own_page_replaces_the_copy_its_amp_alias_stored_first(web: TestWeb, tmp_path: Path) -> None:
    db = tmp_path / "ingest.sqlite"

    def alias_stored() -> bool:
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                query = "SELECT count(*) FROM article_copies WHERE url = ?"
                return conn.execute(query, (web.url("/news/1"),)).fetchone()[0] > 0
        except sqlite3.Error:  # not created yet, or locked for a moment
            return False

    def own_page(_headers: dict[str, str]) -> Reply:
        for _ in range(3000):  # until the alias's copy is stored (a crawl that never stores it fails below)
            if alias_stored():
                break
            time.sleep(0.1)
        return Reply(200, page(web, amp=False))

    links = [f"/news/{n}" for n in range(2, 2 + WARMUP)] + ["/news/1/amp", "/news/1"]
    items = "".join(f"<item><title>{TITLE}</title><link>{web.url(p)}</link></item>" for p in links)
    for n in range(2, 2 + WARMUP):
        web.add(f"/news/{n}", page(web, amp=False, number=n).replace(b"/news/1", f"/news/{n}".encode()))
    web.add("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain")
    web.add("/feed", f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>',
            "application/rss+xml")  # fmt: skip
    web.add("/news/1/amp", page(web, amp=True))
    web.handle("/news/1", own_page)
    sources = tmp_path / "sources.yaml"
    source = {"name": "olive", "homepage": web.url("/"), "feeds": [web.url("/feed")], "discover_feeds": False,
              "article_url_pattern": r"/news/\d+(/amp)?$", "allow_private_hosts": ["127.0.0.1"]}  # fmt: skip
    YAML(typ="safe").dump({"sources": [source]}, sources)
    url = f"sqlite:///{db}"
    env = {"INGEST_DOWNLOAD_DELAY": "0", "INGEST_AUTOTHROTTLE": "false", "INGEST_DOWNLOAD_TIMEOUT": "600"}

    ingest("run-once", "--sources", str(sources), "--no-progress", database_url=url, env=env, check=True)

    with make_engine(url).connect() as conn:
        [(fetched_url, published_at)] = conn.execute(
            select(CopyRow.fetched_url, CopyRow.published_at).where(CopyRow.url == web.url("/news/1"))
        ).all()
    assert fetched_url == web.url("/news/1")
    assert published_at is not None and published_at.isoformat().startswith("2026-11-18T09:30")
