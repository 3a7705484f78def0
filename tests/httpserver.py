"""A threaded HTTP/1.1 test server on 127.0.0.1 for every test: routes, 304s, gzip, hit counts.

    from httpserver import http_server  # the fixture: one server per session, reset per test

    def test_x(http_server):
        http_server.route("/feed.xml", body=b"<rss/>", etag='"v1"')
        url = http_server.url("/feed.xml")
        ...
        assert http_server.hits("/feed.xml") == 1

A route answers with a fixed body, or calls `handler(request)` with a `Request` to do anything
else (slow drip, endless body, redirects, custom status). Every request is recorded with its
headers and its start and end times; the server also tracks how many requests were in flight.
"""

from __future__ import annotations

import atexit
import gzip as gzip_module
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

Handler = Callable[["Request"], None]

_TYPES = {
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".json": "application/feed+json; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


def http_date(when: float | None = None) -> str:
    """An HTTP-date (RFC 9110) for a POSIX time, now by default."""
    return formatdate(when, usegmt=True)


@dataclass
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    target: str  # path with query, as sent
    path: str  # without the query
    headers: dict[str, str]  # lower-case names
    started: float  # time.monotonic()
    ended: float | None = None
    status: int | None = None


@dataclass
class Route:
    """What one path answers; see TestServer.route()."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    handler: Handler | None = None
    etag: str | None = None
    last_modified: str | None = None
    gzip: bool = False
    wire_body: bytes = b""  # body as sent (compressed when gzip)


class Request:
    """What a handler receives: the request, and ways to answer it."""

    def __init__(self, raw: _RequestHandler, record: RecordedRequest, server: TestServer):
        self.raw = raw  # the http.server handler, for anything not covered here
        self.server = server
        self.method = record.method
        self.target = record.target
        self.path = record.path
        self.query = urlsplit(record.target).query
        self.headers = record.headers
        self._record = record
        self.started = False

    def start(self, status: int = 200, headers: Mapping[str, str] | None = None) -> None:
        """Send the status line and headers; without Content-Length the connection will close."""
        headers = dict(headers or {})
        names = {k.lower() for k in headers}
        self.raw.send_response(status)
        framed = "content-length" in names or "transfer-encoding" in names
        if not framed and status not in (204, 304) and not 100 <= status < 200:
            headers["Connection"] = "close"
            self.raw.close_connection = True
        for name, value in headers.items():
            self.raw.send_header(name, value)
        self.raw.end_headers()
        self.started = True
        self._record.status = status

    def write(self, data: bytes) -> bool:
        """Send body bytes; False when the client has gone."""
        try:
            self.raw.wfile.write(data)
            self.raw.wfile.flush()
        except _GONE:
            self.raw.close_connection = True
            return False
        return True

    def respond(
        self, status: int = 200, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> None:
        """A complete response with Content-Length."""
        all_headers = dict(headers or {})
        if status not in (204, 304):
            all_headers["Content-Length"] = str(len(body))
        self.start(status, all_headers)
        if body and self.method != "HEAD":
            self.write(body)

    def redirect(self, location: str, status: int = 302) -> None:
        """Answer with a redirect to `location` (absolute or relative)."""
        self.respond(status, b"", {"Location": location})

    def drip(
        self,
        body: bytes,
        interval: float = 1.0,
        headers: Mapping[str, str] | None = None,
        step: int = 1,
    ) -> bool:
        """Send `body` (Content-Length announced) `step` bytes every `interval` s; False if cut."""
        all_headers = {"Content-Length": str(len(body)), **dict(headers or {})}
        self.start(200, all_headers)
        for i in range(0, len(body), step):
            if not self.write(body[i : i + step]):
                return False
            time.sleep(interval)
        return True

    def endless(
        self, chunk: bytes = b"x" * 65536, headers: Mapping[str, str] | None = None
    ) -> None:
        """Send `chunk` over and over, without Content-Length, until the client goes away."""
        self.start(200, headers)
        while self.write(chunk):
            pass


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet

    def do_GET(self) -> None:
        self.server.owner._handle(self)

    do_HEAD = do_GET
    do_POST = do_GET


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: TestServer

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up mid-answer (a deadline, a size cap, a killed worker) is what
        # many tests provoke on purpose; anything else is still reported.
        import sys

        if not isinstance(sys.exc_info()[1], _GONE):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class TestServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 (or another loopback address), ephemeral port."""

    __test__ = False  # not a test class for pytest

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host  # a loopback address; 127.0.0.2 etc. make a second, distinct server
        self._lock = threading.Lock()
        self._routes: dict[str, Route] = {}
        self._requests: list[RecordedRequest] = []
        self._in_flight = 0
        self._max_in_flight = 0
        self._generation = 0
        self.errors: list[BaseException] = []  # exceptions raised by handlers
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ------------------------------------------------------------------------
    def start(self) -> TestServer:
        if self._httpd is not None:
            return self
        httpd = _Server((self.host, 0), _RequestHandler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> TestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    # -- routes ----------------------------------------------------------------------------
    def route(
        self,
        path: str,
        body: bytes | str = b"",
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        handler: Handler | None = None,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        gzip: bool = False,
        content_type: str | None = None,
    ) -> Route:
        """Answer `path` (matched with its query first, then without).

        A str body is sent as UTF-8. Content-Type is `content_type`, else guessed from the
        path's suffix. With `etag`/`last_modified` the response carries ETag/Last-Modified and
        a matching If-None-Match/If-Modified-Since gets a 304. `gzip=True` sends the body
        gzip-compressed (Content-Encoding: gzip) whatever the request accepts. With `handler`
        everything else is ignored: it must answer through the Request it receives.
        """
        data = body.encode() if isinstance(body, str) else bytes(body)
        all_headers = dict(headers or {})
        names = {k.lower() for k in all_headers}
        if "content-type" not in names and (data or content_type):
            suffix = path.split("?", 1)[0].rsplit("/", 1)[-1]
            suffix = suffix[suffix.rfind(".") :] if "." in suffix else ""
            all_headers["Content-Type"] = content_type or _TYPES.get(
                suffix.lower(), "application/octet-stream"
            )
        if etag is not None:
            all_headers["ETag"] = etag
        if last_modified is not None:
            all_headers["Last-Modified"] = last_modified
        wire = data
        if gzip:
            wire = gzip_module.compress(data, compresslevel=6, mtime=0)
            all_headers["Content-Encoding"] = "gzip"
        route = Route(data, status, all_headers, handler, etag, last_modified, gzip, wire)
        with self._lock:
            self._routes[path] = route
        return route

    def reset(self) -> None:
        """Forget routes, recorded requests, counters and handler errors."""
        with self._lock:
            self._routes.clear()
            self._requests.clear()
            self._generation += 1  # requests still running from before no longer count
            self._in_flight = 0
            self._max_in_flight = 0
            self.errors.clear()

    # -- what happened ---------------------------------------------------------------------
    def requests(self, path: str | None = None) -> list[RecordedRequest]:
        """Recorded requests, oldest first; only those for `path` (with or without query)."""
        with self._lock:
            found = list(self._requests)
        if path is None:
            return found
        return [r for r in found if path in (r.target, r.path)]

    def hits(self, path: str | None = None) -> int:
        return len(self.requests(path))

    def last_headers(self, path: str | None = None) -> dict[str, str]:
        """Request headers (lower-case names) of the latest request for `path`."""
        found = self.requests(path)
        if not found:
            raise AssertionError(f"no request for {path!r}")
        return found[-1].headers

    def max_in_flight(self) -> int:
        """The most requests handled at the same moment since the last reset."""
        with self._lock:
            return self._max_in_flight

    # -- serving ---------------------------------------------------------------------------
    def _handle(self, raw: _RequestHandler) -> None:
        target = raw.path
        record = RecordedRequest(
            method=raw.command,
            target=target,
            path=urlsplit(target).path,
            headers={k.lower(): v for k, v in raw.headers.items()},
            started=time.monotonic(),
        )
        with self._lock:
            generation = self._generation
            self._requests.append(record)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            route = self._routes.get(target) or self._routes.get(record.path)
        request = Request(raw, record, self)
        try:
            self._answer(request, route)
        except _GONE:
            raw.close_connection = True
        except Exception as exc:  # a broken test handler: record it, answer 500
            with self._lock:
                self.errors.append(exc)
            if not request.started:
                request.respond(500, b"handler failed")
            raw.close_connection = True
        finally:
            record.ended = time.monotonic()
            with self._lock:
                if generation == self._generation:
                    self._in_flight -= 1

    def _answer(self, request: Request, route: Route | None) -> None:
        if route is None:
            request.respond(404, b"not found", {"Content-Type": "text/plain"})
            return
        if route.handler is not None:
            route.handler(request)
            if not request.started:
                raise RuntimeError(f"handler for {request.path} sent no response")
            return
        if 200 <= route.status < 300 and _not_modified(request.headers, route):
            keep = {k: v for k, v in route.headers.items() if k.lower() != "content-encoding"}
            request.respond(304, b"", keep)
            return
        request.respond(route.status, route.wire_body, route.headers)


def _not_modified(headers: Mapping[str, str], route: Route) -> bool:
    inm = headers.get("if-none-match")
    if inm is not None:  # takes precedence over If-Modified-Since (RFC 9110 13.2.2)
        if route.etag is None:
            return False
        tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
        return "*" in tags or route.etag.removeprefix("W/") in tags
    ims = headers.get("if-modified-since")
    if ims is None or route.last_modified is None:
        return False
    if ims.strip() == route.last_modified.strip():
        return True
    try:
        return parsedate_to_datetime(route.last_modified) <= parsedate_to_datetime(ims)
    except (TypeError, ValueError):
        return False


_shared: TestServer | None = None
_shared_lock = threading.Lock()


def shared_server() -> TestServer:
    """The one server of this test session, started on first use, stopped at exit."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = TestServer().start()
            atexit.register(_shared.stop)
        return _shared


@pytest.fixture
def http_server() -> Iterator[TestServer]:
    """The session's TestServer with no routes and no recorded requests."""
    server = shared_server()
    server.reset()
    yield server
    server.reset()


__all__ = [
    "Handler",
    "RecordedRequest",
    "Request",
    "Route",
    "TestServer",
    "http_date",
    "http_server",
    "shared_server",
]
