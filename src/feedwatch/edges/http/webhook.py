"""Webhook delivery: a signed JSON POST, through the fetcher's address policy.

Body ``{"monitor", "monitors", "delivery", "items": [...]}``; headers ``Idempotency-Key`` (the
delivery id: the same on every retry, so a receiver can drop a repeat) and, with a secret,
``X-Feedwatch-Signature: sha256=HEX`` (HMAC-SHA256 of the exact body bytes). Redirects are not
followed; any answer but 2xx is a failure.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import httpx

from feedwatch import __version__
from feedwatch.edges.http.netpolicy import (
    AddressPolicy,
    AddressRefusedError,
    NameResolutionError,
    PolicyTransport,
)
from feedwatch.edges.notify import ChannelError

USER_AGENT = f"feedwatch/{__version__} (monitor webhook)"
TIMEOUT = httpx.Timeout(10.0, connect=10.0)
DEADLINE = 30.0  # seconds for the whole exchange


def body_bytes(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


async def _post(url: str, body: bytes, headers: dict[str, str], policy: AddressPolicy) -> int:
    transport = PolicyTransport(policy)
    async with httpx.AsyncClient(
        transport=transport, timeout=TIMEOUT, follow_redirects=False, trust_env=False
    ) as client:
        response = await asyncio.wait_for(
            client.post(url, content=body, headers=headers), timeout=DEADLINE
        )
        return response.status_code


def post_webhook(
    url: str,
    payload: Mapping[str, Any],
    *,
    delivery_id: int,
    policy: AddressPolicy,
    secret: str | None = None,
) -> int:
    """POST the payload; returns the HTTP status (2xx) or raises ChannelError."""
    body = body_bytes(payload)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "Idempotency-Key": str(delivery_id),
    }
    if secret:
        headers["X-Feedwatch-Signature"] = signature(secret, body)
    try:
        status = asyncio.run(_post(url, body, headers, policy))
    except (AddressRefusedError, NameResolutionError) as exc:
        raise ChannelError(f"webhook {url}: {exc}") from exc
    except (httpx.HTTPError, OSError, TimeoutError) as exc:
        raise ChannelError(f"webhook {url}: {type(exc).__name__}: {exc}") from exc
    if not 200 <= status < 300:
        raise ChannelError(f"webhook {url}: HTTP {status}")
    return status
