"""item_entities: the citing item's date and source, kept by triggers, for the dossiers list

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

The dossiers list of `feedwatch web` (and `feedwatch entities --since`) counts, per entity, the
items citing it in a period, the distinct sources and the first and last date. Counted through
`items`, that joins every citation with its item: a third of a second and more on a million
items. Each citation now carries its item's date (published, else first seen) and source, so a
period is one range of an index on item_entities alone.

Triggers keep the two columns right for every writer: a citation inserted takes them from its
item; an item whose dates or source change passes them on to its citations. This migration
fills them for what is stored.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGERS = (
    "CREATE TRIGGER item_entities_fill AFTER INSERT ON item_entities BEGIN "
    "UPDATE item_entities SET "
    "at = (SELECT coalesce(published, first_seen) FROM items WHERE id = NEW.item_id), "
    "source = (SELECT source FROM items WHERE id = NEW.item_id) "
    "WHERE item_id = NEW.item_id AND kind = NEW.kind AND ref = NEW.ref; END",
    "CREATE TRIGGER item_entities_item_change AFTER UPDATE OF published, first_seen, source "
    "ON items BEGIN UPDATE item_entities SET at = coalesce(NEW.published, NEW.first_seen), "
    "source = NEW.source WHERE item_id = NEW.id; END",
)
SQLITE_NAMES = ("item_entities_fill", "item_entities_item_change")

PG_FUNCTIONS = (
    """
CREATE FUNCTION feedwatch_item_entities_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT coalesce(i.published, i.first_seen), i.source INTO NEW.at, NEW.source
    FROM items i WHERE i.id = NEW.item_id;
  RETURN NEW;
END $$
""",
    """
CREATE FUNCTION feedwatch_item_entities_item_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE item_entities SET at = coalesce(NEW.published, NEW.first_seen), source = NEW.source
    WHERE item_id = NEW.id;
  RETURN NULL;
END $$
""",
)
PG_TRIGGERS = (
    "CREATE TRIGGER item_entities_fill BEFORE INSERT ON item_entities "
    "FOR EACH ROW EXECUTE FUNCTION feedwatch_item_entities_fill()",
    "CREATE TRIGGER item_entities_item_change AFTER UPDATE OF published, first_seen, source "
    "ON items FOR EACH ROW WHEN (NEW.published IS DISTINCT FROM OLD.published OR "
    "NEW.first_seen IS DISTINCT FROM OLD.first_seen OR NEW.source IS DISTINCT FROM OLD.source) "
    "EXECUTE FUNCTION feedwatch_item_entities_item_change()",
)
PG_DROP = (
    "DROP TRIGGER IF EXISTS item_entities_item_change ON items",
    "DROP TRIGGER IF EXISTS item_entities_fill ON item_entities",
    "DROP FUNCTION IF EXISTS feedwatch_item_entities_item_change()",
    "DROP FUNCTION IF EXISTS feedwatch_item_entities_fill()",
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("item_entities") as batch:
        batch.add_column(sa.Column("at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("source", sa.String(length=100), nullable=True))
    op.execute(
        "UPDATE item_entities SET at = (SELECT coalesce(i.published, i.first_seen) FROM items i "
        "WHERE i.id = item_entities.item_id), source = (SELECT i.source FROM items i "
        "WHERE i.id = item_entities.item_id)"
    )
    op.create_index("ix_item_entities_at", "item_entities", ["at"])
    op.create_index("ix_item_entities_kind_at", "item_entities", ["kind", "at"])
    if dialect == "sqlite":
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)
    else:
        for function in PG_FUNCTIONS:
            op.execute(function)
        for trigger in PG_TRIGGERS:
            op.execute(trigger)
    op.execute("ANALYZE item_entities")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for statement in PG_DROP:
            op.execute(statement)
    op.drop_index("ix_item_entities_kind_at", table_name="item_entities")
    op.drop_index("ix_item_entities_at", table_name="item_entities")
    with op.batch_alter_table("item_entities") as batch:
        batch.drop_column("source")
        batch.drop_column("at")
