"""Monitors: match new items, make each due monitor's messages, deliver them exactly once.

`notify_due()` is the one entry point: `feedwatch notify`, the end of `feedwatch fetch`
(immediate monitors) and the daemon (after every tick and on each monitor's schedule) call it.
It is synchronous (it runs webhook and Apprise sends to completion); call it from a thread
when an event loop is running.

1. Every enabled monitor is matched against the documents indexed since its cursor (never the
   whole store); the matches are stored once per (monitor, item).
2. A monitor is due when its cadence says so (`immediate`: always; it sends only when it has
   undelivered matches). Due monitors are grouped by channel (the same webhook URL, the same
   mail recipients, the same Apprise URL): one message per run and channel lists every item
   once, naming all the monitors it is there for.
3. Each pending message is claimed (a claim that a dead holder cannot keep), sent, and marked
   sent. A failure leaves it pending with a growing wait; it is never dropped, and its items
   are never put in a second message to the same channel.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.message import EmailMessage
from functools import lru_cache
from pathlib import Path

from feedwatch.config.digests import SmtpConfig
from feedwatch.config.monitors import Monitor, MonitorsConfig, load_monitors, monitors_path
from feedwatch.config.sources import Config
from feedwatch.core.digest import header_value
from feedwatch.core.search.cadence import AMSTERDAM, is_due, next_run
from feedwatch.core.search.message import (
    MessageItem,
    matched_terms,
    render_html,
    render_markdown,
    render_text,
    webhook_payload,
)
from feedwatch.core.search.query import Node, parse_query, query_problem
from feedwatch.edges import mail
from feedwatch.edges.http.netpolicy import AddressPolicy
from feedwatch.edges.http.webhook import post_webhook
from feedwatch.edges.notify import ChannelError
from feedwatch.edges.notify.apprise_channel import send_apprise
from feedwatch.edges.store import ItemQuery, ItemRow, Store
from feedwatch.edges.store import deliveries as db
from feedwatch.edges.store.search import MonitorSpec, match_new
from feedwatch.errors import DeliveryError

log = logging.getLogger("feedwatch.notify")

__all__ = [
    "Channel",
    "DeliveryResult",
    "NotifySettings",
    "channels_of",
    "monitor_query",
    "monitor_specs",
    "next_run_of",
    "notify_due",
    "preview",
]

MailSender = Callable[[EmailMessage, SmtpConfig], int]


@dataclass(frozen=True, slots=True)
class Channel:
    """One recipient: kind and target (a directory, addresses, a URL)."""

    key: str
    kind: str  # markdown | email | webhook | apprise
    monitor: Monitor  # the first monitor that named it: its settings (subject, sender, secret)


@dataclass(frozen=True, slots=True)
class NotifySettings:
    policy: AddressPolicy = AddressPolicy()
    out_dir: Path = Path("out")
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    send_mail: MailSender | None = None
    source_names: Mapping[str, str] = field(default_factory=dict)
    owner: str = field(default_factory=db.owner_id)


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    delivery: int
    channel: str
    monitors: tuple[str, ...]
    items: int
    status: str  # sent | pending (failed, tried again later) | in-progress (another sender)
    error: str | None = None


def channels_of(m: Monitor) -> list[Channel]:
    d = m.deliver
    out: list[Channel] = []
    if d.markdown:
        out.append(Channel(f"markdown:{d.markdown_dir or ''}:{m.name}", "markdown", m))
    if d.email is not None:
        who = ",".join(sorted({*d.email.to, *(f"cc:{a}" for a in d.email.cc)}))
        out.append(Channel(f"email:{who}", "email", m))
    if d.webhook is not None:
        secret = f"#{d.webhook.secret_env}" if d.webhook.secret_env else ""
        out.append(Channel(f"webhook:{d.webhook.url}{secret}", "webhook", m))
    out.extend(Channel(f"apprise:{url}", "apprise", m) for url in d.apprise)
    return out


@lru_cache(maxsize=1024)
def _parse(text: str) -> Node:
    return parse_query(text)


def monitor_query(m: Monitor) -> Node | None:
    """The parsed query of a monitor (checked when its file was loaded)."""
    return _parse(m.query_text) if m.query_text is not None else None


def monitor_specs(monitors: Sequence[Monitor]) -> list[MonitorSpec]:
    return [
        MonitorSpec(m.name, monitor_query(m), m.topics, m.sources, m.entities) for m in monitors
    ]


def _active(cfg: MonitorsConfig) -> list[Monitor]:
    return [m for m in cfg.monitors if m.enabled and not m.digest_profile]


def next_run_of(
    m: Monitor, last_run: datetime | None, created: datetime | None, now: datetime
) -> datetime | None:
    """When a scheduled monitor runs next (None: immediate)."""
    return next_run(m.cadence, last_run or created or now)


def notify_due(
    store: Store,
    cfg: MonitorsConfig,
    now: datetime,
    *,
    only: Sequence[str] | None = None,
    immediate_only: bool = False,
    settings: NotifySettings | None = None,
    started: datetime | None = None,
) -> list[DeliveryResult]:
    """Match, make the due monitors' messages, and deliver every pending message whose time
    has come. `only`: these monitors; `immediate_only`: leave scheduled monitors for their time
    (what `feedwatch fetch` does at the end of its pass). `started`: when the pass that stored
    the new items began; a monitor seen for the first time starts there (else at `now`)."""
    settings = settings or NotifySettings()
    engine = store.engine
    active = _active(cfg)
    match_new(engine, monitor_specs(active), now, started)
    chosen = [m for m in active if only is None or m.name in only]
    overview = db.monitor_overview(engine, [m.name for m in chosen])
    due: list[Monitor] = []
    for m in chosen:
        if m.cadence.kind == "immediate":
            due.append(m)
        elif not immediate_only:
            st = overview[m.name]
            if is_due(m.cadence, st.last_run_at or st.created_at or now, now):
                due.append(m)
    groups: dict[str, tuple[Channel, list[str]]] = {}
    for m in due:
        for ch in channels_of(m):
            groups.setdefault(ch.key, (ch, []))[1].append(m.name)
    for key, (_ch, names) in groups.items():
        made = db.create_delivery(engine, key, names, now)
        if made is not None:
            log.info(
                "monitor message %d to %s: %s", made.id, _safe_key(key), ", ".join(made.monitors)
            )
    db.set_last_run(engine, [m.name for m in due if m.cadence.kind != "immediate"], now)
    configured: dict[str, Channel] = {}
    for m in active:
        for ch in channels_of(m):
            configured.setdefault(ch.key, ch)
    results: list[DeliveryResult] = []
    for d in db.pending_deliveries(engine, now, channels=list(configured)):
        if only is not None and not set(d.monitors) & set(only):
            continue
        results.append(_deliver(store, cfg, d, configured[d.channel], now, settings))
    return results


def _safe_key(key: str) -> str:
    """A channel key for logs: no credentials of URLs."""
    kind, _, rest = key.partition(":")
    if kind in ("webhook", "apprise") and "@" in rest:
        scheme, _, tail = rest.partition("://")
        return f"{kind}:{scheme}://…@{tail.rpartition('@')[2]}"
    return key


def message_items(
    store: Store, cfg: MonitorsConfig, by_item: Mapping[str, Sequence[str]]
) -> list[MessageItem]:
    """The rows of a message's items, newest first, each with its monitors and why it matched."""
    monitors = {m.name: m for m in cfg.monitors}
    ids = list(by_item)
    rows: list[ItemRow] = []
    for i in range(0, len(ids), 500):
        rows.extend(store.iter_items(ItemQuery(ids=tuple(ids[i : i + 500]))))
    out: list[MessageItem] = []
    for row in rows:
        names = tuple(by_item[row.item.id])
        why: list[str] = []
        for name in names:
            m = monitors.get(name)
            if m is None:
                continue
            for w in matched_terms(
                row.item.title,
                row.item.summary,
                row.item.lang,
                row.topics,
                monitor_query(m),
                m.topics,
                row.item.source,
            ):
                if w not in why:
                    why.append(w)
        out.append(MessageItem(row=row, monitors=names, matched=tuple(why)))
    return out


