"""One vocabulary of headings where an article's own text ends, read alike by extraction and dedup.

The two stages kept two lists that had drifted: dedup cut at "قد يهمك" and "مواد ذات صلة" where
extraction did not, extraction at comment and English headings where dedup did not.
"""

from __future__ import annotations

import pytest

from ingest.dedup.fingerprint import body_text
from ingest.extract.boilerplate import cut_trailing_block
from ingest.text import BLOCK_HEADINGS, READ_ALSO_HEADINGS, heading_kind

BODY = [
    "أعلنت الجماعة الحضرية عن برنامج لتأهيل الساحات العمومية في الأحياء القديمة خلال الصيف المقبل",
    "وقال رئيس المجلس إن الأشغال ستنطلق بعد استكمال الدراسات التقنية وتحديد المقاولات المكلفة",
    "وأضاف أن الميزانية المرصودة تبلغ عشرين مليون درهم موزعة على ثلاث مراحل متتالية",
    "وأشار إلى أن السكان سيستشارون في تصميم الفضاءات الخضراء والممرات المخصصة للراجلين",
]
OTHER_STORY = "عنوان خبر آخر من الموقع نفسه عن مباراة الأمس"


@pytest.mark.parametrize("heading", [*BLOCK_HEADINGS, *READ_ALSO_HEADINGS])
def test_both_stages_end_the_article_at_every_heading(heading: str) -> None:
    lines = [*BODY, *BODY, f"{heading}:", OTHER_STORY]
    assert cut_trailing_block(lines) == [*BODY, *BODY]
    assert body_text("\n".join(lines)) == "\n".join([*BODY, *BODY]) + "\n"


@pytest.mark.parametrize("line", ["أخبار ذات صلة", "اخبار ذات صله :", "— Related Posts —", "إقرأ أيضاً…"])
def test_spelling_variants_and_punctuation_count_alike(line: str) -> None:
    assert heading_kind(line) is not None


@pytest.mark.parametrize("line", [BODY[0], "ذات صلة بالموضوع أعلاه", "التعليقات الرسمية للوزارة"])
def test_prose_is_not_a_heading(line: str) -> None:
    assert heading_kind(line) is None
