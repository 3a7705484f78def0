"""Entities in text: the reference shapes are found, years, phone numbers, amounts are not (#17)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedwatch.core.entities import (
    KINDS,
    entity_map,
    entity_match,
    entity_url,
    find_entities,
    find_matches,
    parse_entity,
)
from feedwatch.types import Item

WORDS = st.sampled_from(
    [
        "de",
        "het",
        "een",
        "asiel",
        "opvang",
        "minister",
        "brief",
        "over",
        "en",
        "van",
        "in",
        "op",
        "voor",
        "Ter",
        "Apel",
        "gemeente",
        "wet",
        "Raad",
        "State",
        "nummer",
        "nr.",
        "bel",
        "tel.",
        "kosten",
        "€",
        "euro",
        "jaar",
        "artikel",
        "lid",
    ]
)


def filler() -> st.SearchStrategy[str]:
    return st.lists(WORDS, max_size=8).map(" ".join)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kamerstuk 36704, nr. 3", ("kamerstuk:36704",)),
        ("Kamerstukken II 2025/26, 36 704, nr. 3", ("kamerstuk:36704",)),
        ("zie kst-36704-3.html", ("kamerstuk:36704",)),
        ("het wetsvoorstel 36 704 en dossier 36855", ("kamerstuk:36704", "kamerstuk:36855")),
        ("https://zoek.officielebekendmakingen.nl/kst-36871-12.html", ("kamerstuk:36871",)),
        ("ECLI:NL:RVS:2026:7012.", ("ecli:ECLI:NL:RVS:2026:7012",)),
        ("ecli:nl:rvs:2026:7012", ("ecli:ECLI:NL:RVS:2026:7012",)),
        (
            "https://uitspraken.rechtspraak.nl/details?id=ECLI%3ANL%3ARVS%3A2026%3A7012",
            ("ecli:ECLI:NL:RVS:2026:7012",),
        ),
        ("Stcrt. 2026, 12345", ("stcrt:2026-12345",)),
        (
            "Staatscourant 2026, nr. 30123 en stcrt-2026-30124",
            ("stcrt:2026-30123", "stcrt:2026-30124"),
        ),
        ("Staatsblad 2025, 123; Stb. 2026, 45", ("stb:2025-123", "stb:2026-45")),
        ("Vreemdelingenwet 2000 (BWBR0011823)", ("bwbr:BWBR0011823",)),
        ("CELEX: 32013L0032 en 32024R1347", ("celex:32013L0032", "celex:32024R1347")),
        ("arrest 62019CJ0123 (EUR-Lex)", ("celex:62019CJ0123",)),
    ],
)
def test_the_documented_shapes_are_found(text: str, expected: tuple[str, ...]) -> None:
    assert find_entities(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "In 2026 vroegen 36704 mensen asiel aan",  # a bare number is not a dossier
        "Bel 070 3456789 of 06-12345678",
        "Het kost € 36.704 of 36.704,50 euro",
        "dossier 2026 en dossier 99999",  # a year; out of the dossier range
        "dossier 36704.5 en dossier 36704,50",
        "Postcode 3670 AB, huisnummer 4",
        "ECLI:XX:RVS:2026:1 en ECLI:NL:RVS:3026:1",  # no such country; no such year
        "BWBR001182 en BWBR00118234",  # six and eight digits
        "CELEX 12024AB12345 en 32024Q1347",  # too long; no type of an act
        "artikel 32024R1347 zonder bron",  # a bare CELEX shape only where CELEX/EUR-Lex is named
        "Staatscourant 2026",
        "www.stb-2026-0.nl",
    ],
)
def test_years_phone_numbers_amounts_and_near_misses_are_not(text: str) -> None:
    assert find_entities(text) == ()


@settings(max_examples=200, deadline=None)
@given(
    before=filler(),
    after=filler(),
    year=st.integers(1900, 2100),
    phone=st.from_regex(r"0[1-9]\d-?\d{7}", fullmatch=True),
    amount=st.integers(0, 10**9),
)
def test_no_entity_in_text_of_years_phone_numbers_and_amounts(
    before: str, after: str, year: int, phone: str, amount: int
) -> None:
    text = f"{before} {year} {phone} € {amount:,} {amount} {after}".replace(",", ".")
    assert find_entities(text) == ()


@settings(max_examples=200, deadline=None)
@given(
    before=filler(),
    after=filler(),
    dossier=st.integers(10000, 39999),
    nr=st.integers(1, 999),
    shape=st.sampled_from(
        [
            "Kamerstuk {d}, nr. {n}",
            "Kamerstukken II 2025/26, {d2} {d3}, nr. {n}",
            "kst-{d}-{n}",
            "dossier {d}",
            "wetsvoorstel {d2} {d3}",
        ]
    ),
)
def test_every_dossier_shape_is_found_in_any_text(
    before: str, after: str, dossier: int, nr: int, shape: str
) -> None:
    d = str(dossier)
    ref = shape.format(d=d, d2=d[:2], d3=d[2:], n=nr)
    found = find_entities(f"{before} {ref} {after}")
    assert f"kamerstuk:{d}" in found
    assert all(e.startswith("kamerstuk:") for e in found)


@settings(max_examples=200, deadline=None)
@given(
    court=st.from_regex(r"[A-Z]{2,5}", fullmatch=True),
    year=st.integers(1990, 2030),
    number=st.integers(1, 99999),
    lower=st.booleans(),
)
def test_an_ecli_is_found_in_its_stored_form_and_parses_back(
    court: str, year: int, number: int, lower: bool
) -> None:
    ecli = f"ECLI:NL:{court}:{year}:{number}"
    text = f"uitspraak {ecli.lower() if lower else ecli}, Raad van State"
    assert find_entities(text) == (f"ecli:{ecli}",)
    assert parse_entity(f"ecli:{ecli.lower()}") == f"ecli:{ecli}"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_whatever_is_found_is_stored_form_with_an_official_https_page(text: str) -> None:
    for m in find_matches(text):
        assert m.entity.split(":", 1)[0] in KINDS
        assert parse_entity(m.entity) == m.entity
        assert (entity_url(m.entity) or "").startswith("https://")
        assert m.url.startswith("https://") and 0 <= m.start < m.end <= len(text)


def test_parse_entity_normalises_and_refuses_in_plain_words() -> None:
    assert parse_entity("kamerstuk:36 704") == "kamerstuk:36704"
    assert parse_entity("kamerstuk:kst-36704-3") == "kamerstuk:36704"
    assert parse_entity("STCRT:2026-012345") == "stcrt:2026-12345"
    assert parse_entity("bwbr:bwbr0011823") == "bwbr:BWBR0011823"
    with pytest.raises(ValueError, match="unknown entity kind 'dossier'"):
        parse_entity("dossier:36704")
    with pytest.raises(ValueError, match=r"not a valid kamerstuk reference: '2026'"):
        parse_entity("kamerstuk:2026")
    with pytest.raises(ValueError, match="expected KIND:ID"):
        parse_entity("36704")


def test_entity_map_covers_title_summary_and_url() -> None:
    from datetime import UTC, datetime

    t = datetime(2026, 12, 1, tzinfo=UTC)
    items = [
        Item("a", "s", "https://x.nl/kst-36704-3.html", "Brief", "", t, "feed", t),
        Item(
            "b", "s", "https://x.nl/b", "Over ECLI:NL:RVS:2026:7012", "Stb. 2026, 12", t, "feed", t
        ),
        Item("c", "s", "https://x.nl/c", "Niets", "in 2026 36704 euro", t, "feed", t),
    ]
    assert entity_map(items) == {
        "a": ("kamerstuk:36704",),
        "b": ("ecli:ECLI:NL:RVS:2026:7012", "stb:2026-12"),
    }


def test_entity_match_gives_a_monitor_its_reasons() -> None:
    cited = ("ecli:ECLI:NL:RVS:2026:7012", "kamerstuk:36704")
    assert entity_match(cited, ["kamerstuk:36 704", "bwbr:BWBR0011823", "nonsense"]) == (
        "kamerstuk:36704",
    )
    assert entity_match(cited, []) == ()
