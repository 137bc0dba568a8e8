"""What extract() keeps of the body text, and what chrome it drops (pages in tests/extract/pages/)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.extract.extractor import extract
from ingest.records import Article, FetchedPage

PAGES = Path(__file__).parent / "pages"
FETCHED_AT = datetime(2025, 5, 16, 12, 0, tzinfo=UTC)


def fetch(
    name: str,
    *,
    content_type: str = "text/html",
    url: str = "https://www.example.ma/2025/05/16/a/",
    **kw: object,
) -> FetchedPage:
    return FetchedPage(
        url=url,
        final_url=url,
        status=200,
        headers={"content-type": content_type},
        body=(PAGES / name).read_bytes(),
        source="example",
        fetched_at=FETCHED_AT,
        **kw,  # type: ignore[arg-type]
    )


def article(name: str, **kw: object) -> Article:
    result = extract(fetch(name), languages=("ar", "fr"), **kw)  # type: ignore[arg-type]
    assert isinstance(result, Article), result
    return result


@pytest.fixture(scope="module")
def wordpress() -> Article:
    return article("wordpress_comments.html")


@pytest.fixture(scope="module")
def custom() -> Article:
    return article("custom_cms.html")


def test_comment_form_text_is_not_kept(wordpress: Article) -> None:
    assert "اترك تعليق" not in wordpress.text
    assert "لن يتم نشر عنوان بريدك" not in wordpress.text
    assert "إرسال التعليق" not in wordpress.text


def test_share_widgets_are_not_kept(wordpress: Article, custom: Article) -> None:
    for text in (wordpress.text, custom.text):
        assert "شارك المقال" not in text
        assert "تم النسخ" not in text


def test_image_file_name_left_as_caption_is_not_kept(wordpress: Article) -> None:
    assert "FB_IMG" not in wordpress.text


def test_unrendered_shortcode_is_not_kept(wordpress: Article) -> None:
    assert "gdgallery" not in wordpress.text


def test_related_articles_block_is_not_kept(wordpress: Article) -> None:
    assert "أخبار ذات صلة" not in wordpress.text
    assert "ميناء أكادير" not in wordpress.text


def test_exit_mobile_version_link_is_not_kept(wordpress: Article) -> None:
    assert "Exit mobile version" not in wordpress.text


def test_font_size_and_listen_toolbar_is_not_kept(custom: Article) -> None:
    assert "A+" not in custom.text
    assert "للمقال" not in custom.text


def test_comment_counter_and_character_counter_are_not_kept(custom: Article) -> None:
    assert "تعليقات ( 0 )" not in custom.text
    assert "1000 / 1000" not in custom.text


def test_sidebar_most_read_is_not_kept(custom: Article) -> None:
    assert "ديربي" not in custom.text


def test_dateline_lead_is_kept(wordpress: Article, custom: Article) -> None:
    assert wordpress.text.splitlines()[0] == "تزنيت – متابعة"
    assert custom.text.splitlines()[0] == "الدار البيضاء - و م ع"


def test_every_body_paragraph_is_kept(wordpress: Article) -> None:
    assert wordpress.text.count("\n") == 4  # dateline + four paragraphs
    assert wordpress.text.endswith("منذ سنوات.")


def test_headline_and_section_label_are_not_repeated_in_text(custom: Article) -> None:
    assert not custom.text.startswith("مجتمع")
    assert "يثقل كاهل" not in custom.text.splitlines()[0]


def test_jsonld_only_page_body_comes_from_jsonld_article_body() -> None:
    result = article("jsonld_only.html")
    assert result.text.startswith("يخوض المنتخب الوطني المغربي")
    assert "جار التحميل" not in result.text
    assert result.method in ("jsonld", "trafilatura")  # trafilatura reads JSON-LD bodies itself


def test_jsonld_body_is_the_fallback_when_markup_has_too_little() -> None:
    page = fetch("jsonld_only.html")
    body = page.body.replace(b'<div class="loader">', b'<div class="loader"><p>\xd8\xa7</p>')
    result = extract(FetchedPage(**{**{s: getattr(page, s) for s in page.__slots__}, "body": body}))
    assert isinstance(result, Article)
    assert "ستة وعشرين لاعبا" in result.text


def test_french_article_body_is_kept_without_widgets() -> None:
    result = article("french.html")
    assert result.text.startswith("Casablanca – La société Casa Tram")
    assert "Partager" not in result.text
    assert "Lire aussi" not in result.text and "théâtre" not in result.text


def test_paragraph_cluster_fallback_records_its_method() -> None:
    paras = "".join(f"<p>{'وأضاف المصدر أن الأشغال ستنطلق قريبا في الحي ' * 2}{i}</p>" for i in range(6))
    html = f"<html><body><form id='aspnetForm'><div id='c'>{paras}</div></form></body></html>".encode()
    page = FetchedPage(
        url="https://x.ma/a/1",
        final_url="https://x.ma/a/1",
        status=200,
        headers={"content-type": "text/html; charset=utf-8"},
        body=html,
        source="x",
        fetched_at=FETCHED_AT,
    )
    result = extract(page)
    assert isinstance(result, Article), result
    assert result.text.count("\n") == 5
    assert result.method in ("trafilatura", "trafilatura-recall", "paragraphs")
