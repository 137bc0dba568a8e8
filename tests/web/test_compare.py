"""What a copy changed against the canonical text, as the story page shows it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ingest.web.compare import compare, lag_text

CANON = "\n".join(
    [
        "الرباط - و م ع",
        "أعلنت الوزارة عن برنامج جديد لدعم المقاولات الصغيرة في الجهة",
        "وسيستفيد منه ألف شاب",
        "وتجدر الإشارة إلى أن البرنامج يمتد ثلاث سنوات",
    ]
)


def test_identical_copy_has_no_changes() -> None:
    diff = compare("عنوان", CANON, "عنوان", CANON)
    assert diff.identical and diff.kept == 4


def test_new_headline_dropped_and_added_paragraphs() -> None:
    text = "متابعة\nأعلنت الوزارة عن برنامج جديد لدعم المقاولات الصغيرة في الجهة\nوسيستفيد منه ألف شاب"
    diff = compare("عنوان", CANON, "عنوان آخر", text)
    assert diff.new_headline == "عنوان آخر" and diff.kept == 2
    kinds = [(c.kind, c.before or c.after) for c in diff.changes]
    assert ("dropped", "الرباط - و م ع") in kinds and ("added", "متابعة") in kinds
    assert ("dropped", "وتجدر الإشارة إلى أن البرنامج يمتد ثلاث سنوات") in kinds


def test_a_reworded_paragraph_shows_its_words() -> None:
    text = CANON.replace("لدعم المقاولات الصغيرة", "لمساندة المقاولات الصغيرة")
    (change,) = compare("ع", CANON, "ع", text).changes
    assert change.kind == "reworded"
    assert ("del", "لدعم") in change.words and ("ins", "لمساندة") in change.words


def test_lag_behind_the_first_publication() -> None:
    first = datetime(2025, 5, 16, 9, 45, tzinfo=UTC)
    assert lag_text(first, first) == "0"
    assert lag_text(first + timedelta(minutes=20), first) == "+20 min"
    assert lag_text(first + timedelta(days=1, hours=2, minutes=5), first) == "+1 d 2 h 05 min"
    assert lag_text(None, first) == "—"
