"""The crawl against a real local HTTP server, one behaviour per test (each crawl in its own process)."""

from __future__ import annotations

import gzip
from typing import Any

from tests.crawl.crawlkit import Reply, TestWeb, article_html, crawl

ARTICLE = r"/news/\d+"


def rss(web: TestWeb, *items: tuple[str, str, str]) -> str:
    body = "".join(
        f"<item><title>{t}</title><link>{web.url(p)}</link><pubDate>{d}</pubDate></item>" for p, t, d in items
    )
    head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>x</title>'
    return f"{head}{body}</channel></rss>"


def source(web: TestWeb, **kw: Any) -> dict[str, Any]:
    return {
        "name": "outlet",
        "homepage": web.url("/"),
        "article_url_pattern": ARTICLE,
        "discover_feeds": False,
        "allow_private_hosts": ["127.0.0.1"],  # the test server; production allows none
        **kw,
    }


def serve_articles(web: TestWeb, *ids: int) -> None:
    for i in ids:
        web.add(f"/news/{i}", article_html(f"مقال {i}"))


def test_feed_articles_are_fetched_with_hints(web: TestWeb) -> None:
    web.add("/feed", rss(web, ("/news/1", "عنوان أول", "Mon, 16 Nov 2026 10:00:00 +0100")), "application/rss+xml")
    serve_articles(web, 1)
    result = crawl([source(web, feeds=[web.url("/feed")])])
    [page] = result.accepted
    assert page["url"] == web.url("/news/1")
    assert page["hint_title"] == "عنوان أول"
    assert page["hint_published"] == "2026-11-16T09:00:00+00:00"
    assert page["status"] == 200 and page["source"] == "outlet"
    assert page["headers"]["content-type"].startswith("text/html")
    assert result.report["pages"] == 1 and result.report["discovery"]["feed"] == 1
    assert result.progress == ["outlet"]


def test_robots_disallowed_path_is_never_requested(web: TestWeb) -> None:
    web.add("/robots.txt", "User-agent: *\nDisallow: /news/2\n", content_type="text/plain")
    web.add("/feed", rss(web, ("/news/1", "a", ""), ("/news/2", "b", "")), "application/rss+xml")
    serve_articles(web, 1, 2)
    result = crawl([source(web, feeds=[web.url("/feed")])])
    assert "/news/2" not in web.paths()
    assert result.accepted_urls() == [web.url("/news/1")]
    assert result.reasons() == {web.url("/news/2"): "robots-disallowed"}


def test_robots_txt_is_fetched_once(web: TestWeb) -> None:
    web.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    web.add("/feed", rss(web, ("/news/1", "a", "")), "application/rss+xml")
    serve_articles(web, 1)
    crawl([source(web, feeds=[web.url("/feed")])])
    assert web.count("/robots.txt") == 1


def test_feed_answered_304_is_not_parsed(web: TestWeb) -> None:
    feed = rss(web, ("/news/1", "a", ""))

    def conditional(req: dict[str, str]) -> Reply:
        if req.get("if-none-match") == '"v1"':
            return Reply(304, b"", {"ETag": '"v1"'})
        return Reply(200, feed.encode(), {"ETag": '"v1"', "Content-Type": "application/rss+xml"})

    web.handle("/feed", conditional)
    serve_articles(web, 1)
    result = crawl([source(web, feeds=[web.url("/feed")])], validators={web.url("/feed"): {"etag": '"v1"'}})
    assert "/news/1" not in web.paths()
    assert result.report["not_modified"] == 1
    [rec] = [r for r in result.recorded if r["kind"] == "feed"]
    assert rec["status"] == 304 and rec["validators"]["etag"] == '"v1"'


