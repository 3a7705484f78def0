"""SQLAlchemy tables of feedwatch; the schema is only ever changed by an Alembic migration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import TSVECTOR

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes only: naive values are refused (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime refused: {value!r}")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


sources = Table(
    "sources",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("name", Text, nullable=False, default=""),
    Column("organisation", Text, nullable=False, default=""),
    # 40 since migration 0007 (connector kinds); SQLite enforces no length, and widening it
    # there would rebuild the table, whose drop cascades to every item: it stays 20 there
    Column("kind", String(40).with_variant(String(20), "sqlite"), nullable=False, default="auto"),
    Column("config_url", Text, nullable=False),  # as written in the config
    Column("url", Text, nullable=False),  # current: config_url or where a 301/308 led
    Column("enabled", Boolean, nullable=False, default=True),
    Column("in_config", Boolean, nullable=False, default=True),
    Column("disabled_reason", Text, nullable=True),
    Column("interval_seconds", Integer, nullable=False, default=3600),
    Column("etag", Text, nullable=True),
    Column("last_modified", Text, nullable=True),
    Column("next_check_at", UTCDateTime, nullable=True),
    Column("last_fetch_at", UTCDateTime, nullable=True),
    Column("last_success_at", UTCDateTime, nullable=True),
    Column("last_new_item_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("last_error_at", UTCDateTime, nullable=True),
    Column("consecutive_errors", Integer, nullable=False, default=0),
    Column("lease_owner", String(100), nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("typical_gap_seconds", Float, nullable=True),  # migration 0003
    Column("body_hash", String(64), nullable=True),  # migration 0004: last body read, digested
    Column("body_items", Integer, nullable=True),  # migration 0004: items read from that body
    Index("ix_sources_next_check_at", "next_check_at"),
)

items = Table(
    "items",
    metadata,
    Column("id", String(40), primary_key=True),
    Column(
        "source",
        String(100),
        ForeignKey("sources.key", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("url", Text, nullable=False, default=""),
    Column("guid", Text, nullable=True),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("published", UTCDateTime, nullable=True),
    Column("date_source", String(20), nullable=False),
    Column("updated", UTCDateTime, nullable=True),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_changed", UTCDateTime, nullable=False),
    Column("author", Text, nullable=True),
    Column("lang", String(10), nullable=True),
    Column("content_hash", String(64), nullable=False),
    Column("classifier_version", String(40), nullable=True),
    Index("ix_items_source_url", "source", "url"),
    Index("ix_items_first_seen", "first_seen"),
    # migration 0008: the web pages walk these newest first (edges/store/views.py); the first
    # replaces ix_items_published (its first column), so a write maintains one index more
    Index("ix_items_published_first_seen_id", "published", "first_seen", "id"),
    Index("ix_items_source_published", "source", "published", "first_seen", "id"),
)

item_topics = Table(
    "item_topics",
    metadata,
    Column("item_id", String(40), ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("topic", String(64), primary_key=True),
    Column("origin", String(10), primary_key=True),  # rule | manual (a human decision)
    Column("score", Float, nullable=False, default=0.0),
    Column("threshold", Float, nullable=False, default=0.0),
    Column("assigned", Boolean, nullable=False, default=False),
    Column("terms", JSON, nullable=False, default=list),
    Index("ix_item_topics_topic", "topic", "assigned"),
)

fetches = Table(
    "fetches",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("source", String(100), ForeignKey("sources.key", ondelete="CASCADE"), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("duration", Float, nullable=False, default=0.0),
    Column("outcome", String(20), nullable=False),  # ok | not-modified | error
    Column("http_status", Integer, nullable=True),
    Column("url", Text, nullable=False, default=""),
    Column("bytes", Integer, nullable=False, default=0),
    Column("new", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("error", Text, nullable=True),
    Column("error_kind", String(30), nullable=True),
    Column("warnings", JSON, nullable=False, default=list),
    Index("ix_fetches_source_started", "source", "started_at"),
)

# ------------------------------------------------------------------ digests (migration 0002)

digests = Table(
    "digests",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("profile", String(100), nullable=False),
    Column("period", String(10), nullable=False),  # the Amsterdam day, YYYY-MM-DD
    Column("since", UTCDateTime, nullable=False),  # items first seen in [since, until)
    Column("until", UTCDateTime, nullable=False),
    Column("status", String(10), nullable=False),  # pending | sent | skipped
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Column("item_count", Integer, nullable=False, default=0),
    Column("health", JSON, nullable=False, default=list),  # the source-health notes, frozen
    Column("message_id", Text, nullable=True),
    # migration 0003: the worker delivering it now, so that two workers never both send it
    Column("claimed_by", String(100), nullable=True),
    Column("claimed_until", UTCDateTime, nullable=True),
    UniqueConstraint("profile", "period", name="uq_digests_profile_period"),
    Index("ix_digests_status", "status"),
)

digest_items = Table(
    "digest_items",
    metadata,
    Column(
        "digest_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("digests.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("item_id", String(40), ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
)

# ------------------------------------------------------------------ workers (migration 0003)

workers = Table(
    "workers",
    metadata,
    Column("id", String(100), primary_key=True),  # host:pid:random
    Column("hostname", Text, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
    Column("stopped_at", UTCDateTime, nullable=True),
    Column("info", JSON, nullable=False, default=dict),  # next jobs, counters
)

# ------------------------------------------------------ entities and connectors (migration 0007)

item_entities = Table(
    "item_entities",
    metadata,
    Column("item_id", String(40), ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(16), primary_key=True),  # kamerstuk | ecli | stcrt | stb | bwbr | celex
    Column("ref", String(200), primary_key=True),  # the id part of kind:id
    # the citing item's date (published, else first seen) and source, set and kept by the
    # triggers of migration 0010: the dossiers list counts a period on this table alone
    Column("at", UTCDateTime(), nullable=True),
    Column("source", String(100), nullable=True),
    Index("ix_item_entities_kind_ref", "kind", "ref"),
    Index("ix_item_entities_at", "at"),
    Index("ix_item_entities_kind_at", "kind", "at"),
)

item_documents = Table(  # what a connector says of a document beyond the item's fields
    "item_documents",
    metadata,
    Column("item_id", String(40), ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("doc_kind", Text, nullable=False, default=""),  # Motie, Kamerstuk, Uitspraak, ...
    Column("details", JSON, nullable=False, default=dict),  # decision_date, file_hash, ...
)

connector_cursors = Table(  # where a connector source's next run resumes
    "connector_cursors",
    metadata,
    Column("source", String(100), ForeignKey("sources.key", ondelete="CASCADE"), primary_key=True),
    Column("cursor", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# ------------------------------------------------------------------ claims (migration 0005)

holders = Table(
    "holders",
    metadata,
    Column("id", String(100), primary_key=True),  # the holder id a claim names
    Column("hostname", Text, nullable=False),
    Column("boot_id", String(64), nullable=True),  # Linux: which boot of the host
    Column("pid", Integer, nullable=False),
    Column("pid_started", String(32), nullable=True),  # Linux: the process's start (clock ticks)
    Column("backend_pid", Integer, nullable=True),  # PostgreSQL: the holder's own session
    Column("backend_started", UTCDateTime, nullable=True),
    Column("registered_at", UTCDateTime, nullable=False),
)

claims = Table(
    "claims",
    metadata,
    Column("kind", String(40), primary_key=True),  # e.g. digest, monitor-delivery
    Column("key", String(200), primary_key=True),
    Column("holder", String(100), nullable=False),  # holders.id
    Column("claimed_at", UTCDateTime, nullable=False),
    Column("until", UTCDateTime, nullable=False),  # the lease: a last resort (see claims.py)
)

# ----------------------------------------------------- search and monitors (migration 0006)
# The full-text index itself is not a table of this metadata: on SQLite the FTS5 table
# `item_fts` (and its shadow tables item_fts_*), on PostgreSQL the GIN index on search_docs.tsv.
# Both are created by the migration; UNMODELLED names them for the schema comparison.
UNMODELLED = ("item_fts", "ix_search_docs_tsv")

# Items to (re)index: written by triggers on items (insert, delete, update of title, summary
# or lang), emptied by edges.store.search.index_pending().
search_queue = Table(
    "search_queue",
    metadata,
    Column("item_id", String(40), primary_key=True),
)

# One row per indexed item. docid only grows (a re-indexed item gets a new one): monitors keep
# a cursor on it. On PostgreSQL `tsv` holds the document; on SQLite item_fts (rowid = docid).
search_docs = Table(
    "search_docs",
    metadata,
    Column(
        "docid", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("item_id", String(40), nullable=False),
    Column("tsv", Text().with_variant(TSVECTOR(), "postgresql"), nullable=True),
    # copies of the item's source and date (published, else first seen): search ranks and
    # filters without reading the items table's wide rows
    Column("source", String(100), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("item_id", name="uq_search_docs_item_id"),
    Index("ix_search_docs_at", "at"),
    # migration 0009: source: and --source probed in the order the documents are walked
    Index("ix_search_docs_source", "source"),
    sqlite_autoincrement=True,
)

# Per monitor: how far its matching has read (search_docs.docid) and when it last ran.
monitor_state = Table(
    "monitor_state",
    metadata,
    Column("monitor", String(100), primary_key=True),
    Column("cursor", BigInteger, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_run_at", UTCDateTime, nullable=True),  # last time it was due and delivered
    Column("last_delivery_at", UTCDateTime, nullable=True),  # last message that went out
)

# A match of a monitor: found once (monitor, item), delivered once per channel.
monitor_matches = Table(
    "monitor_matches",
    metadata,
    Column("monitor", String(100), primary_key=True),
    Column("item_id", String(40), ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("found_at", UTCDateTime, nullable=False),
)

# One message to one recipient (channel): pending until sent; its id is the Idempotency-Key.
deliveries = Table(
    "deliveries",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("channel", Text, nullable=False),  # e.g. webhook:https://..., email:a@x
    Column("monitors", JSON, nullable=False, default=list),
    Column("status", String(10), nullable=False),  # pending | sent
    Column("created_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("sent_at", UTCDateTime, nullable=True),
    # SQLite's claim (PostgreSQL's is an advisory lock held by the sender's session)
    Column("claimed_by", String(200), nullable=True),
    Column("claimed_until", UTCDateTime, nullable=True),
    Index("ix_deliveries_status", "status"),
)

# What a delivery carries; (channel, monitor, item) once: never two messages for one match.
delivery_items = Table(
    "delivery_items",
    metadata,
    Column(
        "delivery_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("deliveries.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("channel", Text, nullable=False),
    Column("monitor", String(100), nullable=False),
    Column("item_id", String(40), ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    UniqueConstraint("channel", "monitor", "item_id", name="uq_delivery_items_channel"),
    Index("ix_delivery_items_delivery_id", "delivery_id"),
    # migration 0009: whether a match was delivered, probed by (monitor, item) (monitor_overview)
    Index("ix_delivery_items_monitor_item", "monitor", "item_id"),
)

# ------------------------------------------------------------- counts for the web (migration 0009)

# Items per assigned topic per hour (whole hours since 1970-01-01 UTC of the item's date,
# published else first seen), kept by triggers on items and item_topics (see the migration):
# the overview's chart of a year is a sum over at most 8,760 hours per topic.
topic_hours = Table(
    "topic_hours",
    metadata,
    Column("hour", BigInteger, primary_key=True),
    Column("topic", String(64), primary_key=True),
    Column("n", Integer, nullable=False),
)

# The topics each search document's item is assigned (the rule's decision unless a human's),
# by docid: `topic:` and --topic read it in the order they walk the index (newest documents
# first), where a probe of item_topics by item id jumped all over a large index. Filled when a
# document is indexed and kept in step by the triggers of topic_hours (migration 0009).
doc_topics = Table(
    "doc_topics",
    metadata,
    Column("topic", String(64), primary_key=True),
    Column("docid", BigInteger, primary_key=True),
    Index("ix_doc_topics_docid", "docid"),  # a document indexed again drops its rows
    sqlite_with_rowid=False,
)
