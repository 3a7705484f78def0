"""Tests of fetch() against the threaded test server on 127.0.0.1 (no internet)."""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpserver
import httpx
import pytest
from httpserver import Request, TestServer, http_date

from feedwatch import USER_AGENT
from feedwatch.edges.http.fetch import (
    FETCH_ERROR_KINDS,
    FetchSettings,
    HostLimiter,
    fetch,
    make_client,
    parse_retry_after,
)
from feedwatch.edges.http.netpolicy import AddressPolicy
from feedwatch.types import FetchResult

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
OPEN = AddressPolicy(allow_private=True)
FAST = FetchSettings(policy=OPEN, host_delay=0.0)
FEED = "<?xml version='1.0'?><rss><channel><title>Nieuws over opvang</title></channel></rss>"


http_server = httpserver.http_server  # the shared server fixture, reset for each test


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _test_resolver(host: str, port: int) -> Sequence[str]:
    """Every *.test name is the loopback test server; nothing else resolves."""
    if host.endswith(".test"):
        return ["127.0.0.1"]
    raise AssertionError(f"unexpected lookup of {host}")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(FAST, resolver=_test_resolver) as c:
        yield c


async def get(
    client: httpx.AsyncClient,
    url: str,
    settings: FetchSettings = FAST,
    limiter: HostLimiter | None = None,
    **kwargs: str,
) -> FetchResult:
    limiter = limiter if limiter is not None else HostLimiter.from_settings(settings)
    result = await fetch(client, "src", url, settings=settings, limiter=limiter, now=NOW, **kwargs)
    if result.error is not None:
        assert result.error.kind in FETCH_ERROR_KINDS
        assert result.error.key == "src"
        assert not result.ok
        assert result.body == b""
    return result


# -- plain responses and conditional GET ------------------------------------------------------


@pytest.mark.anyio
async def test_200_body_and_headers(http_server: TestServer, client: httpx.AsyncClient) -> None:
    http_server.route(
        "/feed.rss",
        FEED,
        headers={"Cache-Control": "max-age=600", "X-Extra": "ja"},
        etag='"v1"',
        last_modified="Mon, 02 Mar 2026 08:00:00 GMT",
    )
    result = await get(client, http_server.url("/feed.rss"))
    assert result.ok and result.error is None
    assert result.status == 200
    assert result.body == FEED.encode()
    assert result.source_key == "src"
    assert result.url == result.final_url == http_server.url("/feed.rss")
    assert result.permanent_redirect is None
    assert result.fetched_at == NOW
    assert 0 < result.elapsed < 2
    assert result.headers["etag"] == '"v1"'
    assert result.headers["last-modified"] == "Mon, 02 Mar 2026 08:00:00 GMT"
    assert result.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert result.headers["cache-control"] == "max-age=600"
    assert result.headers["x-extra"] == "ja"
    assert all(k == k.lower() for k in result.headers)


@pytest.mark.anyio
async def test_request_headers_sent(http_server: TestServer, client: httpx.AsyncClient) -> None:
    http_server.route("/feed.rss", FEED)
    await get(client, http_server.url("/feed.rss"))
    sent = http_server.last_headers("/feed.rss")
    assert sent["user-agent"] == USER_AGENT
    assert sent["accept-encoding"] == "gzip, deflate"
    assert "application/rss+xml" in sent["accept"]
    assert "text/html" in sent["accept"]
    assert "if-none-match" not in sent and "if-modified-since" not in sent


@pytest.mark.anyio
async def test_304_with_etag(http_server: TestServer, client: httpx.AsyncClient) -> None:
    http_server.route("/feed.rss", FEED, etag='"abc"')
    first = await get(client, http_server.url("/feed.rss"))
    assert first.status == 200 and first.headers["etag"] == '"abc"'
    second = await get(client, http_server.url("/feed.rss"), etag=first.headers["etag"])
    assert second.status == 304
    assert second.not_modified and not second.ok and second.error is None
    assert second.body == b""
    assert second.headers["etag"] == '"abc"'
    assert http_server.last_headers("/feed.rss")["if-none-match"] == '"abc"'
    changed = await get(client, http_server.url("/feed.rss"), etag='"old"')
    assert changed.status == 200 and changed.body == FEED.encode()


