"""What search and monitors show: highlighted snippets, why an item matched, and the texts of a
monitor message (plain text, Markdown, HTML, webhook JSON). Pure; nothing from a source becomes
live markup: Markdown is escaped, HTML is escaped, plain text has no control characters.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from feedwatch.core.export import ExportRow, iso
from feedwatch.core.search.cadence import AMSTERDAM
from feedwatch.core.search.query import (
    Node,
    Term,
    positive_filters,
    positive_terms,
    term_matches,
)
from feedwatch.core.search.text import query_stems, stem, word_spans, words
from feedwatch.textsafe import md_escape, md_url, one_line, safe_url

__all__ = [
    "MessageItem",
    "matched_terms",
    "render_html",
    "render_markdown",
    "render_text",
    "snippet",
    "webhook_payload",
]

MARK = ("«", "»")


def _lang(lang: str | None) -> str:
    return "en" if (lang or "").lower().startswith("en") else "nl"


def _hit(word: str, terms: Sequence[Term], lang: str) -> bool:
    for t in terms:
        if t.kind == "word" and stem(word, lang) in {s for w in t.words for s in query_stems(w)}:
            return True
        if t.kind == "phrase" and word in t.words:
            return True
        if t.kind == "prefix" and (word in t.words[:-1] or word.startswith(t.words[-1])):
            return True
    return False


def snippet(title: str, summary: str, node: Node | None, lang: str | None, width: int = 160) -> str:
    """A one-line piece of the summary around the first match, matches between « and »; the
    start of the summary (or the title) when the match is only in the title."""
    text = one_line(summary) or one_line(title)
    if not text:
        return ""
    terms = positive_terms(node) if node is not None else []
    language = _lang(lang)
    spans = [(a, b) for a, b, w in word_spans(text) if terms and _hit(w, terms, language)]
    start = 0
    if spans:
        start = max(0, spans[0][0] - width // 3)
        while start > 0 and not text[start - 1].isspace():
            start -= 1
    end = min(len(text), start + width)
    while end < len(text) and not text[end - 1].isspace() and end - start < width + 20:
        end += 1
    out: list[str] = []
    pos = start
    for a, b in spans:
        if a < start or b > end:
            continue
        out.append(text[pos:a])
        out.append(MARK[0] + text[a:b] + MARK[1])
        pos = b
    out.append(text[pos:end])
    return ("…" if start > 0 else "") + "".join(out).strip() + ("…" if end < len(text) else "")


def matched_terms(
    title: str,
    summary: str,
    lang: str | None,
    item_topics: Sequence[str],
    query: Node | None,
    topics: Sequence[str],
    source: str = "",
) -> list[str]:
    """The query terms found in the item and the monitor's topics it has."""
    out: list[str] = []
    if query is not None:
        tw, bw, language = words(title), words(summary), _lang(lang)
        for t in positive_terms(query):
            label = t.text if t.field is None else f"title:{t.text}"
            if label not in out and term_matches(t, tw, bw, language):
                out.append(label)
        for f in positive_filters(query):
            held = f.value in item_topics if f.field == "topic" else f.value == source
            label = f"{f.field}:{f.value}"
            if held and label not in out:
                out.append(label)
    out.extend(f"topic:{t}" for t in topics if t in item_topics and f"topic:{t}" not in out)
    return out


@dataclass(frozen=True, slots=True)
class MessageItem:
    """One item in a monitor message: the row, the monitors it is here for, and why."""

    row: ExportRow
    monitors: tuple[str, ...]
    matched: tuple[str, ...] = ()


def _when(value: datetime | None) -> str:
    return value.astimezone(AMSTERDAM).strftime("%Y-%m-%d %H:%M") if value else ""


def _plain(text: str | None) -> str:
    """One line of plain text that no chat or mail client turns into markup or a link."""
    return one_line(text).replace("<", "‹").replace(">", "›").replace("[", "(").replace("]", ")")


def render_text(items: Sequence[MessageItem], names: Mapping[str, str] | None = None) -> str:
    names = names or {}
    lines: list[str] = []
    for m in items:
        it = m.row.item
        lines.append(f"• {_plain(it.title)}")
        lines.append(
            f"  {_plain(names.get(it.source, it.source))} · {_when(it.published or it.first_seen)}"
        )
        url = safe_url(it.url)
        if url:
            lines.append(f"  {url}")
        why = ", ".join(m.matched)
        lines.append(f"  ({', '.join(m.monitors)}{': ' + _plain(why) if why else ''})")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render_markdown(
    heading: str, items: Sequence[MessageItem], names: Mapping[str, str] | None = None
) -> str:
    names = names or {}
    out = [f"# {md_escape(heading)}", ""]
    for m in items:
        it = m.row.item
        url = safe_url(it.url)
        title = md_escape(it.title) or "(zonder titel)"
        link = f"[{title}]({md_url(url)})" if url else title
        source = md_escape(names.get(it.source, it.source))
        why = md_escape(", ".join(m.matched))
        out.append(f"- {link} — {source}, {_when(it.published or it.first_seen)}")
        out.append(f"  *{md_escape(', '.join(m.monitors))}{': ' + why if why else ''}*")
    return "\n".join(out) + "\n"


def render_html(
    heading: str, items: Sequence[MessageItem], names: Mapping[str, str] | None = None
) -> str:
    names = names or {}
    esc = html.escape
    parts = [f"<h1>{esc(one_line(heading))}</h1>", "<ul>"]
    for m in items:
        it = m.row.item
        url = safe_url(it.url)
        title = esc(one_line(it.title))
        link = f'<a href="{esc(url)}">{title}</a>' if url else title
        parts.append(
            f"<li>{link} — {esc(one_line(names.get(it.source, it.source)))}, "
            f"{esc(_when(it.published or it.first_seen))}<br>"
            f"<small>{esc(', '.join(m.monitors))}: {esc(one_line(', '.join(m.matched)))}</small></li>"
        )
    parts.append("</ul>")
    return "<!doctype html><html><body>" + "".join(parts) + "</body></html>"


def webhook_payload(delivery_id: int, items: Sequence[MessageItem]) -> dict[str, Any]:
    """The webhook body of INTERFACE.md, plus every monitor of the message and of each item."""
    monitors = sorted({n for m in items for n in m.monitors})
    return {
        "monitor": monitors[0] if len(monitors) == 1 else ",".join(monitors),
        "monitors": monitors,
        "delivery": delivery_id,
        "items": [
            {
                "id": m.row.item.id,
                "url": safe_url(m.row.item.url),
                "title": one_line(m.row.item.title),
                "summary": one_line(m.row.item.summary),
                "published": iso(m.row.item.published),
                "source": m.row.item.source,
                "topics": list(m.row.topics),
                "matched": list(m.matched),
                "monitors": list(m.monitors),
            }
            for m in items
        ],
    }
