"""The frontier kept in the store: which URLs to fetch again, and with which validators.

Known article URLs are the stored copies themselves (`article_copies.url` / `fetched_url`): a
copy is written in the same transaction that records its fetch, so a crash can never leave a URL
"known" whose article was lost. Everything else lives in `fetch_state`, one row per URL: feeds,
sitemaps, listings, refused or failed articles, and aliases (other URLs that led to a stored
copy). Lookups are by primary key or indexed column in bounded batches, so their cost does not
grow with the size of the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, case, func, or_, select

from ingest.crawl.frontier import OUTSIDE_WINDOW, FetchOutcome, Validators
from ingest.store.db import in_chunks, read_session, upsert, write_transaction
from ingest.store.models import CopyRow, FetchStateRow

_BATCH = 500
# A transient failure (5xx, 429, transport) is retried on later runs up to this many times in a
# row, then only once a day; a permanent one (404, refused as not an article) is not retried.
_TRANSIENT_RETRIES = 3
_RETRY_AFTER_GIVING_UP = timedelta(days=1)


# Refusals decided by us, not by the network: trying again would be refused again.
_PERMANENT_KINDS = (
    "robots-disallowed", "offsite-redirect", "offsite-request", "private-address", "bad-scheme", "bad-url",
    "url-too-long", "not-html", "too-large", "too-many-redirects", "redirect-loop",
)  # fmt: skip
# A feed or sitemap found over a size limit (a gzip bomb, more than 50,000 entries) is not fetched
# again for this long: the next runs do not pay for it again, and a fixed one is read within a week.
_OVERSIZE_RECHECK = timedelta(days=7)


def is_transient(status: int, error: str | None = None) -> bool:
    if error and error.startswith(_PERMANENT_KINDS):
        return False
    return status == 0 or status in (408, 425, 429) or status >= 500


class DbFrontier:
    """`ingest.crawl.frontier.Frontier` on the store."""

    def __init__(
        self,
        engine: Engine,
        *,
        recheck_window: timedelta,
        recheck_every: timedelta,
        writer: Callable[[list[dict[str, Any]]], None] | None = None,
        writer_after_pages: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> None:
        """`writer`, when given, takes the fetch-state rows to write (the pipeline's writer thread),
        so that recording a fetch never waits for the store's write lock; `writer_after_pages`
        takes the rows of documents read whole, to write once the run's pages are stored."""
        self.engine = engine
        self.recheck_window = recheck_window
        self.recheck_every = recheck_every
        self.writer = writer
        self.writer_after_pages = writer_after_pages

    def unseen_articles(
        self,
        source: str,
        urls: Iterable[str],
        now: datetime,
        in_window: Callable[[datetime | None], bool] | None = None,
    ) -> set[str]:
        wanted = list(dict.fromkeys(urls))
        skip: set[str] = set()
        with read_session(self.engine) as session:
            for chunk in in_chunks(wanted, _BATCH):
                skip |= self._known_copies(session, chunk, now)
                skip |= self._settled_urls(session, chunk, now, in_window)
        return set(wanted) - skip

    def _known_copies(self, session: Any, urls: list[str], now: datetime) -> set[str]:
        rows = session.execute(
            select(CopyRow.url, CopyRow.fetched_url, CopyRow.published_at, CopyRow.fetched_at).where(
                or_(CopyRow.url.in_(urls), CopyRow.fetched_url.in_(urls))
            )
        )
        known: set[str] = set()
        for url, fetched_url, published_at, fetched_at in rows:
            # Recent articles get corrected: re-fetch them, but not on every run.
            recent = published_at is not None and now - published_at < self.recheck_window
            if not (recent and now - fetched_at >= self.recheck_every):
                known.update((url, fetched_url))
        return known

    def _settled_urls(
        self, session: Any, urls: list[str], now: datetime, in_window: Callable[[datetime | None], bool] | None
    ) -> set[str]:
        rows = session.execute(
            select(
                FetchStateRow.url,
                FetchStateRow.status,
                FetchStateRow.error,
                FetchStateRow.failures,
                FetchStateRow.last_fetched_at,
            )
            .where(FetchStateRow.url.in_(urls))
            .where(FetchStateRow.kind == "article")
        )
        settled: set[str] = set()
        for url, status, error, failures, last in rows:
            if error and error.startswith(OUTSIDE_WINDOW):
                if in_window is not None and not in_window(outside_window_date(error)):
                    settled.add(url)
                continue
            gave_up = failures >= _TRANSIENT_RETRIES and now - last < _RETRY_AFTER_GIVING_UP
            if not is_transient(status, error) or gave_up:
                settled.add(url)
        return settled

    def validators(self, url: str) -> Validators:
        with read_session(self.engine) as session:
            row = session.get(FetchStateRow, url)
            # A document not read whole (links capped, XML error) must be read whole next time.
            if row is None or row.status >= 400 or row.status == 0 or row.error:
                return Validators()
            return Validators(etag=row.etag, last_modified=row.last_modified)

    def fetched_before(self, url: str) -> bool:
        with read_session(self.engine) as session:
            row = session.execute(
                select(FetchStateRow.status, FetchStateRow.error).where(FetchStateRow.url == url)
            ).first()
            return row is not None and 0 < row.status < 400 and not row.error

    def settled_failure(self, url: str, now: datetime) -> str | None:
        with read_session(self.engine) as session:
            row = session.execute(
                select(FetchStateRow.error, FetchStateRow.last_fetched_at).where(FetchStateRow.url == url)
            ).first()
        if row is None or not row.error or not row.error.startswith("too-large"):
            return None
        return "too-large" if now - row.last_fetched_at < _OVERSIZE_RECHECK else None

    def record(self, outcomes: Iterable[FetchOutcome]) -> None:
        rows = [
            fetch_state_row(o) for o in outcomes if not (o.kind == "article" and 200 <= o.status < 300 and not o.error)
        ]
        self._write(rows, self.writer)

    def record_read_whole(self, outcomes: Iterable[FetchOutcome]) -> None:
        self._write([fetch_state_row(o) for o in outcomes], self.writer_after_pages)

    def _write(self, rows: list[dict[str, Any]], writer: Callable[[list[dict[str, Any]]], None] | None) -> None:
        if rows and writer is not None:
            writer(rows)
        elif rows:
            with write_transaction(self.engine) as session:
                record_fetch_state(session, rows)


def outside_window_date(error: str) -> datetime | None:
    """The publication date an `outside-window: published ISO` error recorded (None if unknown)."""
    try:
        return datetime.fromisoformat(error.rsplit(" ", 1)[-1])
    except ValueError:
        return None


def fetch_state_row(o: FetchOutcome) -> dict[str, Any]:
    """The `fetch_state` row recording one outcome."""
    failed = o.status == 0 or o.status >= 400
    return {
        "url": o.url,
        "source": o.source,
        "kind": o.kind,
        "last_fetched_at": o.fetched_at,
        "status": o.status,
        "etag": o.validators.etag,
        "last_modified": o.validators.last_modified,
        "content_hash": o.content_hash,
        "failures": 1 if failed else 0,
        "error": (o.error or "")[:500] or None,
    }


def record_fetch_state(session: Any, rows: list[dict[str, Any]]) -> None:
    """Upsert fetch-state rows inside the caller's transaction (last outcome per URL wins)."""
    rows = list({r["url"]: r for r in rows}.values())
    table = FetchStateRow.__table__

    def merge(excluded: Any) -> dict[str, Any]:
        return {
            "source": excluded.source,
            "kind": excluded.kind,
            "last_fetched_at": excluded.last_fetched_at,
            "status": excluded.status,
            # A 304 carries no new validators: keep the ones we have.
            "etag": func.coalesce(excluded.etag, table.c.etag),
            "last_modified": func.coalesce(excluded.last_modified, table.c.last_modified),
            "content_hash": func.coalesce(excluded.content_hash, table.c.content_hash),
            "failures": case((excluded.failures == 0, 0), else_=table.c.failures + 1),
            "error": excluded.error,
        }

    upsert(session, table, rows, ["url"], merge)
