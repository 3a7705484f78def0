"""Next-page links of a listing: rel=next, then a "volgende"/"next"/"»" link; pure."""

from __future__ import annotations

import re
from collections.abc import Mapping

from feedwatch.core.extract.page import (
    El,
    absolute_url,
    class_tokens,
    parse_page,
    same_page,
    text_of,
)

__all__ = ["find_next_page"]

_NEXT_TEXT = re.compile(
    r"^(?:volgende(?: pagina)?|next(?: page)?|oudere berichten|older posts|[»›>→]+"
    r"|volgende\s*[»›>→]+|next\s*[»›>→]+)$",
    re.IGNORECASE,
)


def find_next_page(body: bytes, url: str, headers: Mapping[str, str] | None = None) -> str | None:
    """URL of the next page of a listing: rel=next, then a "volgende"/"next"/"»" link."""
    page = parse_page(body, url, headers)
    if page is None:
        return None
    current = url.split("#")[0]
    candidates: list[El] = [
        *page.root.xpath("//link[@href] | //a[@href]"),
    ]
    for el in candidates:
        if "next" in (el.get("rel") or "").lower().split():
            nxt = absolute_url(el.get("href") or "", page.base)
            if nxt and not same_page(nxt, current):
                return nxt
    for el in page.root.iter("a"):
        label = " ".join(
            (text_of(el) or el.get("aria-label") or el.get("title") or "").split()
        ).lower()
        classes = class_tokens(el)
        if (
            _NEXT_TEXT.match(label)
            or label.startswith(("volgende pagina", "ga naar volgende", "next page"))
            or any(c in ("next", "pager-next", "pagination-next", "next-page") for c in classes)
        ):
            nxt = absolute_url(el.get("href") or "", page.base)
            if nxt and not same_page(nxt, current):
                return nxt
    return None
