"""The Scrapy side of ingest: one spider per source, its settings and middlewares.

Only ``ingest.crawl`` imports from here; nothing in here imports the store or the extractor.
"""
