"""The hostile web, one case per test, against real local servers (each crawl in its own process).

What may be requested is `ingest.urls.may_fetch`'s call, enforced for every request the crawl
makes (redirects included); robots.txt errors follow RFC 9309; links, entries and bodies have
caps, and what a cap leaves is counted and picked up by the next run.
"""

from __future__ import annotations

import gzip
import socket
import time
import zlib

import pytest

from ingest.urls import is_private_address
from tests.crawl.crawlkit import CrawlResult, Reply, TestWeb, crawl
from tests.crawl.test_crawl import rss, serve_articles, source

SITEMAP_INDEX = (
    '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{}</sitemapindex>'
)
URLSET = '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{}</urlset>'


def index(*locs: str) -> str:
    return SITEMAP_INDEX.format("".join(f"<sitemap><loc>{loc}</loc></sitemap>" for loc in locs))


def urlset(*locs: str) -> str:
    return URLSET.format("".join(f"<url><loc>{loc}</loc></url>" for loc in locs))


def recorded_errors(result: CrawlResult) -> dict[str, str]:
    """URL -> recorded error, the last outcome per URL winning (as in the store)."""
    out: dict[str, str] = {}
    for r in result.recorded:
        if r["error"]:
            out[r["url"]] = r["error"]
        else:
            out.pop(r["url"], None)
    return out


# ------------------------------------------------------------------------- request forgery


def test_sitemap_index_children_outside_the_source_are_refused_and_never_requested(
    web: TestWeb, internal: TestWeb
) -> None:
    port = internal.port
    children = {
        "file:///etc/passwd": "bad-scheme",
        "file:///dev/zero": "bad-scheme",
        f"{internal.base}/sitemap.xml": "offsite-request",  # another loopback address: an internal service
        f"http://2130706434:{port}/sitemap.xml": "offsite-request",  # 127.0.0.2 written as a number
        f"http://0177.0.0.2:{port}/sitemap.xml": "offsite-request",  # ... in octal
        f"http://localhost:{port}/sitemap.xml": "offsite-request",
        f"http://[::1]:{port}/sitemap.xml": "offsite-request",
        "http://169.254.169.254/latest/meta-data/": "offsite-request",  # the cloud metadata service
        f"http://{web.base.removeprefix('http://')}@127.0.0.2:{port}/sitemap.xml": "offsite-request",
        "gopher://127.0.0.1:25/x": "bad-scheme",
    }
    web.add("/sitemap_index.xml", index(*children, web.url("/sitemap-1.xml")), "application/xml")
    web.add("/sitemap-1.xml", urlset(web.url("/news/1")), "application/xml")
    internal.add("/sitemap.xml", urlset(web.url("/news/2")), "application/xml")
    serve_articles(web, 1, 2)
    result = crawl([source(web, sitemaps=[web.url("/sitemap_index.xml")])])
    assert internal.hits == []
    errors = recorded_errors(result)
    assert {url: errors.get(url) for url in children} == children
    assert result.accepted_urls() == [web.url("/news/1")]
    assert result.report["errors"]["bad-scheme"] == 3 and result.report["errors"]["offsite-request"] == 7
    # Nothing was read from the local files: no content hash was ever recorded for them.
    assert not [r for r in result.recorded if r["url"].startswith("file:") and r["content_hash"]]


def test_robots_sitemap_lines_outside_the_source_are_refused(web: TestWeb, internal: TestWeb) -> None:
    lines = ["file:///etc/hostname", f"{internal.base}/sitemap.xml", web.url("/sitemap.xml")]
    web.add("/robots.txt", "".join(f"Sitemap: {u}\n" for u in lines), "text/plain")
    web.add("/sitemap.xml", urlset(web.url("/news/1")), "application/xml")
    internal.add("/sitemap.xml", urlset(web.url("/news/2")), "application/xml")
    serve_articles(web, 1, 2)
    result = crawl([source(web)])
    assert internal.hits == []
    assert recorded_errors(result) == {lines[0]: "bad-scheme", lines[1]: "offsite-request"}
    assert result.accepted_urls() == [web.url("/news/1")]


