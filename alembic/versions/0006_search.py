"""search index (FTS5 / tsvector, kept in step by triggers on items) and monitor deliveries

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-04

Triggers on `items` queue every inserted, changed (title, summary, lang) or deleted item in
`search_queue`; feedwatch indexes the queue (edges/store/search.py `index_pending`) before it
searches or matches monitors, so whoever writes items (any code path, any process) keeps the
index in step. This migration queues and indexes what is already stored.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from feedwatch.edges.store.search import index_pending

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

SQLITE_TRIGGERS = (
    "CREATE TRIGGER items_search_insert AFTER INSERT ON items BEGIN "
    "INSERT OR IGNORE INTO search_queue (item_id) VALUES (new.id); END",
    "CREATE TRIGGER items_search_update AFTER UPDATE OF title, summary, lang, published, source ON items BEGIN "
    "INSERT OR IGNORE INTO search_queue (item_id) VALUES (new.id); END",
    "CREATE TRIGGER items_search_delete AFTER DELETE ON items BEGIN "
    "INSERT OR IGNORE INTO search_queue (item_id) VALUES (old.id); END",
)
PG_FUNCTION = """
CREATE FUNCTION feedwatch_search_queue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO search_queue (item_id) VALUES (OLD.id) ON CONFLICT DO NOTHING;
        RETURN OLD;
    END IF;
    INSERT INTO search_queue (item_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    RETURN NEW;
END
$$
"""
PG_TRIGGER = (
    "CREATE TRIGGER items_search_queue AFTER INSERT OR DELETE OR UPDATE OF title, summary, lang, published, source "
    "ON items FOR EACH ROW EXECUTE FUNCTION feedwatch_search_queue()"
)
# ascii tokenizer: the text is already cut into words by feedwatch (space-separated); non-ASCII
# letters stay inside their word, as they do in the PostgreSQL document.
FTS5_TABLE = (
    "CREATE VIRTUAL TABLE item_fts USING fts5("
    "title, body, title_w, body_w, tokenize = 'ascii', detail = full)"
)


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    op.create_table(
        "search_queue",
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_search_queue")),
    )
    op.create_table(
        "search_docs",
        sa.Column("docid", _ID, autoincrement=True, nullable=False),
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column(
            "tsv", sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql"), nullable=True
        ),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("docid", name=op.f("pk_search_docs")),
        sa.UniqueConstraint("item_id", name="uq_search_docs_item_id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("search_docs", schema=None) as batch_op:
        batch_op.create_index("ix_search_docs_at", ["at"], unique=False)
    op.create_table(
        "monitor_state",
        sa.Column("monitor", sa.String(length=100), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_delivery_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("monitor", name=op.f("pk_monitor_state")),
    )
    op.create_table(
        "monitor_matches",
        sa.Column("monitor", sa.String(length=100), nullable=False),
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_monitor_matches_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("monitor", "item_id", name=op.f("pk_monitor_matches")),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("monitors", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_status", ["status"], unique=False)
    op.create_table(
        "delivery_items",
        sa.Column("delivery_id", _ID, nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("monitor", sa.String(length=100), nullable=False),
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_delivery_items_delivery_id_deliveries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_delivery_items_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("channel", "monitor", "item_id", name="uq_delivery_items_channel"),
    )
    with op.batch_alter_table("delivery_items", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_items_delivery_id", ["delivery_id"], unique=False)

    if dialect == "sqlite":
        op.execute(FTS5_TABLE)
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)
    elif dialect == "postgresql":
        op.execute("CREATE INDEX ix_search_docs_tsv ON search_docs USING gin (tsv)")
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    # What is stored already: queued, then indexed here (the same code as every later write).
    op.execute("INSERT INTO search_queue (item_id) SELECT id FROM items")
    index_pending(bind, topics=False)  # doc_topics comes with 0009, which fills it


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("items_search_insert", "items_search_update", "items_search_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS item_fts")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS items_search_queue ON items")
        op.execute("DROP FUNCTION IF EXISTS feedwatch_search_queue()")
    op.drop_table("delivery_items")
    op.drop_table("deliveries")
    op.drop_table("monitor_matches")
    op.drop_table("monitor_state")
    op.drop_table("search_docs")
    op.drop_table("search_queue")
