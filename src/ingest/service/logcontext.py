"""Which run and which source a log record belongs to, on every record emitted during a run.

A crawl logs from several threads (Scrapy's reactor, the pipeline's writer thread) and the worker
from one thread per job, so the context lives in two places:

- a context variable, set with `log_context(...)` around a worker job (one thread each);
- a process-wide default, set with `log_context(..., process_wide=True)` by `ingest run-once`,
  which runs exactly one crawl per process: threads started during the run inherit no context
  variables, but their records still belong to the run.

`ContextFilter`, attached to the log handler, copies the context onto each record as `run_id` and
`source` (only when known) and `log_context` (e.g. ``"[run 12 hespress] "``, or ``""``) for the
text format.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class LogContext:
    run_id: int | None = None
    source: str | None = None  # a source name, or a comma list for a run of several sources

    def prefix(self) -> str:
        parts = ([f"run {self.run_id}"] if self.run_id is not None else []) + ([self.source] if self.source else [])
        return f"[{' '.join(parts)}] " if parts else ""


_EMPTY = LogContext()
_current: ContextVar[LogContext | None] = ContextVar("ingest_log_context", default=None)
_process: LogContext = _EMPTY


def current() -> LogContext:
    """The context of this thread if it has one, else the process-wide one."""
    return _current.get() or _process


@contextmanager
def log_context(run_id: int | None = None, source: str | None = None, *, process_wide: bool = False) -> Iterator[None]:
    """Records emitted inside carry `run_id` and `source` (unset fields keep the outer context's)."""
    global _process
    outer = current()
    ctx = replace(
        outer,
        run_id=outer.run_id if run_id is None else run_id,
        source=outer.source if source is None else source,
    )
    token = _current.set(ctx)
    saved = _process
    if process_wide:
        _process = ctx
    try:
        yield
    finally:
        _current.reset(token)
        if process_wide:
            _process = saved


def bind(run_id: int | None = None, source: str | None = None) -> None:
    """Update this thread's context in place (inside a `log_context` block), e.g. once the run id is known."""
    outer = current()
    _current.set(
        replace(
            outer,
            run_id=outer.run_id if run_id is None else run_id,
            source=outer.source if source is None else source,
        )
    )


class ContextFilter(logging.Filter):
    """Adds `run_id`, `source` (when known) and `log_context` (text prefix) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = current()
        if ctx.run_id is not None and not hasattr(record, "run_id"):
            record.run_id = ctx.run_id
        if ctx.source is not None and not hasattr(record, "source"):
            record.source = ctx.source
        run_id, source = getattr(record, "run_id", None), getattr(record, "source", None)
        record.log_context = LogContext(run_id, source).prefix()
        return True