def test_known_urls_are_not_fetched_again(web: TestWeb) -> None:
    web.add("/feed", rss(web, ("/news/1", "a", ""), ("/news/2", "b", "")), "application/rss+xml")
    serve_articles(web, 1, 2)
    result = crawl([source(web, feeds=[web.url("/feed")])], known=[web.url("/news/1")])
    assert "/news/1" not in web.paths()
    assert result.accepted_urls() == [web.url("/news/2")]
    assert result.report["skipped_known"] == 1 and result.report["articles_seen"] == 2


def test_tracking_duplicates_are_fetched_once(web: TestWeb) -> None:
    web.add(
        "/feed",
        rss(
            web,
            ("/news/1?utm_source=fb&fbclid=x", "a", ""),
            ("/news/1#comments", "a", ""),
            ("/news/1", "a", ""),
        ),
        "application/rss+xml",
    )
    serve_articles(web, 1)
    result = crawl([source(web, feeds=[web.url("/feed")])])
    assert [p for p in web.paths() if p.startswith("/news/")] == ["/news/1"]
    assert result.accepted_urls() == [web.url("/news/1")]


def test_offsite_redirect_is_rejected(web: TestWeb) -> None:
    offsite = f"http://localhost:{web.port}/news/9"  # same server, other host name: offsite
    web.add("/feed", rss(web, ("/news/1", "a", "")), "application/rss+xml")
    web.add("/news/1", status=302, headers={"Location": offsite})
    serve_articles(web, 9)
    result = crawl([source(web, feeds=[web.url("/feed")])])
    assert not any(h.host.startswith("localhost") for h in web.hits)
    assert result.reasons() == {web.url("/news/1"): "offsite-redirect"}
    assert result.accepted == []


def test_onsite_redirect_keeps_requested_and_final_url(web: TestWeb) -> None:
    web.add("/feed", rss(web, ("/news/1", "a", "")), "application/rss+xml")
    web.add("/news/1", status=301, headers={"Location": "/news/100"})
    serve_articles(web, 100)
    [page] = crawl([source(web, feeds=[web.url("/feed")])]).accepted
    assert page["url"] == web.url("/news/1") and page["final_url"] == web.url("/news/100")


def test_retry_after_is_honoured(web: TestWeb) -> None:
    calls: list[int] = []

    def busy_then_ok(_req: dict[str, str]) -> Reply:
        calls.append(1)
        if len(calls) == 1:
            return Reply(429, b"slow down", {"Retry-After": "2"})
        return Reply(200, article_html("ok").encode())

    web.add("/feed", rss(web, ("/news/1", "a", "")), "application/rss+xml")
    web.handle("/news/1", busy_then_ok)
    result = crawl([source(web, feeds=[web.url("/feed")])])
    first, second = [h.at for h in web.hits if h.path == "/news/1"]
    assert second - first >= 1.9
    assert result.accepted_urls() == [web.url("/news/1")]


def test_server_errors_are_retried_then_recorded(web: TestWeb) -> None:
    web.add("/feed", rss(web, ("/news/1", "a", "")), "application/rss+xml")
    web.add("/news/1", "boom", status=500)
    result = crawl([source(web, feeds=[web.url("/feed")])], settings={"retry_times": 2})
    assert web.count("/news/1") == 3
    assert result.reasons() == {web.url("/news/1"): "http-500"}
    assert result.report["errors"] == {"http-500": 1}


def test_http_404_is_rejected_and_recorded(web: TestWeb) -> None:
    web.add("/feed", rss(web, ("/news/404", "a", "")), "application/rss+xml")
    result = crawl([source(web, feeds=[web.url("/feed")])])
    assert result.reasons() == {web.url("/news/404"): "http-404"}
    [rec] = [r for r in result.recorded if r["kind"] == "article"]
    assert rec["status"] == 404 and rec["error"] == "http-404"


