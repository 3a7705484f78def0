"""Topic rules (YAML) -> per-topic scores with the terms that produced them, and their evaluation.

Pure: apart from `load_topics` reading the rules file, nothing here does I/O; it never imports
httpx, sqlalchemy or apscheduler. The rule language is documented at the top of the packaged
``feedwatch/data/topics.yaml``. Rules are compiled once at load into a word index (exact, prefix,
suffix and infix patterns over the words of `feedwatch.core.textnorm`); classifying a text is one pass
over its words plus a few set look-ups per matched word.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from itertools import compress
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from feedwatch.core.textnorm import Tokenized, lemma, tokenize
from feedwatch.errors import ConfigError
from feedwatch.types import TopicScore

# libyaml's composer when PyYAML has it: same nodes and line marks, several times faster.
_COMPOSER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

__all__ = [
    "EvalMiss",
    "EvalReport",
    "Topic",
    "TopicEval",
    "Topics",
    "classify",
    "evaluate",
    "explain",
    "load_topics",
    "parse_topics",
]

# Part of every `Topics.version`: bump it when a change to this module changes scores.
ENGINE_VERSION = 1

# ---------------------------------------------------------------------------------------------
# The file format (validated with pydantic; every model forbids unknown keys)

Weight = Annotated[float, Field(strict=True, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]
TermList = Annotated[list[str], Field(min_length=1)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScoringSpec(_Spec):
    """How matches become a score; shared by every topic."""

    title_weight: NonNegative = 2.0  # a match in the title counts this many body matches
    repeat: Annotated[float, Field(strict=True, ge=0, le=1)] = 0.5  # worth of each repeat
    max_count: Annotated[int, Field(strict=True, ge=1)] = 4  # repeats beyond this are ignored
    lemmas: Annotated[bool, Field(strict=True)] = False  # also match the simplemma lemma of words


class CombinationSpec(_Spec):
    name: str | None = None
    all: Annotated[list[TermList], Field(min_length=2)]
    weight: Weight


class NearSpec(_Spec):
    name: str | None = None
    a: TermList
    b: TermList
    within: Annotated[int, Field(strict=True, ge=1, le=100)]
    weight: Weight


class ExcludeSpec(_Spec):
    name: str | None = None
    terms: TermList
    mask: Annotated[bool, Field(strict=True)] = True
    weight: NonNegative = 0.0


class TopicSpec(_Spec):
    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]
    title: Annotated[str, Field(min_length=1)]
    description: str = ""
    threshold: Weight
    terms: dict[str, Weight] = Field(default_factory=dict)
    combinations: list[CombinationSpec] = Field(default_factory=list)
    near: list[NearSpec] = Field(default_factory=list)
    exclude: list[ExcludeSpec] = Field(default_factory=list)


class TopicsSpec(_Spec):
    scoring: ScoringSpec = Field(default_factory=ScoringSpec)
    topics: Annotated[list[TopicSpec], Field(min_length=1)]
    priors: dict[str, dict[str, Weight]] = Field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Public values


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
    scoring: ScoringSpec
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
# Loading and validation


def load_topics(path: Path | None = None) -> Topics:
    """Read, validate and compile a topics file; None means the default shipped in the package."""
    if path is None:
        ref = resources.files("feedwatch").joinpath("data").joinpath("topics.yaml")
        return parse_topics(ref.read_text(encoding="utf-8"), Path("feedwatch/data/topics.yaml"))
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError("topics file not found", path) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read topics file: {exc}", path) from exc
    return parse_topics(text, Path(path))


def parse_topics(text: str, path: Path | str | None = None) -> Topics:
    """Validate and compile topic rules given as YAML text; errors name `path` and the line."""
    where = Path(path) if path is not None else None
    root = _compose(text, where)
    loader = yaml.SafeLoader("")
    try:
        data = loader.construct_document(root)
    except yaml.YAMLError as exc:
        line = _mark_line(exc)
        raise ConfigError(f"invalid YAML: {exc}", where, line) from exc
    finally:
        loader.dispose()
    try:
        spec = TopicsSpec.model_validate(data)
    except ValidationError as exc:
        # a misspelt key shows up as "unknown" and as "missing": name the misspelling first
        errors = sorted(exc.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
        err = errors[0]
        loc = tuple(err["loc"])
        raise ConfigError(_describe(err), where, _line_at(root, loc)) from exc
    return _compile(spec, root, where)


def _mark_line(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark is not None else None


def _compose(text: str, where: Path | None) -> yaml.Node:
    try:
        root = yaml.compose(text, Loader=_COMPOSER)
    except yaml.YAMLError as exc:
        hint = ""
        if "alias" in str(exc):
            hint = " (a term that starts with '*' must be quoted: \"*noodopvang\")"
        raise ConfigError(f"invalid YAML{hint}: {exc}", where, _mark_line(exc)) from exc
    if root is None:
        raise ConfigError("the file is empty; expected a mapping with a 'topics' list", where, 1)
    _check_duplicates(root, where)
    return root


def _check_duplicates(node: yaml.Node, where: Path | None) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                line = key.start_mark.line + 1
                if key.value in seen:
                    raise ConfigError(
                        f"duplicate key '{key.value}' (first at line {seen[key.value]})",
                        where,
                        line,
                    )
                seen[key.value] = line
            _check_duplicates(value, where)
    elif isinstance(node, yaml.SequenceNode):
        for child in node.value:
            _check_duplicates(child, where)


def _line_at(root: yaml.Node, loc: Sequence[int | str]) -> int:
    """The line of the deepest node along `loc`: a mapping key's own line when it exists."""
    node = root
    line = root.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    line = key.start_mark.line + 1
                    node = value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _model_at(loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The spec model that holds the last element of `loc` (to list its allowed keys)."""
    tp: Any = TopicsSpec
    for part in loc[:-1]:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            info = tp.model_fields.get(str(part))
            if info is None:
                return None
            tp = info.annotation
        else:
            args = get_args(tp)
            tp = args[-1] if args else None
        while get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
        if get_origin(tp) is Union:
            tp = next((a for a in get_args(tp) if a is not type(None)), None)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _describe(err: Mapping[str, Any]) -> str:
    loc = tuple(err["loc"])
    kind = str(err["type"])
    name = str(loc[-1]) if loc else "file"
    where = ".".join(str(p) for p in loc) or "the file"
    got = err.get("input")
    if kind == "extra_forbidden":
        model = _model_at(loc)
        allowed = ", ".join(model.model_fields) if model else ""
        return f"unknown key '{name}'" + (f"; expected one of: {allowed}" if allowed else "")
    if kind == "missing":
        return f"missing key '{name}' in {'.'.join(str(p) for p in loc[:-1]) or 'the file'}"
    if kind in {"float_type", "int_type", "float_parsing", "int_parsing", "finite_number"}:
        if len(loc) >= 2 and loc[-2] == "terms":
            return f"the weight of term '{name}' must be a number, got {got!r}"
        return f"'{where}' must be a number, got {got!r}"
    if kind == "bool_type":
        return f"'{where}' must be true or false, got {got!r}"
    if kind in {"model_type", "dict_type"}:
        return f"'{where}' must be a mapping, got {type(got).__name__}"
    if kind == "list_type":
        return f"'{where}' must be a list, got {type(got).__name__}"
    return f"'{where}': {err['msg']}"


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
    def __init__(self, root: yaml.Node, where: Path | None) -> None:
        self.root = root
        self.where = where
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
        return _line_at(self.root, loc)

    def fail(self, message: str, loc: Sequence[int | str]) -> ConfigError:
        return ConfigError(message, self.where, self.line(loc))


def _compile(spec: TopicsSpec, root: yaml.Node, where: Path | None) -> Topics:
    b = _Builder(root, where)
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
        scoring=spec.scoring,
        index=_WordIndex(pats, set(anchored)),
        terms=tuple(b.term_list),
        anchored={pid: tuple(alts) for pid, alts in anchored.items()},
        topics=tuple(compiled),
        priors={s: dict(w) for s, w in spec.priors.items()},
    )
    return Topics(version, tuple(c.topic for c in compiled), inner, where)


# ---------------------------------------------------------------------------------------------
# Matching and scoring

# A match of one term in one field: (first word index, number of words, form as read)
_Match = tuple[int, int, str]
_NONE: list[_Match] = []


class _Field:
    """The words of one field (title or body) and every term found in them, with its matches."""

    __slots__ = ("cforms", "compiled", "distinct", "found", "tok")

    def __init__(self, text: str, compiled: _Compiled) -> None:
        self.tok: Tokenized = tokenize(text)
        self.compiled = compiled
        self.distinct: set[str] | None = None  # the set of words, made when a phrase needs it
        words = self.tok.words
        index = compiled.index
        # the patterns each word matches (most words: none), looked up in C, one dict get a word
        at: list[tuple[int, ...]] = list(map(index.__getitem__, words))
        if compiled.scoring.lemmas:  # a word also matches what its lemma matches
            extras: dict[str, tuple[int, ...]] = {}
            for word in set(words):
                base = lemma(word)
                if base != word and (extra := index[base]):
                    extras[word] = tuple(sorted({*index[word], *extra}))
            if extras:
                at = [extras.get(w, pids) for w, pids in zip(words, at, strict=True)]
        # word pattern id -> ascending word positions where it matches
        hits: dict[int, list[int]] = {}
        for i in compress(range(len(words)), at):
            for pid in at[i]:
                got = hits.get(pid)
                if got is None:
                    hits[pid] = [i]
                else:
                    got.append(i)
        # (pattern, position) -> (hyphenated form, number of words) of a hyphenated run
        self.cforms: dict[tuple[int, int], tuple[str, int]] = {}
        for first, last, joined, form in self.tok.compounds:
            for pid in index[joined]:
                got = hits.get(pid)
                if got is None:
                    hits[pid] = [first]
                elif first not in got:
                    bisect.insort(got, first)
                self.cforms[(pid, first)] = (form, last - first + 1)
        # term id -> its matches, for every term that matches here, found from its anchor words
        found: dict[int, list[_Match]] = {}
        several: dict[int, list[tuple[int, list[_Match]]]] = {}  # terms with alternatives
        anchored, forms, cforms = compiled.anchored, self.tok.forms, self.cforms
        for pid, positions in hits.items():
            for tid, k, alt in anchored[pid]:
                if alt.size > 1:
                    matches = self._phrase(alt, positions)
                elif cforms:  # a hyphenated run counts as one match that covers all its words
                    matches = [
                        (pos, compound[1], compound[0])
                        if (compound := cforms.get((pid, pos)))
                        else (pos, 1, forms[pos])
                        for pos in positions
                    ]
                else:  # the common case: one word
                    matches = [(pos, 1, forms[pos]) for pos in positions]
                if not matches:
                    continue
                if k < 0:
                    found[tid] = matches
                else:
                    several.setdefault(tid, []).append((k, matches))
        for tid, per_alt in several.items():
            if len(per_alt) == 1:
                found[tid] = per_alt[0][1]
                continue
            merged: dict[int, _Match] = {}  # at each position the longest, the first alternative's
            for _, matches in sorted(per_alt, key=lambda km: km[0]):
                for m in matches:
                    if m[0] not in merged or m[1] > merged[m[0]][1]:
                        merged[m[0]] = m
            found[tid] = [merged[pos] for pos in sorted(merged)]
        self.found = found

    def _phrase(self, alt: _Alt, positions: list[int]) -> list[_Match]:
        """The matches of a phrase of several words, given where its anchor word matched."""
        _, anchor, size, checks, needs = alt
        words = self.tok.words
        lemmas = self.compiled.scoring.lemmas
        if needs and not lemmas:  # a lemma may supply a word: no quick reject then
            if self.distinct is None:
                self.distinct = set(words)
            if not needs <= self.distinct:
                return []
        forms = self.tok.forms
        end = len(words)
        out: list[_Match] = []
        for pos in positions:
            start = pos - anchor
            if start < 0 or start + size > end:
                continue
            for k, test, text in checks:  # the other words, each by its pattern (or its lemma's)
                word = words[start + k]
                if not test(word, text) and not (lemmas and test(lemma(word), text)):
                    break
            else:
                shown = list(forms[start : start + size])
                compound = self.cforms.get((alt.anchor_pid, pos))
                if compound:
                    shown[anchor] = compound[0]
                out.append((start, size, " ".join(shown)))
        return out


def _unmasked(matches: list[_Match], masked: set[int]) -> list[_Match]:
    if not masked:
        return matches
    return [m for m in matches if not any(p in masked for p in range(m[0], m[0] + m[1]))]


@lru_cache(maxsize=1024)
def _where(n_title: int, n_body: int) -> str:
    parts = []
    if n_title:
        parts.append("title" if n_title == 1 else f"title ×{n_title}")
    if n_body:
        parts.append("body" if n_body == 1 else f"body ×{n_body}")
    return ", ".join(parts)


def _forms(matches: Sequence[_Match], limit: int = 3) -> str:
    if len(matches) == 1:
        return matches[0][2]
    seen = list(dict.fromkeys([m[2] for m in matches]))
    return ", ".join(seen[:limit]) + (", …" if len(seen) > limit else "")


def _rule(source: str, shown: str, limit: int = 40) -> str:
    """The rule as written, when it differs from the words shown; shortened."""
    if source == shown:
        return ""
    return f" [{source if len(source) <= limit else source[: limit - 1] + '…'}]"


def _near_ok(a: list[_Match], b: list[_Match], within: int) -> tuple[str, str] | None:
    """A pair of matches, one from each list, at most `within` words apart (gap between them)."""
    b = sorted(b)
    starts = [m[0] for m in b]
    longest = max(m[1] for m in b)
    for pa, la, fa in a:
        # candidates start between (pa - within - longest + 1) and (pa + la - 1 + within)
        lo = bisect.bisect_left(starts, pa - within - longest + 1)
        hi = bisect.bisect_right(starts, pa + la - 1 + within)
        for pb, lb, fb in b[lo:hi]:
            gap = pb - (pa + la - 1) if pb >= pa else pa - (pb + lb - 1)
            if gap <= within:
                return fa, fb
    return None


def _combination(
    combo: _Combination,
    found: set[int],
    present: Callable[[int], tuple[list[_Match], list[_Match]]],
    parts: list[tuple[float, str]],
) -> None:
    picked: list[str] = []
    for group in combo.groups:
        for tid in group:
            if tid in found:
                in_title, in_body = present(tid)
                if in_title or in_body:
                    picked.append((in_title or in_body)[0][2])
                    break
        else:
            return
    parts.append((combo.weight, f"all({combo.name}): {' + '.join(picked)} {combo.weight:+.1f}"))


def _score_topic(
    ct: _CTopic,
    title: dict[int, list[_Match]],
    body: dict[int, list[_Match]],
    found: set[int],
    compiled: _Compiled,
    source: str | None,
) -> TopicScore:
    """Score one topic from the terms found in the title and body (term id -> matches)."""
    topic = ct.topic
    if ct.relevant.isdisjoint(found):
        return TopicScore(topic.key, 0.0, topic.threshold, (), topic.threshold <= 0)
    masked_title: set[int] = set()
    masked_body: set[int] = set()
    parts: list[tuple[float, str]] = []
    notes: list[str] = []
    for ex in ct.exclude if not ct.exclude_set.isdisjoint(found) else ():
        if ex.term_set.isdisjoint(found):
            continue
        hit: list[_Match] = []
        for fld, masked in ((title, masked_title), (body, masked_body)):
            for tid in sorted(ex.term_set.intersection(fld)):
                ms = fld[tid]
                hit.extend(ms)
                if ex.mask:
                    for pos, size, _ in ms:
                        masked.update(range(pos, pos + size))
        if hit:
            label = f"not({ex.name}): {_forms(hit)}"
            if ex.weight:
                parts.append((-ex.weight, f"{label} {-ex.weight:+.1f}"))
            else:
                notes.append(f"{label} ×{len(hit)} masked")

    def present(tid: int) -> tuple[list[_Match], list[_Match]]:
        return (
            _unmasked(title.get(tid, _NONE), masked_title),
            _unmasked(body.get(tid, _NONE), masked_body),
        )

    terms, weights = compiled.terms, ct.terms
    sc = compiled.scoring
    title_weight, repeat, max_count = sc.title_weight, sc.repeat, sc.max_count
    for tid in sorted(found & ct.term_set):
        in_title = title.get(tid, _NONE)
        in_body = body.get(tid, _NONE)
        if masked_title or masked_body:
            in_title = _unmasked(in_title, masked_title)
            in_body = _unmasked(in_body, masked_body)
            if not in_title and not in_body:
                continue
        weight = weights[tid]
        value = weight * title_weight if in_title else 0.0
        if in_body:
            value += weight * (1 + repeat * (min(len(in_body), max_count) - 1))
        both = in_title + in_body
        shown = both[0][2] if len(both) == 1 else _forms(both)
        where = _where(len(in_title), len(in_body))
        term = terms[tid]
        rule = "" if term.source == shown else term.note
        parts.append((value, f"{shown} ({where}) {value:+.1f}{rule}"))
    for combo in ct.combinations:
        for group_set in combo.sets:
            if group_set.isdisjoint(found):
                break
        else:
            _combination(combo, found, present, parts)
    for near in ct.near:
        if near.a_set.isdisjoint(found) or near.b_set.isdisjoint(found):
            continue
        a_hits = [present(tid) for tid in sorted(near.a_set & found)]
        b_hits = [present(tid) for tid in sorted(near.b_set & found)]
        for f_i in (0, 1):
            a = [m for got in a_hits for m in got[f_i]]
            b = [m for got in b_hits for m in got[f_i]] if a else []
            pair = _near_ok(a, b, near.within) if b else None
            if pair:
                desc = f"near({near.name}): {pair[0]} … {pair[1]} {near.weight:+.1f}"
                parts.append((near.weight, desc))
                break
    if not parts:
        return TopicScore(topic.key, 0.0, topic.threshold, (), topic.threshold <= 0.0)
    score = sum([value for value, _ in parts])
    prior = compiled.priors.get(source, {}).get(topic.key) if source else None
    if prior and score > 0:
        parts.append((prior, f"prior({source}) {prior:+.1f}"))
        score += prior
    score = round(score, 6)
    if score == 0 or not math.isfinite(score):
        return TopicScore(topic.key, 0.0, topic.threshold, (), topic.threshold <= 0.0)
    parts.sort(key=lambda p: -abs(p[0]))
    out = tuple([label for _, label in parts] + notes)
    return TopicScore(topic.key, score, topic.threshold, out, score >= topic.threshold)


def explain(scores: Sequence[TopicScore]) -> str:
    """A readable account of `classify`'s answer: one block per topic, best score first."""
    lines: list[str] = []
    for s in sorted(scores, key=lambda s: (-s.assigned, -s.score)):
        mark = "assigned" if s.assigned else ("near miss" if s.score > 0 else "")
        lines.append(f"{s.topic}  {s.score:.1f} / {s.threshold:g}  {mark}".rstrip())
        lines.extend(f"    {term}" for term in s.terms)
    return "\n".join(lines)


def classify(
    title: str, text: str, topics: Topics, *, source: str | None = None
) -> list[TopicScore]:
    """Score one item for every topic (assigned or not), in the order of the rules file."""
    compiled = topics._compiled
    in_title = _Field(title or "", compiled).found
    in_body = _Field(text or "", compiled).found
    found = {*in_title, *in_body}
    return [_score_topic(ct, in_title, in_body, found, compiled, source) for ct in compiled.topics]


# ---------------------------------------------------------------------------------------------
# Evaluation


@dataclass(frozen=True, slots=True)
class TopicEval:
    """Precision, recall and F1 of one topic over a labelled set."""

    precision: float
    recall: float
    f1: float
    support: int  # items labelled with the topic
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def to_json(self) -> dict[str, float | int]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "support": self.support,
        }


