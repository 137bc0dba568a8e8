"""The articles of the sample web: stories in content/*.yaml, rendered into per-outlet copies.

A story is one base text (a MAP dispatch, a press release, or an outlet's own piece). Each copy
names an outlet and the edits that outlet made (new headline, dateline lead, dropped or cut
paragraphs, added context, another closing formula). Applying the edits here, at build time,
is what makes the ground truth exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

from ruamel.yaml import YAML

from ingest.demo import urls
from ingest.demo.dates import parse_local

CONTENT_FILES = ("syndicated.yaml", "singles.yaml", "botola.yaml", "bulletins.yaml", "french.yaml", "briefs.yaml")


@dataclass(frozen=True)
class Article:
    """One page of one outlet (an article, or a page that looks like one)."""

    outlet: str
    story: str | None
    title: str
    paragraphs: tuple[str, ...]
    published: datetime  # aware, UTC
    modified: datetime
    lang: str
    section: str
    slug: str
    num: int = 0  # the outlet's numeric id, assigned per outlet
    author: str = ""
    topic: str = ""
    hostile: str | None = None
    expect: str = "stored"
    kind: str = "article"  # article | tag | video | pdf | huge
    image: str = ""
    in_feeds: bool = True
    path: str = field(default="", compare=False)

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)

    @property
    def excerpt(self) -> str:
        """First sentence of the first real paragraph, for related blocks and listings."""
        body = next((p for p in self.paragraphs if len(p) > 40), self.paragraphs[0] if self.paragraphs else "")
        cut = min((i for i in (body.find("،"), body.find(".")) if i > 30), default=len(body))
        return body[: min(cut, 160)].rstrip("،. ") + " …"


def _load(name: str) -> list[dict[str, Any]]:
    text = resources.files("ingest.demo").joinpath("content", name).read_text(encoding="utf-8")
    doc = YAML(typ="safe").load(text) or {}
    return list(doc.get("stories", []))


def _edit(base: list[str], copy: dict[str, Any]) -> list[str]:
    """Apply one outlet's edits to the base paragraphs, in the order an editor would."""
    paras = list(base)
    if "first" in copy:
        paras[0] = copy["first"]
    drop = set(copy.get("drop", []))
    paras = [p for i, p in enumerate(paras) if i not in drop]
    if "keep" in copy:
        paras = paras[: copy["keep"]]
    for add in sorted(copy.get("add", []), key=lambda a: -a["after"]):
        paras.insert(add["after"], add["text"])
    if "prefix" in copy:
        paras[0] = copy["prefix"] + paras[0]
    if "closing" in copy:
        paras.append(copy["closing"])
    if "lead" in copy:
        paras.insert(0, copy["lead"])
    return [p.strip() for p in paras]


def _copies(story: dict[str, Any]) -> list[Article]:
    base_time = parse_local(story["at"])
    out = []
    for copy in story.get("copies") or [{"outlet": story["outlet"], "hostile": story.get("hostile")}]:
        published = base_time + timedelta(minutes=copy.get("after", 0))
        out.append(
            Article(
                outlet=copy["outlet"],
                story=story["id"],
                title=copy.get("title", story["title"]).strip(),
                paragraphs=tuple(_edit(story["paragraphs"], copy)),
                published=published,
                modified=published + timedelta(minutes=copy.get("modified", 7)),
                lang=story.get("lang", "ar"),
                section=story.get("section", "society"),
                slug=copy.get("slug", story.get("slug", story["id"].removeprefix("s-"))),
                author=copy.get("author", story.get("author", "")),
                topic=story.get("topic", ""),
                hostile=copy.get("hostile"),
                in_feeds=copy.get("hostile") is None,  # hostile pages stay out of feeds
                image=copy.get("image", story.get("image", "")),
            )
        )
    return out


def _number(articles: list[Article]) -> list[Article]:
    """Give each article its outlet's numeric id (older first) and its URL path."""
    out: list[Article] = []
    by_outlet: dict[str, list[Article]] = {}
    for a in articles:
        by_outlet.setdefault(a.outlet, []).append(a)
    for outlet, items in by_outlet.items():
        items.sort(key=lambda a: (a.published, a.slug))
        for rank, a in enumerate(items):
            num = urls.first_id(outlet) + 17 * rank + (rank * rank) % 11
            numbered = replace(a, num=num)
            out.append(replace(numbered, path=urls.article_path(numbered)))
    out.sort(key=lambda a: (a.outlet, a.published, a.slug))
    return out


@cache
def articles() -> tuple[Article, ...]:
    """Every article copy of every outlet (port-independent), sorted by outlet then time."""
    built: list[Article] = []
    for name in CONTENT_FILES:
        for story in _load(name):
            built.extend(_copies(story))
    return tuple(_number(built))


def by_outlet(outlet: str) -> list[Article]:
    return [a for a in articles() if a.outlet == outlet]
