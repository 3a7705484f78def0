"""Claims that end with their holder: the right to do one thing once (deliver a digest, a
monitor's delivery, fetch a leased source) that a dead process cannot keep.

A claim names its holder, a row of `holders` that says how to tell whether that holder still
lives:

- on PostgreSQL, its own database session: the holder keeps one connection open for as long as
  it lives (the "anchor"); the kernel closes it when the process dies, PostgreSQL ends the
  session, and the holder is dead as soon as its backend is gone from pg_stat_activity;
- on the same host (SQLite, or PostgreSQL too), its process: the pid with the same start time
  (Linux /proc) in the same boot of the host.

A claim also has a lease (`until`): the last resort when neither can be checked (another host
on SQLite over a network file system, a non-Linux host). A rerun after a crash therefore takes
over at once, and a live holder is never robbed: a claim is taken only when it is free, expired,
or held by a holder known to be dead, with one conditional statement (no double takeover).

The primitive, for digests, monitor deliveries and anything else done once:

    if store.claim("digest", str(digest_id), now):     # False: a live holder has it
        ...deliver...
        store.release_claim("digest", str(digest_id))    # or in the same transaction as the
                                                         # "sent" mark (DigestsMixin.mark_sent)
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, insert, select, text, update

from feedwatch.edges.store.base import StoreBase, wrap_exceptions
from feedwatch.edges.store.models import claims, holders, sources

__all__ = ["DEFAULT_LEASE", "ClaimsMixin", "process_start"]

DEFAULT_LEASE = timedelta(minutes=10)
HOSTNAME = socket.gethostname()


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


def process_start(pid: int) -> str | None:
    """When process `pid` started (Linux: clock ticks since boot), None when there is no such
    process or it cannot be told."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None  # field 22 of proc(5)


