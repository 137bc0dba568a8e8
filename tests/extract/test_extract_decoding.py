"""Which encoding the bytes are read with: BOM > header > meta > UTF-8 > windows-1256 > cp1252."""

from __future__ import annotations

import codecs
from datetime import UTC, datetime
from pathlib import Path

from ingest.extract.extractor import choose_encoding, decode, extract
from ingest.records import Article, FetchedPage

PAGES = Path(__file__).parent / "pages"
ARABIC = "<html><head>{meta}</head><body><p>الرباط - متابعة أمطار رعدية مرتقبة</p></body></html>"


def page(name: str, content_type: str) -> FetchedPage:
    return FetchedPage(
        url="https://x.ma/a/1",
        final_url="https://x.ma/a/1",
        status=200,
        headers={"content-type": content_type},
        body=(PAGES / name).read_bytes(),
        source="x",
        fetched_at=datetime(2025, 5, 16, 12, tzinfo=UTC),
    )


def test_windows_1256_declared_only_in_meta_is_decoded() -> None:
    result = extract(page("meta_1256.html", "text/html"))
    assert isinstance(result, Article), result
    assert result.title == "أمطار رعدية مرتقبة بعدد من أقاليم المملكة"
    assert "المديرية العامة للأرصاد الجوية" in result.text


def test_header_says_utf8_but_page_is_windows_1256_with_meta_is_decoded_as_1256() -> None:
    result = extract(page("header_utf8_is_1256.html", "text/html; charset=utf-8"))
    assert isinstance(result, Article), result
    assert "زخات رعدية قوية" in result.text
    assert "\ufffd" not in result.text


def test_bom_wins_over_header_and_meta() -> None:
    body = codecs.BOM_UTF8 + ARABIC.format(meta='<meta charset="windows-1256">').encode()
    assert choose_encoding(body, "text/html; charset=iso-8859-1") == "utf-8-sig"


def test_header_charset_is_used_when_it_decodes() -> None:
    body = ARABIC.format(meta="").encode("cp1256")
    assert choose_encoding(body, "text/html; charset=windows-1256") == "cp1256"


def test_clean_meta_contradicting_a_latin_header_wins_for_arabic_bytes() -> None:
    body = ARABIC.format(meta='<meta charset="windows-1256">').encode("cp1256")
    assert choose_encoding(body, "text/html; charset=iso-8859-1") == "cp1256"


def test_valid_utf8_is_not_overridden_by_a_stale_single_byte_meta() -> None:
    body = ARABIC.format(meta='<meta charset="windows-1256">').encode("utf-8")
    assert choose_encoding(body, "text/html; charset=utf-8") == "utf-8"
    assert choose_encoding(body, "") == "utf-8"


def test_undeclared_utf8_is_detected() -> None:
    assert choose_encoding(ARABIC.format(meta="").encode("utf-8")) == "utf-8"


def test_undeclared_arabic_single_byte_falls_back_to_windows_1256() -> None:
    body = ARABIC.format(meta="").encode("cp1256")
    assert choose_encoding(body) == "cp1256"
    assert "أمطار رعدية" in decode(body)


def test_undeclared_latin_single_byte_falls_back_to_cp1252() -> None:
    body = "<html><body><p>Le café de la médina à Fès est fermé été comme hiver.</p></body></html>".encode("cp1252")
    assert choose_encoding(body) == "cp1252"
    assert "médina à Fès" in decode(body)


def test_unknown_charset_label_is_ignored() -> None:
    body = ARABIC.format(meta='<meta charset="x-no-such-charset">').encode("utf-8")
    assert choose_encoding(body, "text/html; charset=bogus") == "utf-8"
