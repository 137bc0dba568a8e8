"""What a copy changed in the canonical text: paragraphs added, dropped, reworded; a new headline.

Paragraphs are compared as wholes (difflib over the lists of paragraphs), because outlets edit
wire copy a paragraph at a time: they cut a closing formula, add a dateline, rewrite a lead.
A pair of paragraphs that share too little is a drop and an addition, not a rewording.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import datetime

_REWORDED = 0.5  # similarity ratio under which a replaced paragraph is another paragraph


@dataclass(frozen=True)
class Change:
    kind: str  # "added", "dropped" or "reworded"
    before: str = ""  # the canonical paragraph ("" when added)
    after: str = ""  # the copy's paragraph ("" when dropped)
    words: list[tuple[str, str]] = field(default_factory=list)  # reworded: ("same"|"del"|"ins", text)


@dataclass(frozen=True)
class CopyDiff:
    new_headline: str | None  # the copy's headline when it is not the canonical one
    changes: list[Change]
    kept: int  # paragraphs the copy ran unchanged

    @property
    def identical(self) -> bool:
        return self.new_headline is None and not self.changes


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.splitlines() if p.strip()]


def compare(canon_title: str, canon_text: str, title: str, text: str) -> CopyDiff:
    before, after = paragraphs(canon_text), paragraphs(text)
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    changes: list[Change] = []
    kept = 0
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            kept += i2 - i1
        else:
            changes.extend(_changes(before[i1:i2], after[j1:j2]))
    headline = title.strip() if title.strip() != canon_title.strip() else None
    return CopyDiff(headline, changes, kept)


def _changes(dropped: list[str], added: list[str]) -> list[Change]:
    """Pair replaced paragraphs in order; what finds no close partner was dropped or added."""
    out: list[Change] = []
    for old, new in zip(dropped, added, strict=False):
        ratio = difflib.SequenceMatcher(None, old.split(), new.split(), autojunk=False).ratio()
        if ratio >= _REWORDED:
            out.append(Change("reworded", old, new, word_diff(old, new)))
        else:
            out += [Change("dropped", before=old), Change("added", after=new)]
    out += [Change("dropped", before=p) for p in dropped[len(added) :]]
    out += [Change("added", after=p) for p in added[len(dropped) :]]
    return out


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    a, b = old.split(), new.split()
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("same", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("del", " ".join(a[i1:i2])))
        if j2 > j1:
            out.append(("ins", " ".join(b[j1:j2])))
    return out


def lag_text(published: datetime | None, first: datetime | None) -> str:
    """A copy's delay behind the story's first publication, as `+1 d 2 h 05 min`."""
    if published is None or first is None:
        return "—"
    minutes = max(0, int((published - first).total_seconds() // 60))
    if minutes == 0:
        return "0"
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = ([f"{days} d"] if days else []) + ([f"{hours} h"] if hours else []) + [f"{mins:02d} min"]
    return "+" + " ".join(parts)
