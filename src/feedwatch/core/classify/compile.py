"""Topic rules -> a compiled word index: the rule language's terms, phrases and wildcards.

Pure: it reads no file (`feedwatch.config.topics` reads and validates the YAML; `load_topics`
here only joins the two). Rules are compiled once at load into a word index (exact, prefix,
suffix and infix patterns over the words of `feedwatch.core.textnorm`), so that classifying a text
is one pass over its words plus a few set look-ups per matched word (see `score`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

from feedwatch.config.topics import TopicsFile, TopicsSpec, parse_topics_text, read_topics
from feedwatch.core.textnorm import tokenize
from feedwatch.errors import ConfigError

__all__ = [
    "ENGINE_VERSION",
    "Scoring",
    "Topic",
    "Topics",
    "compile_topics",
    "load_topics",
    "parse_topics",
]

# Part of every `Topics.version`: bump it when a change to the scorer changes scores.
ENGINE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Scoring:
    """How matches become a score (the `scoring:` section of the rules)."""

    title_weight: float = 2.0
    repeat: float = 0.5
    max_count: int = 4
    lemmas: bool = False


@dataclass(frozen=True, slots=True)
class Topic:
    """What a user sees of one topic."""

    key: str
    title: str
    description: str
    threshold: float


@dataclass(frozen=True, slots=True)
class _WordPat:
    kind: Literal["exact", "prefix", "suffix", "infix"]
    text: str


# Does a word (first argument) match a word pattern's text (second), by the pattern's kind?
_WordTest = Callable[[str, str], bool]
_TESTS: dict[str, _WordTest] = {
    "exact": str.__eq__,
    "prefix": str.startswith,
    "suffix": str.endswith,
    "infix": str.__contains__,
}


class _Alt(NamedTuple):
    """How to find one alternative of a term: look up its anchor word, then check the others."""

    anchor_pid: int  # the word pattern of the anchor
    anchor: int  # its index in the phrase
    size: int  # number of words
    checks: tuple[tuple[int, _WordTest, str], ...]  # the other words: (index, test, pattern text)
    needs: frozenset[str]  # the other words that must occur exactly (a quick reject)


@dataclass(frozen=True, slots=True)
class _Term:
    source: str  # as written in the rules
    alts: tuple[tuple[int, ...], ...]  # alternatives ("a|b"): word pattern ids, one per word
    anchors: tuple[int, ...] = ()  # per alternative: the word looked up first (its longest)
    plans: tuple[_Alt, ...] = ()  # per alternative: how to find it
    note: str = ""  # " [the rule]", shown after the words found when they read differently


@dataclass(frozen=True, slots=True)
class _Combination:
    name: str
    groups: tuple[tuple[int, ...], ...]
    weight: float
    sets: tuple[frozenset[int], ...] = ()


@dataclass(frozen=True, slots=True)
class _Near:
    name: str
    a: tuple[int, ...]
    b: tuple[int, ...]
    within: int
    weight: float
    a_set: frozenset[int] = frozenset()
    b_set: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class _Exclude:
    name: str
    terms: tuple[int, ...]
    mask: bool
    weight: float
    term_set: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class _CTopic:
    topic: Topic
    terms: Mapping[int, float]  # term id -> weight
    combinations: tuple[_Combination, ...]
    near: tuple[_Near, ...]
    exclude: tuple[_Exclude, ...]
    relevant: frozenset[int] = frozenset()  # every term that can change the score
    term_set: frozenset[int] = frozenset()  # the keys of `terms`
    exclude_set: frozenset[int] = frozenset()  # the terms of every exclude group


class _WordIndex(dict[str, tuple[int, ...]]):
    """The anchor word patterns of the rules, as a cache: ``index[word]`` is the ascending tuple
    of the patterns that `word` matches (empty for most words), worked out on first sight.

    Lookups are plain dict lookups, so a whole text is looked up in C with ``map``; entries are
    only added (or all dropped at the size limit), which is safe while other threads look up.
    """

    __slots__ = ("exact", "infix", "prefix", "prefix_lens", "suffix", "suffix_lens")

    _CACHE_LIMIT = 200_000

    def __init__(self, pats: Sequence[_WordPat], only: set[int] | None = None) -> None:
        super().__init__()
        self.exact: dict[str, list[int]] = {}
        self.prefix: dict[str, list[int]] = {}
        self.suffix: dict[str, list[int]] = {}
        self.infix: list[tuple[str, int]] = []
        for pid, pat in enumerate(pats):
            if only is not None and pid not in only:
                continue
            if pat.kind == "infix":
                self.infix.append((pat.text, pid))
            else:
                getattr(self, pat.kind).setdefault(pat.text, []).append(pid)
        self.prefix_lens = sorted({len(t) for t in self.prefix})
        self.suffix_lens = sorted({len(t) for t in self.suffix})

    def __missing__(self, word: str) -> tuple[int, ...]:
        found: list[int] = list(self.exact.get(word, ()))
        n = len(word)
        for size in self.prefix_lens:
            if size > n:
                break
            found.extend(self.prefix.get(word[:size], ()))
        for size in self.suffix_lens:
            if size > n:
                break
            found.extend(self.suffix.get(word[n - size :], ()))
        found.extend(pid for text, pid in self.infix if text in word)
        out = tuple(sorted(set(found)))
        if len(self) >= self._CACHE_LIMIT:
            self.clear()
        self[word] = out
        return out


@dataclass(frozen=True, eq=False)
class _Compiled:
    scoring: Scoring
    index: _WordIndex
    terms: tuple[_Term, ...]
    # anchor word pattern id -> the term alternatives looked up by it: (term id, index of the
    # alternative when the term has several, else -1, how to find it)
    anchored: Mapping[int, tuple[tuple[int, int, _Alt], ...]]
    topics: tuple[_CTopic, ...]
    priors: Mapping[str, Mapping[str, float]]


@dataclass(frozen=True, eq=False)
class Topics:
    """Validated, compiled topic rules. `version` changes whenever the rules change."""

    version: str
    topics: tuple[Topic, ...]
    _compiled: _Compiled = field(repr=False)
    path: Path | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(t.key for t in self.topics)

    def get(self, key: str) -> Topic:
        for topic in self.topics:
            if topic.key == key:
                return topic
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return key in self.keys

    def __len__(self) -> int:
        return len(self.topics)


# ---------------------------------------------------------------------------------------------
# Loading


def load_topics(path: Path | None = None) -> Topics:
    """Read, validate and compile a topics file; None means the default shipped in the package."""
    return compile_topics(read_topics(path))


def parse_topics(text: str, path: Path | str | None = None) -> Topics:
    """Validate and compile topic rules given as YAML text; errors name `path` and the line."""
    return compile_topics(parse_topics_text(text, path))


def _parse_term(source: str) -> tuple[tuple[_WordPat, ...], ...]:
    """Turn a rule term ("a|b c*") into alternatives of word patterns; ValueError if wrong."""
    alts = [alt.strip() for alt in source.split("|")]
    if any(not alt for alt in alts):
        raise ValueError("empty term" if len(alts) == 1 else "empty alternative around '|'")
    return tuple(_parse_phrase(alt) for alt in alts)


def _parse_phrase(source: str) -> tuple[_WordPat, ...]:
    raw_words = source.split()
    out: list[_WordPat] = []
    for raw in raw_words:
        lead, trail = raw.startswith("*"), raw.endswith("*") and len(raw) > 1
        core = raw.strip("*")
        if "*" in core:
            raise ValueError(f"'*' may only open or close a word, not sit inside '{raw}'")
        parts = tokenize(core).words
        if not parts:
            raise ValueError(f"'{raw}' has no letters or digits")
        for i, part in enumerate(parts):
            first, last = i == 0, i == len(parts) - 1
            starred_left, starred_right = lead and first, trail and last
            if (starred_left or starred_right) and len(part) < 3:
                raise ValueError(f"a wildcard needs at least 3 letters: '{raw}'")
            kind: Literal["exact", "prefix", "suffix", "infix"]
            if starred_left and starred_right:
                kind = "infix"
            elif starred_left:
                kind = "suffix"
            elif starred_right:
                kind = "prefix"
            else:
                kind = "exact"
            out.append(_WordPat(kind, part))
    return tuple(out)


class _Builder:
    def __init__(self, file: TopicsFile) -> None:
        self.file = file
        self.where = file.path
        self.pats: dict[_WordPat, int] = {}
        self.terms: dict[str, int] = {}
        self.term_list: list[_Term] = []

    def term(self, source: str, loc: Sequence[int | str]) -> int:
        key = " ".join(source.split())
        if key in self.terms:
            return self.terms[key]
        try:
            alts = _parse_term(source)
        except ValueError as exc:
            raise ConfigError(f"bad term {source!r}: {exc}", self.where, self.line(loc)) from None
        ids = tuple(tuple(self.pats.setdefault(p, len(self.pats)) for p in alt) for alt in alts)
        # a phrase is looked up by its longest word ("vlucht" in "op de vlucht"): the rarest
        anchors = tuple(max(range(len(alt)), key=lambda k: (len(alt[k].text), -k)) for alt in alts)
        plans = tuple(
            _Alt(
                pids[anchor],
                anchor,
                len(alt),
                tuple((k, _TESTS[p.kind], p.text) for k, p in enumerate(alt) if k != anchor),
                frozenset(p.text for k, p in enumerate(alt) if k != anchor and p.kind == "exact"),
            )
            for alt, pids, anchor in zip(alts, ids, anchors, strict=True)
        )
        self.terms[key] = len(self.term_list)
        self.term_list.append(_Term(key, ids, anchors, plans, _rule(key, "")))
        return self.terms[key]

    def line(self, loc: Sequence[int | str]) -> int:
        return self.file.line(loc)

    def fail(self, message: str, loc: Sequence[int | str]) -> ConfigError:
        return ConfigError(message, self.where, self.line(loc))


def compile_topics(file: TopicsFile) -> Topics:
    """Compile validated rules into `Topics`; a bad term is a ConfigError with its line."""
    spec: TopicsSpec = file.spec
    where = file.path
    b = _Builder(file)
    compiled: list[_CTopic] = []
    seen: dict[str, int] = {}
    for ti, t in enumerate(spec.topics):
        loc: tuple[int | str, ...] = ("topics", ti)
        if t.key in seen:
            raise b.fail(f"duplicate topic key '{t.key}' (also topic #{seen[t.key] + 1})", loc)
        seen[t.key] = ti
        terms: dict[int, float] = {}
        for src, w in t.terms.items():
            tid = b.term(src, (*loc, "terms", src))
            if tid in terms:
                raise b.fail(f"term {src!r} repeats an earlier term", (*loc, "terms", src))
            terms[tid] = w
        combos: list[_Combination] = []
        for ci, c in enumerate(t.combinations):
            groups = tuple(
                tuple(
                    b.term(s, (*loc, "combinations", ci, "all", gi, si)) for si, s in enumerate(g)
                )
                for gi, g in enumerate(c.all)
            )
            name = c.name or " & ".join(g[0] for g in c.all)
            sets = tuple(frozenset(g) for g in groups)
            combos.append(_Combination(name, groups, c.weight, sets))
        nears: list[_Near] = []
        for ni, n in enumerate(t.near):
            a = tuple(b.term(s, (*loc, "near", ni, "a", i)) for i, s in enumerate(n.a))
            bb = tuple(b.term(s, (*loc, "near", ni, "b", i)) for i, s in enumerate(n.b))
            name = n.name or f"{n.a[0]} ~ {n.b[0]}"
            nears.append(_Near(name, a, bb, n.within, n.weight, frozenset(a), frozenset(bb)))
        excludes: list[_Exclude] = []
        for ei, e in enumerate(t.exclude):
            ids = tuple(b.term(s, (*loc, "exclude", ei, "terms", i)) for i, s in enumerate(e.terms))
            if not e.mask and e.weight == 0:
                raise b.fail(
                    "an exclude group needs 'mask: true' or a 'weight' above 0",
                    (*loc, "exclude", ei),
                )
            excludes.append(_Exclude(e.name or e.terms[0], ids, e.mask, e.weight, frozenset(ids)))
        rule_weights = [*terms.values(), *(c.weight for c in combos), *(n.weight for n in nears)]
        if not any(w > 0 for w in rule_weights):
            raise b.fail(f"topic '{t.key}' has no rule with a positive weight", loc)
        topic = Topic(t.key, t.title, t.description, t.threshold)
        relevant = frozenset(
            [*terms]
            + [t for c in combos for g in c.groups for t in g]
            + [t for n in nears for t in (*n.a, *n.b)]
            + [t for e in excludes if e.weight for t in e.terms]
        )
        compiled.append(
            _CTopic(
                topic,
                terms,
                tuple(combos),
                tuple(nears),
                tuple(excludes),
                relevant,
                frozenset(terms),
                frozenset(t for e in excludes for t in e.terms),
            )
        )
    for source, weights in spec.priors.items():
        for key in weights:
            if key not in seen:
                known = ", ".join(seen)
                raise b.fail(
                    f"unknown topic '{key}' in the priors of source '{source}'; known: {known}",
                    ("priors", source, key),
                )
    pats = [p for p, _ in sorted(b.pats.items(), key=lambda kv: kv[1])]
    # the version covers what changes scores: not titles, descriptions or the order of terms
    normalised = spec.model_dump(
        mode="json", exclude={"topics": {"__all__": {"title", "description"}}}
    )
    normalised["engine"] = ENGINE_VERSION
    version = hashlib.sha256(
        json.dumps(normalised, sort_keys=True, ensure_ascii=False).encode("utf-8")
    ).hexdigest()[:12]
    anchored: dict[int, list[tuple[int, int, _Alt]]] = {}
    for tid, term in enumerate(b.term_list):
        for k, alt in enumerate(term.plans):
            anchored.setdefault(alt.anchor_pid, []).append(
                (tid, k if len(term.plans) > 1 else -1, alt)
            )
    inner = _Compiled(
        scoring=Scoring(**spec.scoring.model_dump()),
        index=_WordIndex(pats, set(anchored)),
        terms=tuple(b.term_list),
        anchored={pid: tuple(alts) for pid, alts in anchored.items()},
        topics=tuple(compiled),
        priors={s: dict(w) for s, w in spec.priors.items()},
    )
    return Topics(version, tuple(c.topic for c in compiled), inner, where)


def _rule(source: str, shown: str, limit: int = 40) -> str:
    """The rule as written, when it differs from the words shown; shortened."""
    if source == shown:
        return ""
    return f" [{source if len(source) <= limit else source[: limit - 1] + '…'}]"
