"""Real chrome around our articles: the failure modes seen on real page templates, on templates we wrote.

Each page in `pages/` reproduces one failure of the former extraction (the commit that added it
names the old outcome): English chrome around an Arabic brief (read as English), a mega menu taken
for the article (rejected as 91% link text), a related block of other headlines.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import pytest

from ingest.extract.boilerplate import RecurringLines
from ingest.extract.extractor import cap_text, detect_language, extract, glued, is_teaser, settle
from ingest.records import Article, FetchedPage, Rejection

PAGES = Path(__file__).parent / "pages"
LATIN = re.compile(r"[A-Za-z]")


def fetch(body: bytes, url: str = "https://x.ma/a/1", source: str = "x") -> FetchedPage:
    headers = {"content-type": "text/html; charset=utf-8"}
    return FetchedPage(url, url, 200, headers, body, source, datetime(2025, 11, 4, tzinfo=UTC))


def page(name: str) -> Article | Rejection:
    return extract(fetch((PAGES / name).read_bytes()), languages=("ar", "fr"))


def test_arabic_brief_in_english_chrome_is_stored_as_arabic_without_the_chrome() -> None:
    result = page("english_chrome_brief.html")
    assert isinstance(result, Article)
    assert result.language == "ar"
    assert result.text.split("\n") == [
        "صادق مجلس جماعة طنجة، خلال دورته العادية، على مشروع ميزانية السنة المقبلة.",
        "وخصص المجلس جزءا مهما من الاعتمادات لتأهيل الطرقات والإنارة العمومية.",
    ]


def test_brief_under_a_mega_menu_is_the_article_not_the_menu() -> None:
    result = page("mega_menu_brief.html")
    assert isinstance(result, Article)
    assert result.text == "أوقفت عناصر الشرطة بفاس، مساء اليوم، شابا يشتبه في ترويجه للأقراص المهلوسة بحي بنسودة."


def test_related_block_of_other_headlines_neither_rejects_the_article_nor_is_stored() -> None:
    result = page("related_block.html")
    assert isinstance(result, Article)
    assert len(result.text.split("\n")) == 3
    assert "القنيطرة تشن حملة" not in result.text


def test_one_paragraph_then_a_block_repeating_the_headline_keeps_the_paragraph() -> None:
    body = (
        "<html><head><title>جماعة أكادير تطلق برنامجا لتشجير الأحياء</title></head><body><div class='story'>"
        "<p>أطلقت جماعة أكادير، صباح اليوم، برنامجا لغرس ثلاثة آلاف شجرة في الأحياء الشعبية للمدينة.</p>"
        "<p>TRENDING:</p><p>جماعة أكادير تطلق برنامجا لتشجير الأحياء</p><p>By Staff - 11/04/25 06:56 AM</p>"
        "</div><h1>جماعة أكادير تطلق برنامجا لتشجير الأحياء</h1></body></html>"
    )
    result = extract(fetch(body.encode()))
    assert isinstance(result, Article)
    assert result.text == "أطلقت جماعة أكادير، صباح اليوم، برنامجا لغرس ثلاثة آلاف شجرة في الأحياء الشعبية للمدينة."


BRIEF = (
    "<p>أغلقت السلطات المحلية بالجديدة، صباح اليوم، محلا لبيع الأسماك لعدم احترامه شروط النظافة.</p>"
    "<p>وحجزت اللجنة المختلطة كمية من الأسماك غير الصالحة للاستهلاك.</p>"
)
CARDS = (
    '<ul class="related"><li><a href="/a/2">مجلس جماعة الجديدة يصادق على برنامج تأهيل السوق المركزي</a>'
    "<p>صادق مجلس جماعة الجديدة خلال دورته الاستثنائية على برنامج لتأهيل السوق المركزي …</p></li>"
    '<li><a href="/a/3">حملة لمراقبة جودة المواد الغذائية بأسواق إقليم الجديدة قبيل الصيف</a>'
    "<p>انطلقت بإقليم الجديدة حملة واسعة لمراقبة جودة المواد الغذائية المعروضة بالأسواق …</p></li></ul>"
)


def test_brief_inside_an_article_element_is_its_paragraphs_not_the_element_glued_into_one_line() -> None:
    # trafilatura rescues a text under 250 characters with the whole <article> as one line.
    body = (
        "<html><body><article><h1>إغلاق محل لبيع الأسماك بالجديدة</h1>"
        f"<div class='entry-content'>{BRIEF}</div>"
        "<div class='share'><span>Share this:</span> <a href='#'>facebook</a> <button>Copy link</button></div>"
        f"<section><h3>Related Posts</h3>{CARDS}</section></article></body></html>"
    )
    result = extract(fetch(body.encode()))
    assert isinstance(result, Article)
    assert result.text.split("\n") == [
        "أغلقت السلطات المحلية بالجديدة، صباح اليوم، محلا لبيع الأسماك لعدم احترامه شروط النظافة.",
        "وحجزت اللجنة المختلطة كمية من الأسماك غير الصالحة للاستهلاك.",
    ]


def test_a_line_holding_a_paragraph_and_much_more_is_glued() -> None:
    paragraphs = frozenset({"وحجزت اللجنة المختلطة كمية من الأسماك غير الصالحة للاستهلاك."})
    one = next(iter(paragraphs))
    assert glued(f"إغلاق محل بالجديدة {one} Share this: facebook twitter Related Posts مجلس جماعة", paragraphs)
    assert not glued(one, paragraphs)
    assert not glued(f"الجديدة: {one}", paragraphs)  # a dateline before the paragraph is not a glued block


def test_excerpts_under_other_headlines_are_teasers_not_prose() -> None:
    tree = lxml.html.fromstring(f"<div><div class='body'>{BRIEF}</div>{CARDS}</div>")
    teasers = [" ".join(p.text_content().split()) for p in tree.iter("p") if is_teaser(p)]
    assert len(teasers) == 2 and all(t.endswith("…") for t in teasers)


def test_a_paragraph_repeated_behind_a_short_label_is_said_once() -> None:
    first = "سجلت مدينة فاس، أمس الأحد، أعلى درجة حرارة في المملكة بلغت أربعا وأربعين درجة."
    body = (
        "<html><body><h1>فاس تسجل أعلى درجة حرارة بالمملكة</h1><div class='post-body'>"
        f"<p>{first}</p><p>وتوقعت مديرية الأرصاد الجوية أن تستمر الموجة إلى غاية الخميس.</p>"
        f"<p><a href='/blog'>Return to Blogs</a> {first}</p></div></body></html>"
    )
    result = extract(fetch(body.encode()))
    assert isinstance(result, Article)
    assert result.text.split("\n") == [first, "وتوقعت مديرية الأرصاد الجوية أن تستمر الموجة إلى غاية الخميس."]


def test_a_date_stamp_under_the_article_is_not_kept() -> None:
    # The template shows the date below the body, in Arabic as Moroccan outlets write it.
    lines = [
        "أعلنت وزارة الصحة عن انطلاق الحملة الوطنية للتلقيح ضد الحصبة بجميع جهات المملكة.",
        "وتستهدف الحملة الأطفال دون سن الخامسة عشرة، وتستمر إلى غاية نهاية الشهر الجاري.",
    ]
    body = (
        "<html><body><h1>انطلاق الحملة الوطنية للتلقيح ضد الحصبة</h1><div class='post'>"
        f"<p>{lines[0]}</p><p>{lines[1]}</p><div class='post-date'>4 غشت 2025 - 11:09</div>"
        "</div></body></html>"
    )
    result = extract(fetch(body.encode()))
    assert isinstance(result, Article)
    assert result.text.split("\n") == lines


def test_a_closing_line_naming_a_place_and_a_date_is_kept() -> None:
    line = "حرر بالرباط في 4 غشت 2025"  # a communiqué's signature: prose, not the template's stamp
    body = (
        "<html><body><h1>بلاغ لوزارة الداخلية</h1><div class='post'>"
        "<p>تعلن وزارة الداخلية أن عملية التسجيل في اللوائح الانتخابية تنطلق يوم الاثنين المقبل.</p>"
        f"<p>{line}</p></div></body></html>"
    )
    result = extract(fetch(body.encode()))
    assert isinstance(result, Article)
    assert result.text.split("\n")[-1] == line


def test_latin_chrome_glued_into_an_arabic_line_is_cut_off() -> None:
    body = (
        "<html><body><h1>الرجاء يفوز على المغرب الفاسي</h1><div>"
        "<span>فاز فريق الرجاء على ضيفه المغرب الفاسي بهدفين لواحد. </span>"
        "<span>Tags Raja Casablanca Botola Pro League</span></div></body></html>"
    )
    result = extract(fetch(body.encode()))
    assert isinstance(result, Article)
    assert not LATIN.search(result.text)
    assert "بهدفين لواحد" in result.text


def test_rejection_says_whether_the_page_looked_like_an_article() -> None:
    html = (
        '<html><head><meta property="og:type" content="article"></head><body><h1>Sunny spells on the coast</h1>'
        "<p>Sunny spells over the coast with a light breeze in the afternoon today.</p></body></html>"
    )
    result = extract(fetch(html.encode()), languages=("ar",))
    assert isinstance(result, Rejection) and result.reason == "wrong-language"
    assert result.looks_like_article


# --- never store an empty copy ----------------------------------------------------------------------

STANDINGS = ["الوداد 45", "الرجاء 42", "الجيش الملكي 40", "نهضة بركان 38"]


def with_alternatives(text: str, *alternatives: tuple[str, str]) -> Article:
    at = datetime(2025, 11, 4, tzinfo=UTC)
    return Article("https://x.ma/a/1", "x", "عنوان", text, at, at, alternatives=alternatives)


def outlet_chrome(lines: list[str]) -> RecurringLines:
    recurring = RecurringLines(k=5)
    for i in range(5):
        recurring.observe("x", lines, page=f"p{i}")
    return recurring


def test_text_that_is_all_outlet_chrome_falls_back_to_the_next_candidate() -> None:
    brief = "توقيف شخص بالدار البيضاء للاشتباه في تورطه في السرقة."
    article = with_alternatives("\n".join(STANDINGS), ("paragraphs", brief))
    settled = settle(article, outlet_chrome(STANDINGS))
    assert isinstance(settled, Article)
    assert (settled.text, settled.method, settled.alternatives) == (brief, "paragraphs", ())


def test_text_that_is_all_outlet_chrome_with_no_other_candidate_is_an_empty_rejection() -> None:
    settled = settle(with_alternatives("\n".join(STANDINGS)), outlet_chrome(STANDINGS))
    assert isinstance(settled, Rejection)
    assert settled.reason == "empty" and settled.looks_like_article


def test_a_brief_whose_every_line_the_outlet_ran_before_is_a_story_run_again_and_is_stored() -> None:
    # Its words carry clitics and suffixes the headline's do not ("مصرعه", "الحادثة").
    lines = ["لقي سائق مصرعه، صباح اليوم، في الحادثة التي شهدها الطريق السيار.", "وفتحت السلطات بحثا في الموضوع."]
    at = datetime(2025, 11, 4, tzinfo=UTC)
    brief = Article("https://x.ma/a/9", "x", "مصرع سائق في حادثة سير بالطريق السيار", "\n".join(lines), at, at)
    settled = settle(brief, outlet_chrome(lines))
    assert isinstance(settled, Article) and settled.text == brief.text


def test_settle_strips_outlet_chrome_and_keeps_the_rest() -> None:
    settled = settle(with_alternatives("سطر من المقال\n" + STANDINGS[0]), outlet_chrome(STANDINGS))
    assert isinstance(settled, Article) and settled.text == "سطر من المقال"


# --- language --------------------------------------------------------------------------------------


def test_declared_language_decides_a_text_the_detector_finds_ambiguous() -> None:
    assert detect_language("Rabat Casablanca Marrakech", declared="fr") == "fr"


def test_declared_language_does_not_override_a_text_plainly_in_another() -> None:
    text = "The council approved the budget for next year after a long debate on public works."
    assert detect_language(text, declared="fr") == "en"


def test_arabic_text_in_a_page_declared_english_is_arabic() -> None:
    assert detect_language("صادق مجلس جماعة طنجة على مشروع الميزانية", declared="en") == "ar"


# --- stored-text cap -------------------------------------------------------------------------------


def test_text_over_the_cap_is_cut_at_a_line_end_and_the_cut_is_counted() -> None:
    text = "\n".join(["سطر من عشرين حرفا تقريبا"] * 10)
    kept, cut = cap_text(text, 60)
    assert len(kept) <= 60 and kept.endswith("تقريبا")
    assert cut == len(text) - len(kept)


def test_text_under_the_cap_is_untouched() -> None:
    assert cap_text("نص قصير", 100) == ("نص قصير", 0)


def test_cap_setting_applies_to_extraction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGEST_MAX_TEXT_CHARS", "120")
    result = page("related_block.html")
    assert isinstance(result, Article)
    assert len(result.text) <= 120 and result.cut_chars > 0


LEAD = "اكتفى فريق الوداد الرياضي بالتعادل أمام مضيفه اتحاد طنجة، في المباراة التي جمعتهما مساء اليوم الأحد."
HEADLINE = "الوداد يكتفي بالتعادل أمام اتحاد طنجة"


def headed_page(header: str) -> bytes:
    """A one-paragraph article under a template's header pieces (headline, stamp, byline), in a content
    block whose class names a sidebar (trafilatura then falls back to the whole <article>)."""
    return (
        f"<html><body><article>{header}<div class='content-wrap has-sidebar'><p>{LEAD}</p></div>"
        "</article></body></html>"
    ).encode()


def test_a_date_stamp_beside_the_headline_is_not_glued_to_the_lead_paragraph() -> None:
    # Real templates set the stamp inline under the headline; it came out glued to the first
    # paragraph ("10 فبراير 2025 - 02:34 اكتفى فريق ...") where no line rule could take it off.
    page = headed_page(f"<h1>{HEADLINE}</h1><span class='post-date'>10 فبراير 2025 - 02:34</span>")
    result = extract(fetch(page))
    assert isinstance(result, Article)
    assert result.text == LEAD
    assert result.published_at == datetime(2025, 2, 10, 1, 34, tzinfo=UTC)


def test_a_byline_row_holding_the_stamp_is_not_kept() -> None:
    page = headed_page(
        f"<h1>{HEADLINE}</h1><div class='summary'><a class='author' href='/author/z-l/'><span>Zach Lezberg</span>"
        "</a> | <span class='the-date'>21 مارس 2025 - 04:40</span></div>"
    )
    result = extract(fetch(page), languages=("ar", "fr"))
    assert isinstance(result, Article)
    assert result.text == LEAD  # the byline row goes with its stamp
    assert result.author == "Zach Lezberg"  # read before the row goes


def test_a_date_inside_a_sentence_stays() -> None:
    line = "أعلنت الوزارة يوم <b>14 يناير 2025</b> عن فتح باب الترشيح لولوج مراكز التكوين."
    body = f"<html><body><h1>فتح باب الترشيح لمراكز التكوين</h1><div><p>{line}</p></div></body></html>"
    result = extract(fetch(body.encode()))
    assert isinstance(result, Article)
    # (trafilatura breaks a short paragraph's line at its inline elements; the words are what count)
    assert " ".join(result.text.split()) == "أعلنت الوزارة يوم 14 يناير 2025 عن فتح باب الترشيح لولوج مراكز التكوين."


def test_the_headline_in_a_title_bar_and_again_in_the_h1_is_not_kept() -> None:
    # A real template shows "headline | host" above its <h1>: both came out glued before the paragraph.
    page = headed_page(f"<p class='bar'>{HEADLINE} | example.ma</p><h1>{HEADLINE}</h1>")
    result = extract(fetch(page), languages=("ar", "fr"))
    assert isinstance(result, Article)
    assert result.text == LEAD


DATED_HEADLINE = "الوداد يكتفي بالتعادل أمام اتحاد طنجة في دورة 2025"


def test_a_headline_ending_in_a_year_before_a_share_toolbar_is_still_found_glued_to_the_lead() -> None:
    # A real sports template: breadcrumb, headline, "Share this: Click to share ..." came out as one line
    # with the lead; the Latin run took the headline's year with it, and the headline was kept.
    page = headed_page(
        "<h6><a href='/sports/'>Sports</a></h6><h6><a href='/sports/botola/'>Botola Pro</a></h6>"
        f"<h1>{DATED_HEADLINE}</h1>"
        "<div class='share'>Share this: Click to share on Facebook (Opens in new window)</div>"
    )
    result = extract(fetch(page), languages=("ar", "fr"))
    assert isinstance(result, Article)
    assert result.text == LEAD


@pytest.mark.parametrize(
    "between",
    [
        # a page builder's own heading glued between the headline and a brief
        "<div class='banner'><h1>Graphic Design Courses</h1></div>",
        # a photo credit
        "<figure><img src='/a.jpg'><figcaption>© Aaron Schwartz</figcaption></figure>",
    ],
)
def test_a_latin_heading_or_credit_between_the_headline_and_the_lead_is_not_kept(between: str) -> None:
    result = extract(fetch(headed_page(f"<h1>{HEADLINE}</h1>{between}")), languages=("ar", "fr"))
    assert isinstance(result, Article)
    assert result.text == LEAD


def test_a_foreign_name_of_three_words_inside_an_arabic_sentence_stays() -> None:
    line = "وقال مدرب الفريق Walid Regragui Junior إن المباراة كانت صعبة على اللاعبين في الشوط الثاني."
    body = f"<html><body><h1>{HEADLINE}</h1><div><p>{LEAD}</p><p>{line}</p></div></body></html>"
    result = extract(fetch(body.encode()), languages=("ar", "fr"))
    assert isinstance(result, Article)
    assert "Walid Regragui Junior" in result.text


def test_dates_in_a_data_table_of_the_article_are_data_not_stamps() -> None:
    rows = "".join(
        f"<tr><td>{team}</td><td>{day} مارس 2025</td></tr>" for team, day in (("الوداد", 14), ("الرجاء", 21))
    )
    body = (
        f"<html><body><h1>{HEADLINE}</h1><article><p>{LEAD}</p>"
        "<p>وهذا برنامج المباريات المقبلة للفريقين في البطولة الوطنية:</p>"
        f"<table>{rows}</table></article></body></html>"
    )
    result = extract(fetch(body.encode()), languages=("ar", "fr"))
    assert isinstance(result, Article)
    assert "14 مارس 2025" in result.text and "21 مارس 2025" in result.text


def test_a_brief_the_pages_paragraphs_agree_with_is_settled_without_trafilaturas_second_looks() -> None:
    # Full and recall modes ran on every brief and cost 32 of the 57 ms such a page took in a real
    # template; when the page's paragraphs and the headline's block hold no more, the brief is the article.
    sections = ("سياسة", "اقتصاد", "رياضة", "ثقافة")
    menu = "".join(f"<li><a href='/c/{i}'>{name}</a></li>" for i, name in enumerate(sections))
    rights = "جميع الحقوق محفوظة لموقعنا الإخباري، ويمنع نقل المواد دون إذن مكتوب من إدارة التحرير."
    footer = f"<footer><p>{rights}</p></footer>"
    body = (
        f"<html><body><header><nav><ul>{menu}</ul></nav></header><main><article><h1>{HEADLINE}</h1>"
        f"<div class='entry-content'><p>{LEAD}</p></div></article></main>{footer}</body></html>"
    )
    result = extract(fetch(body.encode()))
    assert isinstance(result, Article)
    assert result.text == LEAD
    assert not {method for method, _ in result.alternatives} & {"trafilatura-full", "trafilatura-recall"}
