"""Alembic environment: migrations run against the connection feedwatch hands in, or the URL."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, create_engine

from feedwatch.edges.store.models import metadata

config = context.config
target_metadata = metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ.get(
        "FEEDWATCH_DATABASE_URL", "sqlite:///data/feedwatch.db"
    )
    engine = create_engine(url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("feedwatch migrations run online only (feedwatch db upgrade)")
run_migrations_online()
