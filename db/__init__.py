"""Alembic migrations of the ingest store (shipped as the package ``ingest.migrations``)."""
