"""Static HTTP server for the offline demo mirror in demo/site, bound to 127.0.0.1 only.

Serves every file under demo/site with a strong ETag (hash of the content), Last-Modified
(file mtime), 304 answers to If-None-Match / If-Modified-Since, a Content-Type per feed
format and gzip when the client accepts it. Query strings are ignored, so a mirror URL may
carry the real source's query for realism.

The open-data API mirrors under demo/site/api/ have paths without a suffix, as the services
do: a path that is not a file is answered by the same path with .json or .xml, and a directory
by the file named after one of the query's values (`content?id=ECLI:NL:RVS:2026:7012` ->
`content/ECLI_NL_RVS_2026_7012.xml`, every character outside [A-Za-z0-9._-] as '_').

    python demo/serve.py [PORT] [--verbose]     # PORT or $FEEDWATCH_DEMO_PORT, default 8765

Importable: ``start_server(port) -> (server, thread)`` and ``stop_server(server, thread)``.
"""

from __future__ import annotations

import argparse
import errno
import gzip
import hashlib
import html
import os
import re
import sys
import threading
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

HOST = "127.0.0.1"
DEFAULT_PORT = 8765
PORT_ENV = "FEEDWATCH_DEMO_PORT"
SITE_DIR = Path(__file__).resolve().parent / "site"

_TYPES_BY_SUFFIX = {
    ".json": "application/feed+json",
    ".atom": "application/atom+xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".rdf": "application/rdf+xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
_TYPES_BY_XML_ROOT = {
    "feed": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "rdf:RDF": "application/rdf+xml; charset=utf-8",
}


def content_type(path: Path, data: bytes) -> str:
    """The Content-Type for a file: by suffix, and for .xml by the document's root element."""
    suffix = path.suffix.lower()
    if suffix in _TYPES_BY_SUFFIX:
        return _TYPES_BY_SUFFIX[suffix]
    if suffix == ".xml":
        return _TYPES_BY_XML_ROOT.get(xml_root_name(data), "application/xml; charset=utf-8")
    return "application/octet-stream"


def xml_root_name(data: bytes) -> str:
    """The qualified name of the first element in an XML document ('' if none is found)."""
    text = data[:4096].decode("utf-8", errors="replace")
    pos = 0
    while True:
        start = text.find("<", pos)
        if start < 0 or start + 1 >= len(text):
            return ""
        if text[start + 1] in "?!":  # declaration, processing instruction, comment, doctype
            pos = start + 2
            continue
        end = start + 1
        while end < len(text) and not text[end].isspace() and text[end] not in "/>":
            end += 1
        return text[start + 1 : end]


@dataclass(frozen=True)
class _Resource:
    """One file as served: body, its gzip form, validators and type."""

    body: bytes
    gzipped: bytes
    etag: str
    etag_gzip: str
    last_modified: str
    mtime: int
    content_type: str


class DemoServer(ThreadingHTTPServer):
    """Threaded HTTP server over one site directory, with a small per-file cache."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, port: int, site_dir: Path, *, verbose: bool = False) -> None:
        self.site_dir = site_dir.resolve()
        self.verbose = verbose
        self._cache: dict[Path, tuple[int, int, _Resource]] = {}
        self._lock = threading.Lock()
        super().__init__((HOST, port), _Handler)

    @property
    def port(self) -> int:
        """The port actually bound (useful after asking for port 0)."""
        return int(self.server_address[1])

    def resource(self, path: Path) -> _Resource:
        """The served form of one file, rebuilt when its mtime or size changes."""
        st = path.stat()
        with self._lock:
            hit = self._cache.get(path)
            if hit is not None and hit[0] == st.st_mtime_ns and hit[1] == st.st_size:
                return hit[2]
        data = path.read_bytes()
        if self.port != DEFAULT_PORT and path.suffix in (".xml", ".json"):
            # sitemaps carry absolute URLs on the default port; move them with the server
            data = data.replace(
                f"//{HOST}:{DEFAULT_PORT}/".encode(), f"//{HOST}:{self.port}/".encode()
            )
        digest = hashlib.sha256(data).hexdigest()[:32]
        mtime = int(st.st_mtime)
        res = _Resource(
            body=data,
            gzipped=gzip.compress(data, compresslevel=6, mtime=0),
            etag=f'"{digest}"',
            etag_gzip=f'"{digest}-gzip"',
            last_modified=formatdate(mtime, usegmt=True),
            mtime=mtime,
            content_type=content_type(path, data),
        )
        with self._lock:
            self._cache[path] = (st.st_mtime_ns, st.st_size, res)
        return res

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about clients that hang up; report other errors only when verbose."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError) or not self.verbose:
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """GET/HEAD of static files with conditional requests and gzip."""

    server: DemoServer
    protocol_version = "HTTP/1.1"
    server_version = "feedwatch-demo/1"

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            sys.stderr.write(f"demo-server: {self.address_string()} {format % args}\n")

    def _serve(self, *, send_body: bool) -> None:
        url_path = unquote(urlsplit(self.path).path)
        if url_path in ("", "/"):
            self._send_simple(HTTPStatus.OK, self._index(), "text/html; charset=utf-8", send_body)
            return
        path = self._resolve(url_path, urlsplit(self.path).query)
        if path is None:
            self._send_simple(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain", send_body)
            return
        res = self.server.resource(path)
        use_gzip = accepts_gzip(self.headers.get("Accept-Encoding", ""))
        etag = res.etag_gzip if use_gzip else res.etag
        if self._not_modified(res):
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self._validators(etag, res)
            self.end_headers()
            return
        body = res.gzipped if use_gzip else res.body
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", res.content_type)
        self.send_header("Content-Length", str(len(body)))
        if use_gzip:
            self.send_header("Content-Encoding", "gzip")
        self._validators(etag, res)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _validators(self, etag: str, res: _Resource) -> None:
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", res.last_modified)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Vary", "Accept-Encoding")

    def _not_modified(self, res: _Resource) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:  # RFC 9110 13.2.2: If-None-Match wins over If-Modified-Since
            return etag_matches(inm, (res.etag, res.etag_gzip))
        ims = self.headers.get("If-Modified-Since")
        if ims is None:
            return False
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            return False
        return res.mtime <= since.timestamp()

    def _resolve(self, url_path: str, query: str = "") -> Path | None:
        if "\x00" in url_path:
            return None
        candidate = (self.server.site_dir / url_path.lstrip("/")).resolve()
        if not candidate.is_relative_to(self.server.site_dir):
            return None
        if candidate.is_file():
            return candidate
        names: list[Path] = []
        if candidate.is_dir():  # an API mirror: the file named after a query value
            for _key, value in parse_qsl(query):
                safe = re.sub(r"[^A-Za-z0-9._-]", "_", value)
                names += [candidate / f"{safe}.xml", candidate / f"{safe}.json"]
        if candidate != self.server.site_dir:  # an API path without a suffix
            names += [candidate.with_name(candidate.name + s) for s in (".json", ".xml")]
        for name in names:
            if name.is_file() and name.resolve().is_relative_to(self.server.site_dir):
                return name
        return None

    def _index(self) -> bytes:
        root = self.server.site_dir
        files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
        links = "".join(f'<li><a href="/{html.escape(f)}">{html.escape(f)}</a></li>' for f in files)
        page = (
            "<!doctype html><meta charset=utf-8><title>feedwatch demo mirror</title>"
            f"<h1>feedwatch demo mirror</h1><ul>{links}</ul>"
        )
        return page.encode("utf-8")

    def _send_simple(self, status: HTTPStatus, body: bytes, ctype: str, send_body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header allows gzip (explicitly or by '*', with q > 0)."""
    allowed: dict[str, bool] = {}
    for part in accept_encoding.split(","):
        token, _, params = part.strip().partition(";")
        token = token.strip().lower()
        if not token:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        allowed[token] = q > 0
    if "gzip" in allowed:
        return allowed["gzip"]
    return allowed.get("*", False)


def etag_matches(header: str, current: tuple[str, ...]) -> bool:
    """Weak comparison of an If-None-Match header against the current entity tags."""
    if header.strip() == "*":
        return True
    wanted = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return any(tag in wanted for tag in current)


def start_server(
    port: int = DEFAULT_PORT, site_dir: Path = SITE_DIR, *, verbose: bool = False
) -> tuple[DemoServer, threading.Thread]:
    """Bind 127.0.0.1:port (0 = any free port) and serve site_dir from a daemon thread.

    Raises OSError (errno EADDRINUSE) when the port is taken.
    """
    server = DemoServer(port, site_dir, verbose=verbose)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="demo-server", daemon=True
    )
    thread.start()
    return server, thread


