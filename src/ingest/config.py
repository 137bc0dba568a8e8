"""The sources file and the service settings: typed, validated, with line-precise errors.

A sources file is YAML:

    defaults:            # optional; merged under every source entry
      schedule: {every: 30m, jitter: 60s}
    sources:
      - name: hespress
        homepage: https://www.hespress.com/
        feeds: [https://www.hespress.com/feed]
        ...

Every problem is reported as ``file:line: sources[i].key: reason``. A bad source entry is
skipped and reported; the other entries still load (``SourcesFile.errors``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from ingest.urls import MAX_URL_LENGTH, FetchPolicy

DEFAULT_SOURCES = Path("config/sources.yaml")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# A host name (letters, digits, '-', '_', dots) or an IP literal (IPv6 with or without brackets).
_HOST = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*|[A-Za-z0-9_.-]+)$")


class ConfigError(Exception):
    """A configuration problem, located in its file."""

    def __init__(self, path: str, line: int | None, where: str, reason: str) -> None:
        self.path, self.line, self.where, self.reason = path, line, where, reason
        loc = f"{path}:{line}" if line else path
        super().__init__(f"{loc}: {where}: {reason}" if where else f"{loc}: {reason}")


def parse_duration(value: str | int | float) -> timedelta:
    """'90s', '30m', '2h', '1d', or a number of seconds."""
    if isinstance(value, int | float):
        return timedelta(seconds=float(value))
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"not a duration: {value!r} (use e.g. 90s, 30m, 2h, 1d)")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return url


# The languages extraction recognises; a source keeping only others would store nothing.
LANGUAGES = ("ar", "fr", "en")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Schedule(_Strict):
    """When the worker crawls a source: a fixed interval or a cron expression, plus jitter."""

    every: str | None = None
    cron: str | None = None
    jitter: str = "0s"

    @model_validator(mode="after")
    def _one_kind(self) -> Schedule:
        if (self.every is None) == (self.cron is None):
            raise ValueError("give exactly one of 'every' (e.g. 30m) or 'cron' (e.g. '*/30 * * * *')")
        if self.every is not None:
            parse_duration(self.every)
        if self.cron is not None and len(self.cron.split()) != 5:
            raise ValueError(f"cron needs 5 fields (minute hour day month weekday): {self.cron!r}")
        parse_duration(self.jitter)
        return self

    @property
    def interval(self) -> timedelta | None:
        return parse_duration(self.every) if self.every else None

    @property
    def jitter_seconds(self) -> int:
        return int(parse_duration(self.jitter).total_seconds())


class Listing(_Strict):
    """A listing page to walk for backfills.

    `next` is a CSS selector for the link to the next page; `page_url` is a template with ``{page}``
    (e.g. ``https://x.ma/politique/page/{page}/``) for sites whose next link is not markup-stable.
    """

    url: str
    next: str | None = None
    page_url: str | None = None
    max_pages: int = Field(default=50, ge=1, le=10_000)

    @field_validator("url", "page_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None:
            _check_url(v.replace("{page}", "1"))
        return v

    @model_validator(mode="after")
    def _how_to_paginate(self) -> Listing:
        if self.page_url is not None and "{page}" not in self.page_url:
            raise ValueError("page_url must contain '{page}'")
        return self


class Source(_Strict):
    """One outlet."""

    name: str
    title: str | None = None  # display name, e.g. "هسبريس"
    homepage: str
    feeds: list[str] = Field(default_factory=list)
    sitemaps: list[str] = Field(default_factory=list)
    listings: list[Listing] = Field(default_factory=list)
    allowed_domains: list[str] = Field(default_factory=list)
    article_url_pattern: str = r".*"
    exclude_url_pattern: str | None = None
    languages: list[str] = Field(default_factory=lambda: ["ar", "fr"])  # Moroccan outlets publish both
    timezone: str = "Africa/Casablanca"
    schedule: Schedule = Field(default_factory=lambda: Schedule(every="30m"))
    enabled: bool = True
    discover_feeds: bool = True  # look for <link rel=alternate> feeds and WordPress paths if none listed
    # Hosts that may be loopback/private addresses (or resolve to them); the sample web and tests
    # name 127.0.0.1 here. Empty by default: a crawl never reaches inside the network it runs in.
    allow_private_hosts: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"name must be lower-case letters, digits, '-' or '_' (got {v!r})")
        return v

    @field_validator("homepage")
    @classmethod
    def _homepage(cls, v: str) -> str:
        return _check_url(v)

    @field_validator("feeds", "sitemaps")
    @classmethod
    def _urls(cls, v: list[str]) -> list[str]:
        return [_check_url(u) for u in v]

    @field_validator("allow_private_hosts")
    @classmethod
    def _hosts(cls, v: list[str]) -> list[str]:
        for host in v:
            if not isinstance(host, str) or not _HOST.match(host.strip()) or not host.strip(". "):
                raise ValueError(f"not a host name or IP address (no scheme, port or path): {host!r}")
        return [h.strip() for h in v]

    @field_validator("article_url_pattern", "exclude_url_pattern")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return v

    @field_validator("languages")
    @classmethod
    def _languages(cls, v: list[str]) -> list[str]:
        unknown = [lang for lang in v if lang not in LANGUAGES]
        if unknown or not v:
            got = ", ".join(unknown) if unknown else "an empty list"
            raise ValueError(f"languages must be among {', '.join(LANGUAGES)} (got {got})")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Africa/Casablanca)") from None
        return v

    @model_validator(mode="after")
    def _domains(self) -> Source:
        if not self.allowed_domains:
            host = urlsplit(self.homepage).hostname or ""
            object.__setattr__(self, "allowed_domains", [host.removeprefix("www.")])
        return self

    def is_article_url(self, url: str) -> bool:
        if self.exclude_url_pattern and re.search(self.exclude_url_pattern, url):
            return False
        return re.search(self.article_url_pattern, url) is not None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def fetch_policy(self, max_url_length: int | None = None) -> FetchPolicy:
        """What this source's crawl may request (``ingest.urls.may_fetch``)."""
        return FetchPolicy.build(
            self.allowed_domains,
            [*self.feeds, *self.sitemaps],
            self.allow_private_hosts,
            max_url_length or MAX_URL_LENGTH,
        )


@dataclass
class SourcesFile:
    """The loaded sources and the problems found on the way (each entry with a problem is skipped)."""

    path: str
    sources: list[Source] = field(default_factory=list)
    errors: list[ConfigError] = field(default_factory=list)

    def select(self, names: Iterable[str] = ()) -> list[Source]:
        """Enabled sources, or exactly the named ones (enabled or not); unknown names raise."""
        wanted = list(names)
        if not wanted:
            return [s for s in self.sources if s.enabled]
        by_name = {s.name: s for s in self.sources}
        unknown = [n for n in wanted if n not in by_name]
        if unknown:
            raise ConfigError(self.path, None, "", f"unknown source(s): {', '.join(unknown)}")
        return [by_name[n] for n in wanted]


_ENV_REF = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}")


