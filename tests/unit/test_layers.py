"""The package shows the pipeline, and the imports keep it so: read from the source (no import run).

Layers, top to bottom: ``ingest.cli`` and ``ingest.web`` -> ``ingest.service`` -> the stages
``ingest.crawl``, ``ingest.extract``, ``ingest.dedup``, ``ingest.store`` -> the base modules
``ingest.bounds``, ``ingest.config``, ``ingest.records``, ``ingest.text``, ``ingest.urls``. A module
imports only its own layer or lower ones; Scrapy lives in ``ingest.crawl``; the demo web and the dev
kit serve the CLI only.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
BASE = {"ingest", "ingest.bounds", "ingest.config", "ingest.records", "ingest.text", "ingest.urls"}
STAGES = ("ingest.crawl", "ingest.extract", "ingest.dedup", "ingest.store")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imported(tree: ast.AST, modules: set[str]) -> Iterator[str]:
    """Every module a file imports at run time, at any depth (functions too), but not for types only."""
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and is_type_checking(node):
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = [f"{node.module}.{alias.name}" for alias in node.names]
            found = [s for s in subs if s in modules]
            yield from found or [node.module]


@cache
def graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in SRC.rglob("*.py")}
    modules = set(files)
    edges: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges[name] = {m for m in imported(tree, modules) if m != name}
    return edges


def layer(module: str) -> int:
    if module in BASE:
        return 0
    if module.startswith(STAGES):
        return 1
    if module.startswith("ingest.service"):
        return 2
    if module == "ingest.cli" or module.startswith("ingest.web"):
        return 3
    raise AssertionError(f"{module} belongs to no layer: name it in tests/unit/test_layers.py")


def pipeline_modules() -> list[str]:
    return sorted(m for m in graph() if m.startswith("ingest") and not m.startswith(("ingest.demo", "ingest_dev")))


def test_no_module_imports_a_higher_layer() -> None:
    upward = [
        f"{m} -> {dep}"
        for m in pipeline_modules()
        for dep in graph()[m]
        if dep in graph() and not dep.startswith(("ingest.demo", "ingest_dev")) and layer(dep) > layer(m)
    ]
    assert upward == []


def test_there_is_no_import_cycle() -> None:
    edges = graph()
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(edges.get(node, ())):
            if dep not in edges:
                continue
            if state.get(dep) == 1:
                cycles.append(" -> ".join([*path[path.index(dep) :], dep]))
            elif dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert cycles == []


def test_the_stages_import_each_other_without_a_cycle() -> None:
    between = {
        (a, b)
        for m in pipeline_modules()
        if (a := next((s for s in STAGES if m.startswith(s)), None))
        for dep in graph()[m]
        if (b := next((s for s in STAGES if dep.startswith(s)), None)) and b != a
    }
    assert not any((b, a) in between for a, b in between), sorted(between)


def test_scrapy_is_imported_only_by_the_crawl_stage() -> None:
    outside = [m for m in pipeline_modules() if not m.startswith("ingest.crawl") and any(
        d == "scrapy" or d.startswith(("scrapy.", "twisted")) for d in graph()[m]
    )]  # fmt: skip
    assert outside == []


def test_the_spider_imports_only_the_crawl_stage_and_the_base() -> None:
    deps = {d for d in graph()["ingest.crawl.spider"] if d.startswith("ingest")}
    assert {d for d in deps if not (d.startswith("ingest.crawl") or d in BASE)} == set()


def test_the_demo_web_and_the_dev_kit_serve_the_cli_only() -> None:
    users = [
        f"{m} -> {dep}"
        for m in pipeline_modules()
        if m != "ingest.cli"
        for dep in graph()[m]
        if dep.startswith(("ingest.demo", "ingest_dev"))
    ]
    assert users == []
    demo = [
        f"{m} -> {d}" for m in graph() if m.startswith("ingest.demo") for d in graph()[m] if d in pipeline_modules()
    ]
    assert demo == [], "the demo web stands alone: it serves pages, it does not run the pipeline"


def test_dedup_never_imports_the_store_nor_sqlalchemy() -> None:
    """The store implements dedup's ports (`ingest.dedup.ports`); dedup runs no SQL of its own."""
    uses = [f"{m} -> {d}" for m in pipeline_modules() if m.startswith("ingest.dedup") for d in graph()[m]
            if d.startswith("ingest.store") or d == "sqlalchemy" or d.startswith("sqlalchemy.")]  # fmt: skip
    assert uses == []
