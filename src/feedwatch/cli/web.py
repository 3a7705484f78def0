"""`feedwatch web`: the web interface on 127.0.0.1 (or another address, with a token)."""

from __future__ import annotations

import os
import sys

import click

from feedwatch.cli._common import Context
from feedwatch.cli.monitors import chosen_monitors, monitors_option
from feedwatch.config.monitors import monitors_path
from feedwatch.config.sources import DEFAULT_CONFIG_PATH


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(min=0, max=65535),
    default=8080,
    show_default=True,
    help="Port to listen on (0: any free port, printed at start).",
)
@click.option(
    "--public",
    is_flag=True,
    help="On a non-loopback address, let anyone read without logging in "
    "(writes still need the token).",
)
@click.option(
    "--secure-cookies",
    is_flag=True,
    help="Send the login cookie over HTTPS only (behind a TLS proxy).",
)
@monitors_option()
@click.pass_context
def web(ctx: click.Context, host: str, port: int, public: bool, secure_cookies: bool) -> None:
    """The web interface: topics, sources' health, items with their reasons, search, dossiers,
    monitors (what each would send: --monitors PATH, as `feedwatch monitors`), labels.

    Reading needs no login on 127.0.0.1. Every change (labels) needs the token in
    FEEDWATCH_WEB_TOKEN, entered once in the login form. On any other address feedwatch
    refuses to start without that token, and reading needs it too unless --public.
    """
    obj: Context = ctx.obj
    # Starlette and uvicorn load only for `feedwatch web`, not with every command
    from feedwatch.app.web import WebSettings
    from feedwatch.app.web.security import is_loopback
    from feedwatch.app.web.serve import serve

    token = os.environ.get("FEEDWATCH_WEB_TOKEN") or None
    if not is_loopback(host) and not token:
        click.echo(
            f"error: refusing to listen on {host}: anyone who can reach it could change "
            "labels. Set FEEDWATCH_WEB_TOKEN (a long random value) or listen on 127.0.0.1.",
            err=True,
        )
        sys.exit(2)
    if token is not None and len(token) < 16:
        click.echo("warning: FEEDWATCH_WEB_TOKEN is short; use 16 characters or more", err=True)
    sources = obj.config_path or os.environ.get("FEEDWATCH_CONFIG") or DEFAULT_CONFIG_PATH
    obj.store()  # the database opens (and is upgraded) before the server starts
    settings = WebSettings(
        database_url=obj.database_url,
        topics_path=obj.topics_path,
        monitors_path=str(monitors_path(chosen_monitors(ctx), sources)),
        sources_path=str(sources),
        host=host,
        token=token,
        public=public,
        secure_cookies=secure_cookies,
    )

    def announce(url: str) -> None:
        writes = "labels need a login" if token else "read-only (no FEEDWATCH_WEB_TOKEN)"
        click.echo(f"feedwatch web: {url} ({writes}; Ctrl-C stops)", err=False)
        sys.stdout.flush()

    serve(settings, port, announce)
