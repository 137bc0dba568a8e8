"""URL canonicalisation: one stored form per URL."""

from __future__ import annotations

import pytest

from ingest.urls import amp_to_canonical, canonicalize, same_outlet, same_site

ENCODED = "https://www.hespress.com/%D8%B3%D9%8A%D8%A7%D8%B3%D8%A9/%D9%85%D9%82%D8%A7%D9%84-1.html"


def test_fragment_is_dropped() -> None:
    assert canonicalize("https://x.ma/news/1#comments") == "https://x.ma/news/1"


def test_tracking_parameters_are_dropped() -> None:
    url = "https://x.ma/news/1?utm_source=fb&utm_medium=s&fbclid=a&gclid=b&mc_cid=c&mc_eid=d&_ga=e&yclid=f" \
          "&igshid=g&ref=home&fb_action_ids=1&at_medium=x&id=7"  # fmt: skip
    assert canonicalize(url) == "https://x.ma/news/1?id=7"


def test_remaining_query_parameters_are_sorted() -> None:
    assert canonicalize("https://x.ma/a?b=2&a=1&&c=") == "https://x.ma/a?a=1&b=2&c="


def test_scheme_and_host_are_lower_cased_and_default_port_dropped() -> None:
    assert canonicalize("HTTPS://X.MA:443/News/1") == "https://x.ma/News/1"
    assert canonicalize("http://x.ma:8080/") == "http://x.ma:8080/"


def test_www_is_kept_in_canonical_form() -> None:
    assert canonicalize("https://WWW.x.ma/a") == "https://www.x.ma/a"


def test_raw_and_percent_encoded_arabic_slugs_map_to_one_form() -> None:
    raw = "https://www.hespress.com/سياسة/مقال-1.html"
    lower = ENCODED.lower().replace("https://www.hespress.com", "https://www.hespress.com")
    assert canonicalize(raw) == canonicalize(lower) == canonicalize(ENCODED) == ENCODED


def test_reserved_escapes_are_kept_and_unreserved_decoded() -> None:
    assert canonicalize("https://x.ma/a%2fb/%7euser") == "https://x.ma/a%2Fb/~user"


def test_dot_segments_and_empty_path_are_normalised() -> None:
    assert canonicalize("https://x.ma/a/./b/../c") == "https://x.ma/a/c"
    assert canonicalize("https://x.ma") == "https://x.ma/"


@pytest.mark.parametrize(
    "url",
    [
        "https://x.ma/سياسة?q=مغرب&utm_source=x",
        "http://X.ma:80/a%20b?z=1&a=%e2%82%ac",
        "https://x.ma/%zz/100%",
    ],
)
def test_canonicalize_is_idempotent(url: str) -> None:
    once = canonicalize(url)
    assert canonicalize(once) == once


@pytest.mark.parametrize(
    ("amp", "canonical"),
    [
        ("https://x.ma/news/1/amp", "https://x.ma/news/1"),
        ("https://x.ma/news/1/amp/", "https://x.ma/news/1/"),
        ("https://x.ma/news/1?amp=1", "https://x.ma/news/1"),
        ("https://x.ma/news/1?amp", "https://x.ma/news/1"),
        ("https://x.ma/amp/news/1", "https://x.ma/news/1"),
        ("https://x.ma/news/1?id=2&amp=1", "https://x.ma/news/1?id=2"),
    ],
)
def test_amp_suffixes_resolve_to_canonical(amp: str, canonical: str) -> None:
    assert amp_to_canonical(amp) == canonical


def test_same_site_ignores_www_and_accepts_subdomains() -> None:
    assert same_site("https://www.hespress.com/x", ["hespress.com"])
    assert same_site("https://hespress.com/x", ["www.hespress.com"])
    assert same_site("https://fr.hespress.com/x", ["hespress.com"])


def test_same_site_rejects_lookalike_and_non_http_urls() -> None:
    assert not same_site("https://evilhespress.com/x", ["hespress.com"])
    assert not same_site("https://hespress.com.evil.net/x", ["hespress.com"])
    assert not same_site("mailto:a@hespress.com", ["hespress.com"])


def test_same_outlet_reads_mobile_amp_and_subdomain_pages_as_one_site() -> None:
    assert same_outlet("https://m.hespress.com/a", "https://www.hespress.com/b")
    assert same_outlet("https://amp.hespress.com/a", "https://m.hespress.com/b")
    assert same_outlet("https://fr.hespress.com/a", "https://hespress.com/b")
    assert not same_outlet("https://evilhespress.com/a", "https://hespress.com/b")
    assert not same_outlet("https://hespress.com/a", "not a url")
