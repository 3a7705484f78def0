"""topic_hours: items per assigned topic per hour, kept in step by triggers; doc_topics and
PostgreSQL's source/topic lexemes for search filters; indexes on search_docs.source and
delivery_items (monitor, item_id)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

The overview's chart (items per topic per week over a year) read a quarter of a million items
and their topic rows when counted from `items`: seconds on a million items. `topic_hours`
holds, per hour (whole hours since 1970-01-01 UTC) of an item's date (published, else first
seen) and per topic, how many items are assigned that topic, with the store's rule: a human
decision (origin 'manual') wins over the rules (origin 'rule'). A week of Europe/Amsterdam
starts on a whole UTC hour, so any week, day or year is a sum of hours.

Triggers keep it in step with every write, by any code path or process: a topic row added,
changed (assigned) or removed; an item's date changed; an item deleted (its topic rows are
subtracted before the delete cascades to them). The keys of a topic row (item, topic, origin)
are never changed in place: a trigger refuses it (a delete and an insert do that). This
migration counts what is stored already.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sqlite_hour(published: str, first_seen: str) -> str:
    """Whole hours since the epoch (floor) of coalesce(published, first_seen), as SQLite
    stores them (UTC text)."""
    s = f"CAST(strftime('%s', coalesce({published}, {first_seen})) AS INTEGER)"
    return f"(({s}) - ((({s}) % 3600) + 3600) % 3600) / 3600"


_HOUR_OF = (
    "(SELECT " + _sqlite_hour("i.published", "i.first_seen") + " FROM items i WHERE i.id = {id})"
)
_RULE_OF = (
    "(SELECT r.assigned FROM item_topics r "
    "WHERE r.item_id = {row}.item_id AND r.topic = {row}.topic AND r.origin = 'rule')"
)
_HAS_MANUAL = (
    "EXISTS (SELECT 1 FROM item_topics m "
    "WHERE m.item_id = {row}.item_id AND m.topic = {row}.topic AND m.origin = 'manual')"
)
# SQLite's upsert after INSERT ... SELECT needs a WHERE (a parsing ambiguity), hence "WHERE 1"
_ADD = (
    "INSERT INTO topic_hours (hour, topic, n) "
    "SELECT h, {topic}, {delta} FROM (SELECT {hour} AS h) WHERE h IS NOT NULL AND ({delta}) != 0 "
    "ON CONFLICT (hour, topic) DO UPDATE SET n = n + excluded.n;"
)


_DOC_ON = (
    "INSERT OR IGNORE INTO doc_topics (topic, docid) SELECT {row}.topic, d.docid "
    "FROM search_docs d WHERE d.item_id = {row}.item_id AND ({delta}) > 0;"
)
_DOC_OFF = (
    "DELETE FROM doc_topics WHERE topic = {row}.topic AND docid IN "
    "(SELECT d.docid FROM search_docs d WHERE d.item_id = {row}.item_id) AND ({delta}) < 0;"
)


def _sqlite_add(row: str, delta: str) -> str:
    """The statements of a change by `delta` (-1, 0, 1) of whether the row's item is assigned
    the row's topic: its hour's count, and its search document's topics."""
    return (
        _ADD.format(topic=f"{row}.topic", delta=delta, hour=_HOUR_OF.format(id=f"{row}.item_id"))
        + _DOC_ON.format(row=row, delta=delta)
        + _DOC_OFF.format(row=row, delta=delta)
    )


# the assigned topics of item `id` (the rule's decision unless a human's exists)
_SQLITE_ASSIGNED = (
    "SELECT t.topic FROM item_topics t WHERE t.item_id = {id} AND t.assigned AND "
    "(t.origin = 'manual' OR (t.origin = 'rule' AND NOT EXISTS (SELECT 1 FROM item_topics m "
    "WHERE m.item_id = t.item_id AND m.topic = t.topic AND m.origin = 'manual')))"
)


def _sqlite_item_shift(hour: str, sign: str, item: str) -> str:
    return (
        "INSERT INTO topic_hours (hour, topic, n) "
        f"SELECT {hour}, a.topic, {sign}1 FROM ({_SQLITE_ASSIGNED.format(id=item)}) a WHERE 1 "
        "ON CONFLICT (hour, topic) DO UPDATE SET n = n + excluded.n;"
    )


