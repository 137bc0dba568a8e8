"""A run killed outright (SIGKILL) after reading a feed, before storing its articles: the next run
reads that feed whole again and stores them. A feed's validators (ETag, Last-Modified) tell the
next run "unchanged, skip me"; recorded before the feed's articles were stored, they lost those
articles for good (seen: 3 of a sample outlet's articles missing after a worker was killed).

Deterministic: the feed's article pages hold their answers until the run is dead, and the run is
killed once the frontier has written fetch records from mid-crawl (the feed was read before)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from sqlalchemy import func, select

from ingest.store.db import make_engine
from ingest.store.models import CopyRow, FetchStateRow
from tests.crawl.crawlkit import Reply, TestWeb, serving
from tests.e2e.conftest import ingest
from tests.worker.conftest import wait_for

GONE = 100  # links to missing pages: their 404s are recorded (and written) while the articles wait
ETAG = '"feed-v1"'

# Three short wire stories of our own, long enough to be kept as articles.
STORIES = [
    (
        "افتتاح سوق أسبوعي جديد بضواحي مكناس",
        "افتتحت السلطات المحلية بضواحي مكناس سوقا أسبوعيا جديدا يضم أزيد من ثلاثمائة محل تجاري، "
        "في إطار برنامج لتأهيل الأسواق القروية وتحسين ظروف عمل التجار والفلاحين الصغار بالمنطقة.",
        "وأوضح بلاغ للعمالة أن السوق الجديد شيد على مساحة تقارب أربعة هكتارات، وزود بمرافق صحية "
        "ومواقف للسيارات ونقطة للماء الصالح للشرب، فيما خصص جناح مستقل لبيع المواشي.",
        "وأضاف المصدر ذاته أن المشروع كلف غلافا ماليا يناهز خمسة عشر مليون درهم، ساهم فيه المجلس "
        "الإقليمي والجماعات المعنية، على أن يفتح أبوابه كل يوم أربعاء ابتداء من الأسبوع المقبل.",
    ),
    (
        "حملة طبية متعددة التخصصات لفائدة ساكنة جبال الأطلس",
        "نظمت جمعية محلية بشراكة مع المندوبية الإقليمية للصحة حملة طبية متعددة التخصصات لفائدة "
        "ساكنة الدواوير الجبلية المعزولة، استفاد منها أكثر من ألف ومائتي شخص خلال ثلاثة أيام.",
        "وشملت الحملة فحوصات في طب العيون وطب الأطفال وأمراض النساء، إلى جانب توزيع الأدوية "
        "والنظارات الطبية بالمجان، وإجراء عمليات جراحية بسيطة بالمستشفى الإقليمي.",
        "وأكد منظمو الحملة أن المبادرة تأتي لتقريب الخدمات الصحية من المواطنين في المناطق التي "
        "تعاني من قلة المراكز الصحية، خاصة خلال فصل الشتاء وتساقط الثلوج.",
    ),
    (
        "تكوين مئات الشباب في مهن الطاقات المتجددة بجهة سوس",
        "أعلن مركز التكوين المهني بجهة سوس ماسة عن تخرج فوج جديد من الشباب المتخصصين في تركيب "
        "وصيانة الألواح الشمسية، ضمن برنامج جهوي يروم تأهيل اليد العاملة في قطاع الطاقات المتجددة.",
        "وأفاد مدير المركز أن التكوين دام تسعة أشهر، تخللته فترات تدريب ميداني داخل مقاولات "
        "الجهة، وأن نسبة الإدماج المهني للفوج السابق تجاوزت سبعين في المائة.",
        "ويرتقب أن يستقبل المركز خلال الموسم المقبل أربعمائة متدرب جديد، بعد توسيع ورشاته "
        "وتجهيزها بمعدات حديثة بدعم من شركاء دوليين.",
    ),
]


def article_page(title: str, paragraphs: tuple[str, ...]) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body><nav><a href='/'>الرئيسية</a></nav><article><h1>{title}</h1>"
        f'<time datetime="2026-11-20T09:00:00+01:00">20 نونبر 2026</time>{body}</article></body></html>'
    ).encode()


def feed(web: TestWeb) -> bytes:
    links = [f"/gone/{i}" for i in range(GONE)] + [f"/news/{i}" for i in range(len(STORIES))]
    date = "Fri, 20 Nov 2026 09:00:00 +0100"
    items = "".join(
        f"<item><title>خبر {n}</title><link>{web.url(p)}</link><pubDate>{date}</pubDate></item>"
        for n, p in enumerate(links)
    )
    head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
    return f"{head}{items}</channel></rss>".encode()


@pytest.fixture
def web() -> Iterator[TestWeb]:
    yield from serving()


def test_the_articles_of_a_feed_a_killed_run_had_read_are_stored_by_the_next_run(web: TestWeb, tmp_path: Path) -> None:
    released = threading.Event()
    body = feed(web)

    def the_feed(headers: dict[str, str]) -> Reply:
        if headers.get("if-none-match") == ETAG:
            return Reply(304, b"", {"ETag": ETAG})
        return Reply(200, body, {"ETag": ETAG, "Content-Type": "application/rss+xml"})

    def held(title: str, paragraphs: tuple[str, ...]) -> object:
        def answer(_headers: dict[str, str]) -> Reply:
            released.wait(timeout=300)  # until the first run is dead
            return Reply(200, article_page(title, paragraphs))

        return answer

    web.add("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain")
    web.handle("/feed", the_feed)
    for i, (title, *paragraphs) in enumerate(STORIES):
        web.handle(f"/news/{i}", held(title, tuple(paragraphs)))  # type: ignore[arg-type]

    sources = tmp_path / "sources.yaml"
    YAML(typ="safe").dump(
        {
            "sources": [
                {
                    "name": "wire",
                    "homepage": web.url("/"),
                    "feeds": [web.url("/feed")],
                    "article_url_pattern": r"/(news|gone)/\d+$",
                    "discover_feeds": False,
                    "allow_private_hosts": ["127.0.0.1"],
                }
            ]
        },
        sources,
    )
    url = f"sqlite:///{tmp_path / 'ingest.sqlite'}"
    env = {
        **os.environ,
        "INGEST_DATABASE_URL": url,
        "INGEST_EXTRACT_WORKERS": "1",
        "INGEST_CONCURRENT_PER_SOURCE": "8",
        "INGEST_DOWNLOAD_DELAY": "0",
        "INGEST_AUTOTHROTTLE": "false",
        "INGEST_DOWNLOAD_TIMEOUT": "600",
    }
    argv = [sys.executable, "-m", "ingest.cli", "run-once", "--sources", str(sources), "--no-progress"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    engine = make_engine(url)

    def gone_recorded() -> int:
        try:
            with engine.connect() as conn:
                return conn.execute(select(func.count()).where(FetchStateRow.status == 404)).scalar_one()
        except Exception:  # the store is not created yet
            return 0

    try:
        wait_for("the 404s of the feed's missing links to be recorded", lambda: gone_recorded() >= GONE // 4)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        released.set()

    ingest("run-once", "--sources", str(sources), "--no-progress", database_url=url, env=env, check=True)
    with engine.connect() as conn:
        stored = set(conn.execute(select(CopyRow.url)).scalars())
    assert stored == {web.url(f"/news/{i}") for i in range(len(STORIES))}