@pytest.mark.anyio
async def test_304_with_last_modified(http_server: TestServer, client: httpx.AsyncClient) -> None:
    stamp = "Mon, 02 Mar 2026 08:00:00 GMT"
    http_server.route("/feed.rss", FEED, last_modified=stamp)
    same = await get(client, http_server.url("/feed.rss"), last_modified=stamp)
    assert same.not_modified
    assert http_server.last_headers("/feed.rss")["if-modified-since"] == stamp
    older = await get(
        client, http_server.url("/feed.rss"), last_modified="Sun, 01 Mar 2026 08:00:00 GMT"
    )
    assert older.status == 200 and older.body == FEED.encode()


# -- content encoding and size ----------------------------------------------------------------


@pytest.mark.anyio
async def test_gzip_body_is_decoded(http_server: TestServer, client: httpx.AsyncClient) -> None:
    body = (FEED * 4000).encode()  # ~350 KB: several zlib pieces
    http_server.route("/big.rss", body, gzip=True)
    result = await get(client, http_server.url("/big.rss"))
    assert result.ok
    assert result.headers["content-encoding"] == "gzip"
    assert int(result.headers["content-length"]) < len(body) // 10
    assert result.body == body


@pytest.mark.anyio
@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
async def test_deflate_body_is_decoded(
    http_server: TestServer, client: httpx.AsyncClient, wbits: int
) -> None:
    co = zlib.compressobj(6, zlib.DEFLATED, wbits)
    wire = co.compress(FEED.encode() * 50) + co.flush()
    http_server.route("/d.rss", wire, headers={"Content-Encoding": "deflate"})
    result = await get(client, http_server.url("/d.rss"))
    assert result.ok and result.body == FEED.encode() * 50


@pytest.mark.anyio
async def test_concatenated_gzip_members(
    http_server: TestServer, client: httpx.AsyncClient
) -> None:
    wire = gzip.compress(b"<rss>") + gzip.compress(b"</rss>")
    http_server.route("/two.rss", wire, headers={"Content-Encoding": "gzip"})
    result = await get(client, http_server.url("/two.rss"))
    assert result.body == b"<rss></rss>"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("wire", "encoding", "words"),
    [
        (b"\x1f\x8b\x08\x00garbage-not-gzip", "gzip", "corrupt gzip"),
        (gzip.compress(FEED.encode() * 20)[:-30], "gzip", "ends early"),
        (b"whatever", "br", "unsupported Content-Encoding 'br'"),
        (b"whatever", "gzip, br", "unsupported Content-Encoding"),
    ],
    ids=["corrupt", "truncated", "brotli", "stacked"],
)
async def test_bad_encodings_are_decoding_errors(
    http_server: TestServer, client: httpx.AsyncClient, wire: bytes, encoding: str, words: str
) -> None:
    http_server.route("/bad.rss", wire, headers={"Content-Encoding": encoding})
    result = await get(client, http_server.url("/bad.rss"))
    assert result.error is not None and result.error.kind == "decoding"
    assert words in result.error.message


def _gzip_of_zeros(mib: int) -> bytes:
    co = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    return b"".join([co.compress(block) for _ in range(mib)] + [co.flush()])


@pytest.mark.anyio
async def test_gzip_bomb_stops_at_the_cap_with_flat_memory(
    http_server: TestServer, client: httpx.AsyncClient
) -> None:
    bomb = _gzip_of_zeros(64)  # 64 MiB of zeros in ~64 KB
    assert len(bomb) < 200_000
    http_server.route("/bomb.rss", bomb, headers={"Content-Encoding": "gzip"})
    settings = FetchSettings(policy=OPEN, host_delay=0)  # default cap: 10 MiB decoded
    tracemalloc.start()
    try:
        started = time.perf_counter()
        result = await get(client, http_server.url("/bomb.rss"), settings)
        took = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.error is not None and result.error.kind == "too-large"
    assert "10 MiB" in result.error.message
    assert took < 5
    # The cap's 10 MiB plus small change; inflating without max_length would hold 64 MiB+.
    assert peak < 14 * 1024 * 1024, peak


@pytest.mark.anyio
async def test_gzip_cap_is_on_decoded_bytes(
    http_server: TestServer, client: httpx.AsyncClient
) -> None:
    settings = FetchSettings(policy=OPEN, host_delay=0, max_body=1000)
    http_server.route("/fits.rss", b"a" * 1000, gzip=True)
    http_server.route("/over.rss", b"a" * 1001, gzip=True)
    fits = await get(client, http_server.url("/fits.rss"), settings)
    assert fits.ok and fits.body == b"a" * 1000
    over = await get(client, http_server.url("/over.rss"), settings)
    assert over.error is not None and over.error.kind == "too-large"


