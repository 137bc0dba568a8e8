"""The bulk outlet: N synthetic articles, unique titles, sitemap children of at most 1000 URLs."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ingest.demo import SampleWeb
from tests.sampleweb.conftest import fetch

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}loc"


def test_bulk_sitemap_index_splits_into_children_of_at_most_1000() -> None:
    with SampleWeb(scale=2500) as web:
        base = web.base_url("bulk")
        index = ET.fromstring(fetch(base + "/sitemap_index.xml").body)
        children = [e.text or "" for e in index.iter(SM)]
        assert len(children) == 3
        urls = [u.text for c in children for u in ET.fromstring(fetch(c).body).iter(SM)]
        assert len(urls) == len(set(urls)) == 2500
        assert all(len(list(ET.fromstring(fetch(c).body).iter(SM))) <= 1000 for c in children)
        page = fetch(base + "/b/1234.html").text
        assert re.search(r"<h1 class=\"entry-title\">[^<]+\(1234\)</h1>", page)


def test_bulk_articles_are_deterministic_with_unique_titles() -> None:
    with SampleWeb(scale=300) as a, SampleWeb(scale=300) as b:
        first, second = a.bulk_articles(), b.bulk_articles()
        assert [x.text for x in first] == [y.text for y in second]
        assert len({x.title for x in first}) == 300


def test_no_bulk_outlet_by_default(web: SampleWeb) -> None:
    assert "bulk" not in web.outlets and web.bulk_articles() == []
