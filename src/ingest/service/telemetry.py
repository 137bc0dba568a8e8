"""Prometheus metrics for the worker (`ingest worker --metrics-port N`).

Crawls run in child processes, so the worker counts from each finished run's row: one source of
truth for the runs table, `ingest status` and the metrics.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from ingest.store.models import RunRow


class Metrics:
    """Counters and gauges per source; a no-op registry when no port is given."""

    def __init__(self, port: int | None, host: str = "127.0.0.1") -> None:
        self.registry = CollectorRegistry()
        labels = ["source"]
        self.runs = Counter("ingest_runs", "Crawl runs by outcome", ["source", "outcome"], registry=self.registry)
        self.pages = Counter("ingest_pages_fetched", "Article pages fetched", labels, registry=self.registry)
        self.articles = Counter("ingest_articles_stored", "Article copies stored", labels, registry=self.registry)
        self.stories = Counter("ingest_new_stories", "New canonical articles", labels, registry=self.registry)
        self.linked = Counter("ingest_copies_linked", "Copies linked to known stories", labels, registry=self.registry)
        self.errors = Counter("ingest_errors", "Errors by kind", ["source", "kind"], registry=self.registry)
        self.broken = Counter(
            "ingest_extraction_broken_runs",
            "Runs in which most of a source's article pages were rejected (a template change)",
            labels,
            registry=self.registry,
        )
        self.last_run = Gauge(
            "ingest_last_run_timestamp_seconds", "End of the last run", labels, registry=self.registry
        )
        if port:
            start_http_server(port, addr=host, registry=self.registry)

    def run_finished(self, source: str, run: RunRow) -> None:
        self.runs.labels(source, run.outcome).inc()
        self.pages.labels(source).inc(run.pages_fetched)
        self.articles.labels(source).inc(run.articles_extracted)
        self.stories.labels(source).inc(run.new_stories)
        self.linked.labels(source).inc(run.copies_linked)
        for kind, count in (run.errors or {}).items():
            self.errors.labels(source, kind).inc(count)
        for report in (run.detail or {}).get("sources", []):
            if report.get("source") == source and report.get("broken"):
                self.broken.labels(source).inc()
        if run.finished_at is not None:
            self.last_run.labels(source).set(run.finished_at.timestamp())