SQLITE_TRIGGERS = (
    "CREATE TRIGGER topic_hours_keys BEFORE UPDATE OF item_id, topic, origin ON item_topics "
    "WHEN old.item_id IS NOT new.item_id OR old.topic IS NOT new.topic "
    "OR old.origin IS NOT new.origin BEGIN "
    "SELECT RAISE(ABORT, 'the keys of a topic row are not changed in place'); END",
    "CREATE TRIGGER topic_hours_insert_manual AFTER INSERT ON item_topics "
    "WHEN new.origin = 'manual' BEGIN "
    + _sqlite_add("new", "new.assigned - coalesce(" + _RULE_OF.format(row="new") + ", 0)")
    + " END",
    "CREATE TRIGGER topic_hours_insert_rule AFTER INSERT ON item_topics "
    f"WHEN new.origin = 'rule' AND NOT {_HAS_MANUAL.format(row='new')} BEGIN "
    + _sqlite_add("new", "new.assigned")
    + " END",
    "CREATE TRIGGER topic_hours_delete_manual AFTER DELETE ON item_topics "
    "WHEN old.origin = 'manual' BEGIN "
    + _sqlite_add("old", "coalesce(" + _RULE_OF.format(row="old") + ", 0) - old.assigned")
    + " END",
    "CREATE TRIGGER topic_hours_delete_rule AFTER DELETE ON item_topics "
    f"WHEN old.origin = 'rule' AND NOT {_HAS_MANUAL.format(row='old')} BEGIN "
    + _sqlite_add("old", "-old.assigned")
    + " END",
    "CREATE TRIGGER topic_hours_update AFTER UPDATE OF assigned ON item_topics "
    f"WHEN new.assigned IS NOT old.assigned AND (new.origin = 'manual' OR NOT "
    f"{_HAS_MANUAL.format(row='new')}) BEGIN "
    + _sqlite_add("new", "new.assigned - old.assigned")
    + " END",
    "CREATE TRIGGER topic_hours_item_delete BEFORE DELETE ON items BEGIN "
    + _sqlite_item_shift(_sqlite_hour("old.published", "old.first_seen"), "-", "old.id")
    + " END",
    "CREATE TRIGGER topic_hours_item_dates AFTER UPDATE OF published, first_seen ON items "
    f"WHEN {_sqlite_hour('old.published', 'old.first_seen')} "
    f"IS NOT {_sqlite_hour('new.published', 'new.first_seen')} BEGIN "
    + _sqlite_item_shift(_sqlite_hour("old.published", "old.first_seen"), "-", "old.id")
    + _sqlite_item_shift(_sqlite_hour("new.published", "new.first_seen"), "+", "new.id")
    + " END",
)
SQLITE_NAMES = (
    "topic_hours_keys",
    "topic_hours_insert_manual",
    "topic_hours_insert_rule",
    "topic_hours_delete_manual",
    "topic_hours_delete_rule",
    "topic_hours_update",
    "topic_hours_item_delete",
    "topic_hours_item_dates",
)

