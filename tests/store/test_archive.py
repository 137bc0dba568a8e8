"""The raw-page archive: what is stored reads back byte for byte, whichever format wrote it."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert

from ingest.records import FetchedPage
from ingest.store.archive import ZSTD_MAGIC, archive, archived_pages, pack
from ingest.store.db import write_transaction
from ingest.store.models import RawPageRow

FETCHED = datetime(2025, 5, 16, 9, 45, tzinfo=UTC)
CHROME = "<nav><a href='/'>الرئيسية</a> <a href='/sport'>رياضة</a></nav>" * 40


def page(n: int, fetched_at: datetime = FETCHED) -> FetchedPage:
    body = (
        f"<html lang='ar'><head><meta charset='utf-8'><title>خبر رقم {n}</title></head><body>{CHROME}"
        f"<article><h1>خبر رقم {n}</h1><p>أعلنت وزارة الفلاحة بالرباط عن برنامج جديد لدعم الفلاحين {n}.</p>"
        "</article></body></html>"
    ).encode()
    return FetchedPage(
        url=f"https://outlet.example.ma/news/{n}",
        final_url=f"https://outlet.example.ma/news/{n}",
        status=200,
        headers={"content-type": "text/html; charset=utf-8"},
        body=body,
        source="outlet",
        fetched_at=fetched_at,
    )


def test_an_archived_page_reads_back_as_it_was_fetched(engine: Engine) -> None:
    fetched = page(1)
    packed = pack(fetched)
    assert packed.body.startswith(ZSTD_MAGIC)  # the format marker: a zstd frame
    assert len(packed.body) < len(fetched.body) // 4
    with write_transaction(engine) as session:
        archive(session, [packed])
    (read,) = archived_pages(engine)
    assert read == fetched


def test_a_row_archived_with_zlib_before_zstd_still_reads(engine: Engine) -> None:
    old, new = page(1), page(2, FETCHED + timedelta(minutes=5))
    with engine.begin() as conn:  # a row as stores written before zstd hold it: zlib at level 6
        conn.execute(
            insert(RawPageRow),
            [
                {
                    "url": old.url,
                    "source": old.source,
                    "final_url": old.final_url,
                    "status": old.status,
                    "fetched_at": old.fetched_at,
                    "headers": old.headers,
                    "body": zlib.compress(old.body, 6),
                    "size": len(old.body),
                }
            ],
        )
    with write_transaction(engine) as session:
        archive(session, [pack(new)])
    assert list(archived_pages(engine)) == [old, new]
