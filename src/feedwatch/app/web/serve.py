"""Run the web interface under uvicorn on one listening socket opened here."""

from __future__ import annotations

import socket
from collections.abc import Callable

from feedwatch.app.web.app import WebSettings, create_app
from feedwatch.errors import FeedwatchError


class ListenError(FeedwatchError):
    """The address to listen on cannot be used."""


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on host:port (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    # IPPROTO_TCP named, so that asyncio sets TCP_NODELAY on every accepted connection (it checks
    # the protocol number; with 0 a keep-alive response waits 40 ms for a delayed ACK).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve(settings: WebSettings, port: int, announce: Callable[[str], None]) -> None:
    """Serve until SIGINT or SIGTERM; `announce` gets the address once it listens."""
    import uvicorn  # the server loads when it serves, not when the app is imported (tests)

    sock = listen(settings.host, port)
    app = create_app(settings)
    app.state.web.compile_templates()  # before the address is announced: not in a first request
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        proxy_headers=False,
        server_header=False,
        date_header=True,
    )
    server = uvicorn.Server(config)
    announce(url_of(sock))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
