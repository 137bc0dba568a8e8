"""The sources file: what loads, and how each problem is reported (file, line, reason)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.config import ConfigError, Settings, load_sources, parse_duration

GOOD = """\
defaults:
  schedule: {every: 30m}
sources:
  - name: alpha
    homepage: https://alpha.example.ma/
    feeds: [https://alpha.example.ma/feed/]
    article_url_pattern: "/\\\\d+\\\\.html$"
  - name: beta
    homepage: https://www.beta.example.ma/
    enabled: false
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_file_loads_every_source(tmp_path: Path) -> None:
    loaded = load_sources(write(tmp_path, GOOD))
    assert [s.name for s in loaded.sources] == ["alpha", "beta"]
    assert loaded.errors == []


def test_defaults_are_merged_under_each_entry(tmp_path: Path) -> None:
    loaded = load_sources(write(tmp_path, GOOD))
    assert all(s.schedule.every == "30m" for s in loaded.sources)


def test_allowed_domains_default_to_homepage_host_without_www(tmp_path: Path) -> None:
    beta = load_sources(write(tmp_path, GOOD)).sources[1]
    assert beta.allowed_domains == ["beta.example.ma"]


def test_select_without_names_gives_enabled_sources_only(tmp_path: Path) -> None:
    assert [s.name for s in load_sources(write(tmp_path, GOOD)).select()] == ["alpha"]


def test_select_by_name_may_pick_a_disabled_source(tmp_path: Path) -> None:
    assert [s.name for s in load_sources(write(tmp_path, GOOD)).select(["beta"])] == ["beta"]


def test_unknown_source_name_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown source"):
        load_sources(write(tmp_path, GOOD)).select(["gamma"])


def test_unknown_key_is_reported_with_its_line_and_entry_skipped(tmp_path: Path) -> None:
    text = GOOD.replace("    enabled: false\n", "    enabled: false\n    feeeds: []\n")
    loaded = load_sources(write(tmp_path, text))
    assert [s.name for s in loaded.sources] == ["alpha"]
    (error,) = loaded.errors
    assert error.line == 11
    assert "sources[1].feeeds" in str(error) and "unknown key" in str(error)


def test_bad_url_is_reported_at_the_line_of_its_value(tmp_path: Path) -> None:
    loaded = load_sources(write(tmp_path, GOOD.replace("https://alpha.example.ma/feed/", "ftp://alpha/feed")))
    (error,) = loaded.errors
    assert error.line == 6 and "not an http(s) URL" in error.reason


def test_bad_regex_is_reported(tmp_path: Path) -> None:
    loaded = load_sources(write(tmp_path, GOOD.replace('"/\\\\d+\\\\.html$"', '"([unclosed"')))
    assert "not a valid regular expression" in loaded.errors[0].reason
    assert loaded.errors[0].line == 7


def test_duplicate_name_is_reported_with_first_line(tmp_path: Path) -> None:
    loaded = load_sources(write(tmp_path, GOOD.replace("name: beta", "name: alpha")))
    (error,) = loaded.errors
    assert "duplicate name (first at line 4)" in str(error)


def test_schedule_needs_exactly_one_of_every_or_cron(tmp_path: Path) -> None:
    text = GOOD.replace("    enabled: false\n", "    enabled: false\n    schedule: {every: 5m, cron: '* * * * *'}\n")
    loaded = load_sources(write(tmp_path, text))
    assert "exactly one of 'every'" in loaded.errors[0].reason


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_sources(write(tmp_path, "sources:\n  - name: [unclosed\n"))
    assert info.value.line is not None and "YAML syntax" in str(info.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_sources(tmp_path / "nope.yaml")


def test_environment_references_are_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPHA_HOST", "alpha.example.org")
    text = GOOD.replace("homepage: https://alpha.example.ma/", "homepage: https://${ALPHA_HOST}/")
    loaded = load_sources(write(tmp_path, text))
    assert loaded.sources[0].homepage == "https://alpha.example.org/"


def test_durations_accept_units_and_seconds() -> None:
    assert parse_duration("90s").total_seconds() == 90
    assert parse_duration("30m").total_seconds() == 1800
    assert parse_duration(5).total_seconds() == 5
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_settings_read_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGEST_DATABASE_URL", "postgresql://db/ingest")
    assert Settings.from_env().resolved_database_url == "postgresql://db/ingest"


def test_shipped_sources_files_validate() -> None:
    root = Path(__file__).resolve().parents[2] / "config"
    for name in ("sources.yaml", "sample.yaml"):
        loaded = load_sources(root / name)
        assert loaded.errors == [], loaded.errors
        assert loaded.sources
