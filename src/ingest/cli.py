"""The `ingest` command line.

Exit codes (stable, documented in the README):
  0  success (page-level errors such as 404s are normal on the web and only reported)
  1  internal error
  2  usage error, or a configuration file that cannot be used at all
  3  partial: the run completed, but some sources failed or config entries were skipped
  4  the store is unreachable or its schema is not current
  5  every source failed
  130  run-once stopped by SIGTERM/SIGINT (its run is recorded `interrupted`)
"""

from __future__ import annotations

import csv
import errno
import json
import logging
import os
import sys
import time as time_module
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from ingest.bounds import parse_instant
from ingest.config import DEFAULT_SOURCES, ConfigError, Settings, SourcesFile, load_sources
from ingest.records import RunStats

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_PARTIAL, EXIT_STORE, EXIT_FAILED = 0, 1, 2, 3, 4, 5
EXIT_INTERRUPTED = 130  # run-once stopped by SIGTERM/SIGINT; its run is recorded `interrupted`
F = TypeVar("F", bound=Callable[..., Any])
_MAX_ID = 2**63 - 1  # the largest id either store can hold
MAX_CONTAINS = 1000  # characters of --contains: a longer needle is no headline or phrase
log = logging.getLogger("ingest")


def _setup_logging(level: str, fmt: str) -> None:
    """One line per record on stderr; records of a run carry its run id and source(s)."""
    from ingest.service.logcontext import ContextFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(level.upper())  # libraries that lower their own loggers' levels still obey --log-level
    handler.addFilter(ContextFilter())
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(log_context)s%(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("run_id", "source"):
            if getattr(record, key, None) is not None:
                data[key] = getattr(record, key)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def _parse_date(value: str | None, *, end: bool = False) -> datetime | None:
    """YYYY-MM-DD (start or end of that day, UTC) or a full ISO 8601 timestamp."""
    try:
        return parse_instant(value, end=end)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def store_options(func: F) -> F:
    func = click.option(
        "--database-url",
        envvar="INGEST_DATABASE_URL",
        help="SQLAlchemy URL of the store (default: sqlite:///DATA_DIR/ingest.sqlite). Env: INGEST_DATABASE_URL.",
    )(func)
    func = click.option(
        "--data-dir",
        envvar="INGEST_DATA_DIR",
        type=click.Path(file_okay=False, path_type=Path),
        help="Where the default SQLite store lives (default: ./data). Env: INGEST_DATA_DIR.",
    )(func)
    return func


def sources_option(func: F) -> F:
    return click.option(
        "--sources",
        "sources_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=DEFAULT_SOURCES,
        show_default=True,
        envvar="INGEST_SOURCES",
        help="The sources file.",
    )(func)


def _settings(database_url: str | None, data_dir: Path | None, **extra: Any) -> Settings:
    try:
        return Settings.from_env(database_url=database_url, data_dir=data_dir, **extra)
    except ValueError as exc:
        raise click.UsageError(f"invalid setting: {exc}") from None


@contextmanager
def _store(settings: Settings, *, auto_upgrade: bool = True, read_only: bool = False) -> Iterator[Any]:
    """The store for a command; `read_only` for commands that only read (they work on a store
    they cannot write, and never upgrade its schema). One line and exit 2 for a URL that cannot
    be used, exit 4 for a store that cannot be reached."""
    from ingest.store.db import StoreError, StoreUrlError, open_store

    try:
        engine = open_store(settings.resolved_database_url, auto_upgrade=auto_upgrade, read_only=read_only)
    except StoreUrlError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except StoreError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_STORE)
    try:
        yield engine
    finally:
        engine.dispose()


def _load_sources(path: Path) -> SourcesFile:
    try:
        loaded = load_sources(path)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    for err in loaded.errors:
        click.echo(f"config error: {err} (entry skipped)", err=True)
    return loaded


