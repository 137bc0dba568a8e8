"""URL canonicalisation: one stored form per URL, decided before anything is queued or stored.

Pure functions, no I/O. The rules, and why:

* scheme and host are lower-cased, IDN hosts become punycode, default ports go: they never
  change what the server answers;
* the fragment goes: it is never sent to the server;
* tracking parameters (utm_*, fbclid, ...) go: outlets and social networks add them to the same
  article, and we would otherwise fetch and store one article many times;
* the remaining query parameters are sorted: their order never matters to a CMS;
* percent-encoding is normalised to ONE form, UTF-8 with upper-case hex: Arabic slugs arrive both
  raw (``/مقال-123``) and encoded (``/%d9%85...``); escapes of unreserved ASCII characters are
  decoded (RFC 3986 6.2.2.2) while escapes of reserved characters (``%2F``, ``%3F``...) are kept,
  because decoding those changes the meaning of the URL;
* ``www.`` is KEPT (``www.x.ma`` and ``x.ma`` may be different servers); only host comparisons for
  the allowed-domain check ignore it (``same_site``).

``may_fetch`` is the one rule for what a crawl may request at all (see its docstring).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "TRACKING_PARAMS",
    "FetchPolicy",
    "amp_to_canonical",
    "canonicalize",
    "host_identity",
    "host_key",
    "is_private_address",
    "may_fetch",
    "same_outlet",
    "same_site",
]

# Exact parameter names (compared lower-case) that only identify a campaign or a click.
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "twclid",
        "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "ref", "ref_src", "ref_url",
        "fb_action_ids", "fb_action_types", "fb_source", "fb_ref", "action_object_map",
        "action_type_map", "action_ref_map", "__twitter_impression", "ocid", "cmpid", "s_cid",
        "wt_mc", "wt.mc_id", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "rb_clickid",
        "spm", "share", "sh", "ito", "xtor", "ncid",
    }
)  # fmt: skip
# Parameter-name prefixes of tracking families (utm_source, at_medium (AT Internet), pk_/mtm_ (Matomo)).
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "at_", "pk_", "mtm_", "hsa_")

_DEFAULT_PORTS = {"http": 80, "https": 443}
_HEX = "0123456789ABCDEFabcdef"
# RFC 3986 unreserved characters: an escape of one of these is the same URL as the character.
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Characters left as they are (not escaped) in a path / in a query component.
_PATH_SAFE = _UNRESERVED | frozenset("!$&'()*+,;=:@/")
_QUERY_SAFE = _UNRESERVED | frozenset("!$'()*+,;:@/?")  # '&' and '=' delimit pairs: always escaped


def _normalise_escapes(text: str, safe: frozenset[str]) -> str:
    """Percent-encode what must be, with upper-case hex; decode escapes of unreserved characters."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "%" and i + 2 < n and text[i + 1] in _HEX and text[i + 2] in _HEX:
            code = int(text[i + 1 : i + 3], 16)
            decoded = chr(code)
            out.append(decoded if decoded in _UNRESERVED else f"%{code:02X}")
            i += 3
            continue
        if ch in safe:
            out.append(ch)
        else:
            # A raw non-ASCII character (an Arabic slug), a space, or a stray '%': UTF-8 escapes.
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4, so ``/a/./b/../c`` and ``/a/c`` are one URL."""
    if "." not in path:
        return path
    output: list[str] = []
    segments = path.split("/")
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == ".":
            if last:
                output.append("")
        elif seg == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(seg)
    result = "/".join(output)
    return result if result.startswith("/") or not path.startswith("/") else "/" + result


def _normalise_host(host: str) -> str:
    host = host.strip().rstrip(".").lower()
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def _is_tracking(name: str) -> bool:
    key = name.lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def _normalise_query(query: str) -> str:
    pairs: list[tuple[str, str]] = []
    for piece in query.split("&"):
        if not piece:
            continue
        name, sep, value = piece.partition("=")
        name_n = _normalise_escapes(name, _QUERY_SAFE)
        if _is_tracking(_unquote_ascii(name_n)):
            continue
        pairs.append((name_n, sep + _normalise_escapes(value, _QUERY_SAFE)))
    pairs.sort()
    return "&".join(name + value for name, value in pairs)


def _unquote_ascii(text: str) -> str:
    return re.sub(r"%([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), text)


def canonicalize(url: str) -> str:
    """The one stored form of an absolute http(s) URL (see the module docstring for the rules).

    Idempotent: ``canonicalize(canonicalize(u)) == canonicalize(u)``. A URL that is not absolute
    http(s) is returned stripped of its fragment and otherwise unchanged.
    """
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return urlunsplit(parts._replace(fragment=""))
    host = _normalise_host(parts.hostname)
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # a non-numeric port: keep the URL as it came, minus the fragment
        return urlunsplit(parts._replace(fragment=""))
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    if userinfo:
        netloc = f"{userinfo}@{netloc}"
    path = _remove_dot_segments(_normalise_escapes(parts.path, _PATH_SAFE)) or "/"
    return urlunsplit((scheme, netloc, path, _normalise_query(parts.query), ""))


_AMP_QUERY = re.compile(r"(^|&)(amp|outputtype=amp)(=[^&]*)?(?=&|$)", re.IGNORECASE)


def amp_to_canonical(url: str) -> str:
    """Heuristic: the non-AMP URL of an AMP page (``.../amp``, ``.../amp/``, ``?amp=1``, ``/amp/...``).

    Only a guess from the URL's shape; the extractor prefers the page's own rel=canonical.
    """
    canon = canonicalize(url)
    parts = urlsplit(canon)
    path, query = parts.path, parts.query
    if path.endswith("/amp/"):
        path = path[: -len("amp/")]
    elif path.endswith("/amp"):
        path = path[: -len("/amp")] or "/"
    elif path.startswith("/amp/") and len(path) > len("/amp/"):
        path = path[len("/amp") :]
    query = _AMP_QUERY.sub("", query).strip("&")
    return urlunsplit(parts._replace(path=path, query=query))


def host_key(host: str) -> str:
    """A host as compared for the allowed-domain check: lower-case, punycode, no ``www.``."""
    return _normalise_host(host).removeprefix("www.")


def same_site(url: str, allowed_domains: Iterable[str]) -> bool:
    """Whether `url` is on one of `allowed_domains` or a subdomain of one, ``www.`` ignored.

    ``same_site("https://www.hespress.com/x", ["hespress.com"])`` is true;
    ``same_site("https://evilhespress.com/x", ["hespress.com"])`` is not.
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return False
    host = host_key(parts.hostname)
    for domain in allowed_domains:
        d = host_key(domain.strip().lstrip("."))
        if d and (host == d or host.endswith("." + d)):
            return True
    return False


