"""Rejections: what is not stored as an article, and the reason kind recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ingest.extract.extractor import extract
from ingest.records import Article, FetchedPage, Rejection

PAGES = Path(__file__).parent / "pages"
PARAGRAPH = (
    "<p>وأوضح المصدر ذاته أن السلطات المحلية باشرت تنفيذ مجموعة من الإجراءات الاستعجالية لفائدة ساكنة "
    "الدواوير المتضررة، من بينها توزيع المساعدات الغذائية وفتح المسالك الطرقية المقطوعة.</p>"
)


def fetch(body: bytes, content_type: str = "text/html; charset=utf-8") -> FetchedPage:
    return FetchedPage(
        url="https://x.ma/a/1",
        final_url="https://x.ma/a/1",
        status=200,
        headers={"content-type": content_type},
        body=body,
        source="x",
        fetched_at=datetime(2025, 5, 16, 12, tzinfo=UTC),
    )


def reason(result: Article | Rejection) -> str:
    return result.reason if isinstance(result, Rejection) else "stored"


def test_listing_page_is_rejected_as_not_article() -> None:
    result = extract(fetch((PAGES / "tag_listing.html").read_bytes()))
    assert reason(result) == "not-article"


def test_teaser_list_without_structured_data_is_rejected_as_not_article() -> None:
    page = (PAGES / "tag_listing.html").read_bytes()
    start, end = page.index(b"<script"), page.index(b"</script>") + len(b"</script>")
    result = extract(fetch(page[:start] + page[end:]))
    assert reason(result) == "not-article"


def test_video_page_with_a_caption_is_rejected_as_not_article() -> None:
    html = (
        '<html><head><meta property="og:type" content="video.other"></head><body><h1>فيديو</h1>'
        f"<video src='v.mp4'></video>{PARAGRAPH}</body></html>"
    )
    assert reason(extract(fetch(html.encode()))) == "not-article"


def test_pdf_is_rejected_as_not_html() -> None:
    assert reason(extract(fetch(b"%PDF-1.7 binary", "application/pdf"))) == "not-html"


def test_binary_body_without_content_type_is_rejected_as_not_html() -> None:
    assert reason(extract(fetch(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ""))) == "not-html"


def test_page_with_no_text_is_rejected_as_empty() -> None:
    assert reason(extract(fetch(b"<html><body><div id='app'></div></body></html>"))) == "empty"


def test_news_brief_under_its_headline_is_stored() -> None:
    stub = "<p>زلزال بقوة 4 درجات يضرب إقليم الحوز دون خسائر.</p>"
    html = f"<html><body><article><h1>زلزال بقوة 4 درجات يضرب إقليم الحوز</h1>{stub}</article></body></html>"
    result = extract(fetch(html.encode()))
    assert isinstance(result, Article) and result.text == "زلزال بقوة 4 درجات يضرب إقليم الحوز دون خسائر."


def test_caption_that_shares_nothing_with_the_headline_is_rejected_as_too_short() -> None:
    html = "<html><body><h1>وسم: مهرجانات</h1><div><p>كل الصور محمية بموجب القانون 2025</p></div></body></html>"
    result = extract(fetch(html.encode()))
    assert isinstance(result, Rejection) and result.reason == "too-short" and result.looks_like_article


def test_short_text_without_a_headline_is_rejected_as_too_short() -> None:
    html = "<html><body><div><p>زلزال بقوة 4 درجات يضرب إقليم الحوز دون خسائر.</p></div></body></html>"
    result = extract(fetch(html.encode()))
    assert isinstance(result, Rejection) and result.reason == "too-short" and not result.looks_like_article


def test_french_article_is_rejected_for_an_arabic_only_source() -> None:
    result = extract(fetch((PAGES / "french.html").read_bytes()), languages=("ar",))
    assert reason(result) == "wrong-language"


def test_french_article_is_stored_for_a_bilingual_source() -> None:
    result = extract(fetch((PAGES / "french.html").read_bytes()), languages=("ar", "fr"))
    assert isinstance(result, Article) and result.language == "fr"


def test_arabic_article_with_enough_words_is_stored() -> None:
    more = "<p>وأضاف المصدر أن فرق الوقاية المدنية ما تزال معبأة تحسبا لأي طارئ خلال الأيام المقبلة.</p>"
    html = f"<html><body><article><h1>فيضانات</h1>{PARAGRAPH}{more}</article></body></html>"
    assert reason(extract(fetch(html.encode()))) == "stored"


def test_rejection_names_the_final_url_and_source() -> None:
    result = extract(fetch(b"%PDF", "application/pdf"))
    assert isinstance(result, Rejection)
    assert (result.url, result.source) == ("https://x.ma/a/1", "x")


BRIEF = "<p>زلزال بقوة 4 درجات يضرب إقليم الحوز دون أن يخلف خسائر في الأرواح أو الممتلكات.</p>"
HEADLINE = "زلزال بقوة 4 درجات يضرب إقليم الحوز"


def test_brief_on_a_template_that_declares_video_on_every_page_is_stored() -> None:
    # A real template kept og:type video.other on its article pages: its short articles were all lost.
    html = (
        f'<html><head><title>{HEADLINE}</title><meta property="og:type" content="video.other"></head>'
        f"<body><h1>{HEADLINE}</h1>{BRIEF}</body></html>"
    )
    assert reason(extract(fetch(html.encode()))) == "stored"


def test_brief_beside_an_embedded_clip_is_stored() -> None:
    html = (
        f"<html><head><title>{HEADLINE}</title></head><body><h1>{HEADLINE}</h1>"
        f"<iframe src='https://www.youtube.com/embed/abc'></iframe>{BRIEF}</body></html>"
    )
    assert reason(extract(fetch(html.encode()))) == "stored"


def test_a_watch_the_video_caption_under_a_headline_is_not_an_article() -> None:
    html = (
        f"<html><head><title>{HEADLINE}</title></head><body><h1>{HEADLINE}</h1>"
        "<iframe src='https://www.youtube.com/embed/abc'></iframe><p>شاهد الفيديو كاملا</p></body></html>"
    )
    assert reason(extract(fetch(html.encode()))) == "not-article"