class _Cli(click.Group):
    """The command group; output piped into a reader that stops early (`ingest query | head`)
    ends the command quietly with 0, as `head` asked for no more (click's default exits 1)."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        standalone_mode: bool = True,
        **kwargs: Any,
    ) -> Any:
        """Usage errors in one line (`error: ... (see 'ingest query --help')`), exit 2, instead
        of click's four (usage, hint, blank line, message)."""
        if not standalone_mode:
            return super().main(args, prog_name, standalone_mode=False, **kwargs)
        try:
            rv = super().main(args, prog_name, standalone_mode=False, **kwargs)
        except click.ClickException as exc:
            ctx = getattr(exc, "ctx", None)
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            click.echo(f"error: {exc.format_message()}{hint}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(EXIT_INTERNAL)
        sys.exit(rv if isinstance(rv, int) else EXIT_OK)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # Python's final flush must not fail again
            sys.exit(EXIT_OK)


def _port_in_use(exc: OSError, port: int) -> None:
    """One line and exit 2 for a port another process holds; any other OSError propagates."""
    if exc.errno == errno.EADDRINUSE:
        click.echo(f"error: port {port} on 127.0.0.1 is already in use (choose another with --port)", err=True)
        sys.exit(EXIT_USAGE)
    raise exc


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--log-level",
    default="WARNING",
    show_default=True,
    envvar="INGEST_LOG_LEVEL",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
)
@click.option(
    "--log-format",
    default="text",
    show_default=True,
    type=click.Choice(["text", "json"]),
    help="json: one JSON object per line, for log collectors.",
)
@click.version_option(package_name="ingest")
@click.pass_context
def main(ctx: click.Context, log_level: str, log_format: str) -> None:
    """ingest: crawl Moroccan Arabic-language news outlets, strip the page chrome, group
    syndicated copies of one story, and keep one canonical article per story with every outlet
    that ran it.

    \b
    Typical use:
      ingest run-once                      crawl every enabled source in config/sources.yaml now
      ingest run-once --since 2025-05-01   backfill a date range through sitemaps and listings
      ingest query --format jsonl          read the canonical articles
      ingest worker                        keep the store fresh on each source's schedule
    """
    ctx.ensure_object(dict)
    ctx.obj["log_level"] = log_level.upper()
    ctx.obj["log_format"] = log_format
    _setup_logging(log_level, log_format)


# -- run-once --------------------------------------------------------------------------------------


class _Progress:
    """One refreshed status line on a terminal; silent when stderr is a pipe or a file.

    Redrawn from the run's final figures when it ends, so the last line shown agrees with the
    summary (fetch errors of feeds and sitemaps are only known per source when it finishes).
    A backfill also shows how many of its window's days have articles stored, and an estimate
    of the time left from that share.
    """

    def __init__(self, enabled: bool, window_days: list[str] | None = None) -> None:
        self.enabled = enabled
        self.window_days = set(window_days or ())
        self.started = time_module.monotonic()

    def __call__(self, stats: RunStats) -> None:
        if self.enabled:
            line = (
                f"\rpages {stats.pages_fetched}  articles {stats.articles_extracted}  "
                f"new stories {stats.new_stories}  linked {stats.copies_linked}  errors {stats.error_count}"
            )
            sys.stderr.write(line + self.window_part(stats) + "\x1b[K")
            sys.stderr.flush()

    def window_part(self, stats: RunStats) -> str:
        """`  days 12/31  ETA 4m` for a backfill; empty otherwise."""
        if not self.window_days:
            return ""
        done, total = len(stats.days_stored & self.window_days), len(self.window_days)
        elapsed = time_module.monotonic() - self.started
        eta = f"{elapsed * (total - done) / done / 60:.0f}m" if 0 < done < total else "-"
        return f"  days {done}/{total}  ETA {eta}"

    def done(self, final: RunStats | None = None) -> None:
        if self.enabled:
            if final is not None:
                self(final)
            sys.stderr.write("\n")


