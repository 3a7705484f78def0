"""feedwatch web: the server-rendered web interface (Starlette, Jinja2, inline SVG charts)."""

from __future__ import annotations

from feedwatch.app.web.app import WebSettings, create_app

__all__ = ["WebSettings", "create_app"]
