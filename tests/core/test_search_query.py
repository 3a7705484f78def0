"""The search language and normaliser: parsing, errors with positions, compilation, stems,
cadences; hypothesis: any text either parses or raises QueryError, never anything else."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedwatch.config.monitors import parse_cadence
from feedwatch.core.search.cadence import Cadence, is_due, next_run
from feedwatch.core.search.message import matched_terms, snippet
from feedwatch.core.search.query import (
    And,
    Filter,
    Not,
    Or,
    QueryError,
    Term,
    fts5_ok,
    is_text,
    parse_query,
    to_fts5,
    to_tsquery,
)
from feedwatch.core.search.text import index_doc, query_stems, tsvector_literal, words


def test_words_fold_accents_split_hyphens_and_drop_apostrophe_endings() -> None:
    assert words("AZC’s en AZC-locatie, Café Ĳssel") == [
        "azc",
        "en",
        "azc",
        "locatie",
        "cafe",
        "ijssel",
    ]


def test_dutch_and_english_stems() -> None:
    assert (
        index_doc("Asielzoekers", "", "nl").title_stems
        == index_doc("asielzoeker", "", "nl").title_stems
    )
    assert index_doc("seekers", "", "en").title_stems == "seeker"
    assert set(query_stems("seekers")) >= {"seeker"}
    assert query_stems("36704") == ("36704",)


def test_tsvector_literal_keeps_the_four_parts_apart() -> None:
    doc = index_doc("Ter Apel", "ter apel", "nl")
    lit = tsvector_literal(doc)
    assert "'ter':1A,4B,7C,10D" in lit
    assert "'apel':2A,5B,8C,11D" in lit


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("a b", And((Term("word", ("a",), None, "a"), Term("word", ("b",), None, "b")))),
        ("a AND b", And((Term("word", ("a",), None, "a"), Term("word", ("b",), None, "b")))),
        (
            "a OR b c",
            Or(
                (
                    Term("word", ("a",), None, "a"),
                    And((Term("word", ("b",), None, "b"), Term("word", ("c",), None, "c"))),
                )
            ),
        ),
        ("-a", Not(Term("word", ("a",), None, "a"))),
        ("NOT a", Not(Term("word", ("a",), None, "a"))),
        ('"Ter Apel"', Term("phrase", ("ter", "apel"), None, "Ter Apel")),
        ("asiel*", Term("prefix", ("asiel",), None, "asiel*")),
        ('title:"ter apel"', Term("phrase", ("ter", "apel"), "title", "ter apel")),
        ("Source:COA", Filter("source", "coa")),
        ("topic:migratie", Filter("topic", "migratie")),
        (
            "ECLI:NL:RVS:2026:7012",
            Term("word", ("ecli", "nl", "rvs", "2026", "7012"), None, "ECLI:NL:RVS:2026:7012"),
        ),
        ("e-mail", Term("word", ("e", "mail"), None, "e-mail")),
        ("or and", And((Term("word", ("or",), None, "or"), Term("word", ("and",), None, "and")))),
    ],
)
def test_parse(query: str, tree: object) -> None:
    assert parse_query(query) == tree


@pytest.mark.parametrize(
    ("query", "position", "words_"),
    [
        ("", 1, "empty"),
        ("   ", 4, "empty"),
        ("azc (ter apel", 5, "never closed"),
        ("azc)", 4, "without an opening"),
        ('azc "ter apel', 5, "never closed"),
        ("azc OR", 7, "ends where a word"),
        ("OR azc", 1, "expected a word"),
        ("azc title:", 5, "after title:"),
        ("source:Coa Nieuws", 8, None),
        ("source:c_o", 8, "source: expects"),
        ("azc ()", 5, "empty parentheses"),
        ("azc ***", 5, "nothing to search"),
        ("a*b", 1, "may only end"),
        ("NOT -azc", 5, "double negation"),
        ("(" * 25 + "a" + ")" * 25, 21, "nested"),
    ],
)
def test_errors_name_the_position(query: str, position: int, words_: str | None) -> None:
    if words_ is None:  # a valid query after all
        parse_query(query)
        return
    with pytest.raises(QueryError) as info:
        parse_query(query)
    assert info.value.position == position
    assert words_ in str(info.value)
    assert str(info.value).startswith(f"query position {position}:")


def test_fts5_and_tsquery_compilation() -> None:
    node = parse_query('azc -"ter apel" OR title:opvang*')
    assert is_text(node) and fts5_ok(node)
    assert to_fts5(node) == (
        '((({title body} : "azc") NOT ({title_w body_w} : "ter apel")) OR {title_w} : "opvang" *)'
    )
    assert to_tsquery(node) == "((('azc':AB) & !('ter':CD <-> 'apel':CD)) | ('opvang':*C))"
    assert not fts5_ok(parse_query("-azc"))
    assert not fts5_ok(parse_query("azc OR -opvang"))
    assert not is_text(parse_query("azc source:coa"))


def test_snippet_marks_matches_and_matched_names_terms_and_topics() -> None:
    text = "Lang verhaal. " * 30 + "De gemeente opent een azc voor asielzoekers in Budel."
    got = snippet("titel", text, parse_query("asielzoeker budel"), "nl", width=80)
    assert "«asielzoekers»" in got and "«Budel»" in got and got.startswith("…")
    assert snippet("Titel", "", None, "nl") == "Titel"
    why = matched_terms(
        "AZC in Budel",
        "",
        "nl",
        ("migratie",),
        parse_query("azc OR opvang OR topic:migratie"),
        ("migratie", "integratie"),
    )
    assert why == ["azc", "topic:migratie"]


QUERY_CHARS = st.sampled_from(
    list('ab "()-*:')
    + ["OR ", "AND ", "NOT ", "title:", "source:", "topic:", "é", "’s", "\t", "\x00"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(QUERY_CHARS, max_size=30).map("".join) | st.text(max_size=60))
def test_any_text_parses_or_raises_query_error(query: str) -> None:
    try:
        node = parse_query(query)
    except QueryError as exc:
        assert 1 <= exc.position <= len(query) + 1
        return
    if is_text(node):
        to_tsquery(node)
        if fts5_ok(node):
            to_fts5(node)


def test_cadences() -> None:
    assert parse_cadence("immediate") == Cadence("immediate")
    assert str(parse_cadence("Weekly MON 7:05")) == "weekly mon 07:05"
    for bad in ("daily", "daily 25:00", "weekly xyz 07:00", "every hour", "daily 7"):
        with pytest.raises(ValueError, match="expected immediate"):
            parse_cadence(bad)
    daily = parse_cadence("daily 07:00")
    winter = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    assert next_run(daily, winter) == datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 4, 10, 0, tzinfo=UTC)
    assert next_run(daily, summer) == datetime(2026, 7, 5, 5, 0, tzinfo=UTC)
    weekly = parse_cadence("weekly mon 07:00")
    assert next_run(weekly, winter) == datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
    assert next_run(parse_cadence("hourly"), winter) == datetime(2026, 12, 4, 11, 0, tzinfo=UTC)
    assert not is_due(daily, winter, datetime(2026, 12, 5, 5, 59, tzinfo=UTC))
    assert is_due(daily, winter, datetime(2026, 12, 5, 6, 0, tzinfo=UTC))
    assert is_due(parse_cadence("immediate"), winter, winter)
