"""Recognised references in source text made links to their official pages, all else inert. Pure.

`linkify_md` and `linkify_html` take text from a source (a title, a summary) and return it as
one line of Markdown or HTML in which every reference that core.entities recognises (Kamerstuk,
ECLI, Staatscourant, Staatsblad, BWBR, CELEX) links to its official page, and everything else is
escaped: nothing from a source becomes live markup. The link targets are built by feedwatch from
the validated reference, never taken from the source.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote

from feedwatch.core.entities import find_matches

__all__ = ["linkify_html", "linkify_md", "plain_line"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_SPACE = re.compile(r"\s+")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]()<>#|!~&{}$])")


def plain_line(text: str | None) -> str:
    """Control characters and line breaks become spaces; runs of space collapse (as
    core.digest.one_line)."""
    if not text:
        return ""
    return _SPACE.sub(" ", _CONTROL.sub(" ", text)).strip()


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


_ORDERED = re.compile(r"^(\d{1,9})([.)])")


def _md_line_start(text: str) -> str:
    """No list item, thematic break or heading underline at the start of the line."""
    if text[:1] in ("-", "+", "="):
        return "\\" + text
    return _ORDERED.sub(r"\1\\\2", text, count=1)


def _md_url(url: str) -> str:
    return quote(url, safe="/:?#@!$&'*+,;=%-._~")


def linkify_md(text: str | None) -> str:
    """`text` as one inert Markdown line with every recognised reference a link."""
    line = plain_line(text)
    out: list[str] = []
    pos = 0
    for m in find_matches(line):
        out.append(_md(line[pos : m.start]))
        out.append(f"[{_md(line[m.start : m.end])}]({_md_url(m.url)})")
        pos = m.end
    out.append(_md(line[pos:]))
    return _md_line_start("".join(out))


def linkify_html(text: str | None) -> str:
    """`text` as one line of escaped HTML with every recognised reference an <a> element."""
    line = plain_line(text)
    out: list[str] = []
    pos = 0
    for m in find_matches(line):
        out.append(html.escape(line[pos : m.start]))
        out.append(
            f'<a href="{html.escape(m.url, quote=True)}">{html.escape(line[m.start : m.end])}</a>'
        )
        pos = m.end
    out.append(html.escape(line[pos:]))
    return "".join(out)
