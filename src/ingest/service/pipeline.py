"""The ingest pipeline: fetched pages in, stored stories out (and every raw page archived).

    crawler --accept(page)--> extraction pool (processes) --Article--> writer thread
                                                               |-- normalise, fingerprint
                                                               |-- dedup placement
                                                               '-- one transaction per batch

The crawler thread only queues work: extraction runs in worker processes (it is ~85% of the CPU
an article costs), and a single writer thread owns every store write, batching them into
transactions. A batch that fails is retried one item per transaction, so one bad row is
reported and skipped without losing its neighbours. A crash loses at most the uncommitted batch;
those URLs are not yet known to the frontier, so the next run fetches them again.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update
from sqlalchemy.orm import Session

from ingest.config import Source
from ingest.crawl.frontier import FetchOutcome
from ingest.dedup.deduplicator import Deduplicator, NewCopy, numbers_text, shingle_bytes, signature_bytes
from ingest.dedup.fingerprint import DEFAULT, DedupParams, Fingerprint, prepare
from ingest.extract.boilerplate import RecurringLines
from ingest.extract.extractor import extract, settle
from ingest.records import Article, FetchedPage, Rejection, RunStats
from ingest.service.lifecycle import arm_extraction_process
from ingest.store.archive import ArchivedPage, archive, pack
from ingest.store.band_tables import BandTables
from ingest.store.db import allocate_ids, copy_rows, upsert, write_transaction
from ingest.store.fetch_state import fetch_state_row, record_fetch_state
from ingest.store.models import CopyRow, SourceRow
from ingest.store.recurring import load_recurring, save_recurring
from ingest.store.story_ledger import DbStoryLedger

log = logging.getLogger(__name__)

# Built once: the writer runs them for every batch (building a statement costs ~4x executing it).
_STORED_COPIES = select(CopyRow.url, CopyRow.id, CopyRow.fetched_url, CopyRow.content_hash, CopyRow.story_id).where(
    CopyRow.url.in_(bindparam("urls", expanding=True))
)
_REFETCHED = update(CopyRow).where(CopyRow.id == bindparam("copy")).values(fetched_at=bindparam("at"))
_NEW_COPIES = insert(CopyRow)
_BATCH_SIZE = 200
_BATCH_SECONDS = 0.5
_CLOSE = object()


@dataclass(frozen=True, slots=True)
class PageResult:
    """An extraction result travelling from the pool to the writer, with the page facts it needs."""

    result: Article | Rejection
    status: int
    fetched_at: datetime
    archived: ArchivedPage | None = None  # the raw page, compressed, to archive with the result
    forms: TextForms | None = None  # the article's dedup and search forms, computed in the worker


@dataclass(frozen=True, slots=True)
class TextForms:
    """What dedup and search need of an article's text; CPU work done where extraction runs."""

    search_text: str  # normalize(title + text)
    fingerprint: Fingerprint
    content_hash: str  # sha1 of the search text: a re-fetched copy with the same hash is unchanged

    @classmethod
    def of(cls, article: Article, params: DedupParams = DEFAULT) -> TextForms:
        search_text, fp = prepare(article.title, article.text, params)
        return cls(search_text, fp, hashlib.sha1(search_text.encode()).hexdigest())


@dataclass(frozen=True, slots=True)
class FetchStateRows:
    """Fetch-state rows from the crawler, written by the writer thread with the next batch."""

    rows: list[dict[str, Any]]


def tune_gc() -> None:
    """Make Python's cycle collector run ~70x less often in a process that runs a pipeline.

    The writer keeps large caches (fingerprints, normalised words) alive, and a collection scans
    every tracked object: with the default thresholds (700, 10, 10) the collector took ~20% of
    the dedup benchmark's time. The pipeline creates few reference cycles, so rarer collections
    cost little memory.
    """
    gc.set_threshold(50_000, 50, 1_000)


