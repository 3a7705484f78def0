"""The search language: parse a query into a tree, and compile it to SQLite FTS5 and PostgreSQL.

Pure (no I/O). The language::

    asielzoeker azc          every word must match (in title or text; stemmed)
    spreidingswet OR "spreiding van asielzoekers"
    -veilige   NOT veilige   without this word
    (ter apel) OR budel      parentheses group
    "exact phrase"           these words in this order (folded, not stemmed)
    asielzoek*               a word starting with this
    title:azc  title:"ter apel"  title:opvang*   only in the title
    source:coa-nieuws  topic:veiligelanders      filters on the item's source and topics

`OR`, `AND` and `NOT` are operators only in capitals. A malformed query raises `QueryError`
with the 1-based position of the problem. Compilation is to the text of an FTS5 MATCH
expression (columns title, body: stems; title_w, body_w: folded words) and of a tsquery over
the weights of `text.tsvector_literal` (A title stems, B body stems, C title words, D body
words); `source:` and `topic:` filters are left to the store, which joins them in SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, TypeAlias

from feedwatch.core.search.text import query_stems, stem, words
from feedwatch.errors import FeedwatchError

__all__ = [
    "And",
    "Filter",
    "Node",
    "Not",
    "Or",
    "QueryError",
    "Term",
    "fts5_ok",
    "is_text",
    "parse_query",
    "query_problem",
    "positive_filters",
    "positive_terms",
    "to_fts5",
    "to_tsquery",
]

MAX_QUERY = 1000  # characters
MAX_DEPTH = 20  # nested parentheses
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]*$")
TEXT_FIELDS = ("title",)
FILTER_FIELDS = ("source", "topic")


class QueryError(FeedwatchError):
    """A search query that cannot be read; says where (1-based character position) and why."""

    def __init__(self, message: str, position: int, query: str = "") -> None:
        self.message = message
        self.position = position
        self.query = query
        super().__init__(f"query position {position}: {message}")


@dataclass(frozen=True, slots=True)
class Term:
    """Words to find: `word` (stemmed; several folded words from one written word form a
    phrase, as in azc-locatie), `phrase` (folded words in order) or `prefix` (the last word
    is a prefix). `field` is None (title or text) or "title"."""

    kind: Literal["word", "phrase", "prefix"]
    words: tuple[str, ...]
    field: Literal["title"] | None = None
    text: str = ""  # as written, for `matched`


@dataclass(frozen=True, slots=True)
class Filter:
    field: Literal["source", "topic"]
    value: str


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


Node: TypeAlias = Term | Filter | Not | And | Or


# ------------------------------------------------------------------------------- lexer


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # ( ) OR AND NOT - WORD PHRASE EOF
    text: str
    pos: int  # 0-based
    field: str | None = None


_BREAK = set(' \t\r\n\f\v()"')


def _lex(q: str) -> list[_Tok]:
    out: list[_Tok] = []
    i, n = 0, len(q)
    while i < n:
        c = q[i]
        if c.isspace():
            i += 1
        elif c in "()":
            out.append(_Tok(c, c, i))
            i += 1
        elif c == '"':
            end = q.find('"', i + 1)
            if end < 0:
                raise QueryError("a quote is opened here and never closed", i + 1, q)
            prefix = end + 1 < n and q[end + 1] == "*"
            out.append(_Tok("PHRASE", q[i + 1 : end] + ("*" if prefix else ""), i))
            i = end + 1 + prefix
        elif (
            c == "-"
            and i + 1 < n
            and q[i + 1] not in _BREAK - {"(", '"'}
            and not q[i + 1].isspace()
        ):
            out.append(_Tok("-", c, i))
            i += 1
        else:
            j = i
            while j < n and q[j] not in _BREAK:
                j += 1
            word = q[i:j]
            field, sep, rest = word.partition(":")
            if sep and field.lower() in TEXT_FIELDS + FILTER_FIELDS:
                if rest:
                    out.append(_Tok("WORD", rest, i + len(field) + 1, field.lower()))
                elif j < n and q[j] == '"':
                    end = q.find('"', j + 1)
                    if end < 0:
                        raise QueryError("a quote is opened here and never closed", j + 1, q)
                    prefix = end + 1 < n and q[end + 1] == "*"
                    text = q[j + 1 : end] + ("*" if prefix else "")
                    out.append(_Tok("PHRASE", text, j, field.lower()))
                    j = end + 1 + prefix
                else:
                    raise QueryError(f"expected a word or a phrase after {field}:", i + 1, q)
            elif word in ("OR", "AND", "NOT"):
                out.append(_Tok(word, word, i))
            else:
                out.append(_Tok("WORD", word, i))
            i = j
    out.append(_Tok("EOF", "", n))
    return out


# ------------------------------------------------------------------------------ parser


class _Parser:
    def __init__(self, q: str) -> None:
        self.q = q
        self.toks = _lex(q)
        self.i = 0
        self.depth = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: _Tok) -> QueryError:
        return QueryError(message, tok.pos + 1, self.q)

    def parse(self) -> Node:
        if self.peek().kind == "EOF":
            raise self.error("the query is empty", self.peek())
        node = self.or_expr()
        tok = self.peek()
        if tok.kind == ")":
            raise self.error("a closing parenthesis without an opening one", tok)
        if tok.kind != "EOF":  # pragma: no cover - or_expr reads until ) or EOF
            raise self.error(f"unexpected {tok.text!r}", tok)
        return node

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while self.peek().kind == "OR":
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_expr(self) -> Node:
        parts = [self.unary()]
        while self.peek().kind not in ("OR", ")", "EOF"):
            if self.peek().kind == "AND":
                self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind in ("-", "NOT"):
            self.take()
            if self.peek().kind in ("-", "NOT"):
                raise self.error("a double negation", self.peek())
            return Not(self.primary())
        return self.primary()

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.error(f"more than {MAX_DEPTH} nested parentheses", tok)
            if self.peek().kind == ")":
                raise self.error("empty parentheses", tok)
            node = self.or_expr()
            close = self.take()
            if close.kind != ")":
                raise self.error("this parenthesis is never closed", tok)
            self.depth -= 1
            return node
        if tok.kind in ("WORD", "PHRASE"):
            return self.term(tok)
        if tok.kind == "EOF":
            raise self.error("the query ends where a word was expected", tok)
        if tok.kind == ")":
            raise self.error("expected a word before ')'", tok)
        raise self.error(f"expected a word before {tok.text}", tok)

    def term(self, tok: _Tok) -> Node:
        raw = tok.text
        if tok.field in FILTER_FIELDS:
            value = raw.strip().lower()
            if tok.kind == "PHRASE" or not _KEY.match(value):
                raise self.error(
                    f"{tok.field}: expects a key of lower-case letters, digits and '-', "
                    f"got {raw!r}",
                    tok,
                )
            return Filter("source" if tok.field == "source" else "topic", value)
        field: Literal["title"] | None = "title" if tok.field == "title" else None
        prefix = raw.endswith("*")
        body = raw.rstrip("*") if prefix else raw
        found = tuple(words(body))
        if not found:
            raise self.error(f"nothing to search for in {raw!r}", tok)
        if "*" in body:
            raise self.error("'*' may only end a word", tok)
        if prefix:
            return Term("prefix", found, field, raw)
        if tok.kind == "PHRASE":
            return Term("phrase", found, field, raw)
        return Term("word", found, field, raw)


def query_problem(query: str) -> str | None:
    """What is wrong with a query, with its position, or None (the config loader's check)."""
    try:
        parse_query(query)
    except QueryError as exc:
        return f"{exc.message} (at character {exc.position})"
    return None


def parse_query(query: str) -> Node:
    """The tree of a query; QueryError (with the position) when it cannot be read."""
    if len(query) > MAX_QUERY:
        raise QueryError(f"the query is longer than {MAX_QUERY} characters", MAX_QUERY + 1, query)
    return _Parser(query).parse()


# ------------------------------------------------------------------------ tree helpers


def is_text(node: Node) -> bool:
    """Only words and phrases (no source:/topic: filter) below this node."""
    if isinstance(node, Term):
        return True
    if isinstance(node, Filter):
        return False
    if isinstance(node, Not):
        return is_text(node.child)
    return all(is_text(c) for c in node.children)


def fts5_ok(node: Node) -> bool:
    """A text node FTS5 can evaluate alone: every NOT stands beside something positive in an
    AND (FTS5's NOT is binary), and there is something positive at all."""
    if isinstance(node, Term):
        return True
    if isinstance(node, Filter | Not):
        return False
    if isinstance(node, Or):
        return all(fts5_ok(c) for c in node.children)
    positive = [c for c in node.children if not isinstance(c, Not)]
    negative = [c.child for c in node.children if isinstance(c, Not)]
    return bool(positive) and all(fts5_ok(c) for c in positive + negative)


def positive_terms(node: Node) -> list[Term]:
    """The terms that can make an item match (not those under a NOT)."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Filter | Not):
        return []
    return [t for c in node.children for t in positive_terms(c)]


def positive_filters(node: Node) -> list[Filter]:
    """The source:/topic: filters that can make an item match (not those under a NOT)."""
    if isinstance(node, Filter):
        return [node]
    if isinstance(node, Term | Not):
        return []
    return [f for c in node.children for f in positive_filters(c)]


def term_matches(term: Term, title_words: list[str], body_words: list[str], lang: str) -> bool:
    """Whether an item's folded words hold `term` (used to report `matched`, not to search)."""
    texts = [title_words] if term.field == "title" else [title_words, body_words]
    for ws in texts:
        if term.kind == "word" and len(term.words) == 1:
            wanted = set(query_stems(term.words[0]))
            if any(stem(w, lang) in wanted for w in ws):
                return True
            continue
        n = len(term.words)
        for i in range(len(ws) - n + 1):
            window = ws[i : i + n]
            if term.kind == "prefix":
                ok = window[:-1] == list(term.words[:-1]) and window[-1].startswith(term.words[-1])
            elif term.kind == "phrase":
                ok = window == list(term.words)
            else:
                ok = all(
                    stem(w, lang) in query_stems(t) for w, t in zip(window, term.words, strict=True)
                )
            if ok:
                return True
    return False


# ------------------------------------------------------------------------------- FTS5


def _fts_quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _fts_term(t: Term) -> str:
    stems_cols = "{title}" if t.field == "title" else "{title body}"
    words_cols = "{title_w}" if t.field == "title" else "{title_w body_w}"
    if t.kind == "word":
        if len(t.words) == 1:
            variants = query_stems(t.words[0])
            inner = " OR ".join(_fts_quote(s) for s in variants)
            return f"{stems_cols} : ({inner})" if len(variants) > 1 else f"{stems_cols} : {inner}"
        phrases = []
        for lang in ("nl", "en"):
            p = _fts_quote(" ".join(stem(w, lang) for w in t.words))
            if p not in phrases:
                phrases.append(p)
        return (
            f"{stems_cols} : ({' OR '.join(phrases)})"
            if len(phrases) > 1
            else f"{stems_cols} : {phrases[0]}"
        )
    phrase = _fts_quote(" ".join(t.words))
    return f"{words_cols} : {phrase}" + (" *" if t.kind == "prefix" else "")


def to_fts5(node: Node) -> str:
    """The FTS5 MATCH expression of a text node for which fts5_ok() holds."""
    if isinstance(node, Term):
        return _fts_term(node)
    if isinstance(node, Filter | Not):
        raise ValueError("not a text node FTS5 can evaluate")
    if isinstance(node, Or):
        return "(" + " OR ".join(to_fts5(c) for c in node.children) + ")"
    positive = [c for c in node.children if not isinstance(c, Not)]
    negative = [c.child for c in node.children if isinstance(c, Not)]
    out = "(" + " AND ".join(to_fts5(c) for c in positive) + ")"
    if negative:
        out = f"({out} NOT ({' OR '.join(to_fts5(c) for c in negative)}))"
    return out


# -------------------------------------------------------------------------- PostgreSQL


def _ts_lexeme(token: str, weights: str, prefix: bool = False) -> str:
    quoted = "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"
    return f"{quoted}:{'*' if prefix else ''}{weights}"


def _ts_term(t: Term) -> str:
    stems_w = "A" if t.field == "title" else "AB"
    words_w = "C" if t.field == "title" else "CD"
    if t.kind == "word":
        if len(t.words) == 1:
            return "(" + " | ".join(_ts_lexeme(s, stems_w) for s in query_stems(t.words[0])) + ")"
        phrases = []
        for lang in ("nl", "en"):
            p = "(" + " <-> ".join(_ts_lexeme(stem(w, lang), stems_w) for w in t.words) + ")"
            if p not in phrases:
                phrases.append(p)
        return "(" + " | ".join(phrases) + ")"
    last = len(t.words) - 1
    parts = [
        _ts_lexeme(w, words_w, prefix=t.kind == "prefix" and i == last)
        for i, w in enumerate(t.words)
    ]
    return "(" + " <-> ".join(parts) + ")"


def to_tsquery(node: Node) -> str:
    """The tsquery (input syntax, for CAST(... AS tsquery)) of a text node."""
    if isinstance(node, Term):
        return _ts_term(node)
    if isinstance(node, Filter):
        raise ValueError("a filter is not text")
    if isinstance(node, Not):
        return f"!{to_tsquery(node.child)}"
    op = " | " if isinstance(node, Or) else " & "
    return "(" + op.join(to_tsquery(c) for c in node.children) + ")"
