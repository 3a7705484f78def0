"""The one hardened lxml XML parser of feedwatch (feeds' fast path, sitemaps). Pure.

No network, no DTD loading or validation, no entity expansion (an entity reference stays an
unexpanded reference, so "billion laughs" and external entities do nothing), no huge trees,
comments and processing instructions dropped. lxml always gets bytes, never a file name or URL.
"""

from __future__ import annotations

import importlib
from typing import Any

etree: Any = importlib.import_module("lxml.etree")  # lxml ships no type hints

__all__ = ["etree", "safe_xml_parser"]


def safe_xml_parser(*, encoding: str | None = None) -> Any:
    """A new hardened ``lxml.etree.XMLParser`` (not thread-safe: one per call or per thread).

    ``encoding`` overrides the document's own declaration (the caller has checked the bytes).
    """
    return etree.XMLParser(
        encoding=encoding,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        recover=False,
    )
