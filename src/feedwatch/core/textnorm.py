"""Dutch/English text normalisation for the topic rules: folding and tokenisation (pure, no I/O).

`fold()` lowercases, strips accents (``ë`` → ``e``, ``é`` → ``e``), expands ligatures (``ĳ`` → ``ij``)
and unifies apostrophes and dashes. `tokenize()` cuts folded text into words. A hyphenated run
such as ``azc-locatie`` yields its parts (``azc``, ``locatie``) as words *and* its joined form
(``azclocatie``) as a compound, so a rule finds a term on either side of a hyphen and across it.
An apostrophe inside a word is dropped from the word's match key (``AZC’s`` → ``azcs``) and kept
in its display form (``azc's``). Matching inside compound words (``crisisnoodopvang``) is the
job of the rule syntax in `feedwatch.core.classify` (``*noodopvang``), which works on these words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["Tokenized", "fold", "lemma", "tokenize", "words"]

_APOSTROPHES = "'’‘`´ʼʹ′‛"
_DASHES = "-‐‑‒–—―−"

# A word: letters and digits, glued by inner apostrophes ("azc's"); hyphens separate words, and a
# run of words joined by single hyphens ("azc-locatie") is also found whole.
_WORD = re.compile(r"[^\W_]++(?:'[^\W_]+)*+")
_WORD_OR_HYPHEN = re.compile(r"[^\W_]++(?:'[^\W_]+)*+|(?<=[^\W_])-(?=[^\W_])")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")

# Tokenising without a regex match per word: every character that cannot be part of a word or
# join two words becomes a space (str.translate, fast on ASCII text), hyphens become spaces once
# their runs are read, apostrophes that glue no two letters are dropped, and str.split() cuts the
# words. This finds exactly the words that _WORD finds, several times faster.


class _GapTable(dict[int, str]):
    """A str.translate table: letters, digits, apostrophe and hyphen stay; the rest is a space."""

    def __missing__(self, codepoint: int) -> str:
        char = chr(codepoint)
        out = char if char.isalnum() or char in "'-" else " "
        self[codepoint] = out
        return out


_GAPS = _GapTable()
for _c in range(128):  # complete for ASCII, so translating ASCII text never calls __missing__
    _GAPS[_c]


class _FoldTable(dict[int, str]):
    """A str.translate table that computes (and keeps) the folded form of each new character."""

    def __missing__(self, codepoint: int) -> str:
        char = chr(codepoint)
        if char in _APOSTROPHES:
            out = "'"
        elif char in _DASHES:
            out = "-"
        elif char.isspace():
            out = " "
        else:
            out = char
            for _ in range(2):  # twice: casefolding can bring back decomposable characters
                decomposed = unicodedata.normalize("NFKD", out)
                out = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
        self[codepoint] = out
        return out


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """Lowercase, strip accents, unify apostrophes, dashes and whitespace; keep everything else."""
    lowered = text.lower()
    if "`" in lowered:
        lowered = lowered.replace("`", "'")
    if lowered.isascii():
        return lowered
    return _NON_ASCII.sub(_fold_match, lowered)


def _fold_match(match: re.Match[str]) -> str:
    return _FOLD[ord(match.group())]


def _gap_match(match: re.Match[str]) -> str:
    return _GAPS[ord(match.group())]


def _gapped(folded: str) -> str:
    """Folded text with every character that cannot be in a word or join two words as a space."""
    if folded.isascii():
        return folded.translate(_GAPS)
    return _NON_ASCII.sub(_gap_match, folded).translate(_GAPS)  # mostly quotes: spaces first


class _CharTable(dict[int, str]):
    """Each non-ASCII character -> what `tokenize` reads of it: folded, then gapped.

    Folding works character by character (lowercasing's one exception, the final sigma, folds
    to the same letter either way), so a text can be gapped in one pass over its non-ASCII
    characters followed by ASCII-only lowercasing.
    """

    def __missing__(self, codepoint: int) -> str:
        out = _gapped(fold(chr(codepoint)))
        self[codepoint] = out
        return out


_CHARS = _CharTable()


def _char_match(match: re.Match[str]) -> str:
    return _CHARS[ord(match.group())]


@dataclass(frozen=True, slots=True)
class Tokenized:
    """Words of one text, in order, plus the joined forms of hyphenated runs.

    `words[i]` is the match key of word i (folded, apostrophes removed); `forms[i]` is how it
    read (folded, apostrophes kept). `compounds` holds (first word index, last word index, joined
    match key, joined form) for each hyphenated run such as ``azc-locatie``.
    """

    words: tuple[str, ...]
    forms: tuple[str, ...]
    compounds: tuple[tuple[int, int, str, str], ...] = ()


def tokenize(text: str) -> Tokenized:
    """Fold `text` and cut it into words; hyphenated runs also yield their joined form."""
    if text.isascii():
        spaced = fold(text).translate(_GAPS)
    else:
        # usually only accents, quotes and dashes are beyond ASCII: read them char by char, then
        # lowercase the rest fast; letters beyond ASCII that stay need the whole text lowercased
        spaced = _NON_ASCII.sub(_char_match, text)
        spaced = fold(spaced).translate(_GAPS) if spaced.isascii() else _gapped(fold(text))
    runs: list[list[str]] = []
    if "-" in spaced:  # hyphens separate words; runs joined by them are also found whole
        runs = _hyphenated_runs(spaced)
        spaced = spaced.replace("-", " ")
    if "'" in spaced:  # keep only apostrophes between two letters: "azc's", not "'t" or "x''y"
        spaced = spaced.replace("''", " ").replace(" '", " ").replace("' ", " ").strip("'")
        forms = tuple(spaced.split())
        keys = tuple(spaced.replace("'", "").split()) if "'" in spaced else forms
    else:
        forms = keys = tuple(spaced.split())
    if not runs:
        return Tokenized(keys, forms)
    compounds: list[tuple[int, int, str, str]] = []
    at = 0  # runs come in text order: find each one's words after the previous run
    for run in runs:
        size = len(run)
        try:
            i = forms.index(run[0], at)
            while list(forms[i : i + size]) != run:
                i = forms.index(run[0], i + 1)
        except ValueError:  # every part of a run is also a word; stay safe anyway
            continue
        at = i + size
        compounds.append((i, at - 1, "".join(keys[i:at]), "-".join(run)))
    return Tokenized(keys, forms, tuple(compounds))


def _hyphenated_runs(spaced: str) -> list[list[str]]:
    """The runs of words joined by single hyphens ("azc-locatie"), in text order.

    `spaced` is folded text in which every character but letters, digits, apostrophes and
    hyphens is a space: each space-separated chunk that holds a hyphen is read on its own.
    """
    runs: list[list[str]] = []
    at = spaced.find("-")
    while at >= 0:
        start = spaced.rfind(" ", 0, at) + 1
        end = spaced.find(" ", at)
        if end < 0:
            end = len(spaced)
        run: list[str] = []
        joined = False
        for tok in _WORD_OR_HYPHEN.findall(spaced, start, end):
            if tok == "-":
                joined = True
                continue
            if not joined and len(run) > 1:
                runs.append(run)
            if not joined:
                run = []
            run.append(tok)
            joined = False
        if len(run) > 1:
            runs.append(run)
        at = spaced.find("-", end)
    return runs


def words(text: str) -> list[str]:
    """The match keys of the words of `text` (folded, apostrophes removed, hyphens split)."""
    return list(tokenize(text).words)


@lru_cache(maxsize=65536)
def lemma(word: str, lang: str = "nl") -> str:
    """The dictionary form of a folded word according to simplemma (``landen`` → ``land``)."""
    import simplemma  # imported late: its tables take a moment to load and are rarely needed

    out = simplemma.lemmatize(word, lang=lang)
    return fold(out) if isinstance(out, str) else word