@pytest.mark.anyio
async def test_plain_oversized_body(http_server: TestServer, client: httpx.AsyncClient) -> None:
    settings = FetchSettings(policy=OPEN, host_delay=0, max_body=64 * 1024)
    http_server.route("/exact.rss", b"b" * (64 * 1024))
    http_server.route("/announced.rss", b"b" * (64 * 1024 + 1))
    http_server.route("/endless.rss", handler=lambda req: req.endless(b"c" * 8192))
    exact = await get(client, http_server.url("/exact.rss"), settings)
    assert exact.ok and len(exact.body) == 64 * 1024
    announced = await get(client, http_server.url("/announced.rss"), settings)
    assert announced.error is not None and announced.error.kind == "too-large"
    assert "65537 bytes announced" in announced.error.message
    endless = await get(client, http_server.url("/endless.rss"), settings)
    assert endless.error is not None and endless.error.kind == "too-large"
    assert endless.status == 200  # the response arrived; its body was refused


# -- time limits ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_slow_drip_hits_the_deadline(
    http_server: TestServer, client: httpx.AsyncClient
) -> None:
    # One byte a second never trips the 10 s per-read timeout; only the deadline stops it.
    http_server.route("/drip.rss", handler=lambda req: req.drip(FEED.encode(), interval=1.0))
    settings = FetchSettings(policy=OPEN, host_delay=0, deadline=1.5)
    started = time.perf_counter()
    result = await get(client, http_server.url("/drip.rss"), settings)
    took = time.perf_counter() - started
    assert result.error is not None and result.error.kind == "timeout"
    assert "1.5 s deadline" in result.error.message
    assert 1.4 < took < 2.5
    assert 1.4 < result.elapsed < 2.5


@pytest.mark.anyio
async def test_read_timeout(http_server: TestServer) -> None:
    def late(req: Request) -> None:
        time.sleep(0.8)
        req.respond(200, b"te laat")

    http_server.route("/late.rss", handler=late)
    settings = FetchSettings(policy=OPEN, host_delay=0, read_timeout=0.2)
    async with make_client(settings) as c:
        result = await get(c, http_server.url("/late.rss"), settings)
    assert result.error is not None and result.error.kind == "timeout"
    assert "sent nothing for 0.2 s" in result.error.message
    assert result.elapsed < 0.7


# -- redirects --------------------------------------------------------------------------------


def _redirect(server: TestServer, path: str, to: str, status: int) -> None:
    server.route(path, handler=lambda req: req.redirect(to, status))


@pytest.mark.anyio
async def test_301_chain_is_permanent(http_server: TestServer, client: httpx.AsyncClient) -> None:
    _redirect(http_server, "/old.rss", "/older.rss", 301)
    _redirect(http_server, "/older.rss", http_server.url("/new.rss"), 308)
    http_server.route("/new.rss", FEED)
    result = await get(client, http_server.url("/old.rss"))
    assert result.ok and result.body == FEED.encode()
    assert result.url == http_server.url("/old.rss")
    assert result.final_url == http_server.url("/new.rss")
    assert result.permanent_redirect == http_server.url("/new.rss")
    assert [r.path for r in http_server.requests()] == ["/old.rss", "/older.rss", "/new.rss"]


@pytest.mark.anyio
@pytest.mark.parametrize("codes", [(302,), (307,), (301, 302), (303, 308)])
async def test_temporary_hop_is_not_permanent(
    http_server: TestServer, client: httpx.AsyncClient, codes: tuple[int, ...]
) -> None:
    paths = [f"/hop{i}" for i in range(len(codes))] + ["/end.rss"]
    for path, nxt, code in zip(paths, paths[1:], codes, strict=False):
        _redirect(http_server, path, nxt, code)
    http_server.route("/end.rss", FEED)
    result = await get(client, http_server.url("/hop0"))
    assert result.ok
    assert result.final_url == http_server.url("/end.rss")
    assert result.permanent_redirect is None


@pytest.mark.anyio
async def test_permanent_redirect_only_on_success(
    http_server: TestServer, client: httpx.AsyncClient
) -> None:
    _redirect(http_server, "/moved.rss", "/gone.rss", 301)
    http_server.route("/gone.rss", b"weg", status=410)
    result = await get(client, http_server.url("/moved.rss"))
    assert result.error is not None and result.error.kind == "http" and result.status == 410
    assert result.permanent_redirect is None
    assert result.final_url == http_server.url("/gone.rss")


