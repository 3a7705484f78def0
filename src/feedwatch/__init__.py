"""feedwatch: watch Dutch government and NGO sources on asylum and migration."""

from __future__ import annotations

__version__ = "0.1.0"
PROJECT_URL = "https://github.com/feedwatch/feedwatch"
USER_AGENT = f"feedwatch/{__version__} (+{PROJECT_URL})"
