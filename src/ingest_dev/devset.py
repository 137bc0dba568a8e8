"""A labelled dev set for near-duplicate detection, built from our own wire-style Arabic stories.

`devset_data/stories.json` holds 40 base stories written for this project. Most belong to a
hard-negative family (`group`): distinct stories that share stock phrases (police anniversaries
in several cities and years, match reports of one league round, government council weeks,
royal pardon communiqués) or a template filled with other numbers (weather bulletins, weekly
exchange-rate notes). `generate` publishes each story once as the original and 0-4 times as a
syndicated copy, each copy carrying the edits outlets make when they republish wire copy
(new headline, dateline, trimmed or dropped paragraphs, reworded lead, other spellings,
closing formulas, a related-articles block the extractor missed), sometimes several at once.

A dev set only says how well we model the phenomenon: tune on it, never to it.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import NamedTuple

__all__ = ["BaseStory", "DevDoc", "base_stories", "generate", "hard_negative_groups"]


@dataclass(frozen=True)
class BaseStory:
    story_id: str
    group: str
    published_at: datetime
    headline: str
    paragraphs: tuple[str, ...]


class DevDoc(NamedTuple):
    doc_id: str
    story_id: str
    text: str
    published_at: datetime


@dataclass
class _Draft:
    """A copy being edited: the headline and paragraphs, plus lines added around them."""

    story: BaseStory
    headline: str
    paragraphs: list[str]
    tail: list[str]
    bare_blocks: bool = True  # may a related-articles block come without its header line


_Edit = Callable[[_Draft, random.Random, list[BaseStory]], None]

_DATELINES = (
    "الرباط- متابعة",
    "و م ع",
    "الدار البيضاء - و م ع",
    "هسبريس من الرباط",
    "اليوم 24 من الدار البيضاء",
    "مراكش الآن - متابعة",
    "برلمان.كوم - الرباط",
    "الأيام 24",
)
_HEADLINE_PREFIXES = ("عاجل:", "بالأرقام..", "رسميا:", "بلاغ:", "فيديو..")
_CLOSINGS = (
    "المصدر: وكالة المغرب العربي للأنباء",
    "(ومع)",
    "تابعوا آخر الأخبار عبر صفحتنا على فيسبوك وقناتنا على يوتيوب.",
    "حفظ الله مولانا أمير المؤمنين صاحب الجلالة الملك محمد السادس نصره الله وأيده.",
    "للمزيد من التفاصيل، تابعونا على موقعنا الإلكتروني.",
)
# Generic context paragraphs an outlet adds around wire copy; shared across stories on purpose.
_CONTEXT = (
    "وتجدر الإشارة إلى أن هذا الموضوع يحظى باهتمام واسع لدى الرأي العام الوطني، "
    "خاصة في ظل التحولات التي يعرفها المغرب خلال السنوات الأخيرة.",
    "ويأتي هذا في سياق يتسم بتزايد انتظارات المواطنين، وفق ما يؤكده عدد من المتتبعين للشأن المحلي.",
    "وكان الموقع قد نشر في وقت سابق تفاصيل أولية حول الموضوع، قبل أن تتضح باقي المعطيات.",
)
# Lead rewording: the substitutions copy editors make in a first sentence.
_SYNONYMS = {
    "أفادت": "أكدت",
    "أعلنت": "كشفت",
    "أوضح": "أبرز",
    "اليوم": "هذا اليوم",
    "صباح": "صبيحة",
    "مساء": "عشية",
    "حوالي": "نحو",
    "أزيد من": "أكثر من",
    "خلال": "طيلة",
    "حسب": "وفق",
    "تمكنت": "نجحت",
    "حقق": "أحرز",
    "احتفت": "احتفلت",
    "خلدت": "أحيت",
    "سجل": "عرف",
    "بلغ": "وصل",
    "إثر": "عقب",
    "المباراة": "المواجهة",
    "حفل": "احتفال",
    "أصيب": "جرح",
}
_TATWEEL = "\u0640"
_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@cache
def base_stories() -> tuple[BaseStory, ...]:
    """The 40 base stories of `devset_data/stories.json`."""
    raw = resources.files("ingest_dev").joinpath("devset_data/stories.json").read_text(encoding="utf-8")
    return tuple(
        BaseStory(
            story_id=s["id"],
            group=s["group"],
            published_at=datetime.fromisoformat(s["published_at"]),
            headline=s["headline"],
            paragraphs=tuple(s["paragraphs"]),
        )
        for s in json.loads(raw)["stories"]
    )


def hard_negative_groups() -> dict[str, list[str]]:
    """Hard-negative family -> its story ids (stand-alone stories excluded)."""
    groups: dict[str, list[str]] = {}
    for story in base_stories():
        if story.group != "none":
            groups.setdefault(story.group, []).append(story.story_id)
    return groups


def generate(seed: int = 0, max_copies: int = 4, bare_related_blocks: bool = True) -> list[DevDoc]:
    """Every base story as published by its first outlet, plus 0..max_copies edited copies.

    Deterministic for a given seed. doc_id is "<story_id>#<k>", k = 0 for the original.
    `bare_related_blocks=False` gives every related-articles block a header line, leaving out
    the case dedup is known to get wrong (a bare block quoting a same-family story's lead,
    compared with a trimmed copy of that story).
    """
    rng = random.Random(seed)
    stories = list(base_stories())
    docs: list[DevDoc] = []
    for story in stories:
        docs.append(DevDoc(f"{story.story_id}#0", story.story_id, _render(_draft(story)), story.published_at))
        for k in range(1, rng.randint(0, max_copies) + 1):
            text = _copy(story, rng, stories, bare_related_blocks)
            lag = timedelta(minutes=rng.randint(5, 36 * 60))
            docs.append(DevDoc(f"{story.story_id}#{k}", story.story_id, text, story.published_at + lag))
    return docs


def _copy(story: BaseStory, rng: random.Random, stories: list[BaseStory], bare_blocks: bool) -> str:
    draft = _draft(story)
    draft.bare_blocks = bare_blocks
    # Most copies carry one or two edits, some three; any may also be respelled.
    for edit in rng.sample(_EDITS, k=rng.choices((1, 2, 3), weights=(5, 4, 2))[0]):
        edit(draft, rng, stories)
    text = _render(draft)
    return _respell(text, rng) if rng.random() < 0.4 else text


def _draft(story: BaseStory) -> _Draft:
    return _Draft(story, story.headline, list(story.paragraphs), [])


def _render(draft: _Draft) -> str:
    return "\n".join([draft.headline, *draft.paragraphs, *draft.tail])


def _new_headline(d: _Draft, rng: random.Random, _: list[BaseStory]) -> None:
    lead_words = d.paragraphs[0].split()
    d.headline = rng.choice(
        (
            " ".join(lead_words[: rng.randint(7, 12)]),
            f"{rng.choice(_HEADLINE_PREFIXES)} {d.headline}",
            " ".join(d.headline.split()[: max(4, len(d.headline.split()) // 2)]),
        )
    )


def _dateline(d: _Draft, rng: random.Random, _: list[BaseStory]) -> None:
    line = rng.choice(_DATELINES)
    if rng.random() < 0.5:
        d.paragraphs.insert(0, line)  # on its own line, as in seed 004
    else:
        d.paragraphs[0] = f"{line}: {d.paragraphs[0]}"


def _drop_paragraph(d: _Draft, rng: random.Random, _: list[BaseStory]) -> None:
    if len(d.paragraphs) >= 4:
        del d.paragraphs[rng.randrange(1, len(d.paragraphs) - 1)]


def _cut_tail(d: _Draft, rng: random.Random, _: list[BaseStory]) -> None:
    cut = min(rng.randint(1, 3), len(d.paragraphs) - 2)
    if cut > 0:
        del d.paragraphs[-cut:]


def _add_context(d: _Draft, rng: random.Random, _: list[BaseStory]) -> None:
    d.paragraphs.insert(rng.choice((1, len(d.paragraphs))), rng.choice(_CONTEXT))


def _reword_lead(d: _Draft, rng: random.Random, _: list[BaseStory]) -> None:
    """Synonym swaps in the first sentence, and sometimes its first clause dropped."""
    first, sep, rest = d.paragraphs[0].partition("،")
    for word, synonym in _SYNONYMS.items():
        if rng.random() < 0.8:
            first = re.sub(rf"(?<!\w){word}(?!\w)", synonym, first)
    if sep and rng.random() < 0.3:
        rest = rest.split("،", 1)[-1]  # a dropped clause, as in seed 003
    d.paragraphs[0] = first + sep + rest


def _closing(d: _Draft, rng: random.Random, _: list[BaseStory]) -> None:
    d.tail.append(rng.choice(_CLOSINGS))


def _related_block(d: _Draft, rng: random.Random, stories: list[BaseStory]) -> None:
    """3-5 other headlines with their opening words: what a missed "related" widget leaves.

    Picked from the same family first, as a site's widget picks same-topic stories: the hard case.
    """
    mine = d.story
    family = [s for s in stories if s.group == mine.group and s is not mine and s.group != "none"]
    others = [s for s in stories if s is not mine and s not in family]
    picked = rng.sample(family, min(len(family), rng.randint(2, 4)))
    picked += rng.sample(others, rng.randint(3, 5) - min(len(picked), 3))
    # Usually under a header (which fingerprinting recognises), sometimes bare: a widget whose
    # header was an image or lived in another element than the headlines.
    headers = ("أخبار ذات صلة", "مقالات ذات صلة", "اقرأ أيضا:", "", "")
    header = rng.choice(headers[: 5 if d.bare_blocks else 3])
    d.tail += [header] if header else []
    for s in picked:
        d.tail += [s.headline, " ".join(s.paragraphs[0].split()[: rng.randint(15, 30)]) + "..."]


def _respell(text: str, rng: random.Random) -> str:
    """Other spellings of the same words: hamza seats, final yaa/taa marbuta, tatweel, digits."""
    swaps = [("أ", "ا"), ("إ", "ا"), ("ي ", "ى "), ("ة ", "ه "), ("لا", "لـا")]
    for old, new in rng.sample(swaps, k=rng.randint(1, len(swaps))):
        text = text.replace(old, new)
    if rng.random() < 0.5:
        text = text.translate(_INDIC)
    if rng.random() < 0.3:
        text = re.sub(r"(?<=[بتثنيس])(?=[اوي])", _TATWEEL, text, count=20)
    return text


_EDITS: tuple[_Edit, ...] = (
    _new_headline,
    _dateline,
    _drop_paragraph,
    _cut_tail,
    _add_context,
    _reword_lead,
    _closing,
    _related_block,
)
