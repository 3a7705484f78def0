"""RawItem -> Item: canonical URL, stable id, plain text, UTC dates with provenance. Pure, no I/O."""

from __future__ import annotations

import contextlib
import hashlib
import html
import re
import unicodedata
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

from feedwatch.core.extract.dates import MAX_AHEAD, MIN_DATE
from feedwatch.textsafe import is_http_url
from feedwatch.types import DateSource, Item, RawItem

MAX_TITLE = 300
MAX_SUMMARY = 20_000
FUTURE_SLACK = MAX_AHEAD  # the plausibility bounds live in extract.dates, one set for all

# Query parameters that only track the reader; removed from canonical URLs.
_TRACKING_PREFIXES = ("utm_", "mtm_", "pk_", "piwik_", "matomo_", "hsa_", "_hs")
_TRACKING_NAMES = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "yclid",
        "igshid",
        "_ga",
        "_gl",
        "ref_src",
        "ref_url",
        "cmpid",
        "at_medium",
        "at_campaign",
        "at_custom1",
        "at_custom2",
        "at_custom3",
        "at_custom4",
        "xtor",
        "ns_mchannel",
        "ns_source",
        "ns_campaign",
        "ns_linkname",
        "ns_fee",
        "oly_anon_id",
        "oly_enc_id",
        "vero_conv",
        "vero_id",
        "wt_mc",
        "s_cid",
        "rss",
        "ito",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200e\u200f\u2028\u2029\ufeff]")
_BLOCK_TAGS = re.compile(
    r"<\s*(?:br|/p|/div|/li|/h[1-6]|/tr|/blockquote|/section|/article)\b[^>]*>", re.I
)
_DROP_ELEMENTS = re.compile(
    r"<\s*(script|style|template|noscript|iframe|object|svg|math)\b.*?<\s*/\s*\1\s*>", re.I | re.S
)
_TAG_RE = re.compile(r"<[^>]*>")
_COMMENT_RE = re.compile(r"<!--.*?-->", re.S)


# An absolute URL that is canonical as it stands: lower-case http(s) scheme and host name,
# no port, user, query, fragment, percent-escape or ";" (urljoin drops an empty parameter),
# only characters the path keeps as they are.
_PLAIN_URL = re.compile(
    r"https?://[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*"
    r"(/[A-Za-z0-9/:@!$&'()*+,=~._-]*)?"
)


def canonical_url(url: str, base: str | None = None) -> str:
    """A canonical form of an http(s) URL: lower-case scheme and host, no default port, no
    fragment, tracking parameters removed, remaining query kept in its order, path
    percent-encoding normalised. Idempotent. Raises ValueError for a non-http(s) URL."""
    url = _CONTROL_RE.sub("", url).strip()
    plain = _PLAIN_URL.fullmatch(url)
    if plain is not None:  # most item links: the answer of _canonical(), without the work
        return url if plain.group(1) else url + "/"
    return _canonical(url, base)


def _canonical(url: str, base: str | None) -> str:
    if base:
        url = urljoin(base, url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    host = parts.hostname.lower().rstrip(".")
    if not host.isascii():
        with contextlib.suppress(UnicodeError):
            host = host.encode("idna").decode("ascii")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = quote(unquote(parts.path), safe="/:@!$&'()*+,;=~%-._") or "/"
    query_pairs = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    ]
    query = urlencode(query_pairs, doseq=True, safe="/:@!$'()*,;~-._")
    return urlunsplit((scheme, netloc, path, query, ""))


def _is_tracking(name: str) -> bool:
    lower = name.lower()
    return lower in _TRACKING_NAMES or lower.startswith(_TRACKING_PREFIXES)


def plain_text(value: str | None, limit: int | None = None) -> str:
    """HTML or text -> one line of plain text: tags dropped (script/style with their content),
    entities decoded, control characters removed, whitespace collapsed, cut at `limit`."""
    if not value:
        return ""
    text = value
    if "<" in text:
        text = _COMMENT_RE.sub(" ", text)
        text = _DROP_ELEMENTS.sub(" ", text)
        text = _BLOCK_TAGS.sub(" ", text)
        text = _TAG_RE.sub("", text)
    text = html.unescape(text)
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL_RE.sub("", text)
    text = " ".join(text.split())  # str.split() and re's \s agree on what is whitespace
    if limit is not None and len(text) > limit:
        cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
        text = cut.rstrip(" ,;:-") + "…"
    return text


def check_date(value: datetime | None, now: datetime) -> datetime | None:
    """Keep a date only if it is aware, after 1995 and at most a day ahead of `now`; in UTC."""
    if value is None or value.tzinfo is None:
        return None
    try:
        value = value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    if value < MIN_DATE or value > now + FUTURE_SLACK:
        return None
    return value


def content_hash(title: str, summary: str, url: str) -> str:
    """What 'changed' means: title, summary and URL, not the feed's volatile fields."""
    h = hashlib.sha256()
    for part in (title, summary, url):
        h.update(part.encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()[:32]


def item_id(
    source: str, guid: str | None, url: str | None, title: str, published: datetime | None
) -> str:
    """Stable identity: the source plus a guid, else the canonical URL, else title + date."""
    if guid:
        basis = f"guid\x1f{guid}"
    elif url:
        basis = f"url\x1f{url}"
    else:
        stamp = published.isoformat() if published else ""
        basis = f"title\x1f{title}\x1f{stamp}"
    digest = hashlib.sha256(f"{source}\x1f{basis}".encode()).hexdigest()
    return digest[:20]


def normalise(
    source: str, raw: RawItem, fetched_at: datetime, *, base_url: str | None = None
) -> Item | None:
    """RawItem -> Item, or None when the item has no usable link, title or summary."""
    title = plain_text(raw.title, MAX_TITLE)
    summary = plain_text(raw.summary, MAX_SUMMARY)
    url = ""
    if raw.link:
        try:
            candidate = canonical_url(raw.link, base_url)
        except ValueError:
            candidate = ""
        url = candidate
    if not url and not title and not summary:
        return None
    if not title:  # RSS 0.9x/2.0 allow an item with only a description: it names the item
        title = plain_text(summary, 120) if summary else url
    guid = _CONTROL_RE.sub("", raw.guid).strip() if raw.guid else None
    if guid and is_http_url(guid):
        with contextlib.suppress(ValueError):
            guid = canonical_url(guid)
    published = check_date(raw.published, fetched_at)
    updated = check_date(raw.updated, fetched_at)
    date_source: DateSource = raw.date_source or "feed"
    if published is None and updated is not None:
        published = updated
    if published is None:
        date_source = "first-seen"
    author = plain_text(raw.author, 200) or None
    lang = (raw.lang or "").strip().lower().replace("_", "-").split("-")[0] or None
    if lang and not lang.isalpha():
        lang = None
    return Item(
        id=item_id(source, guid, url or None, title, published),
        source=source,
        url=url,
        title=title,
        summary=summary,
        published=published,
        date_source=date_source,
        first_seen=fetched_at.astimezone(UTC),
        updated=updated,
        author=author,
        lang=lang,
        guid=guid,
        content_hash=content_hash(title, summary, url),
    )