@pytest.mark.anyio
async def test_validators_follow_redirects(
    http_server: TestServer, client: httpx.AsyncClient
) -> None:
    _redirect(http_server, "/a.rss", "/b.rss", 301)
    http_server.route("/b.rss", FEED, etag='"e"')
    result = await get(client, http_server.url("/a.rss"), etag='"e"')
    assert result.not_modified
    assert result.permanent_redirect == http_server.url("/b.rss")


@pytest.mark.anyio
async def test_redirect_loop(http_server: TestServer, client: httpx.AsyncClient) -> None:
    _redirect(http_server, "/ping", "/pong", 302)
    _redirect(http_server, "/pong", "/ping", 302)
    result = await get(client, http_server.url("/ping"))
    assert result.error is not None and result.error.kind == "redirects"
    assert "loop" in result.error.message
    assert http_server.hits() == 2


@pytest.mark.anyio
async def test_redirect_limit(http_server: TestServer, client: httpx.AsyncClient) -> None:
    for i in range(7):
        _redirect(http_server, f"/r{i}", f"/r{i + 1}", 301)
    http_server.route("/r7", FEED)
    too_many = await get(client, http_server.url("/r0"))  # 7 hops
    assert too_many.error is not None and too_many.error.kind == "redirects"
    assert "more than 5 redirects" in too_many.error.message
    assert http_server.hits() == 6  # the sixth redirect is not followed
    five = await get(client, http_server.url("/r2"))  # exactly 5 hops
    assert five.ok and five.permanent_redirect == http_server.url("/r7")


@pytest.mark.anyio
@pytest.mark.parametrize("target", ["ftp://files.example.test/feed", "file:///etc/passwd"])
async def test_redirect_to_other_scheme(
    http_server: TestServer, client: httpx.AsyncClient, target: str
) -> None:
    _redirect(http_server, "/x.rss", target, 302)
    result = await get(client, http_server.url("/x.rss"))
    assert result.error is not None and result.error.kind == "redirects"
    assert "not an http(s) URL" in result.error.message


@pytest.mark.anyio
async def test_redirect_without_location_is_http_error(
    http_server: TestServer, client: httpx.AsyncClient
) -> None:
    http_server.route("/nowhere", b"", status=302)
    result = await get(client, http_server.url("/nowhere"))
    assert result.error is not None and result.error.kind == "http" and result.status == 302
    assert result.error.message == "HTTP 302 Found without a Location"


# -- HTTP errors ------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "message"),
    [
        (404, "HTTP 404 Not Found"),
        (410, "HTTP 410 Gone"),
        (500, "HTTP 500 Internal Server Error"),
        (403, "HTTP 403 Forbidden"),
    ],
)
async def test_http_error_statuses(
    http_server: TestServer, client: httpx.AsyncClient, status: int, message: str
) -> None:
    http_server.route("/e.rss", b"<html>fout</html>", status=status)
    result = await get(client, http_server.url("/e.rss"))
    assert result.status == status
    assert result.error is not None and result.error.kind == "http"
    assert result.error.message == message
    assert str(result.error) == f"src: {message}"
    assert result.error.retry_after is None
    assert result.headers["content-type"] == "application/rss+xml; charset=utf-8"


@pytest.mark.anyio
async def test_retry_after_seconds_on_429(
    http_server: TestServer, client: httpx.AsyncClient
) -> None:
    http_server.route("/busy.rss", b"", status=429, headers={"Retry-After": "120"})
    result = await get(client, http_server.url("/busy.rss"))
    assert result.error is not None and result.error.kind == "http"
    assert result.status == 429
    assert result.error.retry_after == 120.0
    assert result.headers["retry-after"] == "120"
    assert result.error.message == "HTTP 429 Too Many Requests (retry after 120 s)"


@pytest.mark.anyio
async def test_retry_after_date_on_503(http_server: TestServer, client: httpx.AsyncClient) -> None:
    later = format_datetime(NOW + timedelta(minutes=15), usegmt=True)
    http_server.route("/down.rss", b"", status=503, headers={"Retry-After": later})
    result = await get(client, http_server.url("/down.rss"))
    assert result.error is not None and result.status == 503
    assert result.error.retry_after == 900.0


