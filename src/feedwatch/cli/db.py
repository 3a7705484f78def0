"""`feedwatch db upgrade`: apply the database migrations."""

from __future__ import annotations

import click

from feedwatch.cli._common import Context
from feedwatch.edges.store import Store


@click.group()
def db() -> None:
    """Database schema commands."""


@db.command()
@click.pass_obj
def upgrade(obj: Context) -> None:
    """Apply the Alembic migrations up to the newest schema."""
    store = Store(obj.database_url, auto_upgrade=False)
    try:
        revision = store.upgrade()
    finally:
        store.close()
    if not obj.quiet:
        click.echo(f"database at revision {revision}")
