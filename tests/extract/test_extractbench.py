"""Scoring helpers for extraction benchmarks."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from ingest_dev.extractbench import bench_dataset, token_prf


def test_identical_texts_score_one() -> None:
    assert token_prf("الأمن الوطني", "الامن الوطني") == (1.0, 1.0, 1.0)


def test_extra_tokens_lower_precision_only() -> None:
    p, r, f = token_prf("a b c d", "a b")
    assert (p, r) == (0.5, 1.0) and f == pytest.approx(2 / 3)


def test_repeated_tokens_count_as_a_multiset() -> None:
    p, r, _ = token_prf("a a a", "a b")
    assert (p, r) == (pytest.approx(1 / 3), 0.5)


def test_nothing_extracted_scores_zero() -> None:
    assert token_prf("", "a b") == (0.0, 0.0, 0.0)


def test_bench_dataset_scores_and_times_every_extractor(tmp_path: Path) -> None:
    body = " ".join(["وأوضح المصدر أن الأشغال ستنطلق قريبا في الحي الصناعي للمدينة"] * 6)
    nav = "<nav><a href='/'>الرئيسية</a></nav>"
    html = f"<html><body>{nav}<article><h1>عنوان</h1><p>{body}</p></article></body></html>"
    (tmp_path / "html").mkdir()
    (tmp_path / "html" / "p1.html.gz").write_bytes(gzip.compress(html.encode()))
    truth = {"p1": {"articleBody": body, "url": "https://x.ma/1"}}
    (tmp_path / "ground-truth.json").write_text(json.dumps(truth, ensure_ascii=False), encoding="utf-8")
    report = bench_dataset(tmp_path)
    assert report.pages == 1
    ours = report.scores[0]
    assert ours.name == "ingest.extract.extractor" and ours.f1 == pytest.approx(1.0)
    assert all(s.pages_per_s > 0 for s in report.scores)
    assert "F1=" in report.render()