def extract_page(page: FetchedPage, timezone: str, languages: Sequence[str], keep_raw: bool = True) -> PageResult:
    """Run in a worker process: never raises, so one bad page cannot break the pool."""
    try:
        result = extract(page, timezone=timezone, languages=languages)
    except Exception as exc:  # a page that crashes the extractor is a bad page, not a bad run
        log.exception("extraction crashed on %s", page.url)
        result = Rejection(page.url, page.source, "extract-crashed", f"{type(exc).__name__}: {exc}")
    prepared = TextForms.of(result) if isinstance(result, Article) else None
    return PageResult(result, page.status, page.fetched_at, pack(page) if keep_raw else None, prepared)


def ensure_sources(engine: Engine, sources: Sequence[Source]) -> dict[str, int]:
    """Register the sources in the store; returns name -> id."""
    rows = [{"name": s.name, "title": s.title, "homepage": s.homepage} for s in sources]
    with write_transaction(engine) as session:
        upsert(
            session,
            SourceRow.__table__,
            [{**r, "consecutive_failed_runs": 0, "healthy": True} for r in rows],
            ["name"],
            lambda ex: {"title": ex.title, "homepage": ex.homepage},
        )
        return {name: id_ for name, id_ in session.execute(select(SourceRow.name, SourceRow.id))}


