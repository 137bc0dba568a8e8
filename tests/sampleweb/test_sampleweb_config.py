"""Sources files rendered for the sample web load cleanly; config/sample.yaml never drifts."""

from __future__ import annotations

import random
import socket
from pathlib import Path

import pytest

from ingest.config import load_sources
from ingest.demo import OUTLETS, SampleWeb, render_sources_yaml, sample_config_text
from tests.sampleweb.conftest import fetch

REPO = Path(__file__).resolve().parents[2]


def test_config_sample_yaml_matches_render() -> None:
    text = (REPO / "config" / "sample.yaml").read_text(encoding="utf-8")
    assert text == sample_config_text(), "run: python -m ingest.demo config > config/sample.yaml"
    assert text.startswith("# GENERATED")
    assert sample_config_text().endswith(
        render_sources_yaml({name: f"http://127.0.0.1:{8700 + k}" for k, name in enumerate(OUTLETS)})
    )


def test_sources_yaml_validates(web: SampleWeb, tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(web.sources_yaml(), encoding="utf-8")
    loaded = load_sources(path)
    assert loaded.errors == []
    assert [s.name for s in loaded.sources] == list(OUTLETS)
    for source in loaded.sources:
        assert source.homepage == web.base_url(source.name) + "/"
        assert source.allowed_domains == ["127.0.0.1"] and source.listings and source.sitemaps
        for url in [*source.feeds, *source.sitemaps, *(lst.url for lst in source.listings)]:
            assert fetch(url).status == 200, url
    assert load_sources(REPO / "config" / "sample.yaml").errors == []


def test_bulk_outlet_appears_in_sources_when_scaled(tmp_path: Path) -> None:
    with SampleWeb(scale=3) as web:
        path = tmp_path / "s.yaml"
        path.write_text(web.sources_yaml(), encoding="utf-8")
        assert [s.name for s in load_sources(path).sources] == [*OUTLETS, "bulk"]


def _free_port_run(n: int) -> int:
    """A base port whose next n ports are free now, below the ephemeral range (client sockets
    of the other tests take ephemeral ports, so a run picked there collides)."""
    rng = random.Random()
    for _ in range(50):
        base = rng.randrange(20000, 32000 - n)
        try:
            for port in range(base, base + n + 1):
                with socket.socket() as s:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    pytest.skip("no free port range")


def test_fixed_base_port_gives_consecutive_ports_in_outlet_order() -> None:
    base = _free_port_run(len(OUTLETS))
    try:
        web = SampleWeb(base_port=base)
    except OSError:
        pytest.skip("port range taken")
    with web:
        assert [web.base_url(n) for n in OUTLETS] == [f"http://127.0.0.1:{base + k}" for k in range(len(OUTLETS))]
        assert fetch(web.base_url("casapost") + "/robots.txt").status == 200


def test_serve_forever_prints_each_outlet_and_stops_on_ctrl_c() -> None:
    import signal
    import subprocess
    import sys

    base = _free_port_run(len(OUTLETS))
    cmd = [sys.executable, "-m", "ingest.demo", "serve", "--port", str(base)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().split() for _ in OUTLETS]
        assert lines == [[name, f"http://127.0.0.1:{base + k}/"] for k, name in enumerate(OUTLETS)]
        assert fetch(f"http://127.0.0.1:{base}/robots.txt").status == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
