"""`feedwatch run`: the scheduler shell — ticks that claim and fetch due sources, digests on their
cron, maintenance, signals, heartbeat, metrics.

APScheduler only ticks; what is due lives in the database (sources.next_check_at and leases), so a
restart resumes the plan, and several workers on one PostgreSQL share the work without a queue of
their own. Jobs have fixed ids (`tick`, `digest:<profile>`, `maintenance`), coalesce and never
overlap themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from feedwatch.app.deliver import output_dir, run_digest, topic_titles
from feedwatch.app.metrics import HealthServer, Metrics
from feedwatch.app.notify import notify_for
from feedwatch.app.pipeline import make_classifier, run_fetch
from feedwatch.config.digests import digests_path, load_digests
from feedwatch.config.sources import Config, load_config
from feedwatch.edges.http.robots import RobotsCache
from feedwatch.edges.store import Store
from feedwatch.errors import FeedwatchError
from feedwatch.types import RunResult

log = logging.getLogger("feedwatch.daemon")

AMSTERDAM = "Europe/Amsterdam"
FETCH_LOG_RETENTION = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class DaemonSettings:
    tick: float = 30.0  # seconds between ticks
    batch: int = 200  # sources claimed per tick
    lease: timedelta = timedelta(minutes=10)  # a dead worker's sources come back after this
    grace: float = 10.0  # seconds in-flight fetches get to finish on SIGTERM
    metrics: tuple[str, int] | None = None  # (host, port) of /healthz and /metrics
    topics_path: str | None = None
    worker_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
    )


def due_today(trigger: CronTrigger, now: datetime) -> bool:
    """Whether the trigger had a fire time between the start of today (Amsterdam) and now."""
    zone = ZoneInfo(AMSTERDAM)
    midnight = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    first: datetime | None = trigger.get_next_fire_time(None, midnight)
    return first is not None and first <= now


# Module-level job functions (APScheduler's advice): they look the daemon up by reference.
_current: Daemon | None = None


async def tick_job() -> None:
    if _current is not None:
        await _current.tick()


async def maintenance_job() -> None:
    if _current is not None:
        await _current.maintenance()


async def notify_job() -> None:
    if _current is not None:
        await _current.notify()


async def digest_job(profile: str) -> None:
    if _current is not None:
        await _current.digest(profile)


class Daemon:
    """One worker. `run()` returns the process exit code."""

    def __init__(
        self,
        config_path: str | None,
        database_url: str | None,
        settings: DaemonSettings | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config_path = config_path
        self.settings = settings or DaemonSettings()
        self.clock = clock
        self.config: Config = load_config(config_path)
        self.store = Store(database_url)
        self.metrics = Metrics()
        self.started_at = clock()
        self.stopping = asyncio.Event()
        self._tick_task: asyncio.Task[RunResult | None] | None = None
        self._last_tick_end: float | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self._http: HealthServer | None = None
        self.ticks = 0  # ticks run (tests wait on it)
        self._signals = 0
        self._reload_task: asyncio.Future[None] | None = None
        self.classifier, self.classifier_version = make_classifier(self.settings.topics_path)
        self.robots = RobotsCache()  # lives as long as the worker: robots.txt is kept for a day

    # ------------------------------------------------------------------ jobs

    async def tick(self) -> RunResult | None:
        """Claim the due sources and fetch them; one tick at a time."""
        if self.stopping.is_set():
            return None
        now = self.clock()
        await asyncio.to_thread(self.store.sync_sources, self.config.sources, now)
        claimed = await asyncio.to_thread(
            self.store.claim_due,
            now,
            self.settings.worker_id,
            lease=self.settings.lease,
            limit=self.settings.batch,
        )
        result: RunResult | None = None
        if claimed:
            task = asyncio.ensure_future(
                run_fetch(
                    self.config,
                    self.store,
                    keys=[s.key for s in claimed],
                    clock=self.clock,
                    classifier=self.classifier,
                    classifier_version=self.classifier_version,
                    on_done=self.metrics.record,
                    sync=False,
                    robots=self.robots,
                )
            )
            self._tick_task = task
            try:
                result = await asyncio.shield(task)
            finally:
                if task.done():
                    self._tick_task = None
        if result is not None and result.new:
            await self.notify(immediate_only=True, started=now)  # immediate monitors (#16)
        self.metrics.ticks.inc()
        self.ticks += 1
        self._last_tick_end = time.monotonic()
        self.metrics.last_tick.set(self.clock().timestamp())
        # one small query per tick, not the per-source report
        self.metrics.failing.set(await asyncio.to_thread(self.store.count_failing))
        await asyncio.to_thread(self._heartbeat)
        return result

    async def maintenance(self) -> None:
        now = self.clock()
        pruned = await asyncio.to_thread(self.store.prune_fetch_log, now - FETCH_LOG_RETENTION)
        await asyncio.to_thread(self.store.prune_holders)
        await asyncio.to_thread(self.store.optimize)
        log.info("maintenance: pruned %d fetch-log rows, optimized the database", pruned)

    async def notify(self, immediate_only: bool = False, started: datetime | None = None) -> None:
        """Deliver the due monitors (app.notify): after a tick that stored new items (the
        immediate ones), and every minute (all, each at its own time; retries)."""
        try:
            await asyncio.to_thread(
                notify_for,
                self.config,
                self.store,
                self.clock(),
                immediate_only=immediate_only,
                started=started,
            )
        except FeedwatchError as exc:
            log.warning("monitors: %s", exc)

    async def digest(self, profile: str) -> None:
        await asyncio.to_thread(self.run_digest, profile)

    def run_digest(self, name: str) -> None:
        """Build and deliver today's digest of one profile (exactly once across workers: the
        digest row's unique (profile, period) key decides who builds it)."""
        cfg = load_digests(digests_path(self.config.path))
        try:
            profile = cfg.profile(name)
        except KeyError:
            log.warning("digest profile %s is no longer configured", name)
            return
        now = self.clock()
        day = now.astimezone(ZoneInfo(AMSTERDAM)).date()
        runs = run_digest(
            self.store,
            cfg,
            profile,
            day,
            now,
            out=output_dir(),
            titles=topic_titles(self.settings.topics_path),
            names={s.key: s.name for s in self.config.sources},
        )
        for r in runs:
            if r.error:
                log.warning("digest %s %s: %s (%s)", r.profile, r.period, r.status, r.error)
            else:
                log.info("digest %s %s: %s, %d items", r.profile, r.period, r.status, r.items)

    # --------------------------------------------------------------- health

    def health(self) -> tuple[bool, str]:
        if self.stopping.is_set():
            return False, "stopping"
        if self._last_tick_end is None:
            return True, "starting"
        age = time.monotonic() - self._last_tick_end
        if age > max(3 * self.settings.tick, 120) and self._tick_task is None:
            return False, f"no tick for {age:.0f} s"
        return True, "ok"

    def next_jobs(self) -> list[dict[str, Any]]:
        if self._scheduler is None:
            return []
        return [
            {
                "id": j.id,
                "next_run": j.next_run_time.astimezone(UTC).isoformat()
                if j.next_run_time
                else None,
            }
            for j in self._scheduler.get_jobs()
        ]

    def _heartbeat(self) -> None:
        try:
            self.store.heartbeat(
                self.settings.worker_id,
                socket.gethostname(),
                os.getpid(),
                self.started_at,
                self.clock(),
                {"jobs": self.next_jobs(), "config": str(self.config.path), "ticks": self.ticks},
            )
        except FeedwatchError as exc:
            log.warning("heartbeat failed: %s", exc)

    # ------------------------------------------------------------- signals

    def _on_stop_signal(self, signame: str) -> None:
        self._signals += 1
        if self._signals > 1:
            log.warning("%s again: exiting now", signame)
            os._exit(130)  # every write is one transaction: nothing is left half-done
        log.info(
            "%s: finishing in-flight fetches (at most %.0f s), then stopping",
            signame,
            self.settings.grace,
        )
        self.stopping.set()

    def _on_reload(self) -> None:
        self._reload_task = asyncio.ensure_future(self.reload())

    async def reload(self) -> None:
        """SIGHUP: read the config again; a broken one leaves the running one in place."""
        try:
            new = load_config(self.config_path)
            await asyncio.to_thread(self.store.sync_sources, new.sources, self.clock())
        except FeedwatchError as exc:
            log.error("SIGHUP: config not reloaded, keeping the old one: %s", exc)
            return
        self.config = new
        self._schedule_digests()
        log.info("SIGHUP: config reloaded (%d sources)", len(new.sources))

    # ------------------------------------------------------------------ run

    def _schedule_digests(self) -> None:
        if self._scheduler is None:
            return
        try:
            profiles = load_digests(digests_path(self.config.path)).profiles
        except FeedwatchError as exc:
            log.error("digest profiles not loaded: %s", exc)
            return
        for job in self._scheduler.get_jobs():
            if job.id.startswith("digest:"):
                job.remove()
        now = self.clock()
        for profile in profiles:
            trigger = CronTrigger.from_crontab(profile.schedule, timezone=AMSTERDAM)
            self._scheduler.add_job(
                digest_job,
                trigger,
                args=[profile.name],
                id=f"digest:{profile.name}",
                coalesce=True,
                max_instances=1,
                misfire_grace_time=3600,
                replace_existing=True,
            )
            if due_today(trigger, now):
                # Today's digest time has passed (the daemon was down then, or starts late):
                # deliver it now. A digest already sent today is not sent again.
                self._scheduler.add_job(
                    digest_job,
                    args=[profile.name],
                    id=f"digest-catch-up:{profile.name}",
                    next_run_time=self.clock(),
                    replace_existing=True,
                )

    def _start_http(self) -> None:
        if self.settings.metrics is not None:
            self._http = HealthServer(self.settings.metrics, self.metrics, self.health)

    async def run(self) -> int:
        global _current
        _current = self
        loop = asyncio.get_running_loop()
        for sig, name in ((signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")):
            loop.add_signal_handler(sig, self._on_stop_signal, name)
        loop.add_signal_handler(signal.SIGHUP, self._on_reload)

        scheduler = AsyncIOScheduler(timezone=AMSTERDAM, event_loop=loop)
        self._scheduler = scheduler
        scheduler.add_listener(self._job_error, EVENT_JOB_ERROR)
        scheduler.add_job(
            tick_job,
            IntervalTrigger(seconds=self.settings.tick),
            id="tick",
            coalesce=True,
            max_instances=1,
            next_run_time=self.clock(),
        )
        scheduler.add_job(
            maintenance_job,
            CronTrigger(hour=4, minute=17, timezone=AMSTERDAM),
            id="maintenance",
            coalesce=True,
            max_instances=1,
        )
        scheduler.add_job(
            notify_job,
            IntervalTrigger(seconds=60),
            id="notify",
            coalesce=True,
            max_instances=1,
        )  # monitors at their time, failed deliveries after their wait (#16)
        self._schedule_digests()
        self._start_http()
        scheduler.start()
        # The worker is on record from its start, not from the end of its first tick: a worker
        # stopped during its first tick is still listed, with its stop.
        await asyncio.to_thread(self._heartbeat)
        log.info(
            "feedwatch worker %s running: %d sources, tick every %.0f s",
            self.settings.worker_id,
            len(self.config.sources),
            self.settings.tick,
        )
        try:
            await self.stopping.wait()
        finally:
            await self._shutdown(scheduler)
        return 0

    async def _shutdown(self, scheduler: AsyncIOScheduler) -> None:
        scheduler.shutdown(wait=False)
        task = self._tick_task
        if task is not None and not task.done():
            done, _ = await asyncio.wait({task}, timeout=self.settings.grace)
            if not done:
                log.warning(
                    "fetches still running after %.0f s: cancelling them", self.settings.grace
                )
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        # Leases of sources claimed but not finished go back at once, not after expiry.
        with contextlib.suppress(FeedwatchError):
            await asyncio.to_thread(self.store.release, None, self.settings.worker_id)
        # The last heartbeat carries the final tick count; then the stop is recorded.
        await asyncio.to_thread(self._heartbeat)
        with contextlib.suppress(FeedwatchError):
            await asyncio.to_thread(
                self.store.worker_stopped, self.settings.worker_id, self.clock()
            )
        if self._http is not None:
            self._http.close()
        self.store.close()
        log.info("stopped cleanly")

    def _job_error(self, event: JobExecutionEvent) -> None:
        log.error(
            "job %s failed: %r",
            event.job_id,
            event.exception,
            exc_info=(type(event.exception), event.exception, event.traceback)
            if event.exception
            else None,
        )


def run_daemon(config_path: str | None, database_url: str | None, settings: DaemonSettings) -> int:
    daemon = Daemon(config_path, database_url, settings)
    return asyncio.run(daemon.run())
