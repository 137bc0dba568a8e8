"""What a crawl may request: `ingest.urls.may_fetch`, the one rule, on hand-picked and generated URLs.

The generated URLs cover the ways a hostile page writes an address the crawler must not reach:
schemes other than http(s), hosts outside the source, IPv4 literals in every spelling the C
resolver accepts (decimal, octal, hex, short forms), IPv6 literals and IPv4-mapped ones,
trailing dots, `localhost`, userinfo, ports. The property: whatever passes is http(s), on the
source's domains, and not a private address unless the source names it.
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.config import Source, load_sources
from ingest.urls import FetchPolicy, host_identity, host_key, is_private_address, may_fetch

PRODUCTION = Source(
    name="hespress", homepage="https://www.hespress.com/", sitemaps=["https://static.hespresscdn.net/s.xml"]
)
SAMPLE = Source(name="sample", homepage="http://127.0.0.1:8700/", allow_private_hosts=["127.0.0.1"])


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://www.hespress.com/politique/1.html", None),
        ("https://hespress.com/a", None),
        ("https://m.hespress.com/a", None),
        ("file:///etc/passwd", "bad-scheme"),
        ("ftp://hespress.com/a", "bad-scheme"),
        ("gopher://hespress.com:70/", "bad-scheme"),
        ("https://evilhespress.com/a", "offsite-request"),
        ("https://hespress.com.evil.ma/a", "offsite-request"),
        ("http://169.254.169.254/latest/meta-data/", "offsite-request"),
        ("https://user@hespress.com/a", "bad-url"),
        ("https://hespress.com@127.0.0.1/a", "offsite-request"),
        ("https://hespress.com:99999/a", "bad-url"),
        ("https://hespress.com/" + "a" * 2000, "url-too-long"),
    ],
)
def test_production_source(url: str, reason: str | None) -> None:
    assert may_fetch(url, PRODUCTION.fetch_policy()) == reason


def test_configured_sitemap_host_serves_discovery_documents_only() -> None:
    policy = PRODUCTION.fetch_policy()
    assert may_fetch("https://static.hespresscdn.net/s-2.xml", policy, discovery=True) is None
    assert may_fetch("https://static.hespresscdn.net/article.html", policy) == "offsite-request"


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.0.0.1", "0x7f.1", "127.1", "127.0.0.1.", "[::ffff:127.0.0.1]"],
)
def test_every_spelling_of_an_allowed_loopback_address_is_that_address(host: str) -> None:
    assert host_identity(host.strip("[]")) == "127.0.0.1"
    assert may_fetch(f"http://{host}:8700/a", SAMPLE.fetch_policy()) is None


@pytest.mark.parametrize(
    "host", ["127.0.0.2", "2130706434", "0177.0.0.2", "0x7f.2", "localhost", "localhost.", "x.localhost", "[::1]"]
)
def test_other_loopback_hosts_are_refused_even_where_127_0_0_1_is_allowed(host: str) -> None:
    assert may_fetch(f"http://{host}:8700/a", SAMPLE.fetch_policy()) == "offsite-request"


def test_a_private_host_in_the_allowed_domains_still_needs_allow_private_hosts() -> None:
    closed = Source(name="intranet", homepage="http://10.1.2.3/", allowed_domains=["10.1.2.3", "localhost"])
    assert may_fetch("http://10.1.2.3/a", closed.fetch_policy()) == "private-address"
    assert may_fetch("http://0x0a.1.2.3/a", closed.fetch_policy()) == "private-address"
    assert may_fetch("http://localhost/a", closed.fetch_policy()) == "private-address"
    opened = closed.model_copy(update={"allow_private_hosts": ["10.1.2.3"]})
    assert may_fetch("http://10.1.2.3/a", opened.fetch_policy()) is None


@pytest.mark.parametrize(
    ("address", "private"),
    [
        ("127.0.0.1", True),
        ("10.0.0.1", True),
        ("172.16.5.4", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),
        ("0.0.0.0", True),
        ("224.0.0.1", True),
        ("255.255.255.255", True),
        ("::1", True),
        ("fe80::1", True),
        ("fc00::1", True),
        ("::ffff:10.0.0.1", True),
        ("2002:7f00:1::", True),  # 6to4 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", True),  # NAT64 of 169.254.169.254
        ("8.8.8.8", False),
        ("2a00:1450:4007::1", False),
        ("hespress.com", False),
    ],
)
def test_private_addresses(address: str, private: bool) -> None:
    assert is_private_address(address) is private


# ------------------------------------------------------------------------------ property


def _inet_aton(host: str) -> str | None:
    """The address the C library would connect to for an IPv4 spelling, or None."""
    try:
        return socket.inet_ntoa(socket.inet_aton(host)) if host and host.replace(".", "").isalnum() else None
    except OSError:
        return None


def ipv4_spellings() -> st.SearchStrategy[str]:
    def spell(address: int, parts: int, styles: list[str]) -> str:
        values = list(address.to_bytes(4, "big"))
        if parts < 4:  # the last part carries the remaining bytes (127.1 = 127.0.0.1)
            values = [*values[: parts - 1], int.from_bytes(bytes(values[parts - 1 :]), "big")]
        fmt = {"dec": str, "oct": lambda v: "0" + format(v, "o"), "hex": lambda v: hex(v)}
        return ".".join(fmt[s](v) for s, v in zip(styles, values, strict=False))

    interesting = st.sampled_from(
        [0x7F000001, 0x7F000002, 0x0A000001, 0xA9FEA9FE, 0xC0A80101, 0x00000000, 0x64400001, 0x08080808]
    )
    return st.builds(
        spell,
        st.one_of(interesting, st.integers(0, 2**32 - 1)),
        st.integers(1, 4),
        st.lists(st.sampled_from(["dec", "oct", "hex"]), min_size=4, max_size=4),
    )


hosts = st.one_of(
    ipv4_spellings(),
    ipv4_spellings().map(lambda h: h + "."),
    st.sampled_from(
        [
            "hespress.com",
            "www.hespress.com",
            "m.hespress.com",
            "static.hespresscdn.net",
            "evilhespress.com",
            "hespress.com.evil.ma",
            "localhost",
            "localhost.",
            "LOCALHOST",
            "a.localhost",
            "[::1]",
            "[::ffff:127.0.0.1]",
            "[::ffff:7f00:1]",
            "[fe80::1]",
            "[2002:7f00:1::]",
            "[64:ff9b::a9fe:a9fe]",
            "[2a00:1450:4007::1]",
            "8.8.8.8",
        ]
    ),
)
userinfo = st.sampled_from(["", "user@", "user:pw@", "hespress.com@", "a@b@"])
ports = st.sampled_from(["", ":80", ":8700", ":0", ":65536", ":x"])
schemes = st.sampled_from(["http", "https", "HTTP", "file", "ftp", "gopher", "data", "javascript", "ws", ""])


@settings(max_examples=3000, deadline=None)
@given(scheme=schemes, user=userinfo, host=hosts, port=ports, discovery=st.booleans(), sample=st.booleans())
def test_nothing_private_offsite_or_non_http_passes(
    scheme: str, user: str, host: str, port: str, discovery: bool, sample: bool
) -> None:
    source = SAMPLE if sample else PRODUCTION
    policy = source.fetch_policy()
    url = f"{scheme}://{user}{host}{port}/path"
    if may_fetch(url, policy, discovery=discovery) is not None:
        return
    parts = urlsplit(url)
    assert parts.scheme.lower() in ("http", "https")
    assert "@" not in parts.netloc
    name = host_identity(parts.hostname or "")
    key = host_key(name)
    on_site = any(key == d or key.endswith("." + d) for d in policy.domains)
    assert on_site or (discovery and name in policy.discovery_hosts)
    # Whatever address the C library makes of the host, it is public or explicitly allowed.
    for address in filter(None, [_inet_aton((parts.hostname or "").rstrip(".")), name]):
        if is_private_address(address) or name == "localhost":
            assert host_identity(address) in policy.private_hosts, url
    if sample:
        assert name == "127.0.0.1" or not is_private_address(name)


@given(st.integers(0, 2**32 - 1))
def test_host_identity_reads_an_ipv4_number_like_the_c_library(value: int) -> None:
    assert host_identity(str(value)) == str(ipaddress.IPv4Address(value)) == _inet_aton(str(value))


# ---------------------------------------------------------------------------- the setting


def test_allow_private_hosts_is_validated_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n"
        "  - name: sample\n"
        "    homepage: http://127.0.0.1:8700/\n"
        "    allow_private_hosts: [127.0.0.1, localhost, '::1']\n"
        "  - name: bad\n"
        "    homepage: http://127.0.0.1:8701/\n"
        "    allow_private_hosts:\n"
        "      - http://127.0.0.1:8701/\n",
        encoding="utf-8",
    )
    loaded = load_sources(path)
    assert [s.name for s in loaded.sources] == ["sample"]
    assert loaded.sources[0].fetch_policy().private_hosts == {"127.0.0.1", "localhost", "::1"}
    [err] = loaded.errors
    assert str(err).startswith(f"{path}:7: sources[1].allow_private_hosts")
    assert "not a host name or IP address" in str(err)


def test_allow_private_hosts_defaults_to_none() -> None:
    assert Source(name="x", homepage="https://x.ma/").fetch_policy().private_hosts == frozenset()
    assert FetchPolicy.build(["x.ma"]).private_hosts == frozenset()