PG_FUNCTIONS = (
    """
CREATE FUNCTION feedwatch_hour(at timestamptz) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT floor(extract(epoch FROM at) / 3600)::bigint
$$
""",
    """
CREATE FUNCTION feedwatch_topic_hours_add(item text, topic_ text, delta integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE h bigint;
BEGIN
    IF delta = 0 THEN RETURN; END IF;
    -- the search document's topics: taken under the index's lock, so that a document being
    -- (re)indexed now is seen with its new docid (edges/store/search.py INDEX_LOCK)
    PERFORM pg_advisory_xact_lock(1719074817);
    IF delta > 0 THEN
        INSERT INTO doc_topics (topic, docid)
            SELECT topic_, d.docid FROM search_docs d WHERE d.item_id = item
            ON CONFLICT DO NOTHING;
        UPDATE search_docs SET tsv = tsv || array_to_tsvector(ARRAY['topic=' || topic_])
            WHERE item_id = item;
    ELSE
        DELETE FROM doc_topics WHERE topic = topic_
            AND docid IN (SELECT d.docid FROM search_docs d WHERE d.item_id = item);
        UPDATE search_docs SET tsv = ts_delete(tsv, 'topic=' || topic_) WHERE item_id = item;
    END IF;
    SELECT feedwatch_hour(coalesce(i.published, i.first_seen)) INTO h FROM items i WHERE i.id = item;
    IF h IS NULL THEN RETURN; END IF;  -- the item is being deleted: counted off already
    INSERT INTO topic_hours (hour, topic, n) VALUES (h, topic_, delta)
        ON CONFLICT (hour, topic) DO UPDATE SET n = topic_hours.n + excluded.n;
END
$$
""",
    """
CREATE FUNCTION feedwatch_topic_hours_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE rule_assigned integer; has_manual boolean;
BEGIN
    IF TG_OP = 'UPDATE' AND (OLD.item_id, OLD.topic, OLD.origin)
            IS DISTINCT FROM (NEW.item_id, NEW.topic, NEW.origin) THEN
        RAISE EXCEPTION 'the keys of a topic row are not changed in place';
    END IF;
    IF TG_OP = 'DELETE' THEN
        IF OLD.origin = 'manual' THEN
            SELECT r.assigned::int INTO rule_assigned FROM item_topics r
                WHERE r.item_id = OLD.item_id AND r.topic = OLD.topic AND r.origin = 'rule';
            PERFORM feedwatch_topic_hours_add(
                OLD.item_id, OLD.topic, coalesce(rule_assigned, 0) - OLD.assigned::int);
        ELSIF OLD.origin = 'rule' THEN
            SELECT EXISTS (SELECT 1 FROM item_topics m WHERE m.item_id = OLD.item_id
                AND m.topic = OLD.topic AND m.origin = 'manual') INTO has_manual;
            IF NOT has_manual THEN
                PERFORM feedwatch_topic_hours_add(OLD.item_id, OLD.topic, -OLD.assigned::int);
            END IF;
        END IF;
        RETURN OLD;
    END IF;
    IF NEW.origin = 'manual' THEN
        IF TG_OP = 'INSERT' THEN
            SELECT r.assigned::int INTO rule_assigned FROM item_topics r
                WHERE r.item_id = NEW.item_id AND r.topic = NEW.topic AND r.origin = 'rule';
            PERFORM feedwatch_topic_hours_add(
                NEW.item_id, NEW.topic, NEW.assigned::int - coalesce(rule_assigned, 0));
        ELSE
            PERFORM feedwatch_topic_hours_add(
                NEW.item_id, NEW.topic, NEW.assigned::int - OLD.assigned::int);
        END IF;
    ELSIF NEW.origin = 'rule' THEN
        SELECT EXISTS (SELECT 1 FROM item_topics m WHERE m.item_id = NEW.item_id
            AND m.topic = NEW.topic AND m.origin = 'manual') INTO has_manual;
        IF NOT has_manual THEN
            IF TG_OP = 'INSERT' THEN
                PERFORM feedwatch_topic_hours_add(NEW.item_id, NEW.topic, NEW.assigned::int);
            ELSE
                PERFORM feedwatch_topic_hours_add(
                    NEW.item_id, NEW.topic, NEW.assigned::int - OLD.assigned::int);
            END IF;
        END IF;
    END IF;
    RETURN NEW;
END
$$
""",
    """
CREATE FUNCTION feedwatch_topic_hours_shift(item text, h bigint, sign integer)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO topic_hours (hour, topic, n)
    SELECT h, t.topic, sign FROM item_topics t
    WHERE t.item_id = item AND t.assigned AND (t.origin = 'manual' OR (t.origin = 'rule'
        AND NOT EXISTS (SELECT 1 FROM item_topics m WHERE m.item_id = t.item_id
            AND m.topic = t.topic AND m.origin = 'manual')))
    ON CONFLICT (hour, topic) DO UPDATE SET n = topic_hours.n + excluded.n
$$
""",
    """
CREATE FUNCTION feedwatch_topic_hours_items() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE old_h bigint; new_h bigint;
BEGIN
    old_h := feedwatch_hour(coalesce(OLD.published, OLD.first_seen));
    IF TG_OP = 'DELETE' THEN
        PERFORM feedwatch_topic_hours_shift(OLD.id, old_h, -1);
        RETURN OLD;
    END IF;
    new_h := feedwatch_hour(coalesce(NEW.published, NEW.first_seen));
    IF old_h IS DISTINCT FROM new_h THEN
        PERFORM feedwatch_topic_hours_shift(OLD.id, old_h, -1);
        PERFORM feedwatch_topic_hours_shift(NEW.id, new_h, 1);
    END IF;
    RETURN NEW;
END
$$
""",
)
PG_TRIGGERS = (
    "CREATE TRIGGER topic_hours_rows AFTER INSERT OR DELETE ON item_topics "
    "FOR EACH ROW EXECUTE FUNCTION feedwatch_topic_hours_rows()",
    # an update of the scores alone (every re-classification) costs nothing here
    "CREATE TRIGGER topic_hours_rows_update AFTER UPDATE ON item_topics FOR EACH ROW "
    "WHEN (OLD.assigned IS DISTINCT FROM NEW.assigned OR (OLD.item_id, OLD.topic, OLD.origin) "
    "IS DISTINCT FROM (NEW.item_id, NEW.topic, NEW.origin)) "
    "EXECUTE FUNCTION feedwatch_topic_hours_rows()",
    "CREATE TRIGGER topic_hours_item_delete BEFORE DELETE ON items "
    "FOR EACH ROW EXECUTE FUNCTION feedwatch_topic_hours_items()",
    "CREATE TRIGGER topic_hours_item_dates AFTER UPDATE OF published, first_seen ON items "
    "FOR EACH ROW EXECUTE FUNCTION feedwatch_topic_hours_items()",
)
PG_DROP = (
    "DROP TRIGGER IF EXISTS topic_hours_rows ON item_topics",
    "DROP TRIGGER IF EXISTS topic_hours_rows_update ON item_topics",
    "DROP TRIGGER IF EXISTS topic_hours_item_delete ON items",
    "DROP TRIGGER IF EXISTS topic_hours_item_dates ON items",
    "DROP FUNCTION IF EXISTS feedwatch_topic_hours_items()",
    "DROP FUNCTION IF EXISTS feedwatch_topic_hours_shift(text, bigint, integer)",
    "DROP FUNCTION IF EXISTS feedwatch_topic_hours_rows()",
    "DROP FUNCTION IF EXISTS feedwatch_topic_hours_add(text, text, integer)",
    "DROP FUNCTION IF EXISTS feedwatch_hour(timestamptz)",
)

