"""The hostile cases behave as the ground truth says, over real HTTP."""

from __future__ import annotations

import re
import time
import zlib

from ingest.demo import GroundTruth, HostileCase, SampleWeb
from ingest.demo.hostile import BOMB_BYTES, ENCODING_BOMB_BYTES, FLOOD_LINKS, HUGE_BYTES
from tests.sampleweb.conftest import fetch


def _case(truth: GroundTruth, kind: str) -> HostileCase:
    return next(c for c in truth.hostile if c["kind"] == kind)


def _url(web: SampleWeb, case: HostileCase) -> str:
    return web.base_url(case["outlet"]) + case["path"]


def _target_url(web: SampleWeb, case: HostileCase) -> str:
    outlet, path = case["target"].split(":", 1)
    return web.base_url(outlet) + path


def test_windows_1256_page_is_served_in_that_encoding(web: SampleWeb, truth: GroundTruth) -> None:
    case = _case(truth, "windows-1256-meta")
    r = fetch(_url(web, case))
    assert r.headers["content-type"] == "text/html"  # no charset in the header
    assert b'<meta http-equiv="Content-Type" content="text/html; charset=windows-1256">' in r.body
    page = truth.page(case["outlet"], case["path"])
    assert page["title"] in r.body.decode("cp1256") and page["expect"] == "stored"
    assert page["title"].encode("utf-8") not in r.body


def test_windows_1256_page_whose_header_wrongly_says_utf8(web: SampleWeb, truth: GroundTruth) -> None:
    case = _case(truth, "windows-1256-wrong-header")
    r = fetch(_url(web, case))
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert b"charset=windows-1256" in r.body
    assert truth.page(case["outlet"], case["path"])["title"] in r.body.decode("cp1256")


def test_503_is_answered_once_with_retry_after_then_200(web: SampleWeb, truth: GroundTruth) -> None:
    web.reset_state()
    url = _url(web, _case(truth, "retry-503"))
    first = fetch(url)
    assert first.status == 503 and first.headers["retry-after"] == "1"
    assert fetch(url).status == 200


def test_429_is_answered_once_with_retry_after_then_200(web: SampleWeb, truth: GroundTruth) -> None:
    web.reset_state()
    url = _url(web, _case(truth, "retry-429"))
    assert fetch(url).status == 429
    assert fetch(url).status == 200


def test_slow_page_waits_slow_seconds(web: SampleWeb, truth: GroundTruth) -> None:
    start = time.perf_counter()
    assert fetch(_url(web, _case(truth, "slow"))).status == 200
    assert time.perf_counter() - start >= SampleWeb.slow_seconds * 0.9


def test_301_leads_to_the_article(web: SampleWeb, truth: GroundTruth) -> None:
    case = _case(truth, "redirect-301")
    r = fetch(_url(web, case))
    assert r.status == 301 and web.base_url("oujdacity") + r.headers["location"] == _target_url(web, case)


def test_redirect_chain_of_two_reaches_the_article(web: SampleWeb, truth: GroundTruth) -> None:
    case = _case(truth, "redirect-chain")
    hop1 = fetch(_url(web, case))
    hop2 = fetch(web.base_url("oujdacity") + hop1.headers["location"])
    assert (hop1.status, hop2.status) == (302, 301)
    assert web.base_url("oujdacity") + hop2.headers["location"] == _target_url(web, case)


def test_offsite_redirect_points_to_another_host(web: SampleWeb, truth: GroundTruth) -> None:
    case = _case(truth, "redirect-offsite")
    r = fetch(_url(web, case))
    assert r.status == 302 and case["expect"] == "not-fetched"
    port = web.base_url("almasaa").rsplit(":", 1)[1]
    assert r.headers["location"].startswith(f"http://localhost:{port}/")


def test_redirect_loop_never_reaches_a_page(web: SampleWeb, truth: GroundTruth) -> None:
    url = _url(web, _case(truth, "redirect-loop"))
    seen = []
    for _ in range(4):
        r = fetch(url)
        assert r.status == 302
        seen.append(url)
        url = web.base_url("oujdacity") + r.headers["location"]
    assert seen[0] == seen[2]


def test_error_statuses(web: SampleWeb, truth: GroundTruth) -> None:
    assert fetch(_url(web, _case(truth, "not-found"))).status == 404
    assert fetch(_url(web, _case(truth, "server-error"))).status == 500


def test_huge_page_exceeds_twelve_megabytes(web: SampleWeb, truth: GroundTruth) -> None:
    r = fetch(_url(web, _case(truth, "huge-page")))
    assert r.status == 200 and len(r.body) >= HUGE_BYTES


def test_non_html_article_url_serves_a_pdf(web: SampleWeb, truth: GroundTruth) -> None:
    r = fetch(_url(web, _case(truth, "non-html")))
    assert r.headers["content-type"] == "application/pdf" and r.body.startswith(b"%PDF")


def test_broken_markup_page_is_still_the_article(web: SampleWeb, truth: GroundTruth) -> None:
    case = _case(truth, "broken-markup")
    body = fetch(_url(web, case)).text
    assert not body.rstrip().endswith("</html>") and body.count("<p>") > body.count("</p>")
    assert truth.page(case["outlet"], case["path"])["expect"] == "stored"


def test_tracking_parameters_serve_the_same_article(web: SampleWeb, truth: GroundTruth) -> None:
    case = _case(truth, "tracking-params")
    assert fetch(_url(web, case)).body == fetch(_target_url(web, case)).body


