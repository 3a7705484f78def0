"""Indexes the web pages walk newest first: items by (published, first_seen, id), per source too;
the first replaces ix_items_published, which is its first column

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_items_published_first_seen_id", "items", ["published", "first_seen", "id"])
    op.create_index(
        "ix_items_source_published", "items", ["source", "published", "first_seen", "id"]
    )
    op.drop_index("ix_items_published", table_name="items")


def downgrade() -> None:
    op.create_index("ix_items_published", "items", ["published"])
    op.drop_index("ix_items_source_published", table_name="items")
    op.drop_index("ix_items_published_first_seen_id", table_name="items")
