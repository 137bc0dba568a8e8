"""The ground truth: every page, the story it belongs to, what a correct pipeline stores.

content/ground_truth.json is generated from the content (``python -m ingest.demo truth``);
a test checks that regenerating gives the committed file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from ingest.demo import corpus, dates
from ingest.demo.corpus import Article
from ingest.demo.hostile import hostile_cases, hostile_pages
from ingest.demo.templates import CHROME_PHRASES

TRUTH_FILE = "ground_truth.json"


class _Record:
    """Attribute access (page.story) and, for code written against the JSON, item access (page["story"])."""

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)


@dataclass(frozen=True)
class Page(_Record):
    """One page of the ground truth. `text` is what an ideal extractor keeps (dateline lead included,
    chrome excluded); `published_at` is UTC; `expect` is stored | rejected | not-fetched."""

    outlet: str
    path: str
    story: str | None
    title: str
    published_at: str
    modified_at: str
    language: str
    section: str
    topic: str | None
    kind: str
    text: str
    expect: str
    hostile: str | None

    @property
    def key(self) -> str:
        """'outlet:/path', the form used in `GroundTruth.stories`."""
        return f"{self.outlet}:{self.path}"

    @property
    def published(self) -> datetime:
        return datetime.fromisoformat(self.published_at)


@dataclass(frozen=True)
class HostileCase(_Record):
    """A hostile case: `expect` is stored (its target, once) | rejected | not-fetched | bounded."""

    kind: str
    outlet: str
    path: str
    expect: str
    target: str | None = None  # 'outlet:/path' of the article it leads to
    note: str = ""

    @property
    def key(self) -> str:
        return f"{self.outlet}:{self.path}"


@dataclass(frozen=True)
class GroundTruth:
    """What a correct pipeline finds on the sample web (see content/ground_truth.json)."""

    pages: list[Page]
    stories: dict[str, list[str]]  # story id -> ['outlet:/path', ...] of its stored copies
    chrome_phrases: list[str]
    hostile: list[HostileCase] = field(default_factory=list)
    topics: dict[str, list[str]] = field(default_factory=dict)  # recurring topic -> distinct story ids

    @staticmethod
    def url(page: Page | HostileCase | Mapping[str, Any], base_urls: Mapping[str, str]) -> str:
        """Absolute URL of a page (or hostile case) on a running instance: base_urls from web.base_urls()."""
        return base_urls[page["outlet"]].rstrip("/") + page["path"]

    def stored_pages(self) -> list[Page]:
        return [p for p in self.pages if p.expect == "stored"]

    def page(self, outlet: str, path: str) -> Page:
        return next(p for p in self.pages if p.outlet == outlet and p.path == path)

    def by_key(self, key: str) -> Page:
        return self.page(*key.split(":", 1))

    def syndicated(self) -> dict[str, list[str]]:
        """Stories that ran on more than one outlet."""
        return {s: keys for s, keys in self.stories.items() if len({k.split(":")[0] for k in keys}) > 1}


def _page(a: Article) -> dict[str, Any]:
    return {
        "outlet": a.outlet, "path": a.path, "story": a.story, "title": a.title,
        "published_at": dates.iso_utc(a.published), "modified_at": dates.iso_utc(a.modified),
        "language": a.lang, "section": a.section, "topic": a.topic or None, "kind": a.kind,
        "text": a.text, "expect": a.expect, "hostile": a.hostile,
    }  # fmt: skip


def build_ground_truth() -> dict[str, Any]:
    """The ground-truth document, computed from the content."""
    arts = list(corpus.articles()) + list(hostile_pages())
    stories: dict[str, list[str]] = {}
    topics: dict[str, list[str]] = {}
    for a in arts:
        if a.story and a.expect == "stored":
            stories.setdefault(a.story, []).append(f"{a.outlet}:{a.path}")
            if a.topic and a.story not in topics.get(a.topic, []):
                topics.setdefault(a.topic, []).append(a.story)
    return {
        "pages": [_page(a) for a in arts],
        "stories": stories,
        "topics": topics,
        "hostile": [c.__dict__ for c in hostile_cases()],
        "chrome_phrases": list(CHROME_PHRASES),
    }


def render_ground_truth() -> str:
    return json.dumps(build_ground_truth(), ensure_ascii=False, indent=1) + "\n"


def truth_path() -> Path:
    return Path(str(resources.files("ingest.demo").joinpath("content", TRUTH_FILE)))


def write_ground_truth() -> Path:
    path = truth_path()
    path.write_text(render_ground_truth(), encoding="utf-8")
    return path


def load_ground_truth() -> GroundTruth:
    """The shipped ground truth (content/ground_truth.json)."""
    text = resources.files("ingest.demo").joinpath("content", TRUTH_FILE).read_text(encoding="utf-8")
    doc = json.loads(text)
    return GroundTruth(
        pages=[Page(**p) for p in doc["pages"]],
        stories=doc["stories"],
        chrome_phrases=doc["chrome_phrases"],
        hostile=[HostileCase(**c) for c in doc.get("hostile", [])],
        topics=doc.get("topics", {}),
    )
