"""Metadata of stored articles: headline, dates (UTC), author, section, image, canonical URL, language."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ingest.extract.extractor import clean_title, detect_language, extract
from ingest.records import Article, FetchedPage

PAGES = Path(__file__).parent / "pages"
FETCHED_AT = datetime(2025, 5, 16, 12, 0, tzinfo=UTC)


def article(name: str, url: str = "https://www.sousalyoum.ma/?p=1234", **kw: object) -> Article:
    page = FetchedPage(
        url=url,
        final_url=url,
        status=200,
        headers={"content-type": "text/html"},
        body=(PAGES / name).read_bytes(),
        source="x",
        fetched_at=FETCHED_AT,
        **kw,  # type: ignore[arg-type]
    )
    result = extract(page, languages=("ar", "fr"))
    assert isinstance(result, Article), result
    return result


def test_title_drops_site_name_suffix() -> None:
    assert article("wordpress_comments.html").title == "جماعة تزنيت تطلق برنامجا لتأهيل الأسواق الأسبوعية"


def test_title_drops_section_label_and_site_name() -> None:
    sites = {"الانباء المغربيه"}
    title = "مجتمع | ارتفاع أسعار الخضر يثقل كاهل الأسر | الأنباء المغربية"
    assert clean_title(title, sites, "مجتمع") == "ارتفاع أسعار الخضر يثقل كاهل الأسر"


def test_title_drops_site_name_prefix() -> None:
    assert clean_title("هسبريس: الحكومة تصادق على مشروع القانون", {"هسبريس"}) == "الحكومة تصادق على مشروع القانون"


def test_title_keeps_a_dash_that_belongs_to_the_headline() -> None:
    title = "الرجاء - الوداد: تعادل مثير في الديربي - رياضة 24"
    assert clean_title(title, {"رياضه 24"}) == "الرجاء - الوداد: تعادل مثير في الديربي"


def test_title_prefers_h1_matching_og_title() -> None:
    assert article("french.html").title == "Casablanca : le tramway prolonge ses horaires pendant l’été"


def test_published_and_updated_come_from_meta_in_utc() -> None:
    result = article("wordpress_comments.html")
    assert result.published_at == datetime(2025, 5, 16, 9, 45, tzinfo=UTC)
    assert result.updated_at == datetime(2025, 5, 16, 11, 5, tzinfo=UTC)


def test_visible_arabic_indic_date_with_sabahan_is_read_in_casablanca_time() -> None:
    assert article("custom_cms.html").published_at == datetime(2025, 5, 15, 8, 30, tzinfo=UTC)


def test_visible_french_date_is_read() -> None:
    assert article("french.html").published_at == datetime(2025, 5, 16, 9, 45, tzinfo=UTC)


def test_feed_hint_date_is_used_only_when_the_page_has_none() -> None:
    hint = datetime(2025, 6, 2, 17, 0, tzinfo=UTC)
    assert article("jsonld_only.html", hint_published=hint).published_at == hint
    assert article("wordpress_comments.html", hint_published=hint).published_at != hint


def test_author_byline_prefix_is_stripped() -> None:
    assert article("wordpress_comments.html").author == "عبد الله الحسني"
    assert article("french.html").author == "Nadia Benjelloun"


def test_jsonld_author_section_and_image_are_read() -> None:
    result = article("jsonld_only.html")
    assert (result.author, result.section) == ("سعيد بنعلي", "رياضة")
    assert result.image_url == "https://www.riyada24.ma/img/lions.jpg"


def test_section_and_og_image_come_from_meta() -> None:
    result = article("wordpress_comments.html")
    assert result.section == "جهات"
    assert result.image_url == "https://www.sousalyoum.ma/wp-content/uploads/2025/05/souk.jpg"


def test_canonical_on_the_same_site_replaces_the_fetched_url() -> None:
    result = article("wordpress_comments.html")
    assert result.url.startswith("https://www.sousalyoum.ma/2025/05/16/tiznit-souks/")
    assert result.fetched_url == "https://www.sousalyoum.ma/?p=1234"


def test_canonical_on_another_site_is_ignored() -> None:
    result = article("wordpress_comments.html", url="https://www.aggregator.ma/news/991")
    assert result.url == "https://www.aggregator.ma/news/991"


def test_canonical_pointing_to_the_homepage_is_ignored() -> None:
    result = article("custom_cms.html", url="https://www.alanbaa.ma/society/5512")
    assert result.url == "https://www.alanbaa.ma/society/5512"


def test_language_is_detected_by_script_then_stopwords() -> None:
    assert detect_language("أعلنت الحكومة اليوم عن برنامج جديد") == "ar"
    assert detect_language("Le gouvernement a annoncé un nouveau programme pour les jeunes") == "fr"
    assert detect_language("The government announced a new programme for the youth") == "en"
    assert detect_language("ⴰⵎⴰⵣⵉⵖ ⵜⴰⵎⴰⵣⵉⵖⵜ") == "zgh"
    assert detect_language("12345 !!") is None


def test_fetched_at_is_utc() -> None:
    assert article("custom_cms.html").fetched_at == FETCHED_AT


def test_meta_tags_are_read_by_name_property_itemprop_and_http_equiv() -> None:
    from lxml.html import fromstring

    from ingest.extract.html import meta_map

    tree = fromstring(
        '<html><head><meta property="og:type" content=" article "><meta name="Author" content="هيئة التحرير">'
        '<meta http-equiv="Content-Language" content="ar"><meta name="author" content="second">'
        '<meta itemprop="datePublished" content="2026-11-20"></head><body></body></html>'
    )
    assert meta_map(tree) == {
        "og:type": "article",
        "author": "هيئة التحرير",
        "content-language": "ar",
        "datepublished": "2026-11-20",
    }