def test_article_on_a_host_that_refuses_connections_is_refused_robots_unavailable(web: TestWeb) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    web.add("/feed", f"<rss><channel><item><link>http://127.0.0.1:{dead}/news/1</link></item></channel></rss>",
            "application/rss+xml")  # fmt: skip
    result = crawl([source(web, feeds=[web.url("/feed")])], settings={"retry_times": 0})
    # Its robots.txt is asked first and cannot be had: RFC 9309 says disallow, not "allow all".
    assert result.reasons() == {f"http://127.0.0.1:{dead}/news/1": "robots-unavailable"}
    [robots] = [r for r in result.recorded if r["url"] == f"http://127.0.0.1:{dead}/robots.txt"]
    assert robots["error"].startswith("robots-unavailable") and robots["status"] == 0


def test_oversized_page_is_rejected_too_large(web: TestWeb) -> None:
    web.add("/feed", rss(web, ("/news/1", "a", ""), ("/news/2", "b", "")), "application/rss+xml")
    web.add("/news/1", "<html>" + "x" * 5000 + "</html>")
    serve_articles(web, 2)
    result = crawl([source(web, feeds=[web.url("/feed")])], settings={"max_page_bytes": 2048})
    assert result.reasons() == {web.url("/news/1"): "too-large"}
    assert result.accepted_urls() == [web.url("/news/2")]


def test_non_html_article_is_skipped(web: TestWeb) -> None:
    web.add("/feed", rss(web, ("/news/1", "a", ""), ("/news/2", "b", "")), "application/rss+xml")
    web.add("/news/1", b"%PDF-1.7 binary", "application/pdf")
    web.add("/news/2", b"%PDF-1.7 binary", "text/html")  # a lying Content-Type
    result = crawl([source(web, feeds=[web.url("/feed")])])
    assert result.reasons() == {web.url("/news/1"): "not-html", web.url("/news/2"): "not-html"}


def test_body_is_passed_undecoded(web: TestWeb) -> None:
    body = '<html><head><meta charset="windows-1256"></head><body><p>مرحبا</p></body></html>'.encode("cp1256")
    web.add("/feed", rss(web, ("/news/1", "a", "")), "application/rss+xml")
    web.add("/news/1", body, "text/html")
    [page] = crawl([source(web, feeds=[web.url("/feed")])]).accepted
    assert bytes.fromhex(page["body_hex"]) == body


def test_feed_is_discovered_from_homepage_link(web: TestWeb) -> None:
    web.add("/", '<html><head><link rel="alternate" type="application/rss+xml" href="/rss.xml"></head></html>')
    web.add("/rss.xml", rss(web, ("/news/1", "a", "")), "application/rss+xml")
    serve_articles(web, 1)
    result = crawl([source(web, discover_feeds=True)])
    assert result.accepted_urls() == [web.url("/news/1")]
    assert "/feed/" not in web.paths()


def test_wordpress_feed_path_is_tried_when_nothing_is_advertised(web: TestWeb) -> None:
    web.add("/", "<html><head></head><body>no feed here</body></html>")
    web.add("/feed/", rss(web, ("/news/1", "a", "")), "application/rss+xml")
    serve_articles(web, 1)
    result = crawl([source(web, discover_feeds=True)])
    assert result.accepted_urls() == [web.url("/news/1")]
    assert result.report["errors"] == {}  # the missing /rss guess is not an error


def test_sitemap_index_with_gzip_child_is_followed(web: TestWeb) -> None:
    web.add("/robots.txt", f"User-agent: *\nAllow: /\nSitemap: {web.url('/sitemap_index.xml')}\n", "text/plain")
    web.add("/sitemap_index.xml", f"""<?xml version="1.0"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{web.url('/posts.xml.gz')}</loc><lastmod>2026-11-20</lastmod></sitemap></sitemapindex>""",
            "application/xml")  # fmt: skip
    child = f"""<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>{web.url("/news/1")}</loc></url><url><loc>{web.url("/about")}</loc></url></urlset>"""
    web.add("/posts.xml.gz", gzip.compress(child.encode()), "application/octet-stream")
    serve_articles(web, 1)
    result = crawl([source(web)])
    assert result.accepted_urls() == [web.url("/news/1")]
    assert result.report["discovery"]["sitemap"] == 1


