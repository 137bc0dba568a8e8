"""URL schemes of the sample outlets: where each outlet puts its articles, feeds, sitemaps, listings.

Kept apart from the templates so the corpus (and the ground truth) can be built without ports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ingest.demo.corpus import Article

OUTLETS: tuple[str, ...] = ("almasaa", "rifpress", "madar24", "souss24", "casapost", "oujdacity")
BULK = "bulk"

_FIRST_ID = {"almasaa": 31200, "rifpress": 48210, "madar24": 902115, "souss24": 6610, "casapost": 17400,
             "oujdacity": 2301, BULK: 1}  # fmt: skip

# Section keys used in the content, and each outlet's slug for them.
SECTION_SLUGS = {
    "politics": "politique", "economy": "economie", "regions": "regions", "sport": "sport",
    "society": "societe", "culture": "culture", "weather": "meteo", "security": "faits-divers",
    "world": "monde", "health": "sante",
}  # fmt: skip
SECTION_AR = {
    "politics": "سياسة", "economy": "اقتصاد", "regions": "جهات", "sport": "رياضة", "society": "مجتمع",
    "culture": "ثقافة وفنون", "weather": "طقس", "security": "حوادث", "world": "دولي", "health": "صحة",
}  # fmt: skip
SECTION_FR = {
    "politics": "Politique", "economy": "Économie", "regions": "Régions", "sport": "Sport",
    "society": "Société", "culture": "Culture", "weather": "Météo", "security": "Faits divers",
    "world": "Monde", "health": "Santé",
}  # fmt: skip


def first_id(outlet: str) -> int:
    return _FIRST_ID[outlet]


def article_path(a: Article) -> str:
    """The canonical path of an article on its outlet."""
    d = a.published
    section = SECTION_SLUGS.get(a.section, "akhbar")
    match a.outlet:
        case "almasaa":
            return f"/{d:%Y}/{d:%m}/{a.slug}/"
        case "rifpress":
            return f"/news/{a.num}.html"
        case "madar24":
            return f"/akhbar/{a.slug}-{a.num}.html"
        case "souss24":
            return f"/{d:%Y}/{d:%m}/{d:%d}/{a.slug}/"
        case "casapost":
            return f"/{a.lang}/{section}/{a.slug}-{a.num}"
        case "oujdacity":
            return f"/{section.replace('-', '')}/{a.num}-{a.slug}.html"
        case _:
            return f"/b/{a.num}.html"


# What `article_url_pattern` each outlet needs in a sources file.
ARTICLE_PATTERNS = {
    "almasaa": r"/\d{4}/\d{2}/[^/]+/?$",
    "rifpress": r"/news/\d+\.html$",
    "madar24": r"/akhbar/[a-z0-9-]+-\d+\.html$",
    "souss24": r"/\d{4}/\d{2}/\d{2}/[^/]+/$",
    "casapost": r"/(ar|fr)/[a-z-]+/[a-z0-9-]+-\d+(/amp)?/?$",
    "oujdacity": r"/[a-z]+/\d+-[a-z0-9-]+\.html$",
    BULK: r"/b/\d+\.html$",
}