def test_configured_feed_and_sitemap_redirected_to_an_internal_host_are_refused(
    web: TestWeb, internal: TestWeb
) -> None:
    web.add("/feed", status=302, headers={"Location": f"{internal.base}/feed"})
    web.add("/sitemap.xml", status=301, headers={"Location": "file:///etc/passwd"})
    internal.add("/feed", rss(web, ("/news/1", "a", "")), "application/rss+xml")
    result = crawl([source(web, feeds=[web.url("/feed")], sitemaps=[web.url("/sitemap.xml")])])
    assert internal.hits == []
    errors = recorded_errors(result)
    assert errors[web.url("/feed")] == "offsite-redirect" and errors[web.url("/sitemap.xml")] == "bad-scheme"


def test_article_redirected_to_a_local_file_is_refused(web: TestWeb) -> None:
    web.add("/feed", rss(web, ("/news/1", "a", "")), "application/rss+xml")
    web.add("/news/1", status=302, headers={"Location": "file:///etc/passwd"})
    result = crawl([source(web, feeds=[web.url("/feed")])])
    assert result.reasons() == {web.url("/news/1"): "bad-scheme"} and result.accepted == []


def test_a_configured_sitemap_host_serves_sitemaps_but_not_articles(web: TestWeb) -> None:
    cdn = f"http://localhost:{web.port}"  # the same server under another name: a sitemap CDN
    web.add("/cdn/index.xml", index(f"{cdn}/cdn/articles.xml"), "application/xml")
    web.add("/cdn/articles.xml", urlset(web.url("/news/1"), f"{cdn}/news/2"), "application/xml")
    serve_articles(web, 1, 2)
    cfg = source(web, sitemaps=[f"{cdn}/cdn/index.xml"], allow_private_hosts=["127.0.0.1", "localhost"])
    result = crawl([cfg])
    assert result.accepted_urls() == [web.url("/news/1")]  # the CDN's own article link is not the source's
    assert [h.path for h in web.hits if h.host.startswith("localhost")] == [
        "/robots.txt",
        "/cdn/index.xml",
        "/cdn/articles.xml",
    ]


def test_a_host_name_that_resolves_to_a_private_address_is_refused_unless_allowed(web: TestWeb) -> None:
    name = socket.gethostname()
    try:
        address = socket.gethostbyname(name)
    except OSError:
        pytest.skip(f"{name} does not resolve here")
    if address != "127.0.0.1" or not is_private_address(address):
        pytest.skip(f"{name} resolves to {address}, not to the test server's address")
    home = f"http://{name}:{web.port}/"
    web.add("/feed", f"<rss><channel><item><link>{home}news/1</link></item></channel></rss>", "application/rss+xml")
    serve_articles(web, 1)
    # allowed_domains defaults to the homepage's host: the name passes may_fetch, not the resolver.
    refused = crawl([{**source(web), "homepage": home, "feeds": [f"{home}feed"], "allow_private_hosts": []}])
    assert web.hits == []
    assert refused.report["errors"] == {"private-address": 1}
    allowed = crawl([{**source(web), "homepage": home, "feeds": [f"{home}feed"], "allow_private_hosts": [name]}])
    assert allowed.report["pages"] == 1


# ------------------------------------------------------------------------------- robots.txt


@pytest.mark.parametrize("status", [500, 503])
def test_robots_5xx_disallows_the_whole_source_for_the_run_and_is_asked_once(web: TestWeb, status: int) -> None:
    web.add("/robots.txt", "down", status=status, headers={"Retry-After": "1"})
    web.add("/feed", rss(web, ("/news/1", "a", "")), "application/rss+xml")
    serve_articles(web, 1)
    result = crawl([source(web, feeds=[web.url("/feed")])], settings={"retry_times": 2})
    assert web.paths() == ["/robots.txt"]
    assert result.report["errors"] == {"robots-unavailable": 1}
    assert recorded_errors(result)[web.url("/robots.txt")] == f"robots-unavailable: http-{status}"


