"""The crawler's memory of URLs: what it has fetched, when, and with which validators.

The spiders ask the frontier before they queue an article and tell it what every fetch returned.
The memory lives in the store (``ingest.store.fetch_state.DbFrontier``); this module holds only the
contract, so the fetch side never depends on how it is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

# The error a backfill records for an article page whose own date is outside its window.
OUTSIDE_WINDOW = "outside-window"
UrlKind = Literal["article", "feed", "sitemap", "listing", "robots", "homepage"]


@dataclass(frozen=True, slots=True)
class Validators:
    """HTTP cache validators from the last successful fetch of a URL (for conditional requests)."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """What one fetch returned, as the frontier records it."""

    url: str
    source: str
    kind: UrlKind
    status: int  # HTTP status; 0 for a transport failure (DNS, timeout, refused)
    fetched_at: datetime
    validators: Validators = Validators()
    content_hash: str | None = None
    error: str | None = None  # short reason when the fetch failed or the page was refused


class Frontier(Protocol):
    def unseen_articles(
        self,
        source: str,
        urls: Iterable[str],
        now: datetime,
        in_window: Callable[[datetime | None], bool] | None = None,
    ) -> set[str]:
        """The URLs among `urls` that should be fetched: never fetched successfully, or fetched
        recently enough to be inside the re-check window, or whose last fetch failed transiently.
        A page a backfill left out (`OUTSIDE_WINDOW`, with its date) is unseen again unless this
        crawl is a backfill (`in_window`) whose window leaves it out too."""
        ...

    def validators(self, url: str) -> Validators:
        """Validators for a conditional request to a feed or sitemap (empty if never fetched)."""
        ...

    def fetched_before(self, url: str) -> bool:
        """Whether a feed, sitemap or listing URL was ever fetched and read whole (a document
        whose links were cut by a cap, or that an XML error cut short, does not count)."""
        ...

    def settled_failure(self, url: str, now: datetime) -> str | None:
        """Why a feed, sitemap or listing URL is not to be fetched on this run (its last fetch
        found it over a size limit, recently: a bomb costs once, not every run), or None."""
        ...

    def record(self, outcomes: Iterable[FetchOutcome]) -> None:
        """Remember fetches (idempotent: the last outcome per URL wins)."""
        ...

    def record_read_whole(self, outcomes: Iterable[FetchOutcome]) -> None:
        """Remember feeds, sitemaps and listings a finished crawl read whole, once every article
        page the run fetched is stored. Their validators make the next run skip them as unchanged
        (304, an old lastmod), so recorded before their articles, a crash between would lose those
        articles for good: a worker killed mid-crawl lost 3 of a sample outlet's articles so."""
        ...
