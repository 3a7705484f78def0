"""Who may read and write: loopback checks, the login token, CSRF values and security headers."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Mapping

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
MAX_FORM = 16 * 1024  # bytes of a form body; ours are a few dozen


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def session_secret(token: str | None) -> str:
    """The key that signs session cookies: derived from the token, so that a new token logs
    everyone out; random per process when there is no token (nobody can log in then)."""
    if not token:
        return secrets.token_hex(32)
    return hmac.new(token.encode(), b"feedwatch web session v1", hashlib.sha256).hexdigest()


def token_matches(given: str, token: str | None) -> bool:
    if not token:
        return False
    return hmac.compare_digest(given.encode(), token.encode())


def csrf_value(request: Request) -> str:
    """This session's CSRF value (created on first use)."""
    value = request.session.get("csrf")
    if not isinstance(value, str) or len(value) < 32:
        value = secrets.token_urlsafe(32)
        request.session["csrf"] = value
    return value


def csrf_ok(request: Request, form: Mapping[str, str]) -> bool:
    expected = request.session.get("csrf")
    given = form.get("csrf", "")
    return isinstance(expected, str) and bool(given) and hmac.compare_digest(given, expected)


def is_authed(request: Request, token: str | None) -> bool:
    """Logged in with the current token (the session holds a fingerprint of it)."""
    if not token:
        return False
    mark = request.session.get("auth")
    return isinstance(mark, str) and hmac.compare_digest(mark, token_mark(token))


def token_mark(token: str) -> str:
    return hashlib.sha256(b"feedwatch web login\0" + token.encode()).hexdigest()[:32]


def safe_next(value: str | None) -> str:
    """A local path to return to after logging in: never another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(c) < 32 for c in value):
        return "/"
    return value


class SecurityHeaders:
    """Adds the security headers to every response, static files and errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _v in headers}
                for name, value in HEADERS.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