@dataclass(frozen=True, slots=True)
class EvalMiss:
    """One wrong decision: a false positive or false negative for one topic."""

    index: int  # line/record number, from 1
    id: str | None
    title: str
    topic: str
    kind: Literal["false positive", "false negative"]
    score: float
    threshold: float
    terms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EvalReport:
    """The result of `evaluate`: per-topic figures, macro-F1 and the wrong decisions."""

    n: int
    macro_f1: float
    topics: Mapping[str, TopicEval]
    misses: tuple[EvalMiss, ...] = ()
    version: str = ""

    def to_json(self) -> dict[str, Any]:
        """``{"n", "macro_f1", "topics": {key: {precision, recall, f1, support}}}``."""
        return {
            "n": self.n,
            "macro_f1": self.macro_f1,
            "topics": {k: v.to_json() for k, v in self.topics.items()},
        }

    def format_table(self) -> str:
        width = max([len("topic"), *(len(k) for k in self.topics)])
        head = f"{'topic':<{width}}  precision  recall     f1  support   tp   fp   fn"
        lines = [head, "-" * len(head)]
        for key, t in self.topics.items():
            lines.append(
                f"{key:<{width}}  {t.precision:9.3f}  {t.recall:6.3f}  {t.f1:5.3f}"
                f"  {t.support:7d} {t.tp:4d} {t.fp:4d} {t.fn:4d}"
            )
        lines.append("-" * len(head))
        lines.append(f"{'macro-F1':<{width}}  {self.macro_f1:.3f}   (n = {self.n})")
        return "\n".join(lines)

    def format_misses(self, max_terms: int = 6) -> str:
        lines: list[str] = []
        for kind in ("false positive", "false negative"):
            rows = [m for m in self.misses if m.kind == kind]
            lines.append(f"{kind}s: {len(rows)}")
            for m in rows:
                ident = m.id or f"#{m.index}"
                title = m.title if len(m.title) <= 80 else m.title[:79] + "…"
                lines.append(
                    f"  {m.topic}  {ident}  score {m.score:.1f} / {m.threshold:g}  {title}"
                )
                for term in m.terms[:max_terms]:
                    lines.append(f"      {term}")
                if len(m.terms) > max_terms:
                    lines.append(f"      … {len(m.terms) - max_terms} more")
        return "\n".join(lines)


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def evaluate(records: Iterable[Mapping[str, Any]], topics: Topics) -> EvalReport:
    """Classify labelled records (title, text, labels; optional id, source) and score the rules.

    Labels that name no topic of `topics` are ignored. Macro-F1 averages the topics that occur in
    the labels or the predictions; a topic with neither is reported with zeros and left out.
    """
    counts = {k: [0, 0, 0] for k in topics.keys}  # tp, fp, fn
    misses: list[EvalMiss] = []
    n = 0
    for n, rec in enumerate(records, start=1):
        title = str(rec.get("title") or "")
        text = str(rec.get("text") or rec.get("summary") or "")
        gold = {str(x) for x in (rec.get("labels") or ())}
        source = rec.get("source")
        scores = classify(title, text, topics, source=source if isinstance(source, str) else None)
        for s in scores:
            c = counts[s.topic]
            labelled = s.topic in gold
            if s.assigned and labelled:
                c[0] += 1
            elif s.assigned or labelled:
                c[1 if s.assigned else 2] += 1
                kind: Literal["false positive", "false negative"] = (
                    "false positive" if s.assigned else "false negative"
                )
                rid = rec.get("id")
                misses.append(
                    EvalMiss(
                        n,
                        str(rid) if rid is not None else None,
                        title,
                        s.topic,
                        kind,
                        s.score,
                        s.threshold,
                        s.terms,
                    )
                )
    per: dict[str, TopicEval] = {}
    f1s: list[float] = []
    for key, (tp, fp, fn) in counts.items():
        p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        f1 = _ratio(2 * tp, 2 * tp + fp + fn)
        per[key] = TopicEval(round(p, 4), round(r, 4), round(f1, 4), tp + fn, tp, fp, fn)
        if tp + fp + fn:
            f1s.append(f1)
    macro = round(sum(f1s) / len(f1s), 4) if f1s else 0.0
    return EvalReport(n, macro, per, tuple(misses), topics.version)


_DEFAULT_TOPICS: Topics | None = None


def classify_text(title: str, text: str, *, lang: str | None = None) -> dict[str, TopicScore]:
    """Score a text against the topics shipped with feedwatch: {topic: TopicScore}.

    Each TopicScore says whether the topic is assigned, its score and threshold, and the terms
    that produced it (``explain([...])`` words it). ``lang`` is accepted for the stable API; the
    rules detect Dutch and English by themselves.
    """
    global _DEFAULT_TOPICS
    if _DEFAULT_TOPICS is None:
        _DEFAULT_TOPICS = load_topics()
    return {s.topic: s for s in classify(title, text, _DEFAULT_TOPICS)}
