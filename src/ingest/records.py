"""What crosses a stage boundary: fetch -> extract -> dedup -> store.

Every stage receives one of these immutable records and returns the next one; none of them
carries a reference back up the chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """One HTTP response for an article candidate, as the crawler saw it.

    `url` is the URL that was requested (already canonicalised), `final_url` the one that answered
    after redirects. `headers` keys are lower-case; a repeated header keeps its last value.
    """

    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    source: str
    fetched_at: datetime
    # Hints from discovery (feed item, news sitemap): used only when the page itself says nothing.
    hint_title: str | None = None
    hint_published: datetime | None = None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass(frozen=True, slots=True)
class Article:
    """What extraction keeps of a page: the article and its metadata, nothing of the chrome."""

    url: str  # canonical article URL (rel=canonical / og:url when trustworthy, else final URL)
    source: str
    title: str
    text: str
    published_at: datetime | None  # UTC
    fetched_at: datetime  # UTC
    language: str | None = None
    author: str | None = None
    section: str | None = None
    image_url: str | None = None
    updated_at: datetime | None = None
    method: str = "trafilatura"  # which extractor produced `text`
    fetched_url: str = ""  # the URL the crawler requested, when it differs from `url`
    cut_chars: int = 0  # characters of text dropped by the stored-text cap (0: nothing cut)
    # The other extraction candidates, best first, as (method, text): the writer falls back to the
    # next one when the outlet's recurring lines empty `text`. Never stored.
    alternatives: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Rejection:
    """A page that is not stored as an article, and why (recorded, never fatal)."""

    url: str
    source: str
    reason: str  # short machine-readable kind: "not-html", "too-short", "not-article", "empty", ...
    detail: str = ""
    # The page looked like an article (og:type article, JSON-LD article type, or an <h1> that is its
    # headline): losing it is a loss to count per source, not a listing page rightly skipped.
    looks_like_article: bool = False


@dataclass
class RunStats:
    """Counters for one crawl run; printed as the run summary and stored with the run."""

    pages_fetched: int = 0
    articles_extracted: int = 0
    new_stories: int = 0
    copies_linked: int = 0
    unchanged: int = 0
    texts_capped: int = 0  # stored articles whose text was cut to the stored-text cap
    errors: dict[str, int] = field(default_factory=dict)
    # Per source: "pages" (extraction outcomes), "stored" (articles kept) and one count per
    # rejection reason. How a run tells an outlet whose template broke (most pages rejected)
    # from one that merely published little.
    by_source: dict[str, dict[str, int]] = field(default_factory=dict)
    refused_live: int = 0  # article fetches refused so far (progress only; the reports count them)
    # Days (each source's own, ISO) on which an article stored this run was published: how far
    # a backfill has got through its window (progress only).
    days_stored: set[str] = field(default_factory=set)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def tally(self, source: str, key: str, n: int = 1) -> None:
        counts = self.by_source.setdefault(source, {})
        counts[key] = counts.get(key, 0) + n

    def rejected(self, source: str) -> dict[str, int]:
        """A source's rejections this run, by reason."""
        return rejections(self.by_source.get(source, {}))

    @property
    def error_count(self) -> int:
        """Errors so far: while a run goes, extraction rejections plus refused article fetches;
        once it ends, every error of the run (the reports' fetch errors merged into `errors`)."""
        return sum(self.errors.values()) + self.refused_live

    def copy(self) -> RunStats:
        return replace(
            self,
            errors=dict(self.errors),
            by_source={k: dict(v) for k, v in self.by_source.items()},
            days_stored=set(self.days_stored),
        )

    def restore(self, snapshot: RunStats) -> None:
        """Roll the counters back to `snapshot` (after a failed transaction)."""
        self.__dict__.update(snapshot.copy().__dict__)


# Keys of RunStats.by_source that are not rejection reasons.
TALLY_COUNTS = ("pages", "stored", "article-like")


def rejections(counts: dict[str, int]) -> dict[str, int]:
    """The rejection reasons of one source's tally (see RunStats.by_source)."""
    return {k: v for k, v in counts.items() if k not in TALLY_COUNTS}
