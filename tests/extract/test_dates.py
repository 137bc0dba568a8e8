"""Date parsing: structured metadata and visible Arabic/French text, naive times in the outlet's zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from lxml.html import HtmlElement, document_fromstring

from ingest.extract.dates import find_dates, is_date_line, parse_iso, parse_relative, parse_text

NOW = datetime(2025, 5, 16, 12, 0, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_moroccan_month_name_date_is_parsed_in_casablanca_time() -> None:
    # Casablanca is UTC+1 outside Ramadan: 10:45 local is 09:45 UTC.
    assert parse_text("الجمعة 16 ماي 2025 - 10:45") == utc(2025, 5, 16, 9, 45)


@pytest.mark.parametrize(
    "month, number",
    [
        ("يناير", 1),
        ("فبراير", 2),
        ("مارس", 3),
        ("أبريل", 4),
        ("ماي", 5),
        ("يونيو", 6),
        ("يوليوز", 7),
        ("غشت", 8),
        ("شتنبر", 9),
        ("أكتوبر", 10),
        ("نونبر", 11),
        ("دجنبر", 12),
    ],
)
def test_every_moroccan_month_name_is_known(month: str, number: int) -> None:
    assert parse_text(f"3 {month} 2024 12:00", tz="UTC") == utc(2024, number, 3, 12, 0)


@pytest.mark.parametrize(
    "month, number",
    [
        ("كانون الثاني", 1),
        ("شباط", 2),
        ("آذار", 3),
        ("نيسان", 4),
        ("أيار", 5),
        ("حزيران", 6),
        ("تموز", 7),
        ("آب", 8),
        ("أيلول", 9),
        ("تشرين الأول", 10),
        ("تشرين الثاني", 11),
        ("كانون الأول", 12),
    ],
)
def test_every_mashriq_month_name_is_known(month: str, number: int) -> None:
    assert parse_text(f"نشر في 3 {month} 2024 الساعة 12:00", tz="UTC") == utc(2024, number, 3, 12, 0)


@pytest.mark.parametrize(
    "month, number",
    [
        ("جانفي", 1),
        ("فيفري", 2),
        ("أفريل", 4),
        ("جوان", 6),
        ("جويلية", 7),
        ("أوت", 8),
        ("سبتمبر", 9),
        ("نوفمبر", 11),
        ("ديسمبر", 12),
    ],
)
def test_algerian_and_tunisian_month_names_are_known(month: str, number: int) -> None:
    assert parse_text(f"3 {month} 2024", tz="UTC") == utc(2024, number, 3)


def test_arabic_indic_digits_and_sabahan_are_read() -> None:
    assert parse_text("الخميس ١٥ ماي ٢٠٢٥ - ٠٩:٣٠ صباحا") == utc(2025, 5, 15, 8, 30)


def test_masaan_moves_the_time_to_the_afternoon() -> None:
    assert parse_text("16 ماي 2025 على الساعة 4:20 مساء") == utc(2025, 5, 16, 15, 20)


def test_twelve_sabahan_is_midnight() -> None:
    assert parse_text("16 ماي 2025 12:10 صباحا", tz="UTC") == utc(2025, 5, 16, 0, 10)


def test_numeric_day_month_year_with_time_is_read() -> None:
    assert parse_text("16/05/2025 - 11:20") == utc(2025, 5, 16, 10, 20)


def test_numeric_year_first_is_read() -> None:
    assert parse_text("2025/05/16 11:20") == utc(2025, 5, 16, 10, 20)


def test_french_date_with_h_time_is_read() -> None:
    assert parse_text("Publié le 16 mai 2025 à 10h45") == utc(2025, 5, 16, 9, 45)


def test_french_first_of_month_is_read() -> None:
    assert parse_text("1er juillet 2024", tz="UTC") == utc(2024, 7, 1)


def test_date_without_time_is_local_midnight() -> None:
    assert parse_text("الثلاثاء 16 ماي 2023") == utc(2023, 5, 15, 23, 0)


def test_ramadan_offset_of_casablanca_is_applied() -> None:
    # Morocco moves to UTC+0 during Ramadan (March 2025): 10:45 local is 10:45 UTC.
    assert parse_text("10 مارس 2025 10:45") == utc(2025, 3, 10, 10, 45)


def test_source_timezone_is_used_for_naive_times() -> None:
    assert parse_text("16/05/2025 11:20", tz="Africa/Algiers") == utc(2025, 5, 16, 10, 20)
    assert parse_text("16/05/2025 11:20", tz="Asia/Riyadh") == utc(2025, 5, 16, 8, 20)


@pytest.mark.parametrize(
    "text, delta",
    [
        ("منذ ساعتين", timedelta(hours=2)),
        ("منذ ساعة", timedelta(hours=1)),
        ("منذ ساعة واحدة", timedelta(hours=1)),
        ("منذ 16 دقائق", timedelta(minutes=16)),
        ("منذ ١٦ دقيقة", timedelta(minutes=16)),
        ("منذ 2 ساعات", timedelta(hours=2)),
        ("منذ 3 أيام", timedelta(days=3)),
        ("منذ يومين", timedelta(days=2)),
        ("قبل أسبوع", timedelta(weeks=1)),
        ("il y a 2 heures", timedelta(hours=2)),
        ("il y a 5 min", timedelta(minutes=5)),
        ("il y a une heure", timedelta(hours=1)),
        ("3 days ago", timedelta(days=3)),
    ],
)
def test_relative_dates_count_back_from_the_fetch_time(text: str, delta: timedelta) -> None:
    assert parse_relative(text, NOW) == NOW - delta
    assert parse_text(text, now=NOW) == NOW - delta


def test_relative_date_needs_a_fetch_time() -> None:
    assert parse_text("منذ ساعتين") is None


def test_iso_offset_is_kept() -> None:
    assert parse_iso("2025-05-16T10:45:00+02:00") == utc(2025, 5, 16, 8, 45)
    assert parse_iso("2025-05-16T10:45:00Z") == utc(2025, 5, 16, 10, 45)


def test_naive_iso_is_read_in_the_source_timezone() -> None:
    assert parse_iso("2025-05-16 10:45:00") == utc(2025, 5, 16, 9, 45)


def test_rfc_2822_date_is_read() -> None:
    assert parse_iso("Fri, 16 May 2025 10:45:00 +0100") == utc(2025, 5, 16, 9, 45)


def test_date_far_in_the_future_of_the_fetch_is_ignored() -> None:
    assert parse_iso("2031-01-01T00:00:00Z", now=NOW) is None


def test_impossible_date_is_ignored() -> None:
    assert parse_text("31/02/2025") is None
    assert parse_text("رقم الهاتف 0522/45/6789") is None


def page(head: str = "", body: str = "") -> HtmlElement:
    return document_fromstring(f"<html><head>{head}</head><body>{body}</body></html>")


def test_jsonld_date_published_beats_meta_tags() -> None:
    tree = page('<meta property="article:published_time" content="2025-05-10T10:00:00+01:00">')
    jsonld = [{"@type": "NewsArticle", "datePublished": "2025-05-16T10:45:00+01:00"}]
    assert find_dates(tree, jsonld, now=NOW)[0] == utc(2025, 5, 16, 9, 45)


@pytest.mark.parametrize("name", ["article:published_time", "og:published_time", "pubdate", "date", "DC.date"])
def test_published_meta_tags_are_read(name: str) -> None:
    tree = page(f'<meta name="{name}" content="2025-05-16T10:45:00+01:00">')
    assert find_dates(tree, now=NOW)[0] == utc(2025, 5, 16, 9, 45)


def test_time_element_datetime_is_read() -> None:
    tree = page(body='<h1>عنوان</h1><time datetime="2025-05-16T10:45">16 ماي</time>')
    assert find_dates(tree, now=NOW)[0] == utc(2025, 5, 16, 9, 45)


@pytest.mark.parametrize(
    "visible, expected",
    [
        ("الجمعة 16 ماي 2025 - 10:45", utc(2025, 5, 16, 9, 45)),
        ("16 أيار 2025 الساعة 10:45", utc(2025, 5, 16, 9, 45)),
        ("16 جوان 2024 10:45", utc(2024, 6, 16, 9, 45)),
        ("16/05/2025 - 10:45", utc(2025, 5, 16, 9, 45)),
        ("١٦ ماي ٢٠٢٥ ١٠:٤٥ صباحا", utc(2025, 5, 16, 9, 45)),
        ("Publié le 16 mai 2025 à 10h45", utc(2025, 5, 16, 9, 45)),
        ("منذ ساعتين", utc(2025, 5, 16, 10, 0)),
    ],
)
def test_visible_only_date_in_a_date_element_is_read(visible: str, expected: datetime) -> None:
    tree = page(body=f'<h1>عنوان الخبر</h1><span class="post-date">{visible}</span><p>نص</p>')
    assert find_dates(tree, now=NOW)[0] == expected


def test_visible_date_next_to_the_headline_is_read_without_a_date_class() -> None:
    tree = page(body="<div><h1>عنوان الخبر</h1><span>الخميس 15 ماي 2025</span></div><p>نص</p>")
    assert find_dates(tree, now=NOW)[0] == utc(2025, 5, 14, 23, 0)


def test_updated_before_published_is_dropped() -> None:
    tree = page(
        '<meta property="article:published_time" content="2025-05-16T10:00:00Z">'
        '<meta property="article:modified_time" content="2020-01-01T00:00:00Z">'
    )
    assert find_dates(tree, now=NOW) == (utc(2025, 5, 16, 10, 0), None)


def test_date_only_lines_are_recognised_and_prose_is_not() -> None:
    assert is_date_line("الخميس ١٥ ماي ٢٠٢٥ - ٠٩:٣٠ صباحا")
    assert is_date_line("آخر تحديث: 16/05/2025")
    assert not is_date_line("وأضاف أن 16 ماي 2025 سيكون يوما تاريخيا للمدينة")
    assert not is_date_line("الرباط - متابعة")


def test_a_teaser_cards_time_is_not_the_pages_date() -> None:
    # Our own template in the style seen on real pages: "related" cards above the article, each with
    # its headline link and a <time>; the article's own date is written as text under its <h1>.
    cards = "".join(
        f"<div class='card'><div class='pic'><a href='/a{i}'><img src='a{i}.jpg'></a></div>"
        f"<div class='meta'><a href='/a{i}'>ارتفاع أسعار الخضر في أسواق الدار البيضاء</a>"
        f"<time datetime='2025-05-1{i}T08:00:00+01:00'>Updated May 1{i}, 2025</time></div></div>"
        for i in range(3)
    )
    card_in_a_link = (
        "<div class='card'><a href='/b'><h3>افتتاح الدورة الجديدة لمهرجان الرباط</h3>"
        "<time datetime='2025-05-12T08:00:00+01:00'>12 ماي 2025</time></a></div>"
    )
    html = (
        f"<html><body><section class='related'>{cards}{card_in_a_link}</section><main>"
        "<h1>وزارة الفلاحة تعلن عن برنامج جديد</h1><div class='post-date'>16 ماي 2025 - 10:45</div>"
        "<p>أعلنت وزارة الفلاحة عن برنامج جديد لدعم صغار الفلاحين.</p></main></body></html>"
    )
    assert find_dates(document_fromstring(html), now=NOW) == (utc(2025, 5, 16, 9, 45), None)


def test_the_pages_own_time_with_a_byline_link_is_kept() -> None:
    html = (
        "<html><body><article><header><h1>وزارة الفلاحة تعلن عن برنامج جديد</h1>"
        "<div class='byline'><a href='/author/x'>محمد العلوي</a> "
        "<time datetime='2025-05-16T10:45:00+01:00'>16 ماي 2025</time></div></header>"
        "<p>أعلنت وزارة الفلاحة عن برنامج جديد لدعم صغار الفلاحين.</p></article>"
        "<aside><div><a href='/c'>ارتفاع أسعار الخضر في أسواق الدار البيضاء</a></div></aside></body></html>"
    )
    assert find_dates(document_fromstring(html), now=NOW)[0] == utc(2025, 5, 16, 9, 45)


def test_the_date_by_the_headline_wins_over_times_elsewhere() -> None:
    # Our own template in the styles seen on real pages with no structured date: a header showing
    # today's date as a <time>, the article's date as text under its <h1>, comments with <time>s.
    html = (
        "<html><body><header><a href='/'><time datetime='2025-05-16T07:00:00+01:00'>الجمعة 16 ماي 2025</time></a>"
        "</header><div class='wrap'><div class='post-head'><h1>افتتاح معرض الكتاب بالرباط</h1>"
        "<span class='post-date'>15 ماي 2025 - 18:30</span></div>"
        "<p>افتتحت بالرباط الدورة الجديدة من المعرض الدولي للنشر والكتاب.</p></div>"
        "<ol class='comments'><li><a href='#c1'><time datetime='2025-05-15T21:00:00+01:00'>15 ماي 2025</time></a>"
        "<p>تعليق</p></li></ol></body></html>"
    )
    tree = document_fromstring(html)
    assert find_dates(tree, now=NOW, headline="افتتاح معرض الكتاب بالرباط")[0] == utc(2025, 5, 15, 17, 30)
    assert find_dates(tree, now=NOW)[0] == utc(2025, 5, 16, 6, 0)  # without the headline: the first <time>


def test_an_updated_stamp_by_the_headline_is_not_the_publication() -> None:
    html = (
        "<html><body><div class='head'><h1>افتتاح معرض الكتاب بالرباط</h1>"
        "<span class='post-date'>آخر تحديث: 16 ماي 2025 - 09:00</span>"
        "<time datetime='2025-05-15T18:30:00+01:00'>15 ماي 2025</time></div></body></html>"
    )
    tree = document_fromstring(html)
    assert find_dates(tree, now=NOW, headline="افتتاح معرض الكتاب بالرباط")[0] == utc(2025, 5, 15, 17, 30)


# The page's own stamp beside its headline, next to a template piece that once hid or replaced it.
NEAR_HEADLINE_TRAPS = {
    # text_content() read "10:02by Christian Roth": no time ends there, so the date was the day at midnight.
    "a byline glued after the stamp": (
        "عنوان المقال",
        "<div class='title-meta-wrap'><h1>عنوان المقال</h1><span class='post-date'>16 ماي 2024 - 10:02</span>"
        "<span>by Christian Roth</span><span>6 Comments</span></div>",
        utc(2024, 5, 16, 9, 2),
    ),
    # A byline's author link is as long as a short headline; taken for a teaser's, the page's date was lost.
    "an author link beside the date": (
        "عنوان المقال",
        "<header><h1>عنوان المقال</h1></header><div class='footer'><p class='author'>"
        "<a href='https://x.ma/blog/authors/tax-team/'>Thomson Reuters Tax Team</a></p><p class='meta'>"
        "<time>14 ماي 2025 - 12:05</time> · 12 minute read</p></div>",
        utc(2025, 5, 14, 11, 5),
    ),
    # The block holding the headline and its stamp is marked "meta": read whole, its first date is the headline's.
    "a date in the headline": (
        "توقعات الطقس ليوم الأربعاء 15 يناير 2025",
        "<div class='title-meta-wrap'><h1>توقعات الطقس ليوم الأربعاء 15 يناير 2025</h1>"
        "<span class='post-date'>14 يناير 2025 - 18:17</span></div>",
        utc(2025, 1, 14, 17, 17),
    ),
}


@pytest.mark.parametrize("trap", NEAR_HEADLINE_TRAPS)
def test_the_stamp_beside_the_headline_is_the_page_date_whatever_the_template_puts_around_it(trap: str) -> None:
    headline, body, expected = NEAR_HEADLINE_TRAPS[trap]
    tree = document_fromstring(f"<html><body>{body}</body></html>")
    assert find_dates(tree, headline=headline, now=NOW)[0] == expected
