"""A source's download slot, as our settings describe it to Scrapy: the delay is a floor."""

from __future__ import annotations

from scrapy.core.downloader import Slot
from scrapy.settings import Settings as ScrapySettings
from scrapy.settings import default_settings

from ingest.config import Settings
from ingest.crawl.settings import download_slots, scrapy_settings

# Scrapy's default jitter draws each wait from 0.5-1.5x the delay: requests 0.05 s apart under a
# 0.1 s minimum, and a crawl ~22% over its delays (it draws again each time the slot wakes).


def test_a_sources_slot_waits_its_whole_delay_every_time() -> None:
    entry = download_slots(Settings(download_delay=0.1, concurrent_per_source=2), ["hespress"])["hespress"]
    # A DOWNLOAD_SLOTS entry without its own jitter takes the crawler's (Scrapy's default: 0.5).
    assert entry.get("jitter", entry.get("randomize_delay")) in (0.0, False)
    slot = Slot(**entry)
    assert {slot.download_delay() for _ in range(200)} == {0.1}
    assert slot.concurrency == 2


def test_the_crawlers_own_delay_has_no_jitter_either() -> None:
    config = ScrapySettings(scrapy_settings(Settings(download_delay=0.1)))
    if hasattr(default_settings, "DOWNLOAD_DELAY_JITTER"):  # Scrapy 2.19
        assert config.getfloat("DOWNLOAD_DELAY_JITTER") == 0.0
    else:
        assert config.getbool("RANDOMIZE_DOWNLOAD_DELAY") is False