def same_outlet(a: str, b: str) -> bool:
    """Whether two URLs are on one outlet's site: one host, or one a subdomain of the other, with
    ``www.``, ``m.`` and ``amp.`` ignored (a mobile or AMP page names its own page as canonical).

    ``same_outlet("https://m.hespress.com/a", "https://www.hespress.com/b")`` is true.
    """
    ha, hb = _outlet_host(a), _outlet_host(b)
    return bool(ha and hb) and (ha == hb or ha.endswith("." + hb) or hb.endswith("." + ha))


def _outlet_host(url: str) -> str:
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return ""
    return host_key(host).removeprefix("m.").removeprefix("amp.") if host else ""


# ------------------------------------------------------------------------------- what may be fetched

# The store keeps URLs in 2,000-character columns (Scrapy's own URLLENGTH_LIMIT is 2,083); no
# article URL comes near it, and a longer one could not be recorded on PostgreSQL.
MAX_URL_LENGTH = 2000
_IPV4_PART = re.compile(r"^(0[xX][0-9a-fA-F]*|[0-9]+)$")


def _ipv4_number(part: str) -> int | None:
    """One part of an IPv4 literal as inet_aton reads it: 0x.. hex, 0.. octal, else decimal."""
    if not _IPV4_PART.match(part):
        return None
    if part[:2] in ("0x", "0X"):
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8) if all(c in "01234567" for c in part) else None
    return int(part)


def _ipv4_literal(host: str) -> ipaddress.IPv4Address | None:
    """Every IPv4 spelling the C resolver accepts (WHATWG's host parser agrees): 127.0.0.1,
    2130706433, 0177.0.0.1, 0x7f.1, 127.1. None when `host` is not written as one."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_ipv4_number(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    *head, last = [n for n in numbers if n is not None]
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(parts)):
        return None
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def host_identity(host: str) -> str:
    """The one spelling of a host used to compare hosts with each other and with lists of names:
    lower-case punycode without a trailing dot, and an IP literal in any form as its address
    (``2130706433``, ``0x7f.1`` and ``[::ffff:127.0.0.1]`` are all ``127.0.0.1``)."""
    name = _normalise_host(host.strip().removeprefix("[").removesuffix("]"))
    if not name:
        return ""
    v4 = _ipv4_literal(name)
    if v4 is not None:
        return str(v4)
    if ":" in name:
        try:
            v6 = ipaddress.IPv6Address(name)
        except ValueError:
            return name
        mapped = v6.ipv4_mapped
        return str(mapped) if mapped is not None else str(v6)
    return name


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64 64:ff9b::/96)."""
    out: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        out.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        out.append(ip.sixtofour)
    if ip.teredo is not None:
        out.extend(ip.teredo)
    if ip in _NAT64:
        out.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return out


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def is_private_address(address: str) -> bool:
    """Whether an IP address (any spelling) is not a public internet address: loopback, private,
    link-local (169.254.169.254, the cloud metadata service), shared (100.64/10), reserved,
    multicast or unspecified; an IPv6 address carrying such an IPv4 address counts as one.
    A name that is not an IP literal is not an address: False."""
    text = host_identity(address)
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        candidates += _embedded_ipv4(ip)
    return any(
        not c.is_global
        or c.is_private
        or c.is_loopback
        or c.is_link_local
        or c.is_reserved
        or c.is_multicast
        or c.is_unspecified
        for c in candidates
    )


