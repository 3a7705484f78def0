"""Fetch one source over HTTP into a FetchResult: limits, conditional GET, redirects, size cap.

The shell makes one client with `make_client()` and one `HostLimiter`, and passes both to every
`fetch()`. A source's failure comes back as `FetchResult.error` (a FetchError with a `kind`), never
as an exception; only programming errors raise.

Defences (see ../shared/docs/RELIABILITY.md): a wall-clock deadline around the whole exchange
(httpx's timeouts are per operation), gzip/deflate inflated here with a bounded output size, every
redirect hop checked (scheme, count, loops) and every resolved address checked by the transport
(feedwatch.edges.http.netpolicy) before it is connected to.
"""

from __future__ import annotations

import asyncio
import errno
import http
import os
import ssl
import time
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import get_args

import httpx

from feedwatch import USER_AGENT
from feedwatch.edges.http.netpolicy import (
    AddressPolicy,
    AddressRefusedError,
    NameResolutionError,
    PolicyTransport,
    Resolver,
)
from feedwatch.errors import FetchError, FetchErrorKind
from feedwatch.types import FetchResult

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, "
    "text/html;q=0.8, application/xhtml+xml;q=0.8, */*;q=0.5"
)
ACCEPT_ENCODING = "gzip, deflate"  # not br/zstd: worse bomb ratios, and we inflate ourselves

# The values FetchError.kind takes (errors.FetchErrorKind; "robots" is set by app/harvest.py).
FETCH_ERROR_KINDS: tuple[FetchErrorKind, ...] = get_args(FetchErrorKind)

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_PIECE = 256 * 1024  # most decoded bytes produced per zlib call: keeps memory flat
_MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """Limits of the fetcher; the defaults are RELIABILITY.md's recommendations."""

    connect_timeout: float = 10.0  # seconds, per connection attempt (DNS included)
    read_timeout: float = 10.0  # seconds of silence while reading
    deadline: float = 30.0  # wall clock over connect + headers + body, all hops
    max_body: int = 10 * _MiB  # decoded bytes
    max_redirects: int = 5
    global_limit: int = 10  # requests in flight at once
    per_host: int = 2  # requests in flight to one host name
    host_delay: float = 0.5  # seconds between request starts to one host
    user_agent: str = USER_AGENT
    policy: AddressPolicy = field(default_factory=AddressPolicy)


# The shared client type, for the shells that hold one (they never import httpx themselves).
Client = httpx.AsyncClient


def make_client(
    settings: FetchSettings | None = None, *, resolver: Resolver | None = None
) -> httpx.AsyncClient:
    """The one shared client: policy-checking transport, timeouts, headers, no auto-redirects.

    `resolver` replaces DNS resolution (tests). Close it with `await client.aclose()`.
    """
    settings = settings if settings is not None else FetchSettings()
    limits = httpx.Limits(
        max_connections=settings.global_limit,
        max_keepalive_connections=settings.global_limit,
        keepalive_expiry=5.0,
    )
    transport = PolicyTransport(settings.policy, limits=limits, resolver=resolver)
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.read_timeout,
            pool=settings.deadline,
        ),
        headers={
            "User-Agent": settings.user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": ACCEPT_ENCODING,
        },
        follow_redirects=False,  # fetch() follows them itself, checking every hop
        trust_env=False,  # no proxies or .netrc from the environment
    )


class HostLimiter:
    """At most `global_limit` requests at once, `per_host` per host, starts `host_delay` s apart."""

    def __init__(self, global_limit: int = 10, per_host: int = 2, host_delay: float = 0.5):
        if global_limit < 1 or per_host < 1 or host_delay < 0:
            raise ValueError("limits must be positive and the delay not negative")
        self.global_limit = global_limit
        self.per_host = per_host
        self.host_delay = host_delay
        self._global = asyncio.Semaphore(global_limit)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._next_start: dict[str, float] = {}

    @classmethod
    def from_settings(cls, settings: FetchSettings) -> HostLimiter:
        return cls(settings.global_limit, settings.per_host, settings.host_delay)

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """Hold a request slot for `host`; entering waits for the limits and the delay."""
        host = host.lower()
        host_sem = self._hosts.get(host)
        if host_sem is None:
            host_sem = self._hosts[host] = asyncio.Semaphore(self.per_host)
        async with host_sem, self._global:
            if self.host_delay:
                now = asyncio.get_running_loop().time()
                start = max(now, self._next_start.get(host, now))
                self._next_start[host] = start + self.host_delay  # reserved before awaiting
                if start > now:
                    await asyncio.sleep(start - now)
            yield


class _Failure(Exception):
    """Internal: ends a fetch with an error value."""

    def __init__(self, kind: FetchErrorKind, message: str):
        self.kind = kind
        self.message = message
        super().__init__(message)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date); None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _status_text(status: int, reason: str) -> str:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "".join(ch for ch in reason if ch.isprintable())[:80]
    return f"HTTP {status} {phrase}".rstrip()


