"""Monitor channels: webhook (httpx, through the fetcher's address policy) and Apprise."""

from __future__ import annotations

from feedwatch.errors import FeedwatchError


class ChannelError(FeedwatchError):
    """A message could not be delivered to a channel (it stays pending and is tried again)."""