def _is_local_name(host: str) -> bool:
    """``localhost`` and its subdomains (RFC 6761: they resolve to loopback)."""
    return host == "localhost" or host.endswith(".localhost")


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """What one source's crawl may request, built once from its configuration (``Source.fetch_policy``).

    `domains`: the allowed domains (``host_key`` form; subdomains allowed, ``www.`` ignored).
    `discovery_hosts`: hosts of the source's configured feeds and sitemaps (``host_identity``
    form, exact): they may serve discovery documents (feeds, sitemaps, their robots.txt), never
    articles. `private_hosts`: hosts (``host_identity`` form) that may be loopback or private
    addresses, or resolve to them; empty in production.
    """

    domains: tuple[str, ...]
    discovery_hosts: frozenset[str] = frozenset()
    private_hosts: frozenset[str] = frozenset()
    max_url_length: int = MAX_URL_LENGTH

    @classmethod
    def build(
        cls,
        domains: Iterable[str],
        discovery_urls: Iterable[str] = (),
        private_hosts: Iterable[str] = (),
        max_url_length: int = MAX_URL_LENGTH,
    ) -> FetchPolicy:
        keys = tuple(sorted({k for d in domains if (k := host_key(host_identity(d.strip().lstrip("."))))}))
        hosts: set[str] = set()
        for url in discovery_urls:
            try:
                name = urlsplit(url.strip()).hostname
            except ValueError:
                continue
            if name:
                hosts.add(host_identity(name))
        private = frozenset(h for p in private_hosts if (h := host_identity(p)))
        return cls(keys, frozenset(hosts), private, max_url_length)

    def allows_private(self, host: str) -> bool:
        return host_identity(host) in self.private_hosts


def may_fetch(url: str, policy: FetchPolicy, *, discovery: bool = False) -> str | None:
    """The one decision whether a crawl may request `url`: None if it may, else the reason.

    Reasons: ``bad-scheme`` (anything but http/https: file:, ftp:, data:, gopher: ...),
    ``bad-url`` (no host, a port that is not a number, userinfo: ``user@host`` is read as
    ``host`` by this check but as the whole ``user@host`` by the HTTP client, and a URL two
    parsers read differently is how request-forgery filters are bypassed), ``url-too-long``,
    ``offsite-request`` (the host is neither an allowed domain nor, for a discovery document,
    the host of a configured feed or sitemap), ``private-address`` (the host is ``localhost``
    or an IP literal, in any spelling, of a loopback, private, link-local, reserved, multicast
    or unspecified address, and the policy does not name it in `private_hosts`).

    A name that *resolves* to a private address is refused when it is resolved
    (``ingest.crawl.resolver``): this function does no I/O.
    """
    if len(url) > policy.max_url_length:
        return "url-too-long"
    try:
        parts = urlsplit(url.strip())
        port_ok = parts.port is None or 0 < parts.port < 65536
        raw_host = parts.hostname
    except ValueError:
        return "bad-url" if url.strip().lower().startswith(("http:", "https:")) else "bad-scheme"
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        return "bad-scheme"
    if not raw_host or not port_ok:
        return "bad-url"
    host = host_identity(raw_host)
    if not host or (any(c in host for c in "@\\%/ \t") and ":" not in host):
        return "bad-url"
    key = host_key(host)
    on_site = any(key == d or key.endswith("." + d) for d in policy.domains)
    if not on_site and not (discovery and host in policy.discovery_hosts):
        return "offsite-request"
    literal = _ipv4_literal(host) is not None or ":" in host
    if (_is_local_name(host) or (literal and is_private_address(host))) and host not in policy.private_hosts:
        return "private-address"
    if "@" in parts.netloc:
        return "bad-url"
    return None