class ArticleWriter:
    """Stores articles and places them into stories; one call = one transaction's worth of work.

    Before storing, lines that recur across pages of the same outlet (chrome the extractor
    could not tell from prose on a single page) are stripped; `Warmup` teaches `recurring`.
    Placement gets the store's implementations of dedup's ports: the band index (`index`, one per
    writer: it caches time buckets across transactions) and a story ledger per batch.
    """

    def __init__(
        self,
        source_ids: dict[str, int],
        dedup: Deduplicator,
        stats: RunStats,
        recurring: RecurringLines | None = None,
        timezones: Mapping[str, tzinfo] | None = None,
    ) -> None:
        self.source_ids = source_ids
        self.dedup = dedup
        self.index = BandTables.for_params(dedup.params)
        self.stats = stats
        self.recurring = recurring or RecurringLines()
        self.timezones = dict(timezones or {})  # per source, for the days a backfill has stored

    def write(self, session: Session, item: PageResult | FetchStateRows) -> None:
        self.write_all(session, [item])

    def write_all(self, session: Session, items: Sequence[PageResult | FetchStateRows]) -> None:
        """Store a batch of results in `session`'s transaction (in order, as if one by one)."""
        articles: list[tuple[Article, TextForms]] = []
        archived: dict[str, ArchivedPage] = {}  # by URL: a page fetched twice is archived once
        for item in items:
            if isinstance(item, FetchStateRows):
                record_fetch_state(session, item.rows)
                continue
            if item.archived is not None:
                archived[item.archived.url] = item.archived
            self.stats.tally(item.result.source, "pages")
            result = settle(item.result, self.recurring)
            if isinstance(result, Rejection):
                self._reject(session, result, item)
            else:
                articles.append(self._prepared(result, item))
        if archived:
            archive(session, list(archived.values()))
        for run in _unique_url_runs(articles):
            self._store(session, run)

    def _prepared(self, article: Article, item: PageResult) -> tuple[Article, TextForms]:
        """`article` (already settled) with its dedup forms; counts a text cut to the stored-text cap."""
        if article.cut_chars:
            self.stats.texts_capped += 1
            log.warning("%s: text cut to the cap, %d characters dropped", article.url, article.cut_chars)
        prepared = item.forms
        if prepared is None or article.text != _prepared_text(item) or self.dedup.params != DEFAULT:
            prepared = TextForms.of(article, self.dedup.params)
        return article, prepared

    def _reject(self, session: Session, rejection: Rejection, item: PageResult) -> None:
        self.stats.error(rejection.reason)
        self.stats.tally(rejection.source, rejection.reason)
        if rejection.looks_like_article:  # shown per source in the summary: never dropped silently
            self.stats.tally(rejection.source, "article-like")
        status = item.status if item.status >= 400 else 200
        outcome = FetchOutcome(
            rejection.url,
            rejection.source,
            "article",
            status,
            item.fetched_at,
            error=f"{rejection.reason}: {rejection.detail}",
        )
        record_fetch_state(session, [fetch_state_row(outcome)])

    @staticmethod
    def _alias(article: Article, stored_fetched_url: str | None) -> list[dict[str, Any]]:
        """A copy reached through another URL (old link, redirect): that URL is known from now on."""
        alias = article.fetched_url
        if not alias or alias in (article.url, stored_fetched_url):
            return []
        outcome = FetchOutcome(
            alias, article.source, "article", 200, article.fetched_at, error=f"alias of {article.url}"
        )
        return [fetch_state_row(outcome)]

    def _store(self, session: Session, articles: Sequence[tuple[Article, TextForms]]) -> None:
        """Store articles of distinct URLs: new copies in one statement, then place them all."""
        conn = session.connection()
        urls = [article.url for article, _ in articles]
        stored = {row.url: row for row in conn.execute(_STORED_COPIES, {"urls": urls})}
        aliases: list[dict[str, Any]] = []
        refetched: list[dict[str, Any]] = []
        new: list[tuple[int, dict[str, Any], Fingerprint]] = []
        changed: list[tuple[int, Any, dict[str, Any], Fingerprint]] = []
        for position, (article, prepared) in enumerate(articles):
            self.stats.tally(article.source, "stored")
            if article.published_at is not None:
                local = article.published_at.astimezone(self.timezones.get(article.source, UTC))
                self.stats.days_stored.add(local.date().isoformat())
            existing = stored.get(article.url)
            aliases += self._alias(article, existing.fetched_url if existing is not None else None)
            if existing is None:
                new.append((position, self._fields(article, prepared), prepared.fingerprint))
            elif _alias_of_its_own_page(article, existing.fetched_url):
                self.stats.unchanged += 1
            elif existing.content_hash == prepared.content_hash and not _own_page_over_its_alias(
                article, existing.fetched_url
            ):
                refetched.append({"copy": existing.id, "at": article.fetched_at})
                self.stats.unchanged += 1
            else:
                changed.append((position, existing, self._fields(article, prepared), prepared.fingerprint))
        if aliases:
            record_fetch_state(session, aliases)
        if refetched:
            conn.execute(_REFETCHED, refetched)
        if new or changed:
            self.index.attach(session)  # once per transaction: it catches up with the other writers
        # New copies get their ids now and are inserted by placement, with their story.
        ids = allocate_ids(conn, CopyRow.__tablename__, len(new))
        rows = {copy_id: fields for copy_id, (_, fields, _) in zip(ids, new, strict=True)}
        placing = [(pos, _new_copy(i, fields, stored=False), fp) for i, (pos, fields, fp) in zip(ids, new, strict=True)]
        for position, existing, fields, fp in changed:
            # The text changed on re-fetch (a correction): re-evaluate its story membership.
            self.dedup.detach(self._ledger(conn), self.index, existing.id, existing.story_id, fields["fetched_at"])
            conn.execute(update(CopyRow).where(CopyRow.id == existing.id).values(fields))
            placing.append((position, _new_copy(existing.id, fields), fp))
        placing.sort(key=lambda p: p[0])
        self.stats.articles_extracted += len(placing)

        def insert_new(placements: Mapping[int, dict[str, Any]]) -> None:
            news = [{"id": i, **fields, **placements[i]} for i, fields in rows.items()]
            names = list(news[0]) if news else []
            if news and not copy_rows(conn, CopyRow, names, [[r[n] for n in names] for r in news]):
                conn.execute(_NEW_COPIES, news)

        batch = [(copy, fp) for _, copy, fp in placing]
        for placement in self.dedup.place(self._ledger(conn), self.index, batch, insert_new):
            if placement.new_story:
                self.stats.new_stories += 1
            else:
                self.stats.copies_linked += 1

    def _ledger(self, conn: Connection) -> DbStoryLedger:
        """A story ledger for one placement batch (or one detach) of this transaction."""
        return DbStoryLedger(conn, self.dedup.stored_fingerprint)

    def _fields(self, article: Article, prepared: TextForms) -> dict[str, Any]:
        fp = prepared.fingerprint
        return {
            "source_id": self.source_ids[article.source],
            "url": article.url,
            "fetched_url": article.fetched_url or article.url,
            "title": article.title,
            "text": article.text,
            "search_text": prepared.search_text,
            "published_at": article.published_at,
            "updated_at": article.updated_at,
            "fetched_at": article.fetched_at,
            "language": article.language,
            "author": article.author,
            "section": article.section,
            "image_url": article.image_url,
            "extraction_method": article.method,
            "content_hash": prepared.content_hash,
            "signature": signature_bytes(fp),
            "shingles": shingle_bytes(fp),
            "numbers": numbers_text(fp),
            "token_count": fp.length,
        }


