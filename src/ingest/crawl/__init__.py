"""Fetch: Scrapy spiders and their parts discover and fetch article pages (nothing else runs Scrapy)."""
