"""The store's foundation: the engine, SQLite's pragmas, the schema check and upgrade
(Alembic), bulk inserts, and the one translation of database errors into StorageError."""

from __future__ import annotations

import functools
import inspect
import os
import weakref
from collections.abc import Callable, Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Self, TypeVar, cast

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError, StatementError

from feedwatch.errors import StorageError

DEFAULT_DATABASE_URL = "sqlite:///data/feedwatch.db"
# Bulk inserts on SQLite skip SQLAlchemy's per-row parameter handling (StoreBase._insert_many);
# tests turn it off to check that both ways write the same rows.
FAST_SQLITE_INSERTS = True
# The newest migration; tests/edges/test_store.py checks it against Alembic's head.
SCHEMA_REVISION = "0010"

F = TypeVar("F", bound=Callable[..., Any])


def _detail(exc: BaseException) -> str:
    """The driver's own words for a database error, on one line."""
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(orig).strip().splitlines()
    return lines[0] if lines else type(orig).__name__


def wrap_exceptions(what: str) -> Callable[[F], F]:
    """Turn a database error raised by a public method of the store (or while iterating the
    generator it returns) into StorageError saying `what` was being done, on which database."""

    def decorate(fn: F) -> F:
        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def generator(self: StoreBase, *args: Any, **kwargs: Any) -> Iterator[Any]:
                try:
                    yield from fn(self, *args, **kwargs)
                except SQLAlchemyError as exc:
                    raise self.storage_error(what, exc) from exc

            return cast(F, generator)

        @functools.wraps(fn)
        def wrapper(self: StoreBase, *args: Any, **kwargs: Any) -> Any:
            try:
                return fn(self, *args, **kwargs)
            except SQLAlchemyError as exc:
                raise self.storage_error(what, exc) from exc

        return cast(F, wrapper)

    return decorate


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, busy_ms: int = 5000) -> None:
    cur = dbapi_connection.cursor()
    cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def database_url(explicit: str | None = None) -> str:
    return explicit or os.environ.get("FEEDWATCH_DATABASE_URL") or DEFAULT_DATABASE_URL


def _alembic_config(connection: Connection) -> Any:
    from alembic.config import Config as AlembicConfig  # Alembic loads only to migrate

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("feedwatch") / "migrations"))
    cfg.attributes["connection"] = connection
    return cfg


# Every open store of this process: forking disposes of their pooled connections first, so
# that no child process (app/workers.py) inherits a database connection.
_OPEN: weakref.WeakSet[StoreBase] = weakref.WeakSet()


def _before_fork() -> None:
    for store in list(_OPEN):
        store.engine.dispose()  # pooled, idle connections closed; the next use opens one


def _after_fork_in_child() -> None:
    for store in list(_OPEN):
        store._after_fork_in_child()


os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)


