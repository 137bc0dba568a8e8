"""Backfills stay in their window: days in each source's time zone, link dates, the pages' own dates."""

from __future__ import annotations

from typing import Any

from tests.crawl.crawlkit import TestWeb, crawl


def dated_article(title: str, published: str) -> str:
    """An article page that states its own publication time (with the outlet's offset)."""
    return (
        f"<!DOCTYPE html><html lang=ar dir=rtl><head><meta charset=utf-8><title>{title}</title>"
        f'<meta property="article:published_time" content="{published}"></head>'
        f"<body><article><h1>{title}</h1><p>{title}</p></article></body></html>"
    )


def feed(web: TestWeb, *items: tuple[str, str | None]) -> str:
    """RSS items (path, pubDate or None for an undated item)."""
    body = "".join(
        f"<item><title>x</title><link>{web.url(p)}</link>" + (f"<pubDate>{d}</pubDate>" if d else "") + "</item>"
        for p, d in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>{body}</channel></rss>'


def outlet(web: TestWeb, name: str, timezone: str, **kw: Any) -> dict[str, Any]:
    return {
        "name": name,
        "homepage": web.url(f"/{name}/"),
        "article_url_pattern": rf"/{name}/",
        "exclude_url_pattern": r"\.xml$|/list/",
        "discover_feeds": False,
        "timezone": timezone,
        "allow_private_hosts": ["127.0.0.1"],  # the test server; production allows none
        **kw,
    }


# An article at 23:30 local on the window's last day is in; one at 00:30 local the day after is
# out; so are the first half hour of the first day (in) and the last half hour before it (out).
EDGES = {
    "casa": ("Africa/Casablanca", "+01:00"),  # UTC+1 in May 2025
    "riyadh": ("Asia/Riyadh", "+03:00"),  # 00:30 on the 11th is 21:30 UTC on the 10th: in, read in UTC
}
TIMES = {
    "first": ("2025-05-09T00:30:00", True),
    "last": ("2025-05-10T23:30:00", True),
    "after": ("2025-05-11T00:30:00", False),
    "before": ("2025-05-08T23:30:00", False),
}


def test_window_days_follow_each_source_time_zone(web: TestWeb) -> None:
    sources = []
    for name, (tz, offset) in EDGES.items():
        items = []
        for label, (local, _) in TIMES.items():
            path = f"/{name}/{label}.html"
            web.add(path, dated_article(f"{name} {label}", local + offset))
            items.append((path, None))  # undated in the feed: the page's own date decides
        web.add(f"/{name}/feed.xml", feed(web, *items), "application/rss+xml")
        sources.append(outlet(web, name, tz, feeds=[web.url(f"/{name}/feed.xml")]))
    result = crawl(sources, since="2025-05-09", until="2025-05-10")
    expected = {web.url(f"/{n}/{label}.html") for n in EDGES for label, (_, inside) in TIMES.items() if inside}
    assert set(result.accepted_urls()) == expected
    for report in result.reports:
        assert report["outside_window"] == 2 and report["pages"] == 2, report
    left_out = {o["url"]: o["error"] for o in result.recorded if (o["error"] or "").startswith("outside-window")}
    after = web.url("/riyadh/after.html")
    assert left_out[after] == "outside-window: published 2025-05-10T21:30:00+00:00"
    assert len(left_out) == 4


def test_an_iso_timestamp_with_an_offset_is_taken_as_given(web: TestWeb) -> None:
    tz, offset = EDGES["riyadh"]
    for label, (local, _) in TIMES.items():
        web.add(f"/riyadh/{label}.html", dated_article(label, local + offset))
    items = [(f"/riyadh/{label}.html", None) for label in TIMES]
    web.add("/riyadh/feed.xml", feed(web, *items), "application/rss+xml")
    src = outlet(web, "riyadh", tz, feeds=[web.url("/riyadh/feed.xml")])
    # The UTC day of the 10th: "after" (21:30 UTC) is in, "first" (the 8th, 21:30 UTC) is out.
    result = crawl([src], since="2025-05-10T00:00:00+00:00", until="2025-05-10T23:59:59+00:00")
    assert set(result.accepted_urls()) == {web.url("/riyadh/last.html"), web.url("/riyadh/after.html")}


def test_links_dated_outside_the_window_are_never_requested(web: TestWeb) -> None:
    paths = {
        "/casa/2025/05/10/in-the-day/": None,  # the path names the window's day
        "/casa/2025/05/12/two-days-later/": None,  # the path names another day
        "/casa/old.html": "Thu, 08 May 2025 12:00:00 +0100",  # the feed dates it
        "/casa/new.html": "Sat, 10 May 2025 12:00:00 +0100",
    }
    for path in paths:
        web.add(path, dated_article(path, "2025-05-10T12:00:00+01:00"))
    web.add("/casa/feed.xml", feed(web, *paths.items()), "application/rss+xml")
    result = crawl([outlet(web, "casa", "Africa/Casablanca", feeds=[web.url("/casa/feed.xml")])],
                   since="2025-05-10", until="2025-05-10")  # fmt: skip
    assert set(result.accepted_urls()) == {web.url("/casa/2025/05/10/in-the-day/"), web.url("/casa/new.html")}
    assert web.count("/casa/2025/05/12/two-days-later/") == 0 and web.count("/casa/old.html") == 0
    assert result.report["outside_window"] == 0


def test_sitemap_children_named_for_other_months_are_not_read(web: TestWeb) -> None:
    index = "".join(f"<sitemap><loc>{web.url(f'/casa/sitemap-2025-{m:02d}.xml')}</loc></sitemap>" for m in (3, 4, 5, 6))
    web.add("/casa/sitemap.xml", f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{index}'
            "</sitemapindex>", "application/xml")  # fmt: skip
    for m in (3, 4, 5, 6):
        web.add(f"/casa/sitemap-2025-{m:02d}.xml", '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>',
                "application/xml")  # fmt: skip
    src = outlet(web, "casa", "Africa/Casablanca", sitemaps=[web.url("/casa/sitemap.xml")])
    crawl([src], since="2025-05-10", until="2025-05-10")
    assert [m for m in (3, 4, 5, 6) if web.count(f"/casa/sitemap-2025-{m:02d}.xml")] == [5]


def test_listing_walk_stops_after_a_page_of_older_articles(web: TestWeb) -> None:
    """Newest first, 3 undated links a page, one article a day: the window is page 3's days."""
    day = 30  # page 1 links 30, 29, 28 May; page 2 27-25; page 3 24-22; page 4 21-19; ...
    for n in range(1, 11):
        links = ""
        for _ in range(3):
            web.add(f"/casa/{day}.html", dated_article(str(day), f"2025-05-{day:02d}T12:00:00+01:00"))
            links += f'<a href="/casa/{day}.html">{day}</a>'
            day -= 1
        web.add(f"/casa/list/{n}", f'<html><body>{links}<a class="next" href="/casa/list/{n + 1}">التالي</a>'
                "</body></html>")  # fmt: skip
    listing = {"url": web.url("/casa/list/1"), "next": "a.next", "max_pages": 10}
    src = outlet(web, "casa", "Africa/Casablanca", listings=[listing])
    result = crawl([src], since="2025-05-22", until="2025-05-24")
    assert set(result.accepted_urls()) == {web.url(f"/casa/{d}.html") for d in (22, 23, 24)}
    # Page 4's articles are all older than the window: the walk stops there.
    assert [n for n in range(1, 11) if web.count(f"/casa/list/{n}")] == [1, 2, 3, 4]
    assert result.report["outside_window"] == 9


def test_the_sitemap_child_before_the_window_dates_the_listing_links_just_older_than_it(web: TestWeb) -> None:
    """Ten days of three articles, one sitemap child a day known by its lastmod alone, a listing of
    four undated links a page, newest first. The window's day begins mid-page: the link after it
    (the day before, 20:00) is dated by the child before the window, so it is not fetched."""
    index, items = "", []
    for day in range(20, 30):
        entries = ""
        for hour in (8, 12, 20):
            path, when = f"/casa/{day}-{hour}.html", f"2025-05-{day}T{hour:02d}:00:00+01:00"
            web.add(path, dated_article(f"{day} {hour}", when))
            entries += f"<url><loc>{web.url(path)}</loc><lastmod>{when}</lastmod></url>"
            items.append(path)
        web.add(f"/casa/sm-{day}.xml", f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}'
                "</urlset>", "application/xml")  # fmt: skip
        index += f"<sitemap><loc>{web.url(f'/casa/sm-{day}.xml')}</loc><lastmod>{when}</lastmod></sitemap>"
    web.add("/casa/sitemap.xml", f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{index}'
            "</sitemapindex>", "application/xml")  # fmt: skip
    newest = items[::-1]
    for n in range(1, 9):
        links = "".join(f'<a href="{p}">{p}</a>' for p in newest[(n - 1) * 4 : n * 4])
        web.add(f"/casa/list/{n}", f'<html><body>{links}<a class="next" href="/casa/list/{n + 1}">التالي</a>'
                "</body></html>")  # fmt: skip
    listing = {"url": web.url("/casa/list/1"), "next": "a.next", "max_pages": 10}
    src = outlet(web, "casa", "Africa/Casablanca", sitemaps=[web.url("/casa/sitemap.xml")], listings=[listing])
    result = crawl([src], since="2025-05-25", until="2025-05-25")
    day = {f"/casa/25-{h}.html" for h in (8, 12, 20)}
    assert set(result.accepted_urls()) == {web.url(p) for p in day}
    assert [p for p in items if web.count(p)] == sorted(day, key=items.index)
    assert [d for d in range(20, 30) if web.count(f"/casa/sm-{d}.xml")] == list(range(24, 30))
    assert result.report["outside_window"] == 0


