"""The bundled sample web: a fake web of Moroccan Arabic-language news outlets on 127.0.0.1.

    with SampleWeb(base_port=0) as web:
        web.base_url("almasaa"); web.sources_yaml(); web.requests

Tests, `make demo` and the benchmarks crawl it; load_ground_truth() says what they must find.
"""

from ingest.demo.server import RequestRecord, SampleWeb
from ingest.demo.sources import render_sources_yaml, sample_config_text
from ingest.demo.truth import GroundTruth, HostileCase, Page, build_ground_truth, load_ground_truth
from ingest.demo.urls import OUTLETS

__all__ = [
    "OUTLETS",
    "GroundTruth",
    "HostileCase",
    "Page",
    "RequestRecord",
    "SampleWeb",
    "build_ground_truth",
    "load_ground_truth",
    "render_sources_yaml",
    "sample_config_text",
]
