"""The application factory: settings, shared state, middleware and routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from feedwatch.app.classifier import configured_topics
from feedwatch.app.web import dossier_list, dossiers, monitors, pages, search
from feedwatch.app.web.aggregates import WeekCounts
from feedwatch.app.web.health import HealthFacts
from feedwatch.app.web.i18n import weeks_back
from feedwatch.app.web.security import SecurityHeaders, is_loopback, session_secret
from feedwatch.edges.store import Store

log = logging.getLogger(__name__)

CHART_WEEKS = 52
SPARK_WEEKS = 12
LOOPBACK_NAMES = ["127.0.0.1", "localhost", "::1", "[::1]"]


@dataclass(frozen=True, slots=True)
class WebSettings:
    """How `feedwatch web` runs."""

    database_url: str | None = None
    topics_path: str | None = None
    monitors_path: str | None = None  # monitors.yaml (None: no monitors page content)
    sources_path: str | None = None  # the sources config (the legacy digests.yaml beside it)
    host: str = "127.0.0.1"
    token: str | None = None  # FEEDWATCH_WEB_TOKEN: allows writes after logging in
    public: bool = False  # reading without logging in on a non-loopback address
    secure_cookies: bool = False  # the session cookie only over HTTPS (behind a TLS proxy)
    ttl: float = 600.0  # seconds a finished week's counts are kept before a refresh
    live_ttl: float = 30.0  # seconds the current week's counts are kept
    health_ttl: float = 30.0  # seconds the sources' health facts are kept before a refresh
    page_size: int = 50
    warm: bool = True  # count the finished weeks in the background at start-up

    @property
    def read_open(self) -> bool:
        """Reading needs no login: on loopback, or on another address with --public."""
        return is_loopback(self.host) or self.public


class Web:
    """What every request shares: settings, the store, the topics, the counts, templates."""

    def __init__(self, settings: WebSettings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.topics = configured_topics(settings.topics_path)
        self.counts = WeekCounts(store, ttl=settings.ttl, live=settings.live_ttl)
        self.health = HealthFacts(store, ttl=settings.health_ttl)
        self.dossier_counts = dossier_list.DossierCounts(store)
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader("feedwatch.app.web", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def compile_templates(self) -> None:
        """Compile every template once (at start-up, not in the first visitor's request)."""
        for name in self.templates.list_templates(extensions=["html"]):
            self.templates.get_template(name)

    def topic_title(self, key: str) -> str:
        return self.topics.get(key).title if key in self.topics else key


def create_app(settings: WebSettings, store: Store | None = None) -> Starlette:
    """The ASGI application; `store` defaults to one on settings.database_url (closed on
    shutdown)."""
    own_store = store is None
    web = Web(settings, store if store is not None else Store(settings.database_url))

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if settings.warm:
            now = datetime.now(UTC)
            web.counts.warm("topic", weeks_back(now, CHART_WEEKS), now)
            web.counts.warm("source", weeks_back(now, SPARK_WEEKS), now)
            web.counts.warm_totals()
        try:
            yield
        finally:
            web.counts.close()
            web.health.close()
            web.dossier_counts.close()
            if own_store:
                web.store.close()

    static = StaticFiles(directory=str(resources.files("feedwatch.app.web") / "static"))
    routes = [
        Route("/", pages.overview, name="overview"),
        Route("/topics/{topic}", pages.topic_page, name="topic"),
        Route("/topics/{topic}/atom", pages.topic_atom, name="topic_atom"),
        Route("/sources", pages.sources_page, name="sources"),
        Route("/sources/{key}", pages.source_page, name="source"),
        Route("/sources/{key}/atom", pages.source_atom, name="source_atom"),
        Route("/dossiers", dossier_list.dossiers_page, name="dossiers"),
        Route("/dossiers/{entity}", dossiers.dossier_page, name="dossier"),
        Route("/dossiers/{entity}/atom", dossiers.dossier_atom, name="dossier_atom"),
        Route("/search", search.search_page, name="search"),
        Route("/search/atom", search.search_atom, name="search_atom"),
        Route("/monitors", monitors.monitors_page, name="monitors"),
        Route("/monitors/{name}", monitors.monitor_page, name="monitor"),
        Route("/items/{item_id}", pages.item_page, name="item"),
        Route("/items/{item_id}/labels", pages.label_post, methods=["POST"], name="labels"),
        Route("/login", pages.login_form, methods=["GET"], name="login"),
        Route("/login", pages.login_post, methods=["POST"]),
        Route("/logout", pages.logout_post, methods=["POST"], name="logout"),
        Route("/healthz", pages.healthz, name="healthz"),
        Mount("/static", app=static, name="static"),
    ]
    middleware = [Middleware(SecurityHeaders), Middleware(ErrorPage)]
    if is_loopback(settings.host):
        # A page on another site cannot reach this server through a DNS name that it points
        # at 127.0.0.1 (DNS rebinding): only loopback names are accepted as Host.
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=LOOPBACK_NAMES))
    middleware.append(
        Middleware(
            SessionMiddleware,
            secret_key=session_secret(settings.token),
            session_cookie="feedwatch_session",
            max_age=14 * 24 * 3600,
            same_site="strict",
            https_only=settings.secure_cookies,
        )
    )
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error},
    )
    app.state.web = web
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return pages.error_page(request, exc.status_code, exc.detail)


class ErrorPage:
    """A bug or a database failure: logged with its traceback, answered with the error page
    (inside SecurityHeaders, so it carries them too); never a traceback for the visitor."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            log.error("error on %s %s", scope.get("method"), scope.get("path"), exc_info=exc)
            if started:
                raise
            response = pages.error_page(Request(scope), 500, None)
            await response(scope, receive, send)
