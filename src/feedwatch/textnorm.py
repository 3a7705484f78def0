"""Dutch/English text normalisation for the topic rules: folding and tokenisation (pure, no I/O).

`fold()` lowercases, strips accents (``ë`` → ``e``, ``é`` → ``e``), expands ligatures (``ĳ`` → ``ij``)
and unifies apostrophes and dashes. `tokenize()` cuts folded text into words. A hyphenated run
such as ``azc-locatie`` yields its parts (``azc``, ``locatie``) as words *and* its joined form
(``azclocatie``) as a compound, so a rule finds a term on either side of a hyphen and across it.
An apostrophe inside a word is dropped from the word's match key (``AZC’s`` → ``azcs``) and kept
in its display form (``azc's``). Matching inside compound words (``crisisnoodopvang``) is the
job of the rule syntax in `feedwatch.classify` (``*noodopvang``), which works on these words.
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
    folded = fold(text)
    forms = tuple(_WORD.findall(folded))
    keys = tuple([w.replace("'", "") for w in forms]) if "'" in folded else forms
    if "-" not in folded:
        return Tokenized(keys, forms)
    runs: list[list[str]] = []
    for chunk in [c for c in folded.split() if "-" in c]:
        run: list[str] = []
        joined = False
        for tok in _WORD_OR_HYPHEN.findall(chunk):
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


def words(text: str) -> list[str]:
    """The match keys of the words of `text` (folded, apostrophes removed, hyphens split)."""
    return list(tokenize(text).words)


@lru_cache(maxsize=65536)
def lemma(word: str, lang: str = "nl") -> str:
    """The dictionary form of a folded word according to simplemma (``landen`` → ``land``)."""
    import simplemma  # imported late: its tables take a moment to load and are rarely needed

    out = simplemma.lemmatize(word, lang=lang)
    return fold(out) if isinstance(out, str) else word