def test_amp_page_is_canonicalised_to_the_main_page(web: SampleWeb, truth: GroundTruth) -> None:
    case = _case(truth, "amp-alias")
    amp = fetch(_url(web, case)).text
    assert f'<link rel="canonical" href="{_target_url(web, case)}">' in amp
    assert f'rel="amphtml" href="{_url(web, case)}"' in fetch(_target_url(web, case)).text
    assert _url(web, case) in fetch(web.base_url("casapost") + "/ar/latest").text


def test_print_page_is_disallowed_yet_linked_and_matches_the_article_pattern(
    web: SampleWeb, truth: GroundTruth
) -> None:
    case = _case(truth, "robots-disallowed")
    assert "Disallow: /print/" in fetch(web.base_url("rifpress") + "/robots.txt").text
    assert f'href="{case["path"]}"' in fetch(_target_url(web, case)).text
    assert re.search(r"/news/\d+\.html$", case["path"]) and fetch(_url(web, case)).status == 200


def test_not_article_pages_match_the_article_pattern(web: SampleWeb, truth: GroundTruth) -> None:
    for kind in ("tag-page", "author-page", "video-page"):
        case = _case(truth, kind)
        assert fetch(_url(web, case)).status == 200
        assert re.search(r"/[a-z]+/\d+-[a-z0-9-]+\.html$", case["path"]), kind
        assert truth.page(case["outlet"], case["path"])["expect"] == "rejected"


def test_latest_listing_paginates_forever(web: SampleWeb) -> None:
    page = fetch(web.base_url("madar24") + "/latest?page=500").text
    assert 'rel="next" class="load-more" href="/latest?page=501"' in page
    assert "<li>" not in page.split('class="feed"')[1].split("</ul>")[0]


def test_calendar_archive_links_days_forever(web: SampleWeb) -> None:
    page = fetch(web.base_url("souss24") + "/1999/01/01/").text
    assert 'href="/1998/12/31/"' in page and 'href="/1999/01/02/"' in page


def test_hostile_cases_stay_out_of_the_feeds(web: SampleWeb, truth: GroundTruth) -> None:
    feed = fetch(web.base_url("oujdacity") + "/feed.xml").text
    for case in truth.hostile:
        if case["outlet"] == "oujdacity":
            assert case["path"].split("?")[0].split("#")[0] not in feed or case["kind"] in (
                "tracking-params",
                "fragment",
            ), case["kind"]


def test_every_oujdacity_case_is_linked_from_its_listing_or_sitemap(web: SampleWeb, truth: GroundTruth) -> None:
    base = web.base_url("oujdacity")
    pages = fetch(base + "/sitemap.xml").text
    url = base + "/akhbar/"
    while url:
        body = fetch(url).text
        pages += body
        nxt = re.search(r'class="next" href="([^"]+)"', body)
        url = base + nxt.group(1) if nxt else ""
    for case in truth.hostile:
        if case["outlet"] == "oujdacity":
            assert case["path"].replace("&", "&amp;") in pages, case["kind"]


def test_internal_service_listens_on_another_loopback_address_and_logs_its_requests(web: SampleWeb) -> None:
    base = web.base_url("internal")
    assert base.startswith("http://127.0.0.2:")
    before = len(web.requests)
    assert fetch(base + "/secret.xml").status == 200
    assert [r.outlet for r in web.requests[before:]] == ["internal"]


def test_request_forgery_index_and_robots_point_outside_the_outlet(web: SampleWeb, truth: GroundTruth) -> None:
    case = _case(truth, "request-forgery")
    index = fetch(_url(web, case)).text
    robots = fetch(web.base_url("oujdacity") + "/robots.txt").text
    internal = web.base_url("internal")
    for loc in ("file:///etc/passwd", "file:///dev/zero", f"{internal}/secret.xml", "169.254.169.254"):
        assert loc in index
    assert "Sitemap: file:///etc/passwd" in robots and f"Sitemap: {internal}/sitemap.xml" in robots
    assert fetch(web.base_url("oujdacity") + "/hostile/to-internal.xml").headers["location"].startswith(internal)


def test_sitemap_host_robots_answers_503(web: SampleWeb) -> None:
    cdn = web.base_url("oujdacity-cdn")
    assert f"Sitemap: {cdn}/sitemap.xml" in fetch(web.base_url("oujdacity") + "/robots.txt").text
    assert fetch(cdn + "/robots.txt").status == 503


def test_gzip_bomb_declares_its_size_and_unpacks_to_it(web: SampleWeb, truth: GroundTruth) -> None:
    body = fetch(_url(web, _case(truth, "gzip-bomb"))).body
    assert len(body) < 2 * 1024 * 1024 and int.from_bytes(body[-4:], "little") == BOMB_BYTES
    assert len(zlib.decompressobj(31).decompress(body, 1 << 20)) == 1 << 20  # (read a bounded part only)


def test_encoding_bomb_is_sent_gzip_encoded(web: SampleWeb, truth: GroundTruth) -> None:
    r = fetch(_url(web, _case(truth, "encoding-bomb")))
    assert r.headers["content-encoding"] == "gzip"
    assert int.from_bytes(r.body[-4:], "little") > ENCODING_BOMB_BYTES


def test_link_flood_page_links_100000_article_urls(web: SampleWeb, truth: GroundTruth) -> None:
    page = fetch(_url(web, _case(truth, "link-flood"))).text
    assert len(re.findall(r'href="/region/\d+-ghamr\.html"', page)) == FLOOD_LINKS


def test_long_url_is_listed_by_a_sitemap(web: SampleWeb, truth: GroundTruth) -> None:
    case = _case(truth, "long-url")
    assert len(case["path"]) > 5000
    assert _url(web, case) in fetch(web.base_url("oujdacity") + "/hostile/long-url.xml").text