def test_sitemap_child_not_modified_since_last_fetch_is_skipped(web: TestWeb) -> None:
    web.add("/sitemap.xml", f"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{web.url('/s1.xml')}</loc><lastmod>2026-11-01T00:00:00Z</lastmod></sitemap></sitemapindex>""",
            "application/xml")  # fmt: skip
    result = crawl(
        [source(web, sitemaps=[web.url("/sitemap.xml")])],
        validators={web.url("/s1.xml"): {"last_modified": "Mon, 02 Nov 2026 00:00:00 GMT"}},
    )
    assert "/s1.xml" not in web.paths()
    assert result.report["not_modified"] == 1


def _index_of_five_children(web: TestWeb) -> None:
    kids = "".join(
        f"<sitemap><loc>{web.url(f'/s{i}.xml')}</loc><lastmod>2026-11-0{i}T00:00:00Z</lastmod></sitemap>"
        for i in range(1, 6)
    )
    web.add("/sitemap.xml", f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{kids}</sitemapindex>',
            "application/xml")  # fmt: skip
    for i in range(1, 6):
        web.add(f"/s{i}.xml", f"""<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>{web.url(f"/news/{i}")}</loc></url></urlset>""", "application/xml")  # fmt: skip
    serve_articles(web, 1, 2, 3, 4, 5)


def test_first_normal_run_reads_every_sitemap_child(web: TestWeb) -> None:
    _index_of_five_children(web)
    result = crawl([source(web, sitemaps=[web.url("/sitemap.xml")])])
    assert sorted(result.accepted_urls()) == [web.url(f"/news/{i}") for i in range(1, 6)]


def test_later_normal_run_reads_only_the_newest_known_children(web: TestWeb) -> None:
    _index_of_five_children(web)
    fetched = {web.url(f"/s{i}.xml"): {"etag": f'"s{i}"'} for i in range(1, 6)}
    crawl([source(web, sitemaps=[web.url("/sitemap.xml")])], validators=fetched)
    assert sorted(p for p in web.paths() if p.startswith("/s") and p != "/sitemap.xml") == ["/s4.xml", "/s5.xml"]


def test_backfill_skips_news_sitemap_entries_outside_the_window(web: TestWeb) -> None:
    entries = "".join(
        f"""<url><loc>{web.url(f"/news/{i}")}</loc><news:news><news:title>t{i}</news:title>
<news:publication_date>{d}</news:publication_date></news:news></url>"""
        for i, d in [
            (1, "2026-10-01T10:00:00Z"),
            (2, "2026-11-10T10:00:00+01:00"),
            (3, "2026-11-21T10:00:00Z"),
        ]
    )
    web.add(
        "/news.xml",
        f"""<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{entries}</urlset>""",
        "application/xml",
    )
    serve_articles(web, 1, 2, 3)
    result = crawl([source(web, sitemaps=[web.url("/news.xml")])], since="2026-11-01T00:00:00+00:00",
                   until="2026-11-15T00:00:00+00:00")  # fmt: skip
    [page] = result.accepted
    assert page["url"] == web.url("/news/2")
    assert page["hint_title"] == "t2" and page["hint_published"] == "2026-11-10T09:00:00+00:00"


def endless_listing(web: TestWeb, pages: int = 1000) -> None:
    """Every page links 3 new articles and a next page: an infinite pager."""
    for n in range(1, pages):
        links = "".join(f'<a href="/news/{n * 10 + k}">x</a>' for k in range(3))
        web.add(f"/list/{n}", f'<html><body>{links}<a class="next" href="/list/{n + 1}">next</a></body></html>')


def test_listing_pagination_stops_at_max_pages(web: TestWeb) -> None:
    endless_listing(web)
    listing = {"url": web.url("/list/1"), "next": "a.next", "max_pages": 4}
    result = crawl([source(web, listings=[listing])])
    assert [p for p in web.paths() if p.startswith("/list/")] == ["/list/1", "/list/2", "/list/3", "/list/4"]
    assert result.report["discovery"]["listing"] == 12