def _prepared_text(item: PageResult) -> str:
    """The text the worker prepared `item` for ('' for a rejection)."""
    return item.result.text if isinstance(item.result, Article) else ""


def _alias_of_its_own_page(article: Article, stored_fetched_url: str) -> bool:
    """Whether `article` came through an alias (AMP page, old URL) of a copy fetched from its own URL.

    Such a copy is never replaced: alias pages often lack the date, the byline or whole paragraphs.
    """
    return bool(article.fetched_url) and article.fetched_url != article.url and stored_fetched_url == article.url


def _own_page_over_its_alias(article: Article, stored_fetched_url: str | None) -> bool:
    """Whether `article` was fetched from its own URL and the stored copy through an alias.

    The own page replaces the alias's copy even when their texts agree: the alias (an AMP page)
    lacked the date, so a crawl that happened to store the alias first kept a copy without a
    publication time (a sample-web AMP alias did, when a loaded machine fetched it first).
    """
    own = not article.fetched_url or article.fetched_url == article.url
    return own and stored_fetched_url not in (None, "", article.url)


def _new_copy(copy_id: int, fields: dict[str, Any], stored: bool = True) -> NewCopy:
    return NewCopy(
        copy_id,
        fields["published_at"],
        fields["fetched_at"],
        fields["content_hash"],
        fields["url"],
        fields["source_id"],
        stored,
    )


def _unique_url_runs(articles: list[tuple[Article, TextForms]]) -> Iterator[list[tuple[Article, TextForms]]]:
    """The articles cut into runs without a repeated URL (two redirects to one page in a batch):
    a run is stored at once, so a URL's second arrival must see its first one stored."""
    run: list[tuple[Article, TextForms]] = []
    urls: set[str] = set()
    for item in articles:
        if item[0].url in urls:
            yield run
            run, urls = [], set()
        run.append(item)
        urls.add(item[0].url)
    if run:
        yield run


class Warmup:
    """Holds each outlet's first pages until the lines recurring across them are known.

    On a fresh store nothing is known of an outlet's leftover chrome; storing its first pages
    at once would keep that chrome in them for good. Lines recurring on k of the first `pages`
    pages are learned before any of those pages is stored. Outlets already learned in earlier
    runs pass straight through. Held pages are released at the end of the run at the latest.
    """

    def __init__(self, recurring: RecurringLines, pages: int = 12) -> None:
        self.recurring = recurring
        self.pages = pages
        self._seen: dict[str, int] = {source: pages for source in recurring.tables}
        self._held: dict[str, list[PageResult | FetchStateRows]] = {}

    def admit(self, item: PageResult | FetchStateRows) -> list[PageResult | FetchStateRows]:
        """Observe `item`; return the items now ready to be written (possibly none)."""
        if isinstance(item, FetchStateRows):
            return [item]
        article = item.result
        if isinstance(article, Rejection):
            return [item]
        self.recurring.observe(article.source, article.text.split("\n"), page=article.url)
        seen = self._seen[article.source] = self._seen.get(article.source, 0) + 1
        held = self._held.setdefault(article.source, [])
        held.append(item)
        if seen < self.pages:
            return []
        ready = list(held)
        held.clear()
        return ready

    def learned(self) -> list[str]:
        """The outlets whose first pages have all been seen (in this run or an earlier one)."""
        return [source for source, seen in self._seen.items() if seen >= self.pages]

    def drain(self) -> list[PageResult | FetchStateRows]:
        ready = [item for items in self._held.values() for item in items]
        self._held.clear()
        return ready