def test_parse_retry_after() -> None:
    assert parse_retry_after("0", NOW) == 0.0
    assert parse_retry_after(" 3600 ", NOW) == 3600.0
    assert parse_retry_after(format_datetime(NOW + timedelta(seconds=90), usegmt=True), NOW) == 90
    assert parse_retry_after(format_datetime(NOW - timedelta(days=1), usegmt=True), NOW) == 0.0
    assert parse_retry_after(http_date(0), NOW) == 0.0
    for bad in (None, "", "soon", "-5", "1.5", "Mon, 99 Foo 2026"):
        assert parse_retry_after(bad, NOW) is None, bad


# -- network failures -------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.anyio
async def test_connection_refused(client: httpx.AsyncClient) -> None:
    port = _closed_port()
    result = await get(client, f"http://127.0.0.1:{port}/feed.rss")
    assert result.status is None
    assert result.error is not None and result.error.kind == "connect"
    assert result.error.message == f"cannot connect to 127.0.0.1:{port}: Connection refused"


@pytest.mark.anyio
async def test_unknown_host_is_dns_error() -> None:
    async with make_client(FAST) as c:  # the real resolver; .invalid never leaves the process
        result = await get(c, "https://feeds.example.invalid/rss")
    assert result.status is None
    assert result.error is not None and result.error.kind == "dns"
    assert "feeds.example.invalid" in result.error.message


@pytest.mark.anyio
async def test_tls_to_a_plain_http_server(
    http_server: TestServer, client: httpx.AsyncClient
) -> None:
    http_server.route("/feed.rss", FEED)
    result = await get(client, f"https://127.0.0.1:{http_server.port}/feed.rss")
    assert result.error is not None and result.error.kind == "tls"
    assert result.error.message.startswith("TLS with 127.0.0.1 failed")


@pytest.mark.anyio
@pytest.mark.parametrize("url", ["ftp://example.test/feed", "not a url", "http://"])
async def test_bad_source_url(client: httpx.AsyncClient, url: str) -> None:
    result = await get(client, url)
    assert result.error is not None and result.error.kind == "url"
    assert result.final_url == url or result.final_url.startswith(url.split(":")[0])
    assert result.elapsed == 0.0


@pytest.mark.anyio
async def test_server_breaking_off_is_a_value(
    http_server: TestServer, client: httpx.AsyncClient
) -> None:
    def short(req: Request) -> None:
        req.start(200, {"Content-Length": "1000"})
        req.write(b"<rss>")
        req.raw.close_connection = True

    http_server.route("/short.rss", handler=short)
    result = await get(client, http_server.url("/short.rss"))
    assert result.error is not None and result.error.kind == "protocol"


# -- limits -----------------------------------------------------------------------------------


def _slow(req: Request) -> None:
    time.sleep(0.15)
    req.respond(200, b"<rss/>")


async def _burst(
    client: httpx.AsyncClient, urls: list[str], settings: FetchSettings
) -> list[FetchResult]:
    limiter = HostLimiter.from_settings(settings)
    return list(await asyncio.gather(*(get(client, u, settings, limiter=limiter) for u in urls)))


@pytest.mark.anyio
@pytest.mark.parametrize("per_host", [2, 4])
async def test_per_host_limit(
    http_server: TestServer, client: httpx.AsyncClient, per_host: int
) -> None:
    http_server.route("/slow.rss", handler=_slow)
    settings = FetchSettings(policy=OPEN, host_delay=0, per_host=per_host)
    results = await _burst(client, [http_server.url("/slow.rss")] * 8, settings)
    assert all(r.ok for r in results)
    assert http_server.max_in_flight() == per_host


@pytest.mark.anyio
async def test_global_limit_across_hosts(
    http_server: TestServer, client: httpx.AsyncClient
) -> None:
    http_server.route("/slow.rss", handler=_slow)
    settings = FetchSettings(policy=OPEN, host_delay=0, per_host=2, global_limit=3)
    urls = [f"http://h{i % 4}.example.test:{http_server.port}/slow.rss" for i in range(8)]
    results = await _burst(client, urls, settings)
    assert all(r.ok for r in results)
    assert http_server.max_in_flight() == 3