def _deliver(
    store: Store,
    cfg: MonitorsConfig,
    d: db.DeliveryRecord,
    ch: Channel,
    now: datetime,
    settings: NotifySettings,
) -> DeliveryResult:
    engine = store.engine
    with db.claim(engine, d.id, settings.owner, now) as got:
        if not got:
            return DeliveryResult(d.id, d.channel, d.monitors, 0, "in-progress")
        fresh = db.get_delivery(engine, d.id)
        if fresh is None or fresh.status != "pending":
            return DeliveryResult(d.id, d.channel, d.monitors, 0, "in-progress")
        items = message_items(store, cfg, db.delivery_items_of(engine, d.id))
        try:
            if items:
                _send(ch, fresh, items, cfg, now, settings)
        except (ChannelError, DeliveryError) as exc:
            db.record_failure(engine, fresh, str(exc), now)
            log.warning("monitor message %d to %s failed: %s", d.id, _safe_key(d.channel), exc)
            return DeliveryResult(d.id, d.channel, d.monitors, len(items), "pending", str(exc))
        db.mark_sent(engine, fresh, now)
        return DeliveryResult(d.id, d.channel, d.monitors, len(items), "sent")


def _heading(d: db.DeliveryRecord, count: int, now: datetime) -> str:
    return (
        f"feedwatch {', '.join(d.monitors)}: {count} ({now.astimezone(AMSTERDAM):%Y-%m-%d %H:%M})"
    )