class Pipeline:
    """The crawler's page sink (`ingest.crawl.contracts.PageSink`): extraction pool + single writer thread."""

    def __init__(
        self,
        engine: Engine,
        sources: Sequence[Source],
        *,
        workers: int = 0,
        dedup: Deduplicator | None = None,
        on_progress: Callable[[RunStats], None] | None = None,
        keep_raw: bool = True,
    ) -> None:
        self.engine = engine
        self.sources = {s.name: s for s in sources}
        self.stats = RunStats()
        recurring = load_recurring(engine, self.sources)
        self._warmup = Warmup(recurring)
        self._writer = ArticleWriter(
            ensure_sources(engine, sources),
            dedup or Deduplicator(),
            self.stats,
            recurring,
            timezones={s.name: s.tz for s in sources},
        )
        self._on_progress = on_progress
        self._keep_raw = keep_raw  # archive raw pages (off when re-extracting from the archive)
        self._workers = workers or os.cpu_count() or 1
        # forkserver: the crawler's reactor and threads must not be forked into workers.
        context = multiprocessing.get_context("forkserver")
        # Both the forkserver and each extraction process die with this process, even by SIGKILL.
        context.set_forkserver_preload(["ingest.service.forkserver_init"])
        # Started now, not at the first page: its warm-up (ingest.service.forkserver_init, ~1.3 CPU-s) runs
        # while Scrapy starts and reads the feeds, instead of blocking the reactor's first `accept`.
        multiprocessing.forkserver.ensure_running()
        self._context = context
        self._pool = self._new_pool()
        self._pool_lock = threading.Lock()
        # Back-pressure: the crawler blocks when this many pages await extraction.
        self._in_flight = threading.BoundedSemaphore(8 * self._workers)
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._write_loop, name="ingest-writer", daemon=True)
        self._thread.start()
        self._failure: BaseException | None = None
        self._after_pages: list[dict[str, Any]] = []
        self._closing = False

    # -- PageSink -----------------------------------------------------------------------------
    def accept(self, page: FetchedPage) -> None:
        self.stats.pages_fetched += 1
        self._in_flight.acquire()
        try:
            self._submit(page, retried=False)
        except BaseException:
            self._in_flight.release()  # a slot kept by a failed submit would, 8 pages on, block the crawl for good
            raise

    def reject(self, rejection: Rejection) -> None:
        """A refused fetch: the crawl report counts it and the frontier remembers it; nothing to store.
        The live counter only feeds the progress line (the run's errors come from the reports)."""
        self.stats.refused_live += 1

    def record_fetches(self, rows: list[dict[str, Any]]) -> None:
        """The frontier's writes, queued for the writer thread: the crawler never waits on the store."""
        self._queue.put(FetchStateRows(rows))

    def record_fetches_after_pages(self, rows: list[dict[str, Any]]) -> None:
        """Frontier writes held until every page accepted so far is extracted and queued (`close`):
        the documents a crawl read whole, whose validators must not outlive their articles."""
        self._after_pages.extend(rows)

    # -- plumbing -------------------------------------------------------------------------------
    def _new_pool(self) -> ProcessPoolExecutor:
        context, workers = self._context, self._workers
        return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=arm_extraction_process)

    def _submit(self, page: FetchedPage, *, retried: bool) -> None:
        """Hand `page` to the extraction pool. A pool whose worker died (killed, out of memory) is
        broken for good: it is replaced, once per break, and the page goes to the new one. Before, a
        killed worker made every later submit fail after taking an in-flight slot, and the crawl
        blocked for good once the slots were gone, deaf to SIGTERM (its reactor thread waiting)."""
        source = self.sources[page.source]

        def submit(pool: ProcessPoolExecutor) -> Future[PageResult]:
            return pool.submit(extract_page, page, source.timezone, tuple(source.languages), self._keep_raw)

        with self._pool_lock:
            try:
                future = submit(self._pool)
            except BrokenProcessPool:
                log.warning("the extraction workers died (killed or out of memory); starting new ones")
                self._pool.shutdown(wait=False)
                self._pool = self._new_pool()
                future = submit(self._pool)
        future.add_done_callback(lambda done: self._extracted(done, page, retried))

    def _extracted(self, future: Future[PageResult], page: FetchedPage, retried: bool) -> None:
        error = BrokenProcessPool("cancelled") if future.cancelled() else future.exception()
        if isinstance(error, BrokenProcessPool) and not retried and not self._closing:
            try:  # its worker died: once more in a new pool, then it is a bad page
                self._submit(page, retried=True)
                return  # the in-flight slot passes to the new future
            except Exception as again:
                error = again
        self._in_flight.release()
        if error is not None:
            log.error("extraction worker failed on %s: %s", page.url, error)
            self.stats.error("extract-worker-died")
        else:
            self._queue.put(future.result())

    def close(self) -> RunStats:
        """Wait for every queued page to be extracted and stored; return the run's counters."""
        self._closing = True
        while True:  # a page retried meanwhile may have started a new pool: wait for that one too
            with self._pool_lock:
                pool = self._pool
            pool.shutdown(wait=True)
            with self._pool_lock:
                if self._pool is pool:
                    break
        if self._after_pages:
            self._queue.put(FetchStateRows(self._after_pages))
        self._queue.put(_CLOSE)
        self._thread.join()
        if self._failure is not None:
            raise self._failure
        with write_transaction(self.engine) as session:
            save_recurring(session, self._writer.recurring, self._warmup.learned())
        return self.stats

    def _write_loop(self) -> None:
        try:
            while True:
                batch, closing = self._next_batch()
                batch = [ready for item in batch for ready in self._warmup.admit(item)]
                if closing:
                    batch += self._warmup.drain()
                if batch:
                    self._write_batch(batch)
                    if self._on_progress:
                        self._on_progress(self.stats)
                if closing:
                    return
        except BaseException as exc:  # surfaced by close(): the store itself is failing
            log.exception("writer stopped")
            self._failure = exc

    def _next_batch(self) -> tuple[list[PageResult | FetchStateRows], bool]:
        batch: list[PageResult | FetchStateRows] = []
        deadline = None
        while len(batch) < _BATCH_SIZE:
            try:
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                break
            if item is _CLOSE:
                return batch, True
            batch.append(item)
            deadline = deadline or time.monotonic() + _BATCH_SECONDS
        return batch, False

    def _write_batch(self, batch: list[PageResult | FetchStateRows]) -> None:
        snapshot = self.stats.copy()
        try:
            with write_transaction(self.engine) as session:
                self._writer.write_all(session, batch)
            return
        except Exception:
            log.warning("a batch of %d failed; retrying one item per transaction", len(batch), exc_info=True)
            self.stats.restore(snapshot)
        for item in batch:
            try:
                with write_transaction(self.engine) as session:
                    self._writer.write(session, item)
            except Exception as exc:
                url = getattr(getattr(item, "result", None), "url", "fetch records")
                log.error("could not store %s: %s", url, exc)
                self.stats.error("store-failed")
