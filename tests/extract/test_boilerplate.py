"""Chrome removal after extraction: UI lines, trailing related blocks, per-outlet recurring lines."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.extract.boilerplate import RecurringLines, clean_lines, cut_trailing_block, is_dateline, is_ui_line
from ingest.extract.extractor import extract
from ingest.records import Article, FetchedPage

PROSE = [
    "أعلنت وزارة التجهيز والماء عن إطلاق مشروع لتثنية الطريق الوطنية الرابطة بين المدينتين خلال السنة المقبلة.",
    "وأوضح بلاغ للوزارة أن كلفة المشروع تناهز مليار درهم، وأن الأشغال ستمتد على ثلاث سنوات.",
    "ويرتقب أن يساهم المشروع في تقليص مدة التنقل وتحسين السلامة الطرقية بالمنطقة.",
]
SIGNATURE = "تابعوا آخر أخبار الجهة على صفحتنا الرسمية بموقع إنستغرام"


@pytest.mark.parametrize(
    "line",
    [
        "FB_IMG_1747404458585",
        "IMG_20250516_104512.jpg",
        "DSC0042.JPG",
        "WhatsApp Image 2025-05-16 at 10.45.12.jpeg",
        '[gdgallery_gallery id_gallery="11"]',
        "[/caption]",
        "1000 / 1000",
        "تعليقات ( 0 )",
        "0",
        "شارك المقال",
        "• تم النسخ",
        "Exit mobile version",
        "الخط : A- A+ إستمع للمقال",
        "اترك تعليقاً",
        "لن يتم نشر عنوان بريدك الإلكتروني. الحقول الإلزامية مشار إليها بـ *",
        "Partager cet article",
        "Leave a Reply",
        "Ce site utilise des cookies pour améliorer votre expérience.",
        "جرب ميزات الذكاء الاصطناعي لدينا",
        "1000 / 1000 (عدد الأحرف المتبقية)",
        "اقرأ أيضا: الأمن يفكك شبكة لتهريب المخدرات بميناء طنجة",
        "Lire aussi : Le port de Tanger bat un record",
    ],
)
def test_interface_lines_are_recognised(line: str) -> None:
    assert is_ui_line(line)


@pytest.mark.parametrize(
    "line",
    [
        *PROSE,
        "الرباط- متابعة",
        "الرباط – و م ع",
        "تعميم البطاقة الوطنية الرقمية.",
        "اطلاق بوابة E-POLICE",
        "وأضاف أن سنة 2025 ستكون حاسمة",
        "IMGs are large files",
        "La suite au prochain conseil communal de Fès.",
    ],
)
def test_prose_and_short_list_items_are_not_interface_lines(line: str) -> None:
    assert not is_ui_line(line)


@pytest.mark.parametrize(
    "heading",
    ["أخبار ذات صلة", "مقالات ذات صلة", "اقرأ أيضا", "إقرأ أيضاً:", "Lire aussi", "À lire aussi", "التعليقات"],
)
def test_trailing_related_block_is_cut_with_what_follows(heading: str) -> None:
    lines = [*PROSE, heading, "عنوان خبر آخر من الموقع", "منذ 16 دقائق"]
    assert cut_trailing_block(lines) == PROSE


def test_related_block_longer_than_the_article_is_cut() -> None:
    related = ["أخبار ذات صلة", "برلمان", "منذ 16 دقائق", *(PROSE * 4)]
    assert cut_trailing_block([*PROSE, *PROSE, *related]) == PROSE * 2


def test_read_also_link_near_the_top_does_not_cut_the_article() -> None:
    lines = [PROSE[0], "اقرأ أيضا", *PROSE[1:], *PROSE]
    assert cut_trailing_block(lines) == lines


def test_clean_lines_drops_blank_and_ui_lines_and_keeps_the_dateline() -> None:
    assert clean_lines(["الرباط- متابعة", "", "FB_IMG_1747404458585", *PROSE, "شارك المقال"]) == [
        "الرباط- متابعة",
        *PROSE,
    ]


def test_datelines_are_recognised() -> None:
    assert is_dateline("الرباط- متابعة") and is_dateline("الرباط – و م ع") and is_dateline("Casablanca - MAP")
    assert not is_dateline(PROSE[0])


def table_after(pages: int, k: int = 3, source: str = "souss") -> RecurringLines:
    table = RecurringLines(k=k)
    for i in range(pages):
        table.observe(source, [f"خبر رقم {i} عن موضوع مختلف تماما", SIGNATURE], page=f"https://x.ma/{i}")
    return table


def test_recurring_lines_are_stripped_after_k_pages() -> None:
    text = "\n".join([*PROSE, SIGNATURE])
    assert table_after(3).strip("souss", text) == "\n".join(PROSE)


def test_line_seen_on_fewer_than_k_pages_is_kept() -> None:
    text = "\n".join([*PROSE, SIGNATURE])
    assert table_after(2).strip("souss", text) == text


def test_the_same_page_observed_twice_counts_once() -> None:
    table = RecurringLines(k=2)
    table.observe("souss", [SIGNATURE], page="https://x.ma/1")
    table.observe("souss", [SIGNATURE], page="https://x.ma/1")
    assert not table.is_boilerplate("souss", SIGNATURE)


def test_recurring_lines_are_per_outlet() -> None:
    assert not table_after(5).is_boilerplate("casapost", SIGNATURE)


def test_spelling_variants_share_a_fingerprint() -> None:
    assert table_after(3).is_boilerplate("souss", "تابعوا اخر اخبار الجهه علي صفحتنا الرسميه بموقع انستغرام")


def test_leading_dateline_survives_even_when_recurring() -> None:
    table = RecurringLines(k=2)
    for i in range(3):
        table.observe("souss", ["الرباط- متابعة", f"نص مختلف {i}"])
    assert table.strip("souss", "\n".join(["الرباط- متابعة", *PROSE])).startswith("الرباط- متابعة")


def test_long_recurring_background_paragraph_is_kept() -> None:
    background = " ".join(PROSE * 3)
    table = RecurringLines(k=2, max_words=40)
    for i in range(3):
        table.observe("souss", [background], page=str(i))
    assert table.strip("souss", background) == background


# A background sentence of 16+ words an outlet reuses in its follow-ups, or a lead it runs again.
BACKGROUND = (
    "وتعرف المنطقة منذ سنوات خصاصا كبيرا في الموارد المائية بسبب توالي سنوات الجفاف وتراجع حقينة"
    " السدود المخصصة لتزويد المدن والقرى المجاورة بالماء الصالح للشرب."
)


def test_a_long_line_on_a_few_follow_ups_is_prose_and_is_kept() -> None:
    # On the ANT corpus every 16+ word line stripped at k=5 and seen on under 10 pages was prose.
    table = RecurringLines()
    for i in range(9):
        table.observe("souss", [f"خبر رقم {i} عن موضوع مختلف تماما", BACKGROUND], page=f"https://x.ma/{i}")
    assert not table.is_boilerplate("souss", BACKGROUND)


def test_a_long_line_on_many_pages_is_chrome() -> None:
    # BBC's 18-word app notice recurs on hundreds of pages.
    table = RecurringLines()
    for i in range(10):
        table.observe("souss", [f"خبر رقم {i} عن موضوع مختلف تماما", BACKGROUND], page=f"https://x.ma/{i}")
    assert table.is_boilerplate("souss", BACKGROUND)
    again = RecurringLines.from_rows(table.to_rows())
    assert again.is_boilerplate("souss", BACKGROUND)


def test_table_round_trips_through_rows() -> None:
    table = table_after(3)
    again = RecurringLines.from_rows(table.to_rows(), k=3)
    assert again.is_boilerplate("souss", SIGNATURE)
    assert not again.is_boilerplate("souss", "خبر رقم 1 عن موضوع مختلف تماما")


def test_single_page_lines_are_pruned_when_the_table_is_full() -> None:
    table = RecurringLines(k=2, max_entries=5)
    for i in range(10):
        table.observe("souss", [f"سطر فريد رقم {i}", SIGNATURE], page=str(i))
    assert len(table.tables["souss"]) <= 6
    assert table.is_boilerplate("souss", SIGNATURE)


def test_extract_strips_the_outlets_recurring_lines() -> None:
    paragraphs = "".join(f"<p>{p}</p>" for p in PROSE * 2)
    html = f"<html><body><article><h1>عنوان</h1>{paragraphs}<p>{SIGNATURE}</p></article></body></html>"
    page = FetchedPage(
        url="https://x.ma/1",
        final_url="https://x.ma/1",
        status=200,
        headers={"content-type": "text/html; charset=utf-8"},
        body=html.encode(),
        source="souss",
        fetched_at=datetime(2025, 5, 16, tzinfo=UTC),
    )
    plain = extract(page)
    stripped = extract(page, recurring=table_after(3))
    assert isinstance(plain, Article) and isinstance(stripped, Article)
    assert SIGNATURE in plain.text and SIGNATURE not in stripped.text