def _http_url(raw: str | httpx.URL, what: str) -> httpx.URL:
    try:
        url = raw if isinstance(raw, httpx.URL) else httpx.URL(raw)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise _Failure("url", f"{what} is not a valid URL: {exc}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise _Failure("url", f"{what} is not an http(s) URL: {str(raw)[:200]!r}")
    return url


def _redirect_target(current: httpx.URL, location: str) -> httpx.URL:
    what = f"redirect target {location[:200]!r}"
    try:
        target = current.join(location)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise _Failure("redirects", f"{what} is not a valid URL") from exc
    try:
        return _http_url(target, what)
    except _Failure as failure:
        raise _Failure("redirects", failure.message) from None


class _Inflater:
    """Inflate gzip or deflate piece by piece, never producing more than `limit` bytes."""

    def __init__(self, encoding: str, limit: int):
        self._gzip = encoding in ("gzip", "x-gzip")
        self._wbits = 16 + zlib.MAX_WBITS if self._gzip else zlib.MAX_WBITS
        self._d = zlib.decompressobj(self._wbits)
        self._started = False  # deflate: may turn out to be raw (no zlib header)
        self._done = False
        self.limit = limit
        self.total = 0
        self.parts: list[bytes] = []

    def _emit(self, out: bytes) -> None:
        if out:
            self.total += len(out)
            if self.total > self.limit:
                raise _Failure("too-large", f"body is over {_size(self.limit)} once decompressed")
            self.parts.append(out)

    def feed(self, data: bytes) -> None:
        while data and not self._done:
            room = self.limit - self.total
            try:
                out = self._d.decompress(data, min(room + 1, _PIECE))
            except zlib.error:
                if self._gzip or self._started:
                    raise
                self._d = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as some servers send
                self._started = True
                continue
            self._started = True
            self._emit(out)
            if self._d.eof:
                rest = self._d.unused_data
                if self._gzip and rest[:2] == b"\x1f\x8b":  # another gzip member follows
                    self._d = zlib.decompressobj(self._wbits)
                    data = rest
                    continue
                self._done = True  # ignore trailing garbage
                return
            data = self._d.unconsumed_tail

    def finish(self) -> bytes:
        if not self._done:
            while True:  # pending output of the last piece, still under the cap
                room = self.limit - self.total
                out = self._d.decompress(b"", min(room + 1, _PIECE))
                if not out:
                    break
                self._emit(out)
            if not self._d.eof:
                raise _Failure("decoding", "compressed body ends early")
        return b"".join(self.parts)


def _size(n: int) -> str:
    return f"{n / _MiB:g} MiB" if n >= _MiB else f"{n} bytes"


async def _read_body(response: httpx.Response, limit: int) -> bytes:
    raw_coding = response.headers.get("content-encoding", "")
    codings = [c.strip().lower() for c in raw_coding.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise _Failure("too-large", f"body is over {_size(limit)} ({length} bytes announced)")
        parts: list[bytes] = []
        total = 0
        async for chunk in response.aiter_raw():
            total += len(chunk)
            if total > limit:
                raise _Failure("too-large", f"body is over {_size(limit)}")
            parts.append(chunk)
        return b"".join(parts)
    if len(codings) > 1 or codings[0] not in ("gzip", "x-gzip", "deflate"):
        raise _Failure("decoding", f"unsupported Content-Encoding {raw_coding[:60]!r}")
    inflater = _Inflater(codings[0], limit)
    try:
        async for chunk in response.aiter_raw():
            inflater.feed(chunk)
        return inflater.finish()
    except zlib.error as exc:
        raise _Failure("decoding", f"corrupt {codings[0]} body: {exc}") from exc


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception, its causes and contexts, and members of exception groups."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo:
        e = todo.pop(0)
        if any(e is s for s in seen) or len(seen) > 20:
            continue
        seen.append(e)
        if isinstance(e, BaseExceptionGroup):
            todo.extend(e.exceptions)
        for nxt in (e.__cause__, e.__context__):
            if nxt is not None:
                todo.append(nxt)
    return seen


def _os_detail(exc: BaseException) -> str:
    for e in _causes(exc):
        if isinstance(e, OSError) and e.errno is not None and e.errno in errno.errorcode:
            return os.strerror(e.errno)
    return str(exc) or type(exc).__name__


def _describe(
    exc: Exception, url: httpx.URL, settings: FetchSettings
) -> tuple[FetchErrorKind, str]:
    """(kind, plain message) for an exception raised while talking to `url`."""
    host = url.host
    where = f"{host}:{url.port}" if url.port else host
    if isinstance(exc, AddressRefusedError):
        return "refused-address", str(exc)
    if isinstance(exc, NameResolutionError):
        return "dns", str(exc)
    if isinstance(exc, httpx.ConnectTimeout):
        return "timeout", f"connecting to {where} took over {settings.connect_timeout:g} s"
    if isinstance(exc, httpx.ReadTimeout):
        return "timeout", f"{host} sent nothing for {settings.read_timeout:g} s"
    if isinstance(exc, httpx.PoolTimeout):
        return "timeout", "no free connection in the client's pool"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout", f"timed out talking to {host}"
    if isinstance(exc, httpx.ConnectError):
        for e in _causes(exc):
            if isinstance(e, ssl.SSLError):
                detail = getattr(e, "verify_message", None) or str(e.reason or e)
                detail = detail.replace("_", " ").lower() if detail.isupper() else detail
                return "tls", f"TLS with {host} failed: {detail}"
        return "connect", f"cannot connect to {where}: {_os_detail(exc)}"
    if isinstance(exc, httpx.ProtocolError):
        return "protocol", f"{host} broke the HTTP protocol: {exc}"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return "url", f"cannot fetch {str(url)[:200]}: {exc}"
    if isinstance(exc, httpx.TransportError):
        return "network", f"connection to {host} failed: {_os_detail(exc)}"
    raise exc  # not a source problem


async def fetch(
    client: httpx.AsyncClient,
    key: str,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    settings: FetchSettings | None = None,
    limiter: HostLimiter,
    now: datetime | None = None,
) -> FetchResult:
    """GET `url` for source `key`, conditionally when validators are given; never raises for it.

    Follows up to `settings.max_redirects` redirects itself. `permanent_redirect` is the final URL
    when there was at least one hop, every hop was 301/308 and the result is 2xx or 304. The
    deadline starts once the limiter grants the first slot; `elapsed` counts from there.
    """
    settings = settings if settings is not None else FetchSettings()
    fetched_at = now if now is not None else datetime.now(UTC)
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    loop = asyncio.get_running_loop()
    started: float | None = None
    status: int | None = None
    resp_headers: dict[str, str] = {}
    body = b""
    current: httpx.URL | None = None
    hops: list[int] = []
    error: FetchError | None = None
    deadline_cm = asyncio.timeout(None)
    try:
        current = _http_url(url, "the source URL")
        visited = {str(current)}
        async with deadline_cm:
            while True:
                async with limiter.slot(current.host):
                    if started is None:
                        started = time.perf_counter()
                        deadline_cm.reschedule(loop.time() + settings.deadline)
                    request = client.build_request("GET", current, headers=headers)
                    response = await client.send(request, stream=True)
                    try:
                        status = response.status_code
                        resp_headers = dict(response.headers.items())
                        location = response.headers.get("location")
                        if status in _REDIRECTS and location:
                            pass  # followed below, after the slot is released
                        elif 200 <= status < 300:
                            body = await _read_body(response, settings.max_body)
                            break
                        elif status == 304:
                            # no body by definition; reading its end lets the pool keep the
                            # connection (closing an unread response closes the connection)
                            await response.aread()
                            break
                        else:
                            message = _status_text(status, response.reason_phrase)
                            if status in _REDIRECTS:
                                message += " without a Location"
                            raise _Failure("http", message)
                    finally:
                        await response.aclose()
                assert status is not None and location
                hops.append(status)
                target = _redirect_target(current, location)
                if str(target) in visited:
                    raise _Failure("redirects", f"redirect loop: {current} leads back to {target}")
                if len(hops) > settings.max_redirects:
                    raise _Failure("redirects", f"more than {settings.max_redirects} redirects")
                visited.add(str(target))
                current = target
    except _Failure as failure:
        retry_after = None
        if failure.kind == "http" and status in (429, 503):
            retry_after = parse_retry_after(resp_headers.get("retry-after"), fetched_at)
            if retry_after is not None:
                failure.message += f" (retry after {retry_after:g} s)"
        error = FetchError(key, failure.message, kind=failure.kind, retry_after=retry_after)
        error.__cause__ = failure.__cause__
    except TimeoutError as exc:
        if not deadline_cm.expired():
            raise
        error = FetchError(
            key, f"no complete answer within the {settings.deadline:g} s deadline", kind="timeout"
        )
        error.__cause__ = exc
    except (
        httpx.TransportError,
        httpx.InvalidURL,
        AddressRefusedError,
        NameResolutionError,
    ) as exc:
        assert current is not None
        kind, message = _describe(exc, current, settings)
        error = FetchError(key, message, kind=kind)
        error.__cause__ = exc
    elapsed = time.perf_counter() - started if started is not None else 0.0
    permanent = None
    if error is None and hops and all(h in _PERMANENT for h in hops) and current is not None:
        permanent = str(current)
    return FetchResult(
        source_key=key,
        url=url,
        final_url=str(current) if current is not None else url,
        status=status,
        headers=resp_headers,
        body=body if error is None else b"",
        error=error,
        elapsed=elapsed,
        permanent_redirect=permanent,
        fetched_at=fetched_at,
    )
