"""Apprise delivery (ntfy, Matrix, Slack, Telegram, ~100 more), after the address policy.

Apprise opens its own connections, so the policy is applied before the URL is handed over:
when the URL names a host, every address it resolves to must be allowed (a monitor cannot
reach an internal address the network section does not allow). URLs whose services have a
fixed public API host (e.g. ``tgram://TOKEN/CHAT``) name no resolvable host; they go through.
"""

from __future__ import annotations

import asyncio
import warnings
from urllib.parse import urlsplit

from feedwatch.edges.http.netpolicy import AddressPolicy, NameResolutionError, parse_ip, resolve
from feedwatch.edges.notify import ChannelError


def check_target(url: str, policy: AddressPolicy) -> None:
    """ChannelError when the URL's host is, or resolves to, an address the policy refuses."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port or 443
    except ValueError as exc:
        raise ChannelError(f"apprise: not a URL: {exc}") from None
    if not host:
        return
    try:
        addresses = [str(parse_ip(host))]
    except ValueError:
        try:
            addresses = list(asyncio.run(resolve(host, port)))
        except NameResolutionError:
            return  # not a host name but a token of a service with its own API host
    for address in addresses:
        reason = policy.refusal(address)
        if reason is not None:
            raise ChannelError(
                f"apprise: refused: {host} resolves to {address}, {reason} "
                "(set network.allow_private to allow)"
            )


def send_apprise(url: str, title: str, body: str, policy: AddressPolicy) -> None:
    """Send one plain-text notification; ChannelError when refused or not delivered."""
    check_target(url, policy)
    # apprise loads its plugins lazily; some import the deprecated imghdr on Python 3.11+
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise  # heavy (loads its plugins): only when a monitor uses it

        sender = apprise.Apprise()
        if not sender.add(url):
            raise ChannelError(f"apprise: URL not understood: {_redact(url)}")
        ok = sender.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT)
    if not ok:
        raise ChannelError(f"apprise: not delivered to {_redact(url)}")


def _redact(url: str) -> str:
    """The URL without credentials (apprise URLs often carry tokens)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(invalid URL)"
    return f"{parts.scheme}://{parts.hostname or '…'}/…"
