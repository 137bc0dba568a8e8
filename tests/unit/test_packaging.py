"""What the wheel ships: every package of the product, and no development tool.

`[tool.setuptools] packages` is an explicit list (the migrations ship from db/ as
ingest.migrations), so a new package that is not named there would be missing from a wheel.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def shipped() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return set(config["tool"]["setuptools"]["packages"])


def test_every_python_package_of_the_product_is_shipped() -> None:
    packages = {
        ".".join(p.parent.relative_to(ROOT / "src").parts) for p in (ROOT / "src" / "ingest").rglob("__init__.py")
    }
    assert packages - shipped() == set()


def test_the_dev_kit_is_not_shipped() -> None:
    assert not any(p == "ingest_dev" or p.startswith("ingest_dev.") for p in shipped())
