"""Extraction: response bytes -> RawItems; dispatch on the kind of source."""
