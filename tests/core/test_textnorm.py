"""Tests of feedwatch.core.textnorm: folding and tokenisation (strings in, values out)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedwatch.core.textnorm import Tokenized, fold, lemma, tokenize, words


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Tunesië", "tunesie"),
        ("Café Één", "cafe een"),
        ("ĲSSELMEER", "ijsselmeer"),
        ("Straße", "strasse"),
        ("AZC’s", "azc's"),
        ("‘veilig’", "'veilig'"),
        ("azc–locatie", "azc-locatie"),
        ("a\u00a0b", "a b"),
        ("ASIELZOEKERS", "asielzoekers"),
        ("", ""),
    ],
)
def test_fold(raw: str, folded: str) -> None:
    assert fold(raw) == folded


def test_plain_words() -> None:
    tok = tokenize("Het COA opent een nieuw AZC, in Assen.")
    assert tok.words == ("het", "coa", "opent", "een", "nieuw", "azc", "in", "assen")
    assert tok.forms == tok.words
    assert tok.compounds == ()


def test_hyphenated_runs_give_parts_and_joined_form() -> None:
    tok = tokenize("De azc-locatie en het bed-bad-brood-beleid")
    assert tok.words == ("de", "azc", "locatie", "en", "het", "bed", "bad", "brood", "beleid")
    assert tok.compounds == (
        (1, 2, "azclocatie", "azc-locatie"),
        (5, 8, "bedbadbroodbeleid", "bed-bad-brood-beleid"),
    )


def test_curly_apostrophe_is_dropped_from_the_key_but_kept_in_the_form() -> None:
    tok = tokenize("Twee AZC’s en de azc's")
    assert tok.words == ("twee", "azcs", "en", "de", "azcs")
    assert tok.forms == ("twee", "azc's", "en", "de", "azc's")


def test_quotes_and_brackets_separate_words() -> None:
    assert words("‘veilige landen’ (crisis)noodopvang") == [
        "veilige",
        "landen",
        "crisis",
        "noodopvang",
    ]


def test_loose_hyphens_do_not_join() -> None:
    tok = tokenize("asiel -- beleid - nu -x- a--b")
    assert tok.words == ("asiel", "beleid", "nu", "x", "a", "b")
    assert tok.compounds == ()


def test_digits_and_accents() -> None:
    assert words("Taalniveau B1, Oekraïne 2022") == ["taalniveau", "b1", "oekraine", "2022"]


def test_empty_and_punctuation_only() -> None:
    assert tokenize("") == Tokenized((), ())
    assert tokenize(" ... --- ’’ ") == Tokenized((), ())


def test_lemma_uses_simplemma() -> None:
    assert lemma("landen") == "land"
    assert lemma("asielzoekers") == "asielzoeker"


@given(st.text(max_size=300))
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(
    st.text(max_size=300)
    | st.lists(st.sampled_from(["azc", "-", "'", "’", " ", "Ë", "locatie", "("]), max_size=40).map(
        "".join
    )
)
def test_tokenize_invariants(text: str) -> None:
    tok = tokenize(text)
    assert len(tok.words) == len(tok.forms)
    for key, form in zip(tok.words, tok.forms, strict=True):
        assert key and key == form.replace("'", "")
        assert not any(c.isspace() or c == "-" for c in form)
        assert fold(form) == form
    for first, last, joined, form in tok.compounds:
        assert 0 <= first < last < len(tok.words)
        assert joined == "".join(tok.words[first : last + 1])
        assert form == "-".join(tok.forms[first : last + 1])


# The words `tokenize` must find, written as one plain regex over the folded text: letters and
# digits glued by single inner apostrophes. `tokenize` gets there faster without a regex.
_REFERENCE_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


@given(
    st.lists(
        st.sampled_from(
            [
                "azc",
                "AZC",
                "’s",
                "'",
                "''",
                "`",
                "-",
                "–",
                "--",
                " ",
                "\n",
                "_",
                ".",
                "(",
                "É",
                "ë",
                "ø",
                "ß",
                "Σ",
                "ĳ",
                "½",
                "x",
                "Tunesië",
                "crisis-nood-opvang",
                "op 't",
                "„",
            ]
        ),
        max_size=40,
    ).map("".join)
    | st.text(max_size=60)
)
def test_tokenize_finds_exactly_the_reference_words(text: str) -> None:
    tok = tokenize(text)
    forms = tuple(_REFERENCE_WORD.findall(fold(text)))
    assert tok.forms == forms
    assert tok.words == tuple(f.replace("'", "") for f in forms)
    for first, last, joined, form in tok.compounds:  # a run spans its own words, joined
        assert joined == "".join(tok.words[first : last + 1])
        assert form.replace("-", "") == "".join(tok.forms[first : last + 1])
