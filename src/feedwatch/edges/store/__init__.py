"""Storage: the Store class is the only database API; it takes and returns plain values.

`Store` is composed of one mixin per concern, as reader composes its Storage:

- base.py     the engine, SQLite's pragmas, the schema check and upgrade, bulk inserts, and
              `wrap_exceptions`: every public method turns a database error into StorageError
              saying what was being done, on which database;
- sources.py  the config mirror, what is due, leases, the daemon's workers, upkeep, reports;
- writes.py   decided fetches applied (apply / apply_many) and the stored items decide needs;
- items.py    item reads (ItemQuery -> ItemRow) and the one "a human label wins" rule in SQL;
- claims.py   claims that end with their holder (digests, leases, monitor deliveries);
- topics.py   topic scores and human labels; digests.py: digests and their delivery claims;
- rows.py     rows <-> records; models.py: the tables.

It holds no policy: what a fetch means is decided in core/decide.py.
"""

from __future__ import annotations

from feedwatch.edges.store.base import (
    DEFAULT_DATABASE_URL,
    FAST_SQLITE_INSERTS,
    SCHEMA_REVISION,
    StoreBase,
    database_url,
    wrap_exceptions,
)
from feedwatch.edges.store.claims import ClaimsMixin
from feedwatch.edges.store.digests import DigestsMixin
from feedwatch.edges.store.entities import EntitiesMixin
from feedwatch.edges.store.items import ItemsMixin, decides, in_topics
from feedwatch.edges.store.models import metadata
from feedwatch.edges.store.sources import SourcesMixin
from feedwatch.edges.store.topics import TopicRow, TopicsMixin
from feedwatch.edges.store.views import StoreViews
from feedwatch.edges.store.writes import WritesMixin
from feedwatch.types import (
    DigestRecord,
    FetchOutcome,
    ItemQuery,
    ItemRow,
    SourceReport,
    SourceUpdate,
    StoredItems,
)

__all__ = [
    "DEFAULT_DATABASE_URL",
    "FAST_SQLITE_INSERTS",
    "SCHEMA_REVISION",
    "DigestRecord",
    "FetchOutcome",
    "ItemQuery",
    "ItemRow",
    "SourceReport",
    "SourceUpdate",
    "Store",
    "StoredItems",
    "TopicRow",
    "database_url",
    "decides",
    "in_topics",
    "metadata",
    "wrap_exceptions",
]


class Store(
    SourcesMixin,
    WritesMixin,
    TopicsMixin,
    DigestsMixin,
    ClaimsMixin,
    ItemsMixin,
    EntitiesMixin,
    StoreViews,
    StoreBase,
):
    """The database: sources' fetch state, items, topic scores, digests and the fetch log.

    Add a test to tests/edges/test_store_errors.py for each new public method (a test there
    fails for a public method it does not cover)."""
