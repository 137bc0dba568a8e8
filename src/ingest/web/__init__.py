"""`ingest serve`: a read-only story browser and HTTP API over the store.

Nothing in the pipeline imports this package: it only reads what the crawl wrote, through
`ingest.store.query` (the story records) and `ingest.service.status` (outlet health).
"""
