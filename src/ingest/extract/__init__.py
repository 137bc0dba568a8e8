"""Extract: pure functions from a fetched page's bytes to an article (title, text, date, author,
language) or a rejection."""
