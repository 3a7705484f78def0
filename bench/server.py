"""Benchmark HTTP server on 127.0.0.1: serves a directory from memory, fast, with ETag/304.

    python bench/server.py DIR [--port 0]      # prints "PORT <n>" once listening

Everything under DIR is read into memory at start, with a gzip copy for bodies over 1 KB. HTTP/1.1
keep-alive (pipelining too) on a bare asyncio.Protocol, no framework, so one core serves well over
ten thousand small requests per second (`ceiling()` measures it).

Modes, switched with GET /__mode/<name> (answers 200 "ok"):
- `validators` (default): ETag and Last-Modified on every 200; If-None-Match / If-Modified-Since
  that match get 304 Not Modified;
- `novalidators`: the same bodies, without ETag or Last-Modified, always 200.
GET /__stats answers the number of requests served so far.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

LAST_MODIFIED = "Fri, 20 Nov 2026 11:00:00 GMT"
TYPES = {
    ".xml": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/feed+json",
}


@dataclass(frozen=True, slots=True)
class Entry:
    body: bytes
    gzipped: bytes | None
    ctype: str
    etag: str


def load(root: Path) -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        body = path.read_bytes()
        digest = hashlib.sha1(body).hexdigest()[:20]
        out["/" + path.relative_to(root).as_posix()] = Entry(
            body=body,
            gzipped=gzip.compress(body, 6, mtime=0) if len(body) > 1024 else None,
            ctype=TYPES.get(path.suffix, "application/octet-stream"),
            etag=f'"{digest}"',
        )
    return out


class State:
    def __init__(self, docs: dict[str, Entry]) -> None:
        self.docs = docs
        self.mode = "validators"
        self.served = 0


def _response(status: str, headers: list[tuple[str, str]], body: bytes, head: bool) -> bytes:
    lines = [f"HTTP/1.1 {status}"]
    lines += [f"{k}: {v}" for k, v in headers]
    lines.append(f"Content-Length: {len(body)}")
    out = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return out if head else out + body


def answer(state: State, method: str, target: str, headers: dict[str, str]) -> bytes:
    state.served += 1
    path = target.split("?", 1)[0]
    head = method == "HEAD"
    if path.startswith("/__mode/"):
        state.mode = path.rsplit("/", 1)[1]
        return _response("200 OK", [("Content-Type", "text/plain")], b"ok", head)
    if path == "/__stats":
        return _response(
            "200 OK", [("Content-Type", "text/plain")], str(state.served).encode(), head
        )
    entry = state.docs.get(path)
    if entry is None:
        return _response("404 Not Found", [("Content-Type", "text/plain")], b"not found", head)
    use_gzip = entry.gzipped is not None and "gzip" in headers.get("accept-encoding", "")
    common = [("Content-Type", entry.ctype), ("Vary", "Accept-Encoding")]
    if state.mode == "validators":
        etag = entry.etag[:-1] + ('-gz"' if use_gzip else '"')
        common += [("ETag", etag), ("Last-Modified", LAST_MODIFIED)]
        inm = headers.get("if-none-match")
        if (inm is not None and (etag in inm or entry.etag in inm or inm.strip() == "*")) or (
            inm is None and headers.get("if-modified-since") == LAST_MODIFIED
        ):
            return _response("304 Not Modified", common, b"", True)
    if use_gzip:
        assert entry.gzipped is not None
        return _response("200 OK", [*common, ("Content-Encoding", "gzip")], entry.gzipped, head)
    return _response("200 OK", common, entry.body, head)


class Http(asyncio.Protocol):
    def __init__(self, state: State) -> None:
        self.state = state
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        assert self.transport is not None
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > 65536:
                    self.transport.close()
                return
            head, self.buf = self.buf[:end].decode("latin-1"), self.buf[end + 4 :]
            lines = head.split("\r\n")
            try:
                method, target, _version = lines[0].split(" ", 2)
            except ValueError:
                self.transport.close()
                return
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            self.transport.write(answer(self.state, method, target, headers))
            if headers.get("connection", "").lower() == "close":
                self.transport.close()
                return


async def serve(root: Path, port: int) -> None:
    state = State(load(root))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Http(state), "127.0.0.1", port, backlog=1024)
    sock = server.sockets[0]
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


# ------------------------------------------------------------------ ceiling (client side)


async def _client(port: int, paths: list[str], until: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    rng = random.Random(len(counts))
    try:
        while time.perf_counter() < until:
            path = rng.choice(paths)
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n".encode()
            )
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            counts[0] += 1
    finally:
        writer.close()


async def _ceiling(port: int, paths: list[str], seconds: float, connections: int) -> float:
    counts = [0]
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(*(_client(port, paths, until, counts) for _ in range(connections)))
    return counts[0] / (time.perf_counter() - started)


def ceiling(port: int, paths: list[str], seconds: float = 2.0, connections: int = 20) -> float:
    """Requests/s a bare asyncio client gets from the server (a lower bound of its ceiling)."""
    return asyncio.run(_ceiling(port, paths, seconds, connections))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.root, args.port))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