@pytest.mark.anyio
async def test_minimum_delay_between_starts_per_host(
    http_server: TestServer, client: httpx.AsyncClient
) -> None:
    http_server.route("/f.rss", FEED)
    settings = FetchSettings(policy=OPEN, host_delay=0.3)
    a = f"http://a.example.test:{http_server.port}/f.rss"
    b = f"http://b.example.test:{http_server.port}/f.rss"
    results = await _burst(client, [a, a, a, b], settings)
    assert all(r.ok for r in results)
    starts_a = sorted(
        r.started for r in http_server.requests() if r.headers["host"].startswith("a.")
    )
    starts_b = [r.started for r in http_server.requests() if r.headers["host"].startswith("b.")]
    assert len(starts_a) == 3 and len(starts_b) == 1
    gaps = [later - earlier for earlier, later in zip(starts_a, starts_a[1:], strict=False)]
    assert all(gap >= 0.28 for gap in gaps), gaps
    assert starts_b[0] - starts_a[0] < 0.25  # another host does not wait


def test_host_limiter_rejects_nonsense() -> None:
    for args in ((0, 2, 0.5), (10, 0, 0.5), (10, 2, -1.0)):
        with pytest.raises(ValueError):
            HostLimiter(*args)


# -- address policy through the whole client -------------------------------------------------


@pytest.mark.anyio
async def test_default_policy_refuses_loopback_and_sends_nothing(
    http_server: TestServer,
) -> None:
    http_server.route("/feed.rss", FEED)
    settings = FetchSettings(host_delay=0)  # the default policy
    async with make_client(settings) as c:
        literal = await get(c, http_server.url("/feed.rss"), settings)
        named = await get(c, f"http://localhost:{http_server.port}/feed.rss", settings)
    assert literal.error is not None and literal.error.kind == "refused-address"
    assert literal.error.message == (
        "refused: 127.0.0.1 is a loopback address (set network.allow_private to allow)"
    )
    assert named.error is not None and named.error.kind == "refused-address"
    assert "localhost resolves to 127.0.0.1, a loopback address" in named.error.message
    assert literal.status is None and named.status is None
    assert http_server.hits() == 0


@pytest.mark.anyio
async def test_name_resolving_to_private_address_is_refused(http_server: TestServer) -> None:
    async def rebinding(host: str, port: int) -> Sequence[str]:
        return ["10.20.30.40"]

    async with make_client(FetchSettings(), resolver=rebinding) as c:
        result = await get(c, "https://intranet.example.test/feed.rss", FetchSettings())
    assert result.error is not None and result.error.kind == "refused-address"
    assert result.error.message.startswith(
        "refused: intranet.example.test resolves to 10.20.30.40, a private address"
    )


@pytest.mark.anyio
@pytest.mark.parametrize(
    "policy",
    [AddressPolicy(allow_private=True), AddressPolicy.from_setting(["127.0.0.1/32"])],
    ids=["allow_private", "allow-list"],
)
async def test_policy_can_allow_loopback(http_server: TestServer, policy: AddressPolicy) -> None:
    http_server.route("/feed.rss", FEED)
    settings = FetchSettings(policy=policy, host_delay=0)
    async with make_client(settings) as c:
        result = await get(c, http_server.url("/feed.rss"), settings)
    assert result.ok and result.body == FEED.encode()


@pytest.fixture
def canary() -> Iterator[TestServer]:
    """A second server on 127.0.0.2 that must never see a request when refused."""
    server = TestServer(host="127.0.0.2").start()
    server.route("/secret", b"interne gegevens")
    yield server
    server.stop()


@pytest.mark.anyio
async def test_redirect_to_refused_address(http_server: TestServer, canary: TestServer) -> None:
    _redirect(http_server, "/go.rss", canary.url("/secret"), 302)
    strict = FetchSettings(policy=AddressPolicy.from_setting(["127.0.0.1/32"]), host_delay=0)
    async with make_client(strict) as c:
        refused = await get(c, http_server.url("/go.rss"), strict)
    assert refused.error is not None and refused.error.kind == "refused-address"
    assert "127.0.0.2 is a loopback address" in refused.error.message
    assert refused.final_url == canary.url("/secret")
    assert http_server.hits("/go.rss") == 1
    assert canary.hits() == 0
    # Control: the canary is reachable when the policy allows it, so the refusal above was real.
    async with make_client(FAST) as c:
        allowed = await get(c, http_server.url("/go.rss"), FAST)
    assert allowed.ok and allowed.body == b"interne gegevens"
    assert canary.hits("/secret") == 1