def _send(
    ch: Channel,
    d: db.DeliveryRecord,
    items: Sequence[MessageItem],
    cfg: MonitorsConfig,
    now: datetime,
    settings: NotifySettings,
) -> None:
    names = settings.source_names
    heading = _heading(d, len(items), now)
    deliver = ch.monitor.deliver
    if ch.kind == "markdown":
        base = Path(deliver.markdown_dir) if deliver.markdown_dir else settings.out_dir / "monitors"
        path = base / ch.monitor.name / f"{now.astimezone(AMSTERDAM):%Y-%m-%d-%H%M}-{d.id}.md"
        _write_atomic(path, render_markdown(heading, items, names))
    elif ch.kind == "email":
        if cfg.smtp is None or deliver.email is None:
            raise ChannelError("e-mail needs an smtp: section")
        subject = deliver.subject.format(
            monitor=", ".join(d.monitors),
            count=len(items),
            date=f"{now.astimezone(AMSTERDAM):%Y-%m-%d}",
        )
        sender = deliver.email.sender
        domain = sender.rsplit("@", 1)[-1].rstrip(">").strip() or "localhost"
        msg = mail.build_message(
            subject=header_value(subject, 250),
            text=render_text(items, names),
            html=render_html(heading, items, names),
            sender=sender,
            to=deliver.email.to,
            cc=deliver.email.cc,
            date=now,
            message_id=f"<monitor.{d.id}@{domain}>",  # the same on a retry: a repeat is seen
        )
        smtp = replace(cfg.smtp, retries=0)  # retries are the delivery's own, with backoff
        (settings.send_mail or mail.send)(msg, smtp)
    elif ch.kind == "webhook":
        hook = deliver.webhook
        assert hook is not None
        secret = None
        if hook.secret_env:
            secret = settings.environ.get(hook.secret_env)
            if not secret:
                raise ChannelError(f"webhook: {hook.secret_env} is not set")
        post_webhook(
            hook.url,
            webhook_payload(d.id, items),
            delivery_id=d.id,
            policy=settings.policy,
            secret=secret,
        )
    elif ch.kind == "apprise":
        send_apprise(
            ch.key.removeprefix("apprise:"), heading, render_text(items, names), settings.policy
        )
    else:  # pragma: no cover - channels_of makes only these
        raise ChannelError(f"unknown channel {ch.kind}")


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def preview(
    store: Store, cfg: MonitorsConfig, monitor: Monitor, items: Sequence[str]
) -> list[MessageItem]:
    """What a message of `monitor` with these items would hold (monitors test: sends nothing)."""
    return message_items(store, cfg, {i: [monitor.name] for i in items})


def output_dir(explicit: str | None = None) -> Path:
    return Path(explicit or os.environ.get("FEEDWATCH_OUTPUT_DIR") or "out")


def load_for(
    config: Config, explicit: str | Path | None = None, *, legacy_digests: bool = True
) -> MonitorsConfig:
    """The monitors of a sources config: --monitors / FEEDWATCH_MONITORS / beside it. With
    `legacy_digests`, also the profiles of a digests.yaml beside it (read as daily monitors,
    with a deprecation warning; `feedwatch digest` delivers them)."""
    path = monitors_path(explicit, config.path)
    return load_monitors(
        path,
        sources_config=config.path,
        legacy_digests=legacy_digests,
        check_query=query_problem,
    )


def settings_for(config: Config, out: Path | None = None) -> NotifySettings:
    """Channel settings from the sources config: its network policy applies to webhooks and
    Apprise targets, its source names appear in messages."""
    return NotifySettings(
        policy=AddressPolicy.from_setting(config.network.allow_private),
        out_dir=out or output_dir(),
        source_names={s.key: s.name for s in config.sources},
    )


def notify_for(
    config: Config,
    store: Store,
    now: datetime,
    *,
    monitors: str | Path | None = None,
    immediate_only: bool = False,
    started: datetime | None = None,
) -> list[DeliveryResult]:
    """notify_due() with the monitors and settings that belong to a sources config: what the
    daemon runs after every tick (immediate_only) and every minute, and `fetch` at its end."""
    cfg = load_for(config, monitors, legacy_digests=False)  # digests: `feedwatch digest`
    if not any(m.enabled and not m.digest_profile for m in cfg.monitors):
        return []
    results = notify_due(
        store,
        cfg,
        now,
        immediate_only=immediate_only,
        settings=settings_for(config),
        started=started,
    )
    for r in results:
        if r.error:
            log.warning("monitor message %d (%s): %s", r.delivery, ", ".join(r.monitors), r.error)
        elif r.status == "sent":
            log.info(
                "monitor message %d (%s): %d items sent", r.delivery, ", ".join(r.monitors), r.items
            )
    return results
