"""ingest: one clean, deduplicated record of the Moroccan Arabic-language press."""

__version__ = "0.1.0"
