"""Compiled topic rules x a title and text -> per-topic scores with the terms that produced them.

Pure. `classify` is the rule layer: one pass over the words of each field, a few set look-ups per
matched word, and per topic the sum of what its terms, combinations and near rules add (see the
rule language at the top of ``feedwatch/data/topics.yaml``). `rule_signals` adds what the learned
layer (`feedwatch.core.classify.model`) weighs beside the scores: where a topic's words sit
(title, lead) and how much of the text they cover, so that a main subject can outweigh another
topic's passing mentions.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import compress
from typing import NamedTuple

from feedwatch.core.classify.compile import (
    Topics,
    _Alt,
    _Combination,
    _Compiled,
    _CTopic,
)
from feedwatch.core.textnorm import Tokenized, lemma, tokenize
from feedwatch.types import TopicScore

__all__ = ["SIGNALS", "Scored", "classify", "explain", "rule_signals", "score_fields"]

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


class Scored(NamedTuple):
    """The rule layer's answer for one item, with what the learned layer reads beside it."""

    scores: list[TopicScore]  # per topic, in the order of the rules file
    title_words: tuple[str, ...]  # the words of the title, then "§" + each rule term found
    body_words: tuple[str, ...]  # likewise for the body
    signals: list[tuple[float, ...]]  # per topic: see `rule_signals`


def classify(
    title: str, text: str, topics: Topics, *, source: str | None = None
) -> list[TopicScore]:
    """Score one item for every topic (assigned or not), in the order of the rules file."""
    compiled = topics._compiled
    in_title = _Field(title or "", compiled).found
    in_body = _Field(text or "", compiled).found
    found = {*in_title, *in_body}
    return [_score_topic(ct, in_title, in_body, found, compiled, source) for ct in compiled.topics]


def score_fields(title: str, text: str, topics: Topics, *, source: str | None = None) -> Scored:
    """`classify`, plus the words of each field and the rule signals of each topic."""
    compiled = topics._compiled
    title_field = _Field(title or "", compiled)
    body_field = _Field(text or "", compiled)
    in_title, in_body = title_field.found, body_field.found
    found = {*in_title, *in_body}
    scores = [
        _score_topic(ct, in_title, in_body, found, compiled, source) for ct in compiled.topics
    ]
    n_body = len(body_field.tok.words)
    signals = [
        _NO_SIGNALS
        if ct.term_set.isdisjoint(found)
        else rule_signals(ct, in_title, in_body, n_body)
        for ct in compiled.topics
    ]
    # the rule terms found count as words too: "§" + the term as written (no word holds a "§")
    marks = _term_marks(compiled)
    title_words = title_field.tok.words + tuple(map(marks.__getitem__, in_title))
    body_words = body_field.tok.words + tuple(map(marks.__getitem__, in_body))
    return Scored(scores, title_words, body_words, signals)


@lru_cache(maxsize=8)
def _term_marks(compiled: _Compiled) -> tuple[str, ...]:
    """Per term id its word feature: TERM_MARK + the term as written."""
    return tuple(TERM_MARK + term.source for term in compiled.terms)


TERM_MARK = "§"  # a rule term found, as a word feature of the learned layer: "§azc*|asielzoek…"

# The signals of `rule_signals`, in order (the learned layer names its features after them)
SIGNALS = ("title", "lead", "cover", "terms")
_NO_SIGNALS = (0.0, 0.0, 0.0, 0.0)
LEAD_WORDS = 40  # the lead: the first this many words of the body
BLOCK_WORDS = 25  # coverage counts the blocks of this many words that hold a topic's terms


def rule_signals(
    ct: _CTopic, title: dict[int, list[_Match]], body: dict[int, list[_Match]], n_body: int
) -> tuple[float, ...]:
    """Where a topic's positive terms sit: (weight found in the title, weight found in the lead,
    share of the body's blocks that hold one, number of distinct terms). A main subject shows in
    the title, the lead and throughout; a passing mention in one spot."""
    title_w = lead_w = 0.0
    blocks: set[int] = set()
    distinct = 0
    weights = ct.terms
    for tid in ct.term_set.intersection(title.keys() | body.keys()):
        weight = weights[tid]
        if weight <= 0:
            continue
        in_title = tid in title
        in_body = body.get(tid)
        if not in_title and not in_body:
            continue
        distinct += 1
        if in_title:
            title_w += weight
        if in_body:
            if in_body[0][0] < LEAD_WORDS:
                lead_w += weight
            blocks.update(m[0] // BLOCK_WORDS for m in in_body)
    n_blocks = max(1, -(-n_body // BLOCK_WORDS))
    return (title_w, lead_w, min(1.0, len(blocks) / n_blocks), float(distinct))
