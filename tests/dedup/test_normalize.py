"""Specification of `ingest.text`: spelling variants of one text normalise to one string."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.text import _fold, normalize, tokens

# Arabic letters, digits of three scripts, diacritics, tatweel, punctuation of both scripts, spaces.
_ALPHABET = st.sampled_from(
    list("ابتثجحخدذرسشصضطظعغفقكلمنهويءآأإؤئىة")
    + list("0123456789٠١٢٣٤٥٦٧٨٩۰۱۲۳")
    + ["\u064e", "\u0650", "\u0651", "\u0652", "\u0640", "،", "؛", "؟", ".", ",", "-", " ", "\t", "\n"]
)
_ARABIC_TEXT = st.text(_ALPHABET, max_size=80)
_WORDS = st.text(st.sampled_from(list("ابتثجحدرسعفقلمنهوي ")), min_size=1, max_size=60)

_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _variant(text: str) -> str:
    """One spelling of `text` as another outlet might write it."""
    text = text.replace("ا", "أ").replace("ي", "ى").replace("ه", "ة")
    return "\u0640".join(text).translate(_INDIC)  # tatweel between every letter


@given(_ARABIC_TEXT)
def test_normalize_is_idempotent(text: str) -> None:
    assert normalize(normalize(text)) == normalize(text)


@given(_ARABIC_TEXT)
def test_normalized_text_has_no_double_or_edge_spaces(text: str) -> None:
    out = normalize(text)
    assert "  " not in out
    assert out == out.strip()


@given(_WORDS, st.integers(min_value=0, max_value=99999))
def test_spelling_variants_and_indic_digits_normalise_equal(words: str, number: int) -> None:
    text = f"{words} {number}"
    assert normalize(_variant(text)) == normalize(text)


def test_diacritics_and_tatweel_vanish() -> None:
    assert normalize("الأَمْـــنُ الوَطَنِيُّ") == normalize("الامن الوطني")


def test_hamza_seats_fold_to_alef() -> None:
    assert normalize("أإآا") == "اااا"


def test_final_yaa_and_taa_marbuta_fold() -> None:
    assert normalize("مستشفى المدينة") == normalize("مستشفي المدينه")


def test_arabic_indic_and_persian_digits_become_ascii() -> None:
    assert normalize("٢٠٢٥ ۱۲") == "2025 12"


def test_punctuation_of_both_scripts_splits_words() -> None:
    expected = ["الرباط", "متابعه", "الدار", "البيضا", "و", "م", "ع"]
    assert tokens("الرباط- متابعة،الدار البيضاء؛ (و م ع)") == expected


@settings(max_examples=500)
@given(
    st.text()
    | _ARABIC_TEXT
    | st.lists(st.sampled_from(["ΑΣ", "İ", "\u00a0", "\u2028", "\u200b", "ﻻ", " ", "´", "x"])).map("".join)
)
def test_chunked_normalize_equals_folding_the_whole_text(text: str) -> None:
    """`normalize` folds chunk by chunk through a cache; it must equal folding the whole text at once."""
    assert normalize(text) == _fold(text)
    assert normalize(text) == _fold(text)  # second call: from the cache