@main.command("run-once")
@sources_option
@click.option(
    "--source",
    "names",
    multiple=True,
    metavar="NAME",
    help="Crawl only this source (repeatable); may name a disabled source.",
)
@click.option(
    "--since",
    help="Backfill from this day (YYYY-MM-DD, in each source's time zone) or ISO 8601 timestamp (as given).",
)
@click.option("--until", help="Backfill up to this day (inclusive, in each source's time zone) or timestamp.")
@click.option(
    "--oldest-first", is_flag=True, help="Backfill the window's oldest days first (default: the newest first)."
)
@click.option("--workers", type=int, default=None, help="Extraction processes (default: one per CPU core).")
@click.option("--progress/--no-progress", default=None, help="Live counters on stderr (default: on a terminal).")
@click.option("--run-id", type=int, default=None, hidden=True, help="Continue this run row (set by `ingest worker`).")
@store_options
@click.pass_context
def run_once_cmd(
    ctx: click.Context,
    sources_path: Path,
    names: tuple[str, ...],
    since: str | None,
    until: str | None,
    oldest_first: bool,
    workers: int | None,
    progress: bool | None,
    run_id: int | None,
    database_url: str | None,
    data_dir: Path | None,
) -> None:
    """Crawl the configured outlets now, then print a summary.

    A normal run fetches only what is new (feeds, sitemaps, first listing pages; known URLs are
    not fetched again). With --since/--until it backfills that window. Exit code: 0 ok, 3 some
    sources failed or config entries were skipped, 5 every source failed, 4 store unusable.
    """
    from ingest.crawl.contracts import CrawlWindow
    from ingest.service.run import run_once

    settings = _settings(database_url, data_dir, extract_workers=workers)
    loaded = _load_sources(sources_path)
    try:
        sources = loaded.select(names)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    if not sources:
        click.echo("error: no enabled source to crawl", err=True)
        sys.exit(EXIT_USAGE)
    window = None
    if oldest_first and not (since or until):
        raise click.UsageError("--oldest-first orders a backfill: give --since/--until")
    if since or until:
        try:
            window = CrawlWindow.parse(since, until, oldest_first=oldest_first)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    days = window.days(datetime.now(UTC).date()) if window is not None else None
    bar = _Progress(sys.stderr.isatty() if progress is None else progress, days)
    with _store(settings) as engine:
        result = run_once(
            engine, sources, settings, window=window, on_progress=bar, log_level=ctx.obj["log_level"], run_id=run_id
        )
    bar.done(result.stats)
    _print_summary(result)
    if result.outcome == "interrupted":
        sys.exit(EXIT_INTERRUPTED)
    if result.outcome == "failed":
        sys.exit(EXIT_FAILED)
    if result.outcome == "partial" or loaded.errors:
        sys.exit(EXIT_PARTIAL)


