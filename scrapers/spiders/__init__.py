"""Spiders: ``NewsSpider`` crawls one configured ``ingest.config.Source``."""

from scrapers.spiders.news import NewsSpider

__all__ = ["NewsSpider"]
