"""Official references in text: Kamerstuk dossiers, ECLI, Staatscourant, Staatsblad, BWBR, CELEX. Pure.

An entity is written `kind:id` (../shared/docs/INTERFACE.md): `kamerstuk:36704`,
`ecli:ECLI:NL:RVS:2026:7012`, `stcrt:2026-12345`, `stb:2026-123`, `bwbr:BWBR0011823`,
`celex:32024R1347`. Text is searched with patterns that need the reference's own shape or the
words that introduce it, and every number is validated, so that years, phone numbers, amounts
and postcodes are not taken for references:

- a Kamerstuk dossier is five digits (10000-39999; "36704" or "36 704") after "Kamerstuk(ken)",
  "dossier", "wetsvoorstel" or "Kamerstukdossier" (optionally with "II", "I" and a session
  year such as "2025/26,"), or inside an official id (`kst-36704-3`); a bare number is not one;
- an ECLI has the five parts of the EU standard with a known country code and a plausible year;
- Staatscourant/Staatsblad: `stcrt-2026-12345` / `stb-2026-123`, or "Staatscourant 2026, 12345",
  "Stcrt. 2026, nr. 12345", "Staatsblad 2026, 123", "Stb. 2026, 123";
- BWBR: `BWBR` and seven digits;
- CELEX: after the word CELEX any valid number; in a text that names CELEX or EUR-Lex also bare
  numbers of EU acts (sector 3: R, L, D) and case law (sector 6: CJ, TJ, CC, CO), with a
  plausible year.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

__all__ = [
    "KINDS",
    "Match",
    "entity_url",
    "find_entities",
    "find_matches",
    "parse_entity",
    "split_entity",
]

KINDS: tuple[str, ...] = ("kamerstuk", "ecli", "stcrt", "stb", "bwbr", "celex")

# EU and EEA member states and the other ECLI users (ISO 3166 alpha-2; EU for the Union's courts)
_ECLI_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
        "EU",
        "CH",
        "NO",
        "IS",
        "LI",
        "UK",
        "GB",
        "EL",
    ]
)
_MIN_YEAR, _MAX_YEAR = 1800, 2100


@dataclass(frozen=True, slots=True)
class Match:
    """One reference found in a text: where it is, its entity and its official page."""

    start: int
    end: int
    entity: str  # kind:id
    url: str  # the official page of the reference (a document when the text names one)


# --------------------------------------------------------------------------------- patterns

_B = r"(?<![\w.-])"  # not inside a longer word, number or id (after a / in a URL: yes)
_E = r"(?![\w-]|[.,]\d)"  # not followed by more of a number or word

_KST_ID = re.compile(_B + r"kst-(?P<dossier>\d{5})(?:-(?P<nr>\d{1,4}))?" + _E, re.I)
_DOSSIER = re.compile(
    r"\b(?:kamerstuk(?:ken)?|kamerstukdossier|dossier(?:nummer|nr\.?)?|wetsvoorstel)"
    r"(?:\s+(?:II|I|TK|EK))?"
    r"(?:\s+(?:19|20)\d\d\s*[/-]\s*(?:19|20)?\d\d,?)?"
    r"\s+(?P<dossier>\d{2}\s?\d{3})"
    + _E
    + r"(?:(?:,\s*|\s+)(?:nr\.?|nummer)\s*(?P<nr>\d{1,4})\b)?",
    re.I,
)
_ECLI = re.compile(
    _B + r"ECLI:(?P<cc>[A-Z]{2}):(?P<court>[A-Z0-9]{1,7}):(?P<year>\d{4}):(?P<num>[A-Z0-9.]{1,25})",
    re.I,
)
_OFFICIAL_ID = re.compile(_B + r"(?P<kind>stcrt|stb)-(?P<year>\d{4})-(?P<nr>\d{1,6})" + _E, re.I)
_OFFICIAL_CITED = re.compile(
    r"\b(?P<kind>Staatscourant|Stcrt\.?|Staatsblad|Stb\.?)\s+(?P<year>\d{4}),?\s+"
    r"(?:nr\.?\s*)?(?P<nr>\d{1,6})" + _E,
    re.I,
)
_BWBR = re.compile(_B + r"(?P<id>BWBR\d{7})" + _E, re.I)
_CELEX_NAMED = re.compile(
    r"\bCELEX(?:[- ]?(?:nummer|number|nr\.?))?\s*[:=]?\s*(?P<id>[0-9CE]\d{4}[A-Z]{1,2}\d{4})"
    r"(?![\w-])",
    re.I,
)
_CELEX_BARE = re.compile(
    _B + r"(?P<id>(?:3\d{4}[RLD]|6\d{4}(?:CJ|TJ|CC|CO))\d{4})" + _E,
)


# any reference needs one of these words (lower case; substring tests are ~10x faster than
# one case-insensitive regex over the text)
_KEYWORDS = (
    "kst-",
    "kamerstuk",
    "dossier",
    "wetsvoorstel",
    "ecli:",
    "stcrt",
    "stb",
    "staatscourant",
    "staatsblad",
    "bwbr",
    "celex",
    "eur-lex",
)


def _may_cite(text: str) -> bool:
    lower = text.lower()
    return any(k in lower for k in _KEYWORDS)


# ----------------------------------------------------------------------------------- finding


def _year_ok(year: str) -> bool:
    return _MIN_YEAR <= int(year) <= _MAX_YEAR


def _dossier_ok(number: str) -> bool:
    return 10000 <= int(number) <= 39999


def _kamerstuk(dossier: str, nr: str | None) -> tuple[str, str]:
    dossier = dossier.replace(" ", "")
    if nr:
        return (
            f"kamerstuk:{dossier}",
            f"https://zoek.officielebekendmakingen.nl/kst-{dossier}-{int(nr)}.html",
        )
    return f"kamerstuk:{dossier}", f"https://zoek.officielebekendmakingen.nl/dossier/{dossier}"


def find_matches(text: str | None) -> list[Match]:
    """Every reference in `text`, in order of position, overlaps resolved (the first and
    longest wins). URL-encoded text (`ECLI%3ANL%3A...`) is read as well when it is a URL."""
    if not text or not _may_cite(text):
        return []
    found: list[Match] = []
    for m in _KST_ID.finditer(text):
        if _dossier_ok(m["dossier"]):
            entity, url = _kamerstuk(m["dossier"], m["nr"])
            found.append(Match(m.start(), m.end(), entity, url))
    for m in _DOSSIER.finditer(text):
        if _dossier_ok(m["dossier"].replace(" ", "")):
            entity, url = _kamerstuk(m["dossier"], m["nr"])
            found.append(Match(m.start("dossier"), m.end(), entity, url))
    for m in _ECLI.finditer(text):
        cc = m["cc"].upper()
        if cc not in _ECLI_COUNTRIES or not _year_ok(m["year"]):
            continue
        num = m["num"].rstrip(".").upper()
        if not num:
            continue
        ecli = f"ECLI:{cc}:{m['court'].upper()}:{m['year']}:{num}"
        end = m.start() + len(ecli)
        found.append(Match(m.start(), end, f"ecli:{ecli}", entity_url(f"ecli:{ecli}") or ""))
    for m in list(_OFFICIAL_ID.finditer(text)) + list(_OFFICIAL_CITED.finditer(text)):
        if not _year_ok(m["year"]) or int(m["nr"]) == 0:
            continue
        kind = "stcrt" if m["kind"].lower().startswith(("stcrt", "staatscourant")) else "stb"
        entity = f"{kind}:{m['year']}-{int(m['nr'])}"
        found.append(Match(m.start(), m.end(), entity, entity_url(entity) or ""))
    for m in _BWBR.finditer(text):
        entity = f"bwbr:{m['id'].upper()}"
        found.append(Match(m.start(), m.end(), entity, entity_url(entity) or ""))
    lower = text.lower()
    eu = "celex" in lower or "eur-lex" in lower
    for pattern in (_CELEX_NAMED, _CELEX_BARE) if eu else ():
        for m in pattern.finditer(text):
            celex = m["id"].upper()
            if not _year_ok(celex[1:5]):
                continue
            entity = f"celex:{celex}"
            found.append(Match(m.start("id"), m.end("id"), entity, entity_url(entity) or ""))
    found.sort(key=lambda x: (x.start, -x.end))
    out: list[Match] = []
    for match in found:
        if out and match.start < out[-1].end:
            continue
        out.append(match)
    return out


def find_entities(*texts: str | None) -> tuple[str, ...]:
    """The distinct entities (`kind:id`) in `texts`, sorted. URLs are read decoded too."""
    seen: set[str] = set()
    for text in texts:
        if not text:
            continue
        seen.update(m.entity for m in find_matches(text))
        if "%" in text:
            seen.update(m.entity for m in find_matches(unquote(text)))
    return tuple(sorted(seen))


# -------------------------------------------------------------------------- kind:id values


def split_entity(ref: str) -> tuple[str, str]:
    """`kind:id` -> (kind, id) without validating the id."""
    kind, sep, ident = ref.partition(":")
    if not sep or not ident:
        raise ValueError(f"expected KIND:ID such as kamerstuk:36704, got {ref!r}")
    return kind.strip().lower(), ident.strip()


def parse_entity(ref: str) -> str:
    """A user's `KIND:ID` in its stored form, or ValueError naming what was expected.

    `kamerstuk:36 704`, `kamerstuk:kst-36704-3` -> `kamerstuk:36704`; `ecli:ecli:nl:rvs:2026:7012`
    -> `ecli:ECLI:NL:RVS:2026:7012`; `stcrt:2026-012345` -> `stcrt:2026-12345`; `bwbr:bwbr0011823`
    -> `bwbr:BWBR0011823`; `celex:32024r1347` -> `celex:32024R1347`.
    """
    kind, ident = split_entity(ref)
    if kind not in KINDS:
        raise ValueError(f"unknown entity kind {kind!r}; expected one of {', '.join(KINDS)}")
    checks = {
        "kamerstuk": (f"Kamerstuk {ident}", f"kst-{ident}"),
        "ecli": (ident if ident.upper().startswith("ECLI:") else f"ECLI:{ident}",),
        "stcrt": (f"stcrt-{ident}",),
        "stb": (f"stb-{ident}",),
        "bwbr": (ident,),
        "celex": (f"CELEX {ident}",),
    }[kind]
    for candidate in checks:
        matches = find_matches(candidate)
        if (
            len(matches) == 1
            and matches[0].entity.startswith(kind + ":")
            and not candidate[matches[0].end :].strip(" .")
        ):
            return matches[0].entity
    examples = {
        "kamerstuk": "kamerstuk:36704",
        "ecli": "ecli:ECLI:NL:RVS:2026:7012",
        "stcrt": "stcrt:2026-12345",
        "stb": "stb:2026-123",
        "bwbr": "bwbr:BWBR0011823",
        "celex": "celex:32024R1347",
    }
    raise ValueError(f"not a valid {kind} reference: {ident!r} (expected e.g. {examples[kind]})")


def entity_url(entity: str) -> str | None:
    """The official page of an entity: the dossier at zoek.officielebekendmakingen.nl, the
    ruling at uitspraken.rechtspraak.nl, the law at wetten.overheid.nl, the act at EUR-Lex."""
    kind, _, ident = entity.partition(":")
    if not ident:
        return None
    if kind == "kamerstuk":
        return f"https://zoek.officielebekendmakingen.nl/dossier/{quote(ident)}"
    if kind == "ecli":
        return f"https://uitspraken.rechtspraak.nl/details?id={quote(ident, safe=':')}"
    if kind in ("stcrt", "stb"):
        return f"https://zoek.officielebekendmakingen.nl/{kind}-{quote(ident)}.html"
    if kind == "bwbr":
        return f"https://wetten.overheid.nl/{quote(ident)}"
    if kind == "celex":
        return f"https://eur-lex.europa.eu/legal-content/NL/TXT/?uri=CELEX:{quote(ident)}"
    return None


def item_entities(title: str, summary: str, url: str) -> tuple[str, ...]:
    """The entities of an item: in its title, summary and URL."""
    return find_entities(title, summary, url)


def entity_map(items: Iterable[Any]) -> dict[str, tuple[str, ...]]:
    """Item id -> its entities, for the items (core Item values) that cite any."""
    out: dict[str, tuple[str, ...]] = {}
    for it in items:
        found = find_entities(it.title, it.summary, it.url)
        if found:
            out[it.id] = found
    return out


def entity_match(cited: Iterable[str], wanted: Iterable[str]) -> tuple[str, ...]:
    """Which of a monitor's `entities: [...]` an item cites (its "matched" reasons), sorted;
    the monitor's entries are read with parse_entity, so `kamerstuk:36 704` matches too."""
    normal = set()
    for ref in wanted:
        try:
            normal.add(parse_entity(ref))
        except ValueError:
            continue
    return tuple(sorted(normal & set(cited)))


def merge(*groups: Iterable[str]) -> tuple[str, ...]:
    """The distinct entities of several groups, sorted."""
    return tuple(sorted({e for g in groups for e in g}))


def iter_kinds(entities: Iterable[str]) -> Iterator[tuple[str, str]]:
    for e in entities:
        yield split_entity(e)