def _process_alive(pid: int, started: str | None) -> bool:
    if started is not None and Path("/proc/self/stat").exists():
        return process_start(pid) == started  # a reused pid has another start time
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ClaimsMixin(StoreBase):
    """Holders and claims (see the module's text)."""

    _holder_id: str | None = None
    _holder_pid: int | None = None
    _registered: frozenset[str] = frozenset()
    _anchor: Connection | None = None

    @property
    def holder_id(self) -> str:
        """This process's holder id (a new one in a forked child)."""
        if self._holder_id is None or self._holder_pid != os.getpid():
            self._holder_id = f"{HOSTNAME}:{os.getpid()}:{secrets.token_hex(3)}"
            self._holder_pid = os.getpid()
            self._registered = frozenset()
        return self._holder_id

    @wrap_exceptions("registering a claim holder")
    def register_holder(self, holder: str | None = None) -> str:
        """Record how to tell that `holder` (this process's holder id by default) is alive:
        this process, on this host, with (PostgreSQL) its own session. Done once per id."""
        holder = holder or self.holder_id
        with _REGISTERING:  # threads of one process register a holder once
            if holder not in self._registered or self._holder_pid != os.getpid():
                self._register(holder)
        return holder

    def _register(self, holder: str) -> None:
        backend_pid = backend_started = None
        if self.dialect == "postgresql":
            if self._anchor is None or self._anchor.closed:
                self._anchor = self.engine.connect()
            row = self._anchor.execute(
                text("SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()")
            ).one()
            self._anchor.commit()  # idle, not idle in transaction
            backend_pid, backend_started = int(row.pid), row.backend_start
        values: dict[str, Any] = {
            "hostname": HOSTNAME,
            "boot_id": _boot_id(),
            "pid": os.getpid(),
            "pid_started": process_start(os.getpid()),
            "backend_pid": backend_pid,
            "backend_started": backend_started,
            "registered_at": datetime.now(UTC),  # for people reading the table
        }
        with self.engine.begin() as conn:
            done = conn.execute(
                update(holders).where(holders.c.id == holder).values(**values)
            ).rowcount
            if not done:
                conn.execute(insert(holders).values(id=holder, **values))
        self._holder_pid = os.getpid()
        self._registered = self._registered | {holder}

    def _dead(self, conn: Connection, ids: Iterable[str]) -> set[str]:
        """Which of the holders `ids` are known to be dead (an unknown one is not)."""
        wanted = sorted(set(ids))
        if not wanted:
            return set()
        rows = conn.execute(select(holders).where(holders.c.id.in_(wanted))).all()
        sessions: set[tuple[int, Any]] = set()
        if self.dialect == "postgresql" and any(r.backend_pid is not None for r in rows):
            sessions = {
                (int(pid), started)
                for pid, started in conn.execute(
                    text("SELECT pid, backend_start FROM pg_stat_activity")
                )
            }
        boot = _boot_id()
        dead = set()
        for r in rows:
            gone_session = (
                self.dialect == "postgresql"
                and r.backend_pid is not None
                and (r.backend_pid, r.backend_started) not in sessions
            )
            here = r.hostname == HOSTNAME and r.boot_id == boot
            if gone_session or (here and not _process_alive(int(r.pid), r.pid_started)):
                dead.add(r.id)
        return dead

    @wrap_exceptions("checking claim holders")
    def dead_holders(self, ids: Iterable[str]) -> set[str]:
        """Which of the holders `ids` are known to be dead."""
        with self.engine.connect() as conn:
            return self._dead(conn, ids)

    @wrap_exceptions("taking a claim")
    def claim(
        self,
        kind: str,
        key: str,
        now: datetime,
        *,
        lease: timedelta = DEFAULT_LEASE,
        holder: str | None = None,
    ) -> bool:
        """Take the claim (`kind`, `key`) for `holder` (this process by default): True when it
        was free, expired or held by a dead holder; False while a live holder has it (this one
        too: another of its tasks)."""
        holder = self.register_holder(holder)
        values = {"holder": holder, "claimed_at": now, "until": now + lease}
        with self.engine.begin() as conn:
            current = conn.execute(
                select(claims.c.holder, claims.c.until).where(
                    claims.c.kind == kind, claims.c.key == key
                )
            ).first()
            if current is None:
                # RETURNING tells whether the row went in (psycopg's rowcount of an INSERT
                # ... ON CONFLICT DO NOTHING is -1): one of two racing takers gets it
                stmt = self._insert_ignore(claims).values(kind=kind, key=key, **values)
                return conn.execute(stmt.returning(claims.c.key)).first() is not None
            old_holder, until = current
            if until >= now and (old_holder == holder or not self._dead(conn, [old_holder])):
                return False  # held: by a live holder, or by this one already (another task)
            got = conn.execute(
                update(claims)
                .where(
                    claims.c.kind == kind,
                    claims.c.key == key,
                    claims.c.holder == old_holder,
                    claims.c.until == until,
                )
                .values(**values)
            ).rowcount
        return bool(got)

    @wrap_exceptions("giving back a claim")
    def release_claim(self, kind: str, key: str, holder: str | None = None) -> bool:
        """Give the claim back (only its holder's); True when it was held."""
        holder = holder or self.holder_id
        with self.engine.begin() as conn:
            return bool(self._release(conn, kind, key, holder))

    def _release(self, conn: Connection, kind: str, key: str, holder: str | None) -> int:
        stmt = delete(claims).where(claims.c.kind == kind, claims.c.key == key)
        if holder is not None:
            stmt = stmt.where(claims.c.holder == holder)
        return int(conn.execute(stmt).rowcount)

    @wrap_exceptions("pruning claim holders")
    def prune_holders(self) -> int:
        """Forget holders known to be dead that no claim and no source lease names any more
        (one row per process that ever claimed something); returns how many."""
        with self.engine.begin() as conn:
            named = set(conn.execute(select(claims.c.holder)).scalars())
            named |= set(
                conn.execute(
                    select(sources.c.lease_owner).where(sources.c.lease_owner.is_not(None))
                ).scalars()
            )
            idle = [h for h in conn.execute(select(holders.c.id)).scalars() if h not in named]
            dead = sorted(self._dead(conn, idle))
            for i in range(0, len(dead), 500):
                conn.execute(delete(holders).where(holders.c.id.in_(dead[i : i + 500])))
        return len(dead)

    @wrap_exceptions("reading a claim")
    def claim_holder(self, kind: str, key: str) -> str | None:
        """Who holds the claim now (None: nobody), dead or alive."""
        with self.engine.connect() as conn:
            got: str | None = conn.execute(
                select(claims.c.holder).where(claims.c.kind == kind, claims.c.key == key)
            ).scalar()
        return got

    def close(self) -> None:
        if self._anchor is not None and self._holder_pid == os.getpid():
            self._anchor.close()
        self._anchor = None
        super().close()

    def _after_fork_in_child(self) -> None:
        """A forked child never uses the parent's session: its socket is closed in the child
        only (the object is kept, never finalised, so nothing is sent on the parent's
        connection), and the child holds no claim of the parent's."""
        anchor, self._anchor = self._anchor, None
        if anchor is not None:
            _INHERITED.append(anchor)
            fileno = getattr(anchor.connection.dbapi_connection, "fileno", None)
            if fileno is not None:
                with contextlib.suppress(OSError):
                    os.close(fileno())
        self._holder_id = None
        super()._after_fork_in_child()


_REGISTERING = threading.Lock()
# Database sessions a forked child inherited: kept referenced, so never finalised in the child.
_INHERITED: list[Connection] = []
