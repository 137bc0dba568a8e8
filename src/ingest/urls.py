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
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

__all__ = ["TRACKING_PARAMS", "amp_to_canonical", "canonicalize", "host_key", "same_site"]

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
