"""The digest, export and publish commands, and run_digest(): the shell that builds, stores,
writes and mails a profile's digest exactly once (pending -> sent)."""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo

import click

from feedwatch.config.digests import DigestProfile, DigestsConfig, digests_path, load_digests
from feedwatch.core import export as exporter
from feedwatch.core.digest import (
    Digest,
    HealthNote,
    assess_health,
    build_digest,
    period_for,
    render_email,
    render_markdown,
)
from feedwatch.edges.store import ItemQuery, Store
from feedwatch.edges.store import digests as db
from feedwatch.errors import ConfigError

if TYPE_CHECKING:
    from email.message import EmailMessage

    from feedwatch.config.digests import SmtpConfig

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DEFAULT_OUTPUT_DIR = "out"

__all__ = ["DigestRun", "output_dir", "publish_feeds", "register", "run_digest"]

Sender = Callable[["EmailMessage", "SmtpConfig"], int]


def output_dir(explicit: str | None = None) -> Path:
    return Path(explicit or os.environ.get("FEEDWATCH_OUTPUT_DIR") or DEFAULT_OUTPUT_DIR)


@contextmanager
def atomic_text(path: Path) -> Iterator[TextIO]:
    """Write a text file through a temporary sibling, renamed over `path` when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def topic_titles(topics_path: str | None = None) -> dict[str, str]:
    """Topic key -> title of the configured topics (--topics / FEEDWATCH_TOPICS, else
    config/topics.yaml, else the packaged ones): the same rules the classifier uses."""
    from feedwatch.app.pipeline import configured_topics

    return {t.key: t.title for t in configured_topics(topics_path).topics}


# ------------------------------------------------------------------------------ digest run


@dataclass(frozen=True, slots=True)
class DigestRun:
    """What one digest run did for one profile and day."""

    profile: str
    period: str
    status: str  # sent | pending (delivery failed) | skipped | already-sent | in-progress | dry-run
    items: int
    markdown: Path | None = None
    error: str | None = None
    text: str | None = None  # the Markdown, for --dry-run


def _message_id(profile: DigestProfile, record: db.DigestRecord) -> str:
    sender = profile.email.sender if profile.email else "feedwatch@localhost"
    domain = sender.rsplit("@", 1)[-1].rstrip(">").strip() or "localhost"
    return f"<digest.{record.id}.{record.attempts}.{profile.name}@{domain}>"


def _render(
    store: Store,
    profile: DigestProfile,
    record: db.DigestRecord,
    titles: Mapping[str, str],
    names: Mapping[str, str],
) -> Digest:
    rows = store.digest_rows(record)
    health = [HealthNote.from_json(h) for h in record.health]
    return build_digest(
        rows,
        health,
        period_for(date.fromisoformat(record.period)),
        profile,
        since=record.since,
        until=record.until,
        topic_titles=titles,
        source_names=names,
    )


_OWNER = f"{socket.gethostname()}:{os.getpid()}"


def markdown_path(profile: DigestProfile, period: str, out: Path) -> Path:
    base = Path(profile.markdown_dir) if profile.markdown_dir else out / "digests"
    return base / profile.name / f"{period}.md"


def _deliver(
    store: Store,
    cfg: DigestsConfig,
    profile: DigestProfile,
    record: db.DigestRecord,
    *,
    now: datetime,
    out: Path,
    titles: Mapping[str, str],
    names: Mapping[str, str],
    send: Sender | None,
    force: bool = False,
) -> DigestRun:
    if not force and not store.claim_delivery(record.id, _OWNER, now):
        # Another worker is delivering it right now (or has just done so).
        return DigestRun(profile.name, record.period, "in-progress", record.item_count)
    digest = _render(store, profile, record, titles, names)
    md: Path | None = None
    if profile.markdown:
        md = markdown_path(profile, record.period, out)
        with atomic_text(md) as fh:
            fh.write(render_markdown(digest))
    if profile.email is not None:
        from feedwatch.edges import mail

        assert cfg.smtp is not None  # the config loader insists
        subject, text, html = render_email(digest)
        msg = mail.build_message(
            subject=subject,
            text=text,
            html=html,
            sender=profile.email.sender,
            to=profile.email.to,
            cc=profile.email.cc,
            date=now,
            message_id=_message_id(profile, record),
        )
        try:
            (send or mail.send)(msg, cfg.smtp)
        except mail.DeliveryError as exc:
            store.record_failure(record.id, str(exc))
            return DigestRun(
                profile.name, record.period, "pending", digest.total, md, error=str(exc)
            )
        store.mark_sent(record.id, now, str(msg["Message-ID"]))
    else:
        store.mark_sent(record.id, now)
    return DigestRun(profile.name, record.period, "sent", digest.total, md)


def run_digest(
    store: Store,
    cfg: DigestsConfig,
    profile: DigestProfile,
    day: date,
    now: datetime,
    *,
    out: Path,
    force: bool = False,
    dry_run: bool = False,
    titles: Mapping[str, str] | None = None,
    names: Mapping[str, str] | None = None,
    send: Sender | None = None,
) -> list[DigestRun]:
    """Deliver the profile's earlier pending digests, then the digest of `day`: created pending
    with its item list in one transaction, written as Markdown, mailed, then marked sent. A sent
    digest is not sent again unless `force`. `dry_run` stores nothing and returns the Markdown."""
    titles = titles if titles is not None else topic_titles()
    names = names or {}
    period = period_for(day)
    runs: list[DigestRun] = []
    kw: dict[str, Any] = {"now": now, "out": out, "titles": titles, "names": names, "send": send}
    if not dry_run:
        for old in store.pending_digests(profile.name):
            if old.period < period.key:
                runs.append(_deliver(store, cfg, profile, old, **kw))
    record = store.get_digest(profile.name, period.key)
    if record is None:
        since, until = store.digest_window(profile.name, period.key, period.start, period.end, now)
        rows = store.new_items(since, until, profile.topics, profile.sources)
        facts = store.source_facts(since, until, profile.sources)
        health = assess_health(facts, since, now, profile.language)
        if dry_run:
            digest = build_digest(
                rows,
                health,
                period,
                profile,
                since=since,
                until=until,
                topic_titles=titles,
                source_names=names,
            )
            text = render_markdown(digest)
            return [*runs, DigestRun(profile.name, period.key, "dry-run", digest.total, text=text)]
        skip = not rows and not health and profile.empty == "skip"
        record = store.create_digest(
            profile=profile.name,
            period=period.key,
            since=since,
            until=until,
            item_ids=[r.item.id for r in rows],
            health=[h.to_json() for h in health],
            now=now,
            status="skipped" if skip else "pending",
        )
    if dry_run:
        text = render_markdown(_render(store, profile, record, titles, names))
        return [*runs, DigestRun(profile.name, period.key, "dry-run", record.item_count, text=text)]
    if record.status == "skipped" and not force:
        return [*runs, DigestRun(profile.name, period.key, "skipped", 0)]
    if record.status == "sent" and not force:
        md = markdown_path(profile, record.period, out) if profile.markdown else None
        return [*runs, DigestRun(profile.name, period.key, "already-sent", record.item_count, md)]
    runs.append(_deliver(store, cfg, profile, record, force=force, **kw))
    return runs


# ---------------------------------------------------------------------------------- publish


def publish_feeds(
    store: Store,
    topics: Mapping[str, str],
    out: Path,
    *,
    limit: int = 200,
    base_url: str | None = None,
    names: Mapping[str, str] | None = None,
) -> list[Path]:
    """One Atom (<topic>.xml) and one JSON Feed (<topic>.json) per topic under out/feeds/."""
    written: list[Path] = []
    for key, title in topics.items():
        for fmt, suffix in (("atom", "xml"), ("jsonfeed", "json")):
            path = out / "feeds" / f"{key}.{suffix}"
            self_url = f"{base_url.rstrip('/')}/{path.name}" if base_url else None
            info = exporter.FeedInfo(
                title=f"feedwatch — {title}",
                id=f"tag:feedwatch,2026:topic:{key}",
                self_url=self_url,
                description=f"Nieuwe berichten over {title} (feedwatch)",
                source_names=names,
            )
            rows = store.iter_items(ItemQuery(topics=(key,), limit=limit))
            with atomic_text(path) as fh:
                exporter.write(fmt, rows, fh, info)
            written.append(path)
    return written


# --------------------------------------------------------------------------------- commands


def _obj_config_path(obj: Any) -> str | None:
    return getattr(obj, "config_path", None) or os.environ.get("FEEDWATCH_CONFIG")


def _source_names(obj: Any) -> dict[str, str]:
    try:
        return {s.key: s.name for s in obj.config().sources}
    except ConfigError:
        return {}


@click.command()
@click.option("--profile", "names", multiple=True, metavar="NAME", help="Only this profile.")
@click.option("--date", "day", metavar="YYYY-MM-DD", help="The Amsterdam day [default: today].")
@click.option("--dry-run", is_flag=True, help="Print the Markdown digest; store and send nothing.")
@click.option("--force", is_flag=True, help="Send again even when already sent.")
@click.option(
    "--profiles",
    "profiles_path",
    metavar="PATH",
    help="Digest profiles file [default: digests.yaml next to the sources config].",
)
@click.option("--output-dir", metavar="DIR", help="[env FEEDWATCH_OUTPUT_DIR; default out].")
@click.pass_obj
def digest(
    obj: Any,
    names: tuple[str, ...],
    day: str | None,
    dry_run: bool,
    force: bool,
    profiles_path: str | None,
    output_dir: str | None,
) -> None:
    """Build (and deliver) the digest of one profile, or of all profiles.

    A digest holds the items first seen since the profile's previous digest. It is stored as
    pending with its item list, written as Markdown under $FEEDWATCH_OUTPUT_DIR/digests/, mailed
    when the profile has e-mail, then marked sent; a failed send stays pending and goes out on
    the next run. Exit 1 when a delivery failed.
    """
    path = Path(profiles_path) if profiles_path else digests_path(_obj_config_path(obj))
    cfg = load_digests(path, required=True)
    chosen = [p for p in cfg.profiles if not names or p.name in names]
    unknown = sorted(set(names) - {p.name for p in cfg.profiles})
    if unknown:
        raise click.UsageError(f"unknown profile(s): {', '.join(unknown)}")
    if not chosen:
        raise click.UsageError(f"{path}: no digest profiles")
    now = datetime.now(UTC)
    try:
        the_day = date.fromisoformat(day) if day else now.astimezone(AMSTERDAM).date()
    except ValueError:
        raise click.BadParameter(f"expected YYYY-MM-DD, got {day!r}", param_hint="--date") from None
    store: Store = obj.store()
    out = output_dir_option(output_dir)
    titles = topic_titles(getattr(obj, "topics_path", None))
    source_names = _source_names(obj)
    failed = False
    for profile in chosen:
        for run in run_digest(
            store,
            cfg,
            profile,
            the_day,
            now,
            out=out,
            force=force,
            dry_run=dry_run,
            titles=titles,
            names=source_names,
        ):
            if run.text is not None:
                click.echo(run.text, nl=False)
                continue
            failed = failed or run.error is not None
            where = f" -> {run.markdown}" if run.markdown else ""
            error = f" ({run.error})" if run.error else ""
            if not getattr(obj, "quiet", False) or run.error:
                click.echo(
                    f"{run.profile} {run.period}: {run.status}, {run.items} items{where}{error}"
                )
    if failed:
        sys.exit(1)


def output_dir_option(value: str | None) -> Path:
    return output_dir(value)


@click.command(name="export")
@click.option("--topic", "topics", multiple=True, metavar="T", help="Only items on this topic.")
@click.option("--source", "keys", multiple=True, metavar="KEY", help="Only items of this source.")
@click.option("--since", metavar="DATE", help="Published (or first seen) on or after DATE.")
@click.option("--until", metavar="DATE", help="Published (or first seen) before the end of DATE.")
@click.option(
    "--format", "fmt", type=click.Choice(exporter.FORMATS), required=True, help="Output format."
)
@click.option("--output", metavar="FILE", help="Write to FILE (atomically) instead of stdout.")
@click.pass_obj
def export_cmd(
    obj: Any,
    topics: tuple[str, ...],
    keys: tuple[str, ...],
    since: str | None,
    until: str | None,
    fmt: str,
    output: str | None,
) -> None:
    """Stream stored items out, newest first, as jsonl, csv, md, atom or jsonfeed."""
    from feedwatch.cli import parse_cli_date

    query = ItemQuery(
        topics=topics,
        sources=keys,
        since=parse_cli_date(since) if since else None,
        until=parse_cli_date(until, end=True) if until else None,
        score_topics=tuple(topic_titles(getattr(obj, "topics_path", None))),
    )
    what = ", ".join(topics) if topics else "alle onderwerpen"
    info = exporter.FeedInfo(
        title=f"feedwatch — {what}",
        id="tag:feedwatch,2026:export:" + ("+".join(topics) or "all"),
        source_names=_source_names(obj) if fmt in ("atom", "jsonfeed") else None,
    )
    rows = obj.store().iter_items(query)
    if output:
        with atomic_text(Path(output)) as fh:
            n = exporter.write(fmt, rows, fh, info)
        if not getattr(obj, "quiet", False):
            click.echo(f"{n} items -> {output}", err=True)
        return
    stream = sys.stdout
    exporter.write(fmt, rows, stream, info)
    stream.flush()


@click.command()
@click.option("--output-dir", metavar="DIR", help="[env FEEDWATCH_OUTPUT_DIR; default out].")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Newest items per topic feed.",
)
@click.option("--base-url", metavar="URL", help="Where the feeds are served (for self links).")
@click.pass_obj
def publish(obj: Any, output_dir: str | None, limit: int, base_url: str | None) -> None:
    """Write one Atom and one JSON Feed file per topic under $FEEDWATCH_OUTPUT_DIR/feeds/."""
    paths = publish_feeds(
        obj.store(),
        topic_titles(getattr(obj, "topics_path", None)),
        output_dir_option(output_dir),
        limit=limit,
        base_url=base_url,
        names=_source_names(obj),
    )
    if not getattr(obj, "quiet", False):
        for p in paths:
            click.echo(str(p))


def register(group: click.Group, commands: Sequence[click.Command] = ()) -> None:
    """Add digest, export and publish to the feedwatch command group."""
    for command in commands or (digest, export_cmd, publish):
        group.add_command(command)


def main() -> None:
    """`python -m feedwatch.cli.digest ...`: the feedwatch CLI with these commands added."""
    from feedwatch.cli import cli

    register(cli)
    cli(prog_name="feedwatch")


if __name__ == "__main__":
    main()
