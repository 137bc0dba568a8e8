"""Discovery parsing on real-shaped snippets: feeds, sitemaps, robots, listings, sniffing."""

from __future__ import annotations

import gzip
import zlib
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ingest.crawl import discovery

BASE = "https://www.x.ma/"

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>X</title>
<item><title>الحكومة تصادق</title><link>https://www.x.ma/news/1.html</link>
<pubDate>Mon, 16 Nov 2026 10:00:00 +0100</pubDate></item>
<item><title>بدون رابط</title><guid isPermaLink="true">https://www.x.ma/news/2.html</guid>
<dc:date>2026-11-16T08:00:00Z</dc:date></item>
<item><title>guid not a link</title><guid isPermaLink="false">abc-3</guid></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>X</title>
<entry><title>مقال</title><link rel="alternate" href="/news/5"/><link rel="edit" href="/edit/5"/>
<published>2026-11-17T12:30:00+01:00</published></entry></feed>"""


def test_rss_items_give_link_title_and_date() -> None:
    first, second = discovery.parse_feed(RSS.encode(), BASE)
    assert first == discovery.FeedEntry(
        "https://www.x.ma/news/1.html", "الحكومة تصادق", datetime(2026, 11, 16, 9, tzinfo=UTC)
    )
    assert second.url == "https://www.x.ma/news/2.html" and second.published == datetime(2026, 11, 16, 8, tzinfo=UTC)


def test_atom_entries_give_alternate_link_and_date() -> None:
    [entry] = discovery.parse_feed(ATOM.encode(), BASE)
    assert entry.url == "https://www.x.ma/news/5"
    assert entry.published == datetime(2026, 11, 17, 11, 30, tzinfo=UTC)


def test_date_without_offset_is_read_in_the_source_time_zone() -> None:
    got = discovery.parse_date("2026-07-01 12:00:00", ZoneInfo("Africa/Casablanca"))
    assert got == datetime(2026, 7, 1, 11, tzinfo=UTC)


def test_broken_or_hostile_xml_does_not_raise_or_expand_entities() -> None:
    xxe = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>' \
          b"<rss><channel><item><title>&e;</title><link>/news/1</link></item></channel></rss>"  # fmt: skip
    [entry] = discovery.parse_feed(xxe, BASE)
    assert "root:" not in (entry.title or "")
    assert discovery.parse_feed(b"<rss><channel><item><link>/a", BASE) == [] or True  # no exception
    assert discovery.parse_feed(b"", BASE) == []


def test_feed_links_found_in_html_head() -> None:
    html = b"""<html><head><link rel="alternate" type="application/rss+xml" href="/feed/">
    <link rel="alternate" type="application/atom+xml" href="https://www.x.ma/atom.xml">
    <link rel="alternate" hreflang="fr" href="/fr/"><link rel="stylesheet" href="/s.css"></head></html>"""
    assert discovery.feed_links(html, BASE) == ["https://www.x.ma/feed/", "https://www.x.ma/atom.xml"]


def test_robots_sitemap_lines_are_found() -> None:
    robots = b"User-agent: *\nDisallow: /wp-admin/\nsitemap: https://www.x.ma/sitemap_index.xml\n" \
             b"SITEMAP:/news-sitemap.xml # relative\n"  # fmt: skip
    assert discovery.robots_sitemaps(robots, BASE) == [
        "https://www.x.ma/sitemap_index.xml", "https://www.x.ma/news-sitemap.xml"]  # fmt: skip


INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://www.x.ma/post-sitemap1.xml</loc><lastmod>2026-11-01T10:00:00+00:00</lastmod></sitemap>
<sitemap><loc>https://www.x.ma/post-sitemap2.xml.gz</loc></sitemap></sitemapindex>"""

