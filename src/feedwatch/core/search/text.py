"""The search normaliser: the same words and stems for the index and the query, on every database.

Pure and deterministic (no I/O). Text is folded (lower case, accents stripped, ligatures
expanded, apostrophes and dashes unified) by `feedwatch.core.textnorm.fold`, cut into words of
letters and digits (a hyphen separates words, so ``AZC-locatie`` gives ``azc`` and ``locatie``;
an apostrophe ends a word, so ``azc's`` gives ``azc``), and each word is stemmed with the Snowball
stemmer of the item's language (Dutch unless the item says English). The index keeps both the
stems (for plain words) and the folded words (for exact phrases and prefixes); a query word is
looked up under its Dutch and its English stem, since a query has no language of its own.

Why Python and not the databases' own stemmers: SQLite has none for Dutch, and PostgreSQL's
differ by version and tokenise differently; computing the tokens here makes the same query give
the same items on both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from snowballstemmer.dutch_stemmer import DutchStemmer
from snowballstemmer.english_stemmer import EnglishStemmer

from feedwatch.core.textnorm import fold

__all__ = [
    "MAX_TOKENS",
    "IndexDoc",
    "index_doc",
    "query_stems",
    "stem",
    "tsvector_literal",
    "words",
]

# Words of a title or body that are indexed: the same cut on both databases (PostgreSQL keeps
# positions only up to 16383).
MAX_TOKENS = 3000
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_DUTCH = DutchStemmer()
_ENGLISH = EnglishStemmer()


def words(text: str) -> list[str]:
    """The folded words of `text`, in order: what phrases and prefixes match."""
    return [w.split("'", 1)[0] for w in _WORD.findall(fold(text))]


def word_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, folded word) of every word of `text`, for highlighting (fold keeps length
    for most text; where it does not, the spans come from the unfolded text's own words)."""
    folded = fold(text)
    source = folded if len(folded) == len(text) else text
    out: list[tuple[int, int, str]] = []
    for m in _WORD.finditer(source):
        word = m.group().split("'", 1)[0]
        out.append((m.start(), m.end(), fold(word) if source is text else word))
    return out


@lru_cache(maxsize=262144)
def stem(word: str, lang: str = "nl") -> str:
    """The Snowball stem of a folded word; words with digits are kept as they are."""
    if not word.isalpha():
        return word
    stemmer = _ENGLISH if lang == "en" else _DUTCH
    return str(stemmer.stemWord(word))


def query_stems(word: str) -> tuple[str, ...]:
    """The stems a query word is looked up under: Dutch and English (once if equal)."""
    nl, en = stem(word, "nl"), stem(word, "en")
    return (nl,) if nl == en else (nl, en)


def _lang(lang: str | None) -> str:
    return "en" if (lang or "").lower().startswith("en") else "nl"


@dataclass(frozen=True, slots=True)
class IndexDoc:
    """What the index holds of one item: stems and folded words of its title and body."""

    title_stems: str
    body_stems: str
    title_words: str
    body_words: str


def index_doc(title: str, body: str, lang: str | None) -> IndexDoc:
    """The indexed form of an item (title, then summary and any article text, as `body`)."""
    language = _lang(lang)
    tw = words(title)[:MAX_TOKENS]
    bw = words(body)[:MAX_TOKENS]
    return IndexDoc(
        title_stems=" ".join(stem(w, language) for w in tw),
        body_stems=" ".join(stem(w, language) for w in bw),
        title_words=" ".join(tw),
        body_words=" ".join(bw),
    )


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(doc: IndexDoc) -> str:
    """PostgreSQL tsvector input of a document: title stems weight A, body stems B, title words
    C, body words D, each part in its own range of positions (a phrase never spans two)."""
    positions: dict[str, list[str]] = {}
    pos = 1
    for text, weight in (
        (doc.title_stems, "A"),
        (doc.body_stems, "B"),
        (doc.title_words, "C"),
        (doc.body_words, "D"),
    ):
        for token in text.split():
            positions.setdefault(token, []).append(f"{pos}{weight}")
            pos += 1
        pos += 1  # a gap between the parts
    return " ".join(f"{_quote(t)}:{','.join(p)}" for t, p in positions.items())
