"""What a page's HTML head says of it, read once for every extraction rule that asks."""

from __future__ import annotations

from lxml.html import HtmlElement


def meta_map(tree: HtmlElement) -> dict[str, str]:
    """Lower-cased ``property`` / ``name`` / ``itemprop`` / ``http-equiv`` -> content, stripped; the
    first occurrence wins. (Two copies of this rule had drifted: the extractor's ignored
    ``http-equiv``, so the ``content-language`` it asks for as a language prior was never found.)"""
    out: dict[str, str] = {}
    for el in tree.iter("meta"):
        attr = el.get("property") or el.get("name") or el.get("itemprop") or el.get("http-equiv") or ""
        key, content = attr.strip().lower(), (el.get("content") or "").strip()
        if key and content and key not in out:
            out[key] = content
    return out
