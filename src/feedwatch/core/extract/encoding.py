"""Which encoding a response's bytes are in, decided as a browser would; pure.

HTML (listings, article pages): a byte-order mark wins; then the Content-Type charset and the
page's own ``<meta charset>``; when they disagree, or one of them does not fit the bytes, the
bytes decide (valid multi-byte UTF-8 is UTF-8, whatever a header says: a server's default
"ISO-8859-1" over a UTF-8 page is the common case). Labels are read as browsers read them:
latin-1, iso-8859-1 and ascii mean windows-1252, a ``<meta>`` that says UTF-16 means UTF-8.
A label no codec knows (``x-foo``) is ignored. Only two encodings reach lxml by name (utf-8,
windows-1252): any other is decoded here, so an odd codec name (euc_kr, iso-2022-jp,
macintosh, ks_c_5601-1987) can never raise LookupError inside lxml.

XML (sitemaps) has its own declaration; ``xml_encoding`` only overrides it when it does not
fit the bytes or names no known codec.
"""

from __future__ import annotations

import codecs
import re

__all__ = [
    "LXML_SAFE",
    "codec_label",
    "decide_encoding",
    "decode_lenient",
    "xml_encoding",
]

# The encodings handed to lxml by name; every other one is decoded in Python first.
LXML_SAFE = frozenset({"utf-8", "windows-1252"})
_WINDOWS_1252 = frozenset({"latin-1", "iso8859-1", "ascii", "cp1252"})
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([^"']{1,40})["']""")


def codec_label(name: str | None) -> str | None:
    """The codec a charset label means to a browser, or None when no codec knows it."""
    if not name:
        return None
    try:
        codec = codecs.lookup(name.strip().strip("\"'").strip())
    except (LookupError, ValueError, TypeError):
        return None
    label = codec.name
    if label in _WINDOWS_1252:
        return "windows-1252"
    if label in ("utf-8", "utf-8-sig"):
        return "utf-8"
    return label


def _decodes(body: bytes, label: str) -> bool:
    try:
        codecs.decode(body, "cp1252" if label == "windows-1252" else label)
    except (UnicodeDecodeError, LookupError, ValueError):
        return False
    return True


def _bom(body: bytes) -> str | None:
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if body.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le"
    if body.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be"
    return None


def decide_encoding(body: bytes, header: str | None, declared: str | None) -> str:
    """The encoding of an HTML body from its BOM, HTTP charset (``header``) and ``<meta>``."""
    bom = _bom(body)
    if bom is not None:
        return bom
    meta = codec_label(declared)
    if meta is not None and meta.startswith(("utf-16", "utf-32")):
        meta = "utf-8"  # a page read as bytes cannot be UTF-16 (HTML's own rule)
    candidates = [c for c in (codec_label(header), meta) if c is not None]
    utf8 = _decodes(body, "utf-8")
    if utf8 and ("utf-8" in candidates or not body.isascii()):
        return "utf-8"  # a label of a single-byte codec over valid multi-byte UTF-8 is wrong
    for label in candidates:
        if label != "utf-8" and _decodes(body, label):
            return label
    legacy = [c for c in candidates if c != "utf-8"]
    if legacy:
        return legacy[0]  # decoded with replacement characters where bytes do not fit
    return "utf-8" if utf8 else "windows-1252"


def decode_lenient(body: bytes, label: str) -> str:
    """``body`` decoded with ``label``; bytes that do not fit become U+FFFD."""
    python_name = "cp1252" if label == "windows-1252" else label
    try:
        return codecs.decode(body, python_name, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def xml_encoding(body: bytes) -> str | None:
    """An encoding to override an XML document's declaration with, or None to keep it.

    None when the declaration (or its absence: UTF-8) fits the bytes. Valid multi-byte UTF-8
    is UTF-8 whatever the declaration says; bytes that fit nothing are read as windows-1252.
    """
    if _bom(body) is not None:
        return None
    m = _XML_DECL.match(body[:300])
    declared = codec_label(m.group(1).decode("ascii", "replace")) if m else "utf-8"
    utf8 = _decodes(body, "utf-8")
    if utf8 and (declared == "utf-8" or not body.isascii()):
        return None if declared == "utf-8" else "utf-8"
    fits = declared is not None and _decodes(body, declared)
    if fits and declared != "utf-8":
        return None  # a legacy declaration that fits: libxml2 reads it (or says it cannot)
    return "utf-8" if utf8 else "windows-1252"