def stop_server(server: DemoServer, thread: threading.Thread) -> None:
    """Stop serving, close the socket and wait for the serving thread."""
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def port_from_env(default: int = DEFAULT_PORT) -> int:
    """The port from $FEEDWATCH_DEMO_PORT, else default; exits with a message when invalid."""
    raw = os.environ.get(PORT_ENV, "").strip()
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        sys.exit(f"{PORT_ENV}={raw!r}: expected a port number 0-65535")
    return port


def port_busy_message(port: int) -> str:
    """The error shown when the demo port is already taken."""
    return (
        f"error: port {port} on {HOST} is already in use (another demo server still running?). "
        f"Stop it, or choose another port: {PORT_ENV}=8766 make demo"
    )


def main(argv: list[str] | None = None) -> int:
    """Serve demo/site in the foreground until interrupted."""
    parser = argparse.ArgumentParser(description="Serve the feedwatch demo mirror on 127.0.0.1.")
    parser.add_argument("port", nargs="?", type=int, help=f"default ${PORT_ENV} or {DEFAULT_PORT}")
    parser.add_argument("--site", type=Path, default=SITE_DIR, help="directory to serve")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    port = args.port if args.port is not None else port_from_env()
    try:
        server = DemoServer(port, args.site, verbose=args.verbose)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(port_busy_message(port), file=sys.stderr)
            return 1
        raise
    print(f"Serving {args.site} on http://{HOST}:{server.port}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