def daily_sitemaps(web: TestWeb, days: list[int]) -> None:
    """One sitemap child a day (two articles each), listed in the index in the order given."""
    index = ""
    for day in days:
        entries = ""
        for hour in (9, 17):
            path, when = f"/casa/{day}-{hour}.html", f"2025-05-{day}T{hour:02d}:00:00+01:00"
            web.add(path, dated_article(f"{day} {hour}", when))
            entries += f"<url><loc>{web.url(path)}</loc><lastmod>{when}</lastmod></url>"
        web.add(f"/casa/sm-{day}.xml", f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}'
                "</urlset>", "application/xml")  # fmt: skip
        index += f"<sitemap><loc>{web.url(f'/casa/sm-{day}.xml')}</loc><lastmod>{when}</lastmod></sitemap>"
    web.add("/casa/sitemap.xml", f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{index}'
            "</sitemapindex>", "application/xml")  # fmt: skip


def test_a_backfill_fetches_the_newest_days_first_or_the_oldest_as_asked(web: TestWeb) -> None:
    """One request at a time: with more in flight, those taken together may overtake one another."""
    daily_sitemaps(web, [13, 11, 15, 10, 14, 12])  # the index in no order
    src = outlet(web, "casa", "Africa/Casablanca", sitemaps=[web.url("/casa/sitemap.xml")])

    def days_fetched(oldest_first: bool) -> list[int]:
        start = len(web.hits)
        crawl([src], since="2025-05-10", until="2025-05-15", oldest_first=oldest_first,
              settings={"concurrent_per_source": 1, "concurrent_requests": 1})  # fmt: skip
        days = [int(h.path.split("/")[2].split("-")[0]) for h in web.hits[start:] if h.path.endswith(".html")]
        return list(dict.fromkeys(days))

    assert days_fetched(oldest_first=False) == [15, 14, 13, 12, 11, 10]
    assert days_fetched(oldest_first=True) == [10, 11, 12, 13, 14, 15]