def test_listing_stops_at_a_page_of_known_urls(web: TestWeb) -> None:
    endless_listing(web, 20)
    listing = {"url": web.url("/list/1"), "next": "a.next", "max_pages": 50}
    known = [web.url(f"/news/{n * 10 + k}") for n in range(2, 20) for k in range(3)]
    result = crawl([source(web, listings=[listing])], known=known)
    assert [p for p in web.paths() if p.startswith("/list/")] == ["/list/1", "/list/2"]
    assert len(result.accepted) == 0  # page 1 articles 404 here; what matters is where the walk stopped


def test_listing_next_link_back_to_a_visited_page_ends_the_walk(web: TestWeb) -> None:
    web.add("/cal/1", '<html><a href="/news/1">a</a><a class="next" href="/cal/2">n</a></html>')
    web.add("/cal/2", '<html><a href="/news/2">b</a><a class="next" href="/cal/1">n</a></html>')
    serve_articles(web, 1, 2)
    crawl([source(web, listings=[{"url": web.url("/cal/1"), "next": "a.next"}])])
    assert [p for p in web.paths() if p.startswith("/cal/")] == ["/cal/1", "/cal/2"]


def test_every_fetch_is_recorded_in_the_frontier(web: TestWeb) -> None:
    web.add("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain")
    web.add("/feed", rss(web, ("/news/1", "a", "")), "application/rss+xml", headers={"ETag": '"e1"'})
    serve_articles(web, 1)
    result = crawl([source(web, feeds=[web.url("/feed")])])
    kinds = {r["kind"]: r for r in result.recorded}
    assert set(kinds) == {"robots", "feed", "article"}
    assert kinds["feed"]["validators"]["etag"] == '"e1"'
    assert kinds["article"]["content_hash"] and kinds["article"]["status"] == 200


def test_sources_run_in_one_process_with_a_report_each(web: TestWeb) -> None:
    web.add("/feed", rss(web, ("/news/1", "a", "")), "application/rss+xml")
    web.add("/feed2", rss(web, ("/news/2", "b", "")), "application/rss+xml")
    serve_articles(web, 1, 2)
    result = crawl([source(web, feeds=[web.url("/feed")]), source(web, name="other", feeds=[web.url("/feed2")])])
    assert [r["source"] for r in result.reports] == ["outlet", "other"]
    assert {p["source"]: p["url"] for p in result.accepted} == {
        "outlet": web.url("/news/1"), "other": web.url("/news/2")}  # fmt: skip


def test_listing_page_url_template_is_followed(web: TestWeb) -> None:
    endless_listing(web, 20)
    listing = {"url": web.url("/list/1"), "page_url": web.url("/list/{page}"), "max_pages": 3}
    crawl([source(web, listings=[listing])])
    assert [p for p in web.paths() if p.startswith("/list/")] == ["/list/1", "/list/2", "/list/3"]


def test_robots_crawl_delay_spaces_the_sources_requests(web: TestWeb) -> None:
    web.add("/robots.txt", "User-agent: *\nCrawl-delay: 1\nAllow: /\n", "text/plain")
    items = [(f"/news/{i}", f"عنوان {i}", "Mon, 16 Nov 2026 10:00:00 +0100") for i in (1, 2, 3)]
    web.add("/feed", rss(web, *items), "application/rss+xml")
    serve_articles(web, 1, 2, 3)
    result = crawl([source(web, feeds=[web.url("/feed")])])
    assert len([h for h in web.hits if h.path.startswith("/news/")]) == 3
    # The source's download slot waits the asked delay between requests; Scrapy measures it when
    # it sends, so three requests take at least two delays. (Gaps between the server's arrival
    # times are no measure: a loaded machine delays one arrival and shortens the next gap.)
    assert result.report["crawl_delay"] == 1.0
    assert result.seconds >= 2 * 1.0