# What is stored already, counted with the same rule.
_ASSIGNED_ROWS = (
    "FROM items i JOIN item_topics t ON t.item_id = i.id WHERE t.assigned AND "
    "(t.origin = 'manual' OR (t.origin = 'rule' AND NOT EXISTS (SELECT 1 FROM item_topics m "
    "WHERE m.item_id = t.item_id AND m.topic = t.topic AND m.origin = 'manual')))"
)


# PostgreSQL: every document gains the lexemes of its source and assigned topics (`source=KEY`,
# `topic=KEY`), so that source: and topic: are matched in the GIN index with the words.
PG_TAGS = (
    "UPDATE search_docs d SET tsv = d.tsv || array_to_tsvector(ARRAY['source=' || d.source] "
    "|| x.tags) FROM (SELECT s.docid, coalesce(array_agg('topic=' || t.topic) "
    "FILTER (WHERE t.topic IS NOT NULL), '{}') AS tags FROM search_docs s "
    "LEFT JOIN doc_topics t ON t.docid = s.docid GROUP BY s.docid) x WHERE x.docid = d.docid"
)
PG_UNTAG = (
    "UPDATE search_docs SET tsv = ts_delete(tsv, ARRAY(SELECT l FROM unnest(tsv) AS u(l) "
    "WHERE l LIKE 'source=%' OR l LIKE 'topic=%'))"
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "topic_hours",
        sa.Column("hour", sa.BigInteger(), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "topic", name=op.f("pk_topic_hours")),
    )
    op.create_table(
        "doc_topics",
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("docid", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("topic", "docid", name=op.f("pk_doc_topics")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_doc_topics_docid", "doc_topics", ["docid"])
    op.create_index("ix_delivery_items_monitor_item", "delivery_items", ["monitor", "item_id"])
    op.create_index("ix_search_docs_source", "search_docs", ["source"])
    if dialect == "sqlite":
        hour = _sqlite_hour("i.published", "i.first_seen")
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)
    else:
        for function in PG_FUNCTIONS:
            op.execute(function)
        for trigger in PG_TRIGGERS:
            op.execute(trigger)
        hour = "feedwatch_hour(coalesce(i.published, i.first_seen))"
    op.execute(
        f"INSERT INTO topic_hours (hour, topic, n) SELECT {hour}, t.topic, count(*) "
        f"{_ASSIGNED_ROWS} GROUP BY 1, 2"
    )
    op.execute(
        "INSERT INTO doc_topics (topic, docid) SELECT t.topic, d.docid "
        + _ASSIGNED_ROWS.replace("FROM items i JOIN", "FROM search_docs d JOIN").replace(
            "t.item_id = i.id", "t.item_id = d.item_id"
        )
    )
    if dialect == "postgresql":
        # every document is rewritten: the GIN index is built again after, not kept row by row
        op.execute("DROP INDEX ix_search_docs_tsv")
        op.execute(PG_TAGS)
        op.execute("CREATE INDEX ix_search_docs_tsv ON search_docs USING gin (tsv)")
        op.execute("ANALYZE search_docs")  # the planner's counts of the new lexemes
    op.execute("ANALYZE topic_hours")
    op.execute("ANALYZE doc_topics")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for statement in PG_DROP:
            op.execute(statement)
        op.execute(PG_UNTAG)
    op.drop_index("ix_delivery_items_monitor_item", table_name="delivery_items")
    op.drop_index("ix_search_docs_source", table_name="search_docs")
    op.drop_table("doc_topics")
    op.drop_table("topic_hours")