def _expand_env(value: Any) -> Any:
    """`${VAR}` and `${VAR:-default}` inside string values, so secrets and hosts stay out of the file."""
    if isinstance(value, str):
        return _ENV_REF.sub(lambda m: os.environ.get(m.group(1), m.group(2) or ""), value)
    if isinstance(value, dict):
        return {k: _expand_env(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v) for v in value]
    return value


def _unset_env(value: Any, loc: tuple[int | str, ...] = ()) -> list[tuple[tuple[int | str, ...], str]]:
    """(where, name) of every `${VAR}` without a default whose variable is not set: reported as
    such, rather than as the empty value it would expand to ("not an http(s) URL: ''")."""
    if isinstance(value, str):
        return [
            (loc, m.group(1)) for m in _ENV_REF.finditer(value) if m.group(2) is None and m.group(1) not in os.environ
        ]
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    return [found for key, v in items for found in _unset_env(v, (*loc, key))]


def _line_of(node: Any, loc: tuple[int | str, ...]) -> int | None:
    """Walk a ruamel round-trip tree along a pydantic error location; return the 1-based line."""
    line: int | None = getattr(getattr(node, "lc", None), "line", None)
    for key in loc:
        if isinstance(node, CommentedMap) and key in node:
            line = node.lc.key(key)[0]
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and key < len(node):
            line = node.lc.item(key)[0]
            node = node[key]
        else:
            break
    return None if line is None else line + 1


