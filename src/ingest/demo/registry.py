"""Outlet name -> site class, in OUTLETS order (ports are assigned in this order)."""

from __future__ import annotations

from ingest.demo.bulk import Bulk
from ingest.demo.hostile import Oujdacity
from ingest.demo.outlets import Almasaa, Casapost, Madar24, Rifpress, Souss24
from ingest.demo.site import Site
from ingest.demo.urls import OUTLETS

SITE_CLASSES: dict[str, type[Site]] = {
    cls.name: cls for cls in (Almasaa, Rifpress, Madar24, Souss24, Casapost, Oujdacity, Bulk)
}
assert tuple(k for k in SITE_CLASSES if k != Bulk.name) == OUTLETS