def test_robots_that_never_answers_disallows_the_source_after_one_timeout(web: TestWeb) -> None:
    asked: list[float] = []

    def silent(_req: dict[str, str]) -> Reply:
        asked.append(time.monotonic())  # the log records a hit when it is answered: too late here
        time.sleep(3)
        return Reply(200, b"User-agent: *\nAllow: /\n")

    web.handle("/robots.txt", silent)
    web.add("/feed", rss(web, ("/news/1", "a", "")), "application/rss+xml")
    result = crawl([source(web, feeds=[web.url("/feed")])], settings={"download_timeout": 1, "retry_times": 2})
    assert len(asked) == 1 and "/feed" not in web.paths()
    assert result.report["errors"] == {"robots-unavailable": 1}


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_robots_4xx_allows_everything_and_is_asked_once(web: TestWeb, status: int) -> None:
    web.add("/robots.txt", "User-agent: *\nDisallow: /", status=status)  # a 4xx body is not rules
    web.add("/feed", rss(web, ("/news/1", "a", "")), "application/rss+xml")
    serve_articles(web, 1)
    result = crawl([source(web, feeds=[web.url("/feed")])])
    assert result.accepted_urls() == [web.url("/news/1")]
    assert web.count("/robots.txt") == 1


def test_robots_5xx_of_a_sitemap_host_refuses_its_documents_only(web: TestWeb) -> None:
    cdn = f"http://localhost:{web.port}"

    def robots(req: dict[str, str]) -> Reply:  # the CDN name's robots.txt is down, the site's is fine
        return Reply(503, b"down") if req.get("host", "").startswith("localhost") else Reply(200, b"")

    web.handle("/robots.txt", robots)
    web.add("/sitemap.xml", urlset(web.url("/news/1")), "application/xml")
    web.add("/feed", rss(web, ("/news/2", "b", "")), "application/rss+xml")
    serve_articles(web, 1, 2)
    cfg = source(web, feeds=[web.url("/feed")], sitemaps=[f"{cdn}/sitemap.xml"])
    result = crawl([{**cfg, "allow_private_hosts": ["127.0.0.1", "localhost"]}])
    assert result.accepted_urls() == [web.url("/news/2")]
    assert [h.path for h in web.hits if h.host.startswith("localhost")] == ["/robots.txt"]
    errors = recorded_errors(result)
    assert errors[f"{cdn}/sitemap.xml"] == "robots-unavailable"
    assert errors[f"{cdn}/robots.txt"] == "robots-unavailable: http-503"


# ------------------------------------------------------------------------------------ caps


def many_links(n: int) -> str:
    return "<html><body>" + "".join(f'<a href="/news/{i}">{i}</a>' for i in range(n)) + "</body></html>"


def test_a_page_of_100000_links_is_capped_and_the_next_run_takes_the_next_ones(web: TestWeb) -> None:
    web.add("/latest", many_links(100_000))
    serve_articles(web, *range(60))
    cfg = source(web, listings=[{"url": web.url("/latest"), "max_pages": 1}])
    caps = {"max_links_per_page": 30, "max_articles_per_run": 1000}
    first = crawl([cfg], settings=caps)
    assert sorted(first.accepted_urls()) == sorted(web.url(f"/news/{i}") for i in range(30))
    assert first.report["errors"] == {"links-capped": 100_000 - 30}
    assert recorded_errors(first)[web.url("/latest")] == "links-capped"  # read whole again next run
    second = crawl([cfg], settings=caps, known=first.accepted_urls())
    assert sorted(second.accepted_urls()) == sorted(web.url(f"/news/{i}") for i in range(30, 60))


def test_article_urls_queued_per_run_are_capped_across_documents(web: TestWeb) -> None:
    web.add("/feed", rss(web, *((f"/news/{i}", "t", "") for i in range(40))), "application/rss+xml")
    web.add("/sitemap.xml", urlset(*(web.url(f"/news/{i}") for i in range(40, 80))), "application/xml")
    serve_articles(web, *range(80))
    result = crawl([source(web, feeds=[web.url("/feed")], sitemaps=[web.url("/sitemap.xml")])],
                   settings={"max_articles_per_run": 50})  # fmt: skip
    assert len(result.accepted) == 50
    assert result.report["errors"] == {"links-capped": 30}