def _print_summary(result: Any) -> None:
    s = result.stats
    click.echo(
        f"run {result.run_id}: {result.outcome}: {s.pages_fetched} pages fetched, "
        f"{s.articles_extracted} articles extracted ({s.unchanged} unchanged), {s.new_stories} new canonical "
        f"articles, {s.copies_linked} copies linked, {s.error_count} errors"
    )
    for report in result.reports:
        errors = ", ".join(f"{k} {v}" for k, v in sorted(report.errors.items())) or "none"
        counts = s.by_source.get(report.source, {})
        rejected = ", ".join(f"{k} {v}" for k, v in sorted(s.rejected(report.source).items()))
        if counts.get("article-like"):
            rejected += f" ({counts['article-like']} of them looked like articles)"
        click.echo(
            f"  {report.source}: {report.requests} requests, {report.pages} article pages, "
            f"{counts.get('stored', 0)} stored, {report.skipped_known} known skipped, "
            f"{report.not_modified} not modified; fetch errors: {errors}; rejected: {rejected or 'none'}"
        )
    for line in result.window_lines():
        click.echo(line)
    if s.errors:
        click.echo("  errors by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(s.errors.items())))
    for name in result.failed_sources:
        why = result.broken.get(name)
        click.echo(f"  warning: {name} yielded nothing this run" + (f": {why}" if why else ""), err=True)
    for name, why in result.broken.items():
        if name not in result.failed_sources:
            click.echo(f"  warning: {name}: {why}; its page template may have changed", err=True)
    for name in result.unhealthy:
        click.echo(f"  warning: {name} is now marked unhealthy (several failed runs in a row)", err=True)


# -- query ---------------------------------------------------------------------------------------


@main.command("query")
@click.option("--since", help="Stories first published on or after this date (YYYY-MM-DD or ISO 8601).")
@click.option("--until", help="... and on or before this date (inclusive).")
@click.option("--source", "sources", multiple=True, metavar="NAME", help="Stories run by this outlet (repeatable).")
@click.option(
    "--contains",
    metavar="TEXT",
    help="Stories whose text contains TEXT after Arabic normalisation (hamza, yaa, diacritics...).",
)
@click.option(
    "--min-sources",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Stories run by at least N outlets.",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N stories.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "jsonl", "csv"]),
    default="table",
    show_default=True,
)
@store_options
def query_cmd(
    since: str | None,
    until: str | None,
    sources: tuple[str, ...],
    contains: str | None,
    min_sources: int,
    limit: int | None,
    fmt: str,
    database_url: str | None,
    data_dir: Path | None,
) -> None:
    """Read the canonical articles, newest first.

    json/jsonl records: id, title, text, published_at (UTC, ISO 8601), url (of the canonical copy),
    source, language, source_count, copy_count, and sources: [{source, url, title, published_at,
    similarity}] for every copy, canonical first.
    """
    from ingest.store.query import StoryFilter, find_stories, known_sources

    start, end = _parse_date(since), _parse_date(until, end=True)
    if start and end and start > end:
        raise click.BadParameter(f"--since {since} is after --until {until}", param_hint="--since")
    if contains is not None and len(contains) > MAX_CONTAINS:
        raise click.BadParameter(f"at most {MAX_CONTAINS} characters ({len(contains)} given)", param_hint="--contains")
    f = StoryFilter(start, end, sources, contains, min_sources, limit)
    with _store(_settings(database_url, data_dir), read_only=True) as engine:
        unknown = sorted(set(sources) - set(known := known_sources(engine)))
        if unknown:
            listed = ", ".join(known) or "none yet"
            raise click.BadParameter(f"no source named {', '.join(unknown)} in the store (known: {listed})")
        stories = find_stories(engine, f)
    _emit(stories, fmt)


def _emit(stories: list[Any], fmt: str) -> None:
    if fmt == "jsonl":
        for story in stories:
            click.echo(json.dumps(story.as_json(), ensure_ascii=False))
    elif fmt == "json":
        click.echo(json.dumps([s.as_json() for s in stories], ensure_ascii=False, indent=2))
    elif fmt == "csv":
        _emit_csv(stories)
    else:
        for s in stories:
            when = s.published_at.strftime("%Y-%m-%d %H:%M UTC") if s.published_at else "undated"
            click.echo(f"#{s.id}  {when}  [{s.source_count} source{'s' if s.source_count != 1 else ''}]  {s.title}")
            for c in s.sources:
                click.echo(f"      {c.source:<14} {c.url}")
        click.echo(f"{len(stories)} stor{'y' if len(stories) == 1 else 'ies'}", err=True)


CSV_COLUMNS = (
    "id", "published_at", "source", "language", "source_count", "copy_count", "title", "url", "text", "outlets", "urls",
)  # fmt: skip


def _emit_csv(stories: list[Any]) -> None:
    """One row per story, the jsonl record flattened: outlets and copy URLs space-separated."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for story in stories:
        data = story.as_json()
        outlets = " ".join(dict.fromkeys(c["source"] for c in data["sources"]))
        urls = " ".join(c["url"] for c in data["sources"])
        writer.writerow([*(data[k] for k in CSV_COLUMNS[:-2]), outlets, urls])


@main.command("reextract")
@sources_option
@click.option("--source", "names", multiple=True, metavar="NAME", help="Only this source (repeatable).")
@click.option("--since", help="Only pages fetched on or after this date (YYYY-MM-DD or ISO 8601).")
@click.option("--workers", type=int, default=None, help="Extraction processes (default: one per CPU core).")
@click.option("--progress/--no-progress", default=None, help="Live counters on stderr (default: on a terminal).")
@store_options
def reextract_cmd(
    sources_path: Path,
    names: tuple[str, ...],
    since: str | None,
    workers: int | None,
    progress: bool | None,
    database_url: str | None,
    data_dir: Path | None,
) -> None:
    """Run extraction and dedup again over the archived raw pages, with no network.

    Use it after an extraction improvement: copies whose text changes are updated and
    re-evaluated against the stories; the others are left alone (idempotent).
    """
    from ingest.service.reextract import reextract

    settings = _settings(database_url, data_dir, extract_workers=workers)
    loaded = _load_sources(sources_path)
    try:
        sources = loaded.select(names) if names else loaded.sources
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    bar = _Progress(sys.stderr.isatty() if progress is None else progress)
    with _store(settings) as engine:
        run_id, s = reextract(
            engine, sources, since=_parse_date(since), workers=settings.extract_workers, on_progress=bar
        )
    bar.done()
    click.echo(
        f"reextract run {run_id}: {s.pages_fetched} archived pages, {s.unchanged} unchanged, "
        f"{s.articles_extracted} changed and re-evaluated ({s.new_stories} founded new stories), "
        f"{s.error_count} rejected or failed"
    )


@main.command("bench-extract")
@click.option(
    "--dataset",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    required=True,
    help="A labeled set: html/<id>.html.gz and ground-truth.json ({id: {articleBody, url}}).",
)
@click.option("--limit", type=int, default=None, help="Score only the first N pages.")
def bench_extract_cmd(dataset: Path, limit: int | None) -> None:
    """Score extraction on a labeled dataset: token precision/recall/F1 and pages/s on one core,
    next to plain trafilatura on the same pages."""
    try:  # a development tool: on the path of a checkout's venv (make install), not in a wheel
        from ingest_dev.extractbench import bench_dataset
    except ImportError:
        raise click.UsageError("bench-extract runs from a development checkout (make install)") from None
    click.echo(bench_dataset(dataset, limit=limit).render())


@main.command("show")
@click.argument("story_id", type=click.IntRange(min=1, max=_MAX_ID))
@store_options
def show_cmd(story_id: int, database_url: str | None, data_dir: Path | None) -> None:
    """Print one canonical article with every copy, its outlet, URL, time and similarity."""
    from ingest.store.query import StoryFilter, find_stories

    with _store(_settings(database_url, data_dir), read_only=True) as engine:
        stories = find_stories(engine, StoryFilter(ids=(story_id,)))
    if not stories:
        click.echo(f"error: no story {story_id}", err=True)
        sys.exit(EXIT_USAGE)
    s = stories[0]
    click.echo(f"story {s.id}: {s.title}\n{s.url}\npublished {s.published_at}  sources {s.source_count}\n")
    click.echo(s.text)
    click.echo("\ncopies:")
    for c in s.sources:
        sim = "canonical" if c.url == s.url else (f"similarity {c.similarity:.2f}" if c.similarity else "")
        click.echo(f"  {c.source:<14} {c.published_at}  {sim}\n    {c.url}\n    {c.title}")


@main.command("explain")
@click.argument("url")
@store_options
def explain_cmd(url: str, database_url: str | None, data_dir: Path | None) -> None:
    """Say why the copy at URL joined its story (or founded one), and how it compares now with its
    story's canonical copy and with the closest other stories."""
    from ingest.service.explain import explain
    from ingest.store.db import read_session
    from ingest.urls import canonicalize

    with _store(_settings(database_url, data_dir), read_only=True) as engine, read_session(engine) as session:
        found = explain(session, canonicalize(url)) or explain(session, url)
    if found is None:
        click.echo(f"error: no stored copy has the URL {url}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(f"copy {found.copy_id}: {found.url}")
    click.echo(f"story {found.story_id} (canonical copy {found.canonical_copy_id})")
    click.echo(f"joined because: {found.join_reason or '-'}")
    if found.against_canonical is None:
        click.echo("it is the story's canonical copy")
    else:
        v = found.against_canonical.verdict
        click.echo(
            f"now, against the canonical copy: {'same story' if v.same_story else 'NOT the same story'}: {v.reason}"
        )
    for other in found.other_stories:
        v = other.verdict
        click.echo(
            f"closest other story {other.story_id}, copy {other.copy_id} ({other.url}): "
            f"{'would verify' if v.same_story else 'does not verify'}: {v.reason}"
        )
    if not found.other_stories:
        click.echo("no other story is a candidate")


# -- operations ------------------------------------------------------------------------------------


@main.command("worker")
@sources_option
@click.option("--once", is_flag=True, help="Crawl every source that is due now, then exit.")
@click.option(
    "--max-concurrent",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    envvar="INGEST_MAX_CONCURRENT",
    help="Crawls this worker runs at the same time.",
)
@click.option(
    "--crawl-timeout",
    default="30m",
    show_default=True,
    envvar="INGEST_CRAWL_TIMEOUT",
    help="Wall-clock limit of one crawl; past it the crawl is stopped and recorded as timed out.",
)
@click.option(
    "--grace",
    default="60s",
    show_default=True,
    envvar="INGEST_GRACE",
    help="On SIGTERM/SIGINT, how long running crawls may take to finish before they are stopped.",
)
@click.option(
    "--metrics-port",
    type=int,
    envvar="INGEST_METRICS_PORT",
    help="Serve Prometheus metrics on 127.0.0.1:PORT/metrics.",
)
@click.option(
    "--lease-ttl",
    default="90s",
    show_default=True,
    envvar="INGEST_LEASE_TTL",
    help="How long a source's lease outlives its holder: after a worker dies, others wait this long.",
)
@store_options
@click.pass_context
def worker_cmd(
    ctx: click.Context,
    sources_path: Path,
    once: bool,
    max_concurrent: int,
    crawl_timeout: str,
    grace: str,
    metrics_port: int | None,
    lease_ttl: str,
    database_url: str | None,
    data_dir: Path | None,
) -> None:
    """Keep the store fresh: crawl each enabled source on its schedule, until stopped.

    Each crawl runs in its own process with a wall-clock limit. Several workers may share one
    PostgreSQL store: a lease in the database lets only one of them crawl a source at a time.
    SIGTERM/SIGINT: finish running crawls (within --grace), then exit 0. SIGHUP: re-read the
    sources file. Config problems at start are fatal (exit 2), with file and line.
    """
    from ingest.config import parse_duration
    from ingest.service.telemetry import Metrics
    from ingest.service.worker import Worker, WorkerOptions

    settings = _settings(database_url, data_dir)
    loaded = _load_sources(sources_path)
    if loaded.errors:
        sys.exit(EXIT_USAGE)
    try:
        opts = WorkerOptions(
            sources_path.resolve(),
            settings.resolved_database_url,
            parse_duration(crawl_timeout),
            parse_duration(grace),
            max_concurrent,
            ctx.obj["log_format"],
            ctx.obj["log_level"],
            lease_ttl=parse_duration(lease_ttl),
        )
        if opts.lease_ttl.total_seconds() < 4:
            raise ValueError("--lease-ttl must be at least 4s (the lease is renewed every second or two)")
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    with _store(settings) as engine:
        try:
            metrics = Metrics(metrics_port)
        except OSError as exc:
            _port_in_use(exc, metrics_port or 0)
        worker = Worker(engine, opts, lambda: load_sources(sources_path), metrics)
        sys.exit(worker.run_due_once() if once else worker.run_forever())


@main.command("status")
@sources_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@store_options
def status_cmd(sources_path: Path, fmt: str, database_url: str | None, data_dir: Path | None) -> None:
    """Per source: last run and its outcome, next run, page error rate over the last crawls
    (with the errors by reason), the share of article pages the last crawl rejected, stored
    copies, health.

    Flagged: a source whose recent runs found no article (unreachable host, or its template,
    feed or sitemap changed), or whose last run rejected most of its pages. Sources the store
    knows but the sources file does not name are listed after the others. Exit code 3 when any
    configured, enabled source needs attention.
    """
    from ingest.service.status import source_statuses

    loaded = _load_sources(sources_path)
    with _store(_settings(database_url, data_dir), read_only=True) as engine:
        statuses = source_statuses(engine, loaded.sources)
    if fmt == "json":
        rows = [{**vars(s), "warning": s.warning, "warnings": s.warnings} for s in statuses]
        click.echo(json.dumps(rows, default=str, indent=2))
    else:
        _status_table(statuses)
    if any(s.warning for s in statuses if s.enabled):
        sys.exit(EXIT_PARTIAL)


def _status_table(statuses: list[Any]) -> None:
    click.echo(
        f"{'source':<16} {'last run (UTC)':<17} {'outcome':<11} {'next run (UTC)':<17} "
        f"{'page errors':>11} {'rejected':>8} {'copies':>7}"
    )
    for s in statuses:
        nxt = _when(s.next_run_at) if s.enabled else ("disabled" if s.configured else "not configured")
        rate = "-" if s.error_rate is None else f"{s.error_rate:.0%}"
        rejected = "-" if s.last_rejected_share is None else f"{s.last_rejected_share:.0%}"
        click.echo(
            f"{s.name:<16} {_when(s.last_run_at):<17} {s.last_outcome or 'never run':<11} {nxt:<17} "
            f"{rate:>11} {rejected:>8} {s.copies:>7}" + (f"  crawling now ({s.crawling_now})" if s.crawling_now else "")
        )
        if s.errors_by_reason:
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(s.errors_by_reason.items(), key=lambda kv: -kv[1]))
            click.echo(f"{'':<16}   errors in the last crawls ({s.requests} requests): {reasons}")
        for warning in s.warnings:
            click.echo(f"{'':<16} ! {warning}")


@main.command("backfill-status")
@sources_option
@click.option("--since", required=True, help="First day (YYYY-MM-DD, in each source's time zone).")
@click.option("--until", required=True, help="Last day (inclusive).")
@click.option("--source", "names", multiple=True, metavar="NAME", help="Only this source (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@store_options
def backfill_status_cmd(
    sources_path: Path,
    since: str,
    until: str,
    names: tuple[str, ...],
    fmt: str,
    database_url: str | None,
    data_dir: Path | None,
) -> None:
    """Articles stored per source and day (each source's own days, its `timezone`), so the holes
    a backfill left show: a day with 0 is a hole. Only reads the store."""
    from ingest.service.backfill import backfill_status

    first, last = _day(since, "--since"), _day(until, "--until")
    if first > last:
        raise click.BadParameter(f"--since {since} is after --until {until}", param_hint="--since")
    if (last - first).days > 3660:
        raise click.BadParameter("at most ten years at a time", param_hint="--until")
    loaded = _load_sources(sources_path)
    timezones = {s.name: s.timezone for s in loaded.sources}
    with _store(_settings(database_url, data_dir), read_only=True) as engine:
        rows = backfill_status(engine, first, last, timezones, names)
    unknown = sorted(set(names) - {r.source for r in rows})
    if unknown:
        raise click.BadParameter(f"the store knows no source {unknown[0]!r}", param_hint="--source")
    if fmt == "json":
        doc = {"since": since, "until": until, "sources": [
            {"source": r.source, "timezone": r.timezone, "total": r.total, "empty_days": r.empty_days, "days": r.days}
            for r in rows
        ]}  # fmt: skip
        click.echo(json.dumps(doc, indent=2))
        return
    click.echo(f"{'day':<10} " + " ".join(f"{r.source:>10}" for r in rows))
    for day in rows[0].days if rows else []:
        click.echo(f"{day:<10} " + " ".join(f"{r.days[day]:>10}" for r in rows))
    click.echo(f"{'total':<10} " + " ".join(f"{r.total:>10}" for r in rows))
    for r in rows:
        if r.empty_days:
            click.echo(f"{r.source}: {len(r.empty_days)} of {len(r.days)} days without an article stored")


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a day (YYYY-MM-DD)", param_hint=name) from None


@main.command("runs")
@click.option("--source", help="Only runs that crawled this source.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@store_options
def runs_cmd(source: str | None, limit: int, fmt: str, database_url: str | None, data_dir: Path | None) -> None:
    """Crawl run history, newest first: outcome, counters and errors by kind."""
    from ingest.store.runs import recent_runs

    with _store(_settings(database_url, data_dir), read_only=True) as engine:
        runs = recent_runs(engine, source, limit)
    if fmt == "json":
        keys = (
            "id",
            "started_at",
            "finished_at",
            "outcome",
            "sources",
            "pages_fetched",
            "articles_extracted",
            "new_stories",
            "copies_linked",
            "errors",
        )
        click.echo(json.dumps([{k: getattr(r, k) for k in keys} for r in runs], default=str, indent=2))
        return
    head = f"{'run':<6} {'started (UTC)':<16}  {'outcome':<11} {'pages':>6} {'stored':>6} {'new':>5} {'linked':>6}"
    click.echo(f"{head}  sources; errors")
    for r in runs:
        errors = ", ".join(f"{k} {v}" for k, v in sorted((r.errors or {}).items())) or "-"
        kind = " (reextract)" if (r.detail or {}).get("kind") == "reextract" else ""
        click.echo(
            f"#{r.id:<5} {_when(r.started_at):<16}  {r.outcome:<11} {r.pages_fetched:>6} {r.articles_extracted:>6} "
            f"{r.new_stories:>5} {r.copies_linked:>6}  {r.sources}{kind}; errors: {errors}"
        )


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


@main.group("db")
def db_group() -> None:
    """Schema migrations of the store."""


@db_group.command("upgrade")
@store_options
def db_upgrade_cmd(database_url: str | None, data_dir: Path | None) -> None:
    """Apply every pending migration (safe to run at every deploy)."""
    from ingest.store.db import StoreError, make_engine, pending_revision, upgrade

    settings = _settings(database_url, data_dir)
    engine = make_engine(settings.resolved_database_url)
    try:
        before, head = pending_revision(engine)
        upgrade(engine)
    except StoreError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_STORE)
    click.echo(f"schema at {head}" + (f" (was {before or 'empty'})" if before != head else " (already current)"))


@db_group.command("reindex")
@click.option(
    "--replace",
    is_flag=True,
    help="Also place every stored copy again, in publication order, with the current dedup rules: "
    "how an improved dedup reaches what is already stored (stories are rebuilt; one transaction).",
)
@store_options
def db_reindex_cmd(replace: bool, database_url: str | None, data_dir: Path | None) -> None:
    """Rebuild the LSH index from the stored signatures (after a change of dedup parameters);
    with --replace, rebuild the stories too."""
    from ingest.service.reindex import rebuild_index, replace_stories
    from ingest.store.db import write_transaction

    with _store(_settings(database_url, data_dir)) as engine, write_transaction(engine) as session:
        done = replace_stories(session) if replace else rebuild_index(session)
    click.echo(f"{'stories rebuilt' if replace else 'index rebuilt'} for {done} copies")


@main.command("check-config")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_SOURCES)
def check_config_cmd(path: Path) -> None:
    """Validate a sources file; print each problem as FILE:LINE: where: reason."""
    loaded = _load_sources(path)
    enabled = sum(1 for s in loaded.sources if s.enabled)
    click.echo(f"{path}: {len(loaded.sources)} sources ({enabled} enabled), {len(loaded.errors)} problems")
    if loaded.errors:
        sys.exit(EXIT_USAGE)


@main.command("sample-web")
@click.option(
    "--port",
    type=int,
    default=8700,
    show_default=True,
    help="Base port: outlet k of the sample web listens on PORT + k.",
)
@click.option(
    "--write-sources",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a sources file pointing at this instance.",
)
def sample_web_cmd(port: int, write_sources: Path | None) -> None:
    """Serve the bundled sample web (fake Moroccan outlets) on 127.0.0.1, in the foreground."""
    from ingest.demo import SampleWeb

    try:
        web = SampleWeb(base_port=port)  # binds its ports now, so the sources file is right before serving
    except OSError as exc:
        _port_in_use(exc, port)
    if write_sources:
        write_sources.write_text(web.sources_yaml(), encoding="utf-8")
        click.echo(f"sources written to {write_sources}", err=True)
    web.serve_forever()


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="0: any free port.")
@sources_option
@store_options
def serve_cmd(host: str, port: int, sources_path: Path, database_url: str | None, data_dir: Path | None) -> None:
    """Serve the read-only story browser and HTTP API (/, /stories/ID, /outlets, /api/..., /healthz).

    The store must be at the current schema (`ingest db upgrade`): serving never writes to it.
    """
    import os
    import socket

    from ingest.web.serve import serve

    sources = _load_sources(sources_path).sources if sources_path.exists() else []
    try:
        sock = socket.create_server((host, port), reuse_port=False)
    except OSError as exc:
        click.echo(f"error: cannot listen on {host}:{port}: {os.strerror(exc.errno) if exc.errno else exc}", err=True)
        sys.exit(EXIT_USAGE)
    with _store(_settings(database_url, data_dir), auto_upgrade=False) as engine:
        serve(engine, sources, sock)


