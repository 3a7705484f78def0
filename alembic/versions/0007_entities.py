"""item_entities, item_documents, connector_cursors; sources.kind widened for connector kinds

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        # connector kinds are longer than 20; SQLite enforces no length, and a batch rebuild of
        # `sources` there would drop the table, and the drop cascades to every item
        op.alter_column(
            "sources", "kind", existing_type=sa.String(length=20), type_=sa.String(length=40)
        )
    op.create_table(
        "item_entities",
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_item_entities_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", "kind", "ref", name=op.f("pk_item_entities")),
    )
    op.create_index("ix_item_entities_kind_ref", "item_entities", ["kind", "ref"], unique=False)
    op.create_table(
        "item_documents",
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("doc_kind", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_item_documents_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_item_documents")),
    )
    op.create_table(
        "connector_cursors",
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source"],
            ["sources.key"],
            name=op.f("fk_connector_cursors_source_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_connector_cursors")),
    )
    _index_stored_items()


def _index_stored_items() -> None:
    """The entities of the items stored before this migration, from their title, summary and URL."""
    from feedwatch.core.entities import find_entities

    conn = op.get_bind()
    items = sa.table(
        "items", sa.column("id"), sa.column("title"), sa.column("summary"), sa.column("url")
    )
    target = sa.table("item_entities", sa.column("item_id"), sa.column("kind"), sa.column("ref"))
    last = ""
    while True:  # in batches by id, so that memory stays flat on a large database
        batch = conn.execute(
            sa.select(items.c.id, items.c.title, items.c.summary, items.c.url)
            .where(items.c.id > last)
            .order_by(items.c.id)
            .limit(5000)
        ).all()
        if not batch:
            return
        rows: list[dict[str, str]] = []
        for item_id, title, summary, url in batch:
            for entity in find_entities(title, summary, url):
                kind, _, ref = entity.partition(":")
                rows.append({"item_id": item_id, "kind": kind, "ref": ref})
        if rows:
            conn.execute(target.insert(), rows)
        last = batch[-1][0]


def downgrade() -> None:
    op.drop_table("connector_cursors")
    op.drop_table("item_documents")
    op.drop_index("ix_item_entities_kind_ref", table_name="item_entities")
    op.drop_table("item_entities")
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(
            "sources", "kind", existing_type=sa.String(length=40), type_=sa.String(length=20)
        )