class StoreBase:
    """The engine and what every part of the store shares."""

    def __init__(
        self, url: str | None = None, *, auto_upgrade: bool = True, timeout: float = 30.0
    ) -> None:
        self.url = database_url(url)
        parsed = make_url(self.url)
        kwargs: dict[str, Any] = {}
        if parsed.drivername.startswith("sqlite"):
            db = parsed.database
            if db and db.startswith("file:"):  # a URI filename (?mode=ro&uri=true): as it is
                pass
            elif db and db != ":memory:":
                Path(db).parent.mkdir(parents=True, exist_ok=True)
            # how long a statement waits for another writer's lock (PRAGMA busy_timeout too)
            kwargs["connect_args"] = {"timeout": timeout}
        elif parsed.drivername == "postgresql":
            # Plain postgresql:// means psycopg 3 here (the driver feedwatch installs).
            parsed = parsed.set(drivername="postgresql+psycopg")
        # The database as messages name it: a SQLite file's path, else the URL (no password).
        self.label = parsed.render_as_string(hide_password=True)
        if parsed.drivername.startswith("sqlite") and parsed.database:
            self.label = parsed.database.removeprefix("file:")
        try:
            self.engine: Engine = create_engine(parsed, **kwargs)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StorageError(f"cannot open database {self.label}: {_detail(exc)}") from exc
        self.dialect = self.engine.dialect.name
        _OPEN.add(self)
        self._sqlite_inserts: dict[
            tuple[str, tuple[str, ...]], tuple[str, list[Callable[[Any], Any] | None]]
        ] = {}
        if self.dialect == "sqlite":
            busy = int(timeout * 1000)
            event.listen(self.engine, "connect", lambda c, r: _sqlite_pragmas(c, r, busy))
        if auto_upgrade:
            self._ensure_schema()

    # ------------------------------------------------------------------ schema

    def storage_error(self, what: str, exc: BaseException) -> StorageError:
        """The one line a database failure becomes: what was being done, on which database."""
        return StorageError(f"{what} (database {self.label}): {_detail(exc)}")

    def _ensure_schema(self) -> None:
        try:
            with self.engine.connect() as conn:
                has_schema = sa_inspect(conn).has_table("alembic_version")
                current = None
                if has_schema:
                    current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot open database {self.label}: {_detail(exc)}") from exc
        if current == SCHEMA_REVISION:
            return  # the common case, without loading Alembic's scripts (0.2 s per command)
        if not has_schema or self.dialect == "sqlite":
            self.upgrade()
        else:
            raise StorageError(
                f"the database schema is at {current or 'nothing'}, feedwatch needs "
                f"{self.head_revision()}: run `feedwatch db upgrade`"
            )

    @staticmethod
    def head_revision() -> str:
        from alembic.script import ScriptDirectory  # heavy: only when the schema is behind

        return str(
            ScriptDirectory(str(resources.files("feedwatch") / "migrations")).get_current_head()
        )

    def upgrade(self) -> str:
        """Apply the Alembic migrations up to head; returns the revision reached."""
        from alembic import command  # heavy: only to migrate

        try:
            with self.engine.begin() as conn:
                command.upgrade(_alembic_config(conn), "head")
        except SQLAlchemyError as exc:
            raise StorageError(f"migrating database {self.label} failed: {_detail(exc)}") from exc
        return self.head_revision()

    def close(self) -> None:
        _OPEN.discard(self)
        self.engine.dispose()

    def _after_fork_in_child(self) -> None:
        # the parent's connections are the parent's: the child's pool starts empty
        self.engine.dispose(close=False)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _insert_many(self, conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
        """INSERT ... ON CONFLICT DO NOTHING of many rows with the same keys.

        On SQLite the rows go straight to the driver's executemany, each value converted by
        its column type's own bind processor: SQLAlchemy's per-row parameter handling costs
        more than SQLite's insert itself, and the writer holds the GIL meanwhile. Elsewhere
        (and with FAST_SQLITE_INSERTS off) through SQLAlchemy's executemany."""
        if not rows:
            return
        cols = tuple(rows[0])
        # Only rows that give every column: no column default of SQLAlchemy's to apply.
        if self.dialect != "sqlite" or not FAST_SQLITE_INSERTS or len(cols) != len(table.c):
            conn.execute(self._insert_ignore(table), rows)
            return
        sql, procs = self._sqlite_insert(table, cols)
        try:
            params = [
                tuple(
                    [
                        value if proc is None else proc(value)
                        for proc, value in zip(procs, [row[c] for c in cols], strict=True)
                    ]
                )
                for row in rows
            ]
        except (ValueError, TypeError) as exc:  # as SQLAlchemy reports a value it cannot bind
            raise StatementError(str(exc), sql, None, exc) from exc
        conn.exec_driver_sql(sql, params)

    def _sqlite_insert(
        self, table: Any, cols: tuple[str, ...]
    ) -> tuple[str, list[Callable[[Any], Any] | None]]:
        key = (table.name, cols)
        got = self._sqlite_inserts.get(key)
        if got is None:
            dialect = self.engine.dialect
            names = ", ".join(dialect.identifier_preparer.quote(c) for c in cols)
            marks = ", ".join("?" for _ in cols)
            sql = (
                f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({names}) "
                f"VALUES ({marks}) ON CONFLICT DO NOTHING"
            )
            # dialect_impl: SQLite's own DATETIME and JSON, as SQLAlchemy binds them
            # dialect_impl: SQLite's own DATETIME and JSON, as SQLAlchemy binds them
            got = sql, [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in cols]
            self._sqlite_inserts[key] = got
        return got

    def _insert_ignore(self, table: Any) -> Any:
        if self.dialect == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing()
        if self.dialect == "sqlite":
            return sqlite.insert(table).on_conflict_do_nothing()
        return table.insert()


def chunks(seq: Sequence[str], n: int) -> Iterator[Sequence[str]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]