@main.command("extract")
@click.argument("target")
@click.option("--source", "source_name", help="Use this source's time zone and languages.")
@sources_option
def extract_cmd(target: str, source_name: str | None, sources_path: Path) -> None:
    """Print what would be stored for one page (URL or local HTML file), for debugging a source."""
    from ingest.extract.extractor import extract
    from ingest.records import Article, FetchedPage

    timezone, languages = "Africa/Casablanca", ("ar", "fr", "en")
    languages_: tuple[str, ...] = languages
    if source_name:
        source = next((s for s in _load_sources(sources_path).sources if s.name == source_name), None)
        if source is None:
            raise click.UsageError(f"unknown source {source_name!r}")
        timezone, languages_ = source.timezone, tuple(source.languages)
    url, body, headers = _read_target(target)
    page = FetchedPage(url, url, 200, headers, body, source_name or "cli", datetime.now(UTC))
    result = extract(page, timezone=timezone, languages=languages_)
    if isinstance(result, Article):
        meta = {
            k: getattr(result, k)
            for k in (
                "url",
                "title",
                "published_at",
                "updated_at",
                "language",
                "author",
                "section",
                "image_url",
                "method",
            )
        }
        click.echo(json.dumps(meta, ensure_ascii=False, indent=2, default=str))
        click.echo("\n" + result.text)
    else:
        click.echo(f"rejected: {result.reason}: {result.detail}", err=True)
        sys.exit(EXIT_PARTIAL)


def _read_target(target: str) -> tuple[str, bytes, dict[str, str]]:
    if target.startswith(("http://", "https://")):
        import urllib.error
        import urllib.request

        request = urllib.request.Request(target, headers={"User-Agent": Settings().user_agent})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                headers = {k.lower(): v for k, v in response.headers.items()}
                return response.geturl(), response.read(), headers
        except urllib.error.HTTPError as exc:
            why = f"HTTP {exc.code} {exc.reason}"
        except urllib.error.URLError as exc:
            why = str(getattr(exc.reason, "strerror", None) or exc.reason)
        except (TimeoutError, OSError, ValueError) as exc:
            why = str(exc) or type(exc).__name__
        click.echo(f"error: cannot fetch {target}: {why}", err=True)
        sys.exit(EXIT_FAILED)
    path = Path(target)
    if not path.is_file():
        raise click.BadParameter(f"{target!r} is neither an http(s) URL nor a file")
    return path.resolve().as_uri(), path.read_bytes(), {"content-type": "text/html"}


if __name__ == "__main__":
    main()
