"""Score body-text extraction on a labelled set, and time it, against plain trafilatura.

Layout of a dataset directory (the article-extraction-benchmark layout):

    html/<id>.html.gz      the page as fetched
    ground-truth.json      {id: {"articleBody": "...", "url": "..."}}

Scores are bag-of-words token precision/recall/F1 over `ingest.text.tokens` (multiset
overlap), averaged over pages (a page where an extractor returns nothing scores 0). Throughput is
pages per second on one core, parsing included, decompression excluded.
"""

from __future__ import annotations

import gzip
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import trafilatura

from ingest.records import Article, FetchedPage
from ingest.text import tokens


def token_prf(extracted: str, truth: str) -> tuple[float, float, float]:
    """(precision, recall, F1) of the multiset of normalised tokens of `extracted` against `truth`."""
    got, want = Counter(tokens(extracted)), Counter(tokens(truth))
    if not got and not want:
        return 1.0, 1.0, 1.0
    overlap = sum((got & want).values())
    precision = overlap / sum(got.values()) if got else 0.0
    recall = overlap / sum(want.values()) if want else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


@dataclass(frozen=True, slots=True)
class Sample:
    id: str
    url: str
    html: bytes
    truth: str


@dataclass
class Score:
    """Mean P/R/F1 over pages and throughput of one extractor."""

    name: str
    precision: float = 0.0
    recall: float = 0.0
    f1: float = 0.0
    pages_per_s: float = 0.0
    seconds: float = 0.0
    per_page_f1: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"{self.name:<34} P={self.precision:.3f} R={self.recall:.3f} F1={self.f1:.3f} "
            f"{self.pages_per_s:7.1f} pages/s"
        )


@dataclass
class BenchReport:
    dataset: str
    pages: int
    scores: list[Score]

    def render(self) -> str:
        head = f"{self.dataset}: {self.pages} pages, one core"
        return "\n".join([head, *(s.line() for s in self.scores)])


Extractor = Callable[[Sample], str]


def load_dataset(directory: str | Path, limit: int | None = None) -> list[Sample]:
    root = Path(directory)
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    samples = []
    for key in sorted(truth)[:limit]:
        path = root / "html" / f"{key}.html.gz"
        if path.exists():
            item = truth[key]
            samples.append(
                Sample(key, item.get("url", ""), gzip.decompress(path.read_bytes()), item.get("articleBody", ""))
            )
    return samples


def _fetched(sample: Sample) -> FetchedPage:
    return FetchedPage(
        url=sample.url,
        final_url=sample.url,
        status=200,
        headers={"content-type": "text/html"},
        body=sample.html,
        source="bench",
        fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def ours(sample: Sample) -> str:
    """`ingest.extract.extractor.extract` (every language accepted: the benchmark is mostly English)."""
    from ingest.extract.extractor import extract

    result = extract(_fetched(sample), languages=())
    return result.text if isinstance(result, Article) else ""


def trafilatura_defaults(sample: Sample) -> str:
    return trafilatura.extract(sample.html, url=sample.url) or ""


def trafilatura_with_metadata(sample: Sample) -> str:
    return trafilatura.extract(sample.html, url=sample.url, with_metadata=True) or ""


EXTRACTORS: dict[str, Extractor] = {
    "ingest.extract.extractor": ours,
    "trafilatura.extract()": trafilatura_defaults,
    "trafilatura.extract(with_metadata)": trafilatura_with_metadata,
}


def score(name: str, fn: Extractor, samples: Sequence[Sample]) -> Score:
    outputs: list[str] = []
    start = time.perf_counter()
    for sample in samples:
        outputs.append(fn(sample))
    seconds = time.perf_counter() - start
    result = Score(name, seconds=seconds, pages_per_s=len(samples) / seconds if seconds else 0.0)
    prf = [token_prf(out, s.truth) for out, s in zip(outputs, samples, strict=True)]
    n = len(prf) or 1
    result.precision = sum(p for p, _, _ in prf) / n
    result.recall = sum(r for _, r, _ in prf) / n
    result.f1 = sum(f for _, _, f in prf) / n
    result.per_page_f1 = {s.id: f for s, (_, _, f) in zip(samples, prf, strict=True)}
    return result


def bench_dataset(
    directory: str | Path, *, extractors: dict[str, Extractor] | None = None, limit: int | None = None
) -> BenchReport:
    """Score and time every extractor on the dataset (ours first, then the trafilatura baselines)."""
    samples = load_dataset(directory, limit)
    chosen = extractors or EXTRACTORS
    return BenchReport(str(directory), len(samples), [score(name, fn, samples) for name, fn in chosen.items()])


if __name__ == "__main__":  # python -m ingest_dev.extractbench DIR
    import sys

    print(bench_dataset(sys.argv[1]).render())