def _describe(loc: tuple[int | str, ...]) -> str:
    out = ""
    for key in loc:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), None, "", "file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), None, "", f"not UTF-8 text: {exc}") from None
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(str(path), line, "", f"YAML syntax: {exc.problem}") from None


def load_sources(path: str | Path = DEFAULT_SOURCES) -> SourcesFile:
    """Load a sources file. Raises ConfigError only when nothing in it can be used."""
    path = Path(path)
    doc = _read_yaml(path)
    result = SourcesFile(path=str(path))
    if not isinstance(doc, CommentedMap) or not isinstance(doc.get("sources"), CommentedSeq):
        raise ConfigError(str(path), _line_of(doc, ()), "", "expected a mapping with a 'sources:' list")
    unknown = [k for k in doc if k not in ("defaults", "sources")]
    for key in unknown:
        result.errors.append(ConfigError(str(path), _line_of(doc, (key,)), str(key), "unknown top-level key"))
    defaults = doc.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise ConfigError(str(path), _line_of(doc, ("defaults",)), "defaults", "expected a mapping")
    seen: dict[str, int] = {}
    for i, entry in enumerate(doc["sources"]):
        where = f"sources[{i}]"
        if not isinstance(entry, dict):
            line = _line_of(doc, ("sources", i))
            result.errors.append(ConfigError(str(path), line, where, "expected a mapping"))
            continue
        raw = {**_plain(defaults), **_plain(entry)}
        if unset := _unset_env(raw):
            for loc, name in unset:
                line = _line_of(doc, ("sources", i, *loc)) or _line_of(doc, ("sources", i))
                msg = f"environment variable {name} is not set (or write ${{{name}:-default}})"
                result.errors.append(ConfigError(str(path), line, _describe((where, *loc)), msg))
            continue
        merged = _expand_env(raw)
        try:
            source = Source.model_validate(merged)
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(err["loc"])
                line = _line_of(doc, ("sources", i, *loc)) or _line_of(doc, ("sources", i))
                msg = err["msg"].removeprefix("Value error, ")
                if err["type"] == "extra_forbidden":
                    msg = "unknown key"
                result.errors.append(ConfigError(str(path), line, _describe((where, *loc)), msg))
            continue
        if source.name in seen:
            line = _line_of(doc, ("sources", i, "name"))
            result.errors.append(
                ConfigError(str(path), line, f"{where}.name", f"duplicate name (first at line {seen[source.name]})")
            )
            continue
        seen[source.name] = _line_of(doc, ("sources", i, "name")) or 0
        result.sources.append(source)
    return result


def _plain(node: Any) -> Any:
    """ruamel containers to plain dicts and lists (pydantic validates plain data)."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


class Settings(_Strict):
    """Service-wide settings; every field can be set by an INGEST_<NAME> environment variable."""

    database_url: str | None = None  # default: sqlite:///<data_dir>/ingest.sqlite
    data_dir: Path = Path("data")
    user_agent: str = "ingest/0.1 (+https://github.com/ingest-news/ingest; news archive crawler)"
    concurrent_requests: int = Field(default=32, ge=1)
    concurrent_per_source: int = Field(default=4, ge=1)
    download_delay: float = Field(default=0.1, ge=0)  # floor per source; AutoThrottle adapts above it
    download_timeout: float = Field(default=30, gt=0)
    max_page_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_links_per_page: int = Field(default=1000, ge=1)  # article URLs queued from one listing page or feed
    max_articles_per_run: int = Field(default=10_000, ge=1)  # article URLs queued per source and run
    # Characters of article text stored; the rest is cut and counted. The longest gold article of
    # 890 real benchmark pages has 53,372 (median 8,280); a 9.5 MB page once gave 5.47 million.
    max_text_chars: int = Field(default=200_000, ge=100)
    retry_times: int = Field(default=2, ge=0)
    autothrottle: bool = True
    recheck_window: str = "2d"  # known articles published this recently are re-fetched (corrections)
    recheck_every: str = "6h"  # ... but at most this often
    extract_workers: int = Field(default=0, ge=0)  # 0: one per CPU core

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            env = os.environ.get(f"INGEST_{name.upper()}")
            if env is not None:
                values[name] = env
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'ingest.sqlite').resolve()}"