def test_gzip_sitemap_bomb_is_refused_too_large_and_not_fetched_on_the_next_run(web: TestWeb) -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = b"".join(compressor.compress(b"\0" * (1 << 20)) for _ in range(128)) + compressor.flush()
    web.add("/sitemap.xml.gz", bomb, "application/x-gzip")
    web.add("/feed", rss(web, ("/news/1", "a", "")), "application/rss+xml")
    serve_articles(web, 1)
    cfg = source(web, feeds=[web.url("/feed")], sitemaps=[web.url("/sitemap.xml.gz")])
    first = crawl([cfg])
    assert recorded_errors(first)[web.url("/sitemap.xml.gz")] == "too-large"
    assert first.report["errors"]["too-large"] == 1 and first.accepted_urls() == [web.url("/news/1")]
    second = crawl([cfg], settled={web.url("/sitemap.xml.gz"): "too-large"})
    assert web.count("/sitemap.xml.gz") == 1 and second.report["errors"] == {}


def test_sitemap_of_more_than_50000_entries_gives_the_first_50000_and_is_too_large(web: TestWeb) -> None:
    locs = [web.url(f"/news/{i}") for i in range(50_001)]
    web.add("/sitemap.xml", gzip.compress(urlset(*locs).encode()), "application/xml")
    result = crawl([source(web, sitemaps=[web.url("/sitemap.xml")])],
                   settings={"max_articles_per_run": 10}, known=locs[:50_000])  # fmt: skip
    assert result.accepted == [] and "/news/50000" not in web.paths()
    assert result.report["skipped_known"] == 50_000
    assert recorded_errors(result)[web.url("/sitemap.xml")] == "too-large"


# -------------------------------------------------------------------- reasons for every loss


def test_body_streamed_past_the_size_limit_is_too_large_not_transport(web: TestWeb) -> None:
    web.add("/feed", rss(web, ("/news/1", "a", "")), "application/rss+xml")
    web.add("/news/1", b"<html>" + b"x" * 200_000, headers={"Transfer-Encoding": "chunked"})
    result = crawl([source(web, feeds=[web.url("/feed")])], settings={"max_page_bytes": 65536})
    assert result.reasons() == {web.url("/news/1"): "too-large"}


def test_content_encoding_bomb_is_too_large_not_ignored(web: TestWeb) -> None:
    web.add("/feed", rss(web, ("/news/1", "a", "")), "application/rss+xml")
    bomb = gzip.compress(b"<html>" + b" " * 5_000_000)
    web.add("/news/1", bomb, headers={"Content-Encoding": "gzip"})
    result = crawl([source(web, feeds=[web.url("/feed")])], settings={"max_page_bytes": 65536})
    assert result.reasons() == {web.url("/news/1"): "too-large"}


def test_too_long_url_is_counted_and_never_requested(web: TestWeb) -> None:
    long_path = "/news/1?" + "x" * 5000
    web.add("/feed", rss(web, (long_path, "a", ""), ("/news/2", "b", "")), "application/rss+xml")
    serve_articles(web, 2)
    result = crawl([source(web, feeds=[web.url("/feed")])])
    assert result.accepted_urls() == [web.url("/news/2")]
    assert result.report["errors"] == {"url-too-long": 1}
    assert not [p for p in web.paths() if len(p) > 2000]


def test_xml_error_in_a_feed_is_counted_and_the_entries_after_it_still_read(web: TestWeb) -> None:
    items = "".join(f"<item><link>{web.url(f'/news/{i}')}</link></item>" for i in range(3))
    broken = f"<rss><channel>{items}<item><link>{web.url('/news/9')}?a=1&b=2</link></item>{items}"  # no end
    web.add("/feed", broken.replace("/news/0", "/news/5", 1).encode(), "application/rss+xml")
    serve_articles(web, 0, 1, 2, 5, 9)
    result = crawl([source(web, feeds=[web.url("/feed")])])
    assert result.report["errors"] == {"xml-error": 1}
    assert len(result.accepted) == 5
    assert recorded_errors(result)[web.url("/feed")] == "xml-error"


def test_redirect_loop_is_refused_with_its_own_reason(web: TestWeb) -> None:
    web.add("/feed", rss(web, ("/news/1", "a", "")), "application/rss+xml")
    web.add("/news/1", status=302, headers={"Location": "/news/2"})
    web.add("/news/2", status=302, headers={"Location": "/news/1"})
    result = crawl([source(web, feeds=[web.url("/feed")])])
    assert result.reasons() == {web.url("/news/1"): "redirect-loop"}
    assert web.paths().count("/news/1") == 1