NEWS = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://www.x.ma/news/9</loc><lastmod>2026-11-20</lastmod>
<news:news><news:publication><news:name>X</news:name><news:language>ar</news:language></news:publication>
<news:publication_date>2026-11-19T22:15:00+01:00</news:publication_date><news:title>عنوان الخبر</news:title>
</news:news></url></urlset>"""


def test_sitemap_index_lists_children_with_lastmod() -> None:
    doc = discovery.parse_sitemap(INDEX, BASE)
    assert doc.kind == "index"
    assert [(e.url, e.lastmod) for e in doc.entries] == [
        ("https://www.x.ma/post-sitemap1.xml", datetime(2026, 11, 1, 10, tzinfo=UTC)),
        ("https://www.x.ma/post-sitemap2.xml.gz", None),
    ]


def test_google_news_sitemap_gives_title_and_publication_date() -> None:
    [entry] = discovery.parse_sitemap(NEWS.encode(), BASE).entries
    assert entry.title == "عنوان الخبر"
    assert entry.published == datetime(2026, 11, 19, 21, 15, tzinfo=UTC)
    assert entry.lastmod == datetime(2026, 11, 20, tzinfo=UTC)


def test_gzip_sitemap_recognised_by_magic_bytes() -> None:
    doc = discovery.parse_sitemap(gzip.compress(NEWS.encode()), BASE)
    assert doc.kind == "urlset" and len(doc.entries) == 1


def test_gzip_bomb_is_cut_at_the_size_cap() -> None:
    bomb = gzip.compress(b"<urlset>" + b" " * 5_000_000)
    assert len(discovery.gunzip_if_gzipped(bomb, max_size=1000)) == 1000


def test_html_is_not_a_sitemap() -> None:
    assert discovery.parse_sitemap(b"<html><body>hi</body></html>", BASE).kind == "unknown"


LISTING = """<html><head><meta charset="utf-8"><base href="https://www.x.ma/politique/"></head><body>
<article><a href="/news/1">أ</a><time datetime="2026-11-10T09:00:00+01:00">10</time></article>
<article><a href="news/2?utm_source=x">ب</a><time datetime="2026-11-09">9</time></article>
<a href="javascript:void(0)">js</a><a href="#top">top</a>
<nav><a class="next page-numbers" href="/politique/page/2/">التالي</a></nav></body></html>"""


def test_listing_links_and_next_page() -> None:
    page = discovery.parse_listing(LISTING.encode(), BASE, "a.next")
    assert page.links[:2] == ["https://www.x.ma/news/1", "https://www.x.ma/politique/news/2?utm_source=x"]
    assert page.next_url == "https://www.x.ma/politique/page/2/"


def test_listing_time_elements_give_dates() -> None:
    page = discovery.parse_listing(LISTING.encode(), BASE)
    assert max(page.dates) == datetime(2026, 11, 10, 8, tzinfo=UTC)


def test_listing_without_selector_uses_rel_next() -> None:
    html = b'<html><head><link rel="next" href="?page=2"></head><body></body></html>'
    assert discovery.parse_listing(html, "https://x.ma/cat").next_url == "https://x.ma/cat?page=2"


def test_listing_page_url_template() -> None:
    assert discovery.listing_page_url("https://x.ma/c/page/{page}/", 3) == "https://x.ma/c/page/3/"


def test_html_sniffing_uses_content_type_and_the_body() -> None:
    assert discovery.not_html("text/html; charset=windows-1256", b"<html>") is None
    assert discovery.not_html("text/html", b"%PDF-1.4") == "binary or empty body"
    assert discovery.not_html("application/pdf", b"<html>") == "content-type application/pdf"
    assert discovery.not_html("application/octet-stream", b"\xef\xbb\xbf  <!DOCTYPE html><html>") is None
    assert discovery.not_html("", b"<!-- cms --><html lang=ar>") is None
    assert discovery.not_html("text/plain", b"just text") == "no HTML markup"
    # One rule with extraction's: a page served as text/plain is a page, a text/html body without markup is not.
    assert discovery.not_html("text/plain", b"<html><body><p>\xd8\xae\xd8\xa8\xd8\xb1</p></body></html>") is None
    assert discovery.not_html("text/html", b"404 not found") == "no HTML markup"
    assert discovery.not_html("text/html", "<html><p>نص</p></html>".encode("utf-16")) is None


# ------------------------------------------------------------------ bounded sitemap and feed reading


def _urlset(n: int) -> bytes:
    head = '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    return (head + "".join(f"<url><loc>{BASE}a/{i}</loc></url>" for i in range(n)) + "</urlset>").encode()


def test_sitemap_of_exactly_50000_entries_is_read_whole() -> None:
    doc = discovery.parse_sitemap(_urlset(50_000), BASE)
    assert len(doc.entries) == 50_000 and doc.problem is None


def test_sitemap_over_50000_entries_gives_the_first_50000_and_says_too_large() -> None:
    doc = discovery.parse_sitemap(gzip.compress(_urlset(50_001)), BASE)
    assert doc.kind == "urlset" and len(doc.entries) == 50_000 and doc.problem == "too-large"
    assert doc.entries[-1].url == f"{BASE}a/49999"


def test_gzip_bomb_is_too_large_before_it_is_unpacked() -> None:
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    bomb = b"".join(packer.compress(b"\0" * (1 << 20)) for _ in range(80)) + packer.flush()  # 80 MiB
    assert discovery.parse_sitemap(bomb, BASE) == discovery.SitemapDoc("unknown", [], "too-large")


def test_gzip_bomb_with_a_lying_trailer_stops_at_the_byte_cap() -> None:
    head = _urlset(3).removesuffix(b"</urlset>")
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    junk = b"<x/>" * (1 << 18)  # 16 M elements in all: a tree of them would take gigabytes
    body = packer.compress(head) + b"".join(packer.compress(junk) for _ in range(70)) + packer.flush()
    doc = discovery.parse_sitemap(body[:-4] + b"\0\0\0\0", BASE)  # the trailer now says 0 bytes
    assert len(doc.entries) == 3 and doc.problem == "too-large"


def test_entry_stuffed_with_elements_is_too_large() -> None:
    body = _urlset(2).replace(b"</loc></url>", b"</loc>" + b"<x/>" * 200_000 + b"</url>", 1)
    doc = discovery.parse_sitemap(body, BASE)
    assert doc.entries == [] and doc.problem == "too-large"


def test_document_with_another_root_is_not_read() -> None:
    body = b"<html>" + b"<url><loc>https://www.x.ma/a</loc></url>" * 100 + b"</html>"
    assert discovery.parse_sitemap(body, BASE) == discovery.SitemapDoc("unknown", [], None)


def test_xml_error_is_reported_and_the_entries_after_it_are_still_read() -> None:
    body = _urlset(4).replace(b"</loc></url><url>", b"</loc><changefreq>a & b</changefreq></url><url>", 1)
    doc = discovery.parse_sitemap(body.removesuffix(b"</urlset>"), BASE)
    assert len(doc.entries) == 4 and doc.problem == "xml-error"


def test_document_of_nul_bytes_is_given_up_quickly() -> None:
    doc = discovery.parse_sitemap(_urlset(2).removesuffix(b"</urlset>") + b"\0" * (8 << 20), BASE)
    assert len(doc.entries) == 2 and doc.problem == "xml-error"


def test_feed_reports_an_xml_error_and_reads_on() -> None:
    rss = b"<rss><channel><item><link>/a</link><title>x & y</title></item><item><link>/b</link></item>"
    doc = discovery.read_feed(rss, BASE)
    assert doc.kind == "feed" and [e.url for e in doc.entries] == [BASE + "a", BASE + "b"]
    assert doc.problem == "xml-error"
